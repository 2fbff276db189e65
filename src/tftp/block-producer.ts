// Where a read transfer gets its DATA payloads. Blocks are numbered from 1 as 64-bit-safe indexes
// (the wire carries index & 0xffff); a payload shorter than the block size is the last one.
import type { OpenedFile } from '../io/ports.js';

export interface BlockProducer {
  /** Size the client is told in `tsize`, or null when it is not known in advance (netascii). */
  readonly knownSize: number | null;
  /** The payload, synchronously when it is already in memory. */
  block(index: number): Buffer | Promise<Buffer>;
  /** Blocks below `index` will not be asked for again. */
  forgetBefore(index: number): void;
  close(): void;
}

export class FileChangedError extends Error {
  readonly code = 'FILE_CHANGED';
}

/** octet mode: block n is bytes [(n-1)*blksize, n*blksize) of the file opened at the start. */
export class OctetBlocks implements BlockProducer {
  readonly knownSize: number;

  constructor(
    private readonly file: OpenedFile,
    private readonly blksize: number,
  ) {
    this.knownSize = file.size;
  }

  block(index: number): Buffer | Promise<Buffer> {
    const offset = (index - 1) * this.blksize;
    const length = Math.max(0, Math.min(this.blksize, this.file.size - offset));
    if (length === 0) return Buffer.alloc(0);
    const data = this.file.read(offset, length);
    return data instanceof Promise ? data.then((d) => checkLength(d, length, index)) : checkLength(data, length, index);
  }

  forgetBefore(): void {}

  close(): void {
    this.file.release();
  }
}

/** The size was fixed when the transfer started; a shorter read means the file was truncated under
 *  us, and sending it would end the transfer early with a silently short file. */
function checkLength(data: Buffer, length: number, index: number): Buffer {
  if (data.length !== length) throw new FileChangedError(`file shrank while being served (block ${index})`);
  return data;
}

const NETASCII_READ_CHUNK = 16 * 1024;

/** netascii mode (RFC 764 via RFC 1350): LF -> CR LF, CR -> CR NUL. The on-wire length is only
 *  known at the end, so blocks are produced in order and kept until acknowledged. */
export class NetasciiBlocks implements BlockProducer {
  readonly knownSize = null;
  private readonly produced = new Map<number, Buffer>();
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private nextIndex = 1;
  private readOffset = 0;
  private finished = false;

  constructor(
    private readonly file: OpenedFile,
    private readonly blksize: number,
  ) {}

  async block(index: number): Promise<Buffer> {
    while (!this.produced.has(index)) {
      if (this.finished) return Buffer.alloc(0);
      await this.produceMore();
    }
    return this.produced.get(index)!;
  }

  private async produceMore(): Promise<void> {
    const length = Math.min(NETASCII_READ_CHUNK, this.file.size - this.readOffset);
    const raw = length > 0 ? await this.file.read(this.readOffset, length) : Buffer.alloc(0);
    this.readOffset += raw.length;
    const converted = toNetascii(raw);
    this.pending.push(converted);
    this.pendingLength += converted.length;
    const atEnd = raw.length < NETASCII_READ_CHUNK || this.readOffset >= this.file.size;
    let all = Buffer.concat(this.pending, this.pendingLength);
    while (all.length >= this.blksize) {
      this.produced.set(this.nextIndex++, all.subarray(0, this.blksize));
      all = all.subarray(this.blksize);
    }
    if (atEnd) {
      this.produced.set(this.nextIndex++, all);
      this.finished = true;
      all = Buffer.alloc(0);
    }
    this.pending = [all];
    this.pendingLength = all.length;
  }

  forgetBefore(index: number): void {
    for (const k of this.produced.keys()) if (k < index) this.produced.delete(k);
  }

  close(): void {
    this.file.release();
  }
}

export function toNetascii(raw: Buffer): Buffer {
  let extra = 0;
  for (const b of raw) if (b === 0x0a || b === 0x0d) extra++;
  if (extra === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + extra);
  let o = 0;
  for (const b of raw) {
    if (b === 0x0a) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
    } else if (b === 0x0d) {
      out[o++] = 0x0d;
      out[o++] = 0x00;
    } else out[o++] = b;
  }
  return out;
}
