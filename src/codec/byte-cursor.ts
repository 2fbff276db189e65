import { DecodeError } from './decode-error.js';

/** Bounds-checked reader: every read past the end throws DecodeError('TRUNCATED'). */
export class ByteReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError('TRUNCATED', this.pos, `need ${n} byte(s) for ${what}, ${this.remaining()} left`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  /** A NUL-terminated string; throws MISSING_NUL when the buffer ends before the terminator. */
  cstring(what: string): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new DecodeError('MISSING_NUL', this.pos, `${what} is not NUL-terminated`);
    const v = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return v;
  }
}

/** Mirror of ByteReader over a pre-sized buffer. */
export class ByteWriter {
  private pos = 0;
  readonly buf: Buffer;

  constructor(length: number) {
    this.buf = Buffer.allocUnsafe(length);
  }

  get offset(): number {
    return this.pos;
  }

  u8(v: number): this {
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  cstring(s: string): this {
    this.pos += this.buf.write(s, this.pos, 'latin1');
    this.buf[this.pos++] = 0;
    return this;
  }

  /** The written bytes; throws if the pre-computed length was wrong (a codec bug). */
  done(): Buffer {
    if (this.pos !== this.buf.length) {
      throw new Error(`encoder wrote ${this.pos} bytes into a ${this.buf.length}-byte buffer`);
    }
    return this.buf;
  }
}
