// TFTP packets (RFC 1350, RFC 2347 OACK) as a discriminated union; pure bytes <-> values.
import { ByteReader, ByteWriter } from './byte-cursor.js';
import { DecodeError } from './decode-error.js';

export const OPCODES = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 appendix + RFC 2347 error codes. */
export const TftpErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;
export type TftpErrorCode = (typeof TftpErrorCode)[keyof typeof TftpErrorCode];

/** RFC 1350's wording of its standard errors, the only text an ERROR with one of these codes
 *  carries on the wire: clients print it and scripts grep for it. Our reason goes to the log. Code
 *  0 ("not defined") and 8 (RFC 2347 option negotiation) carry the caller's message. */
export const STANDARD_ERROR_TEXT: Readonly<Record<number, string>> = {
  [TftpErrorCode.FILE_NOT_FOUND]: 'File not found',
  [TftpErrorCode.ACCESS_VIOLATION]: 'Access violation',
  [TftpErrorCode.DISK_FULL]: 'Disk full or allocation exceeded',
  [TftpErrorCode.ILLEGAL_OPERATION]: 'Illegal TFTP operation',
  [TftpErrorCode.UNKNOWN_TID]: 'Unknown transfer ID',
  [TftpErrorCode.FILE_EXISTS]: 'File already exists',
  [TftpErrorCode.NO_SUCH_USER]: 'No such user',
};

export interface TftpOption {
  readonly name: string;
  readonly value: string;
}

export interface RequestPacket {
  readonly op: 'RRQ' | 'WRQ';
  readonly filename: string;
  readonly mode: string;
  readonly options: readonly TftpOption[];
}
export interface DataPacket {
  readonly op: 'DATA';
  readonly block: number;
  readonly data: Buffer;
}
export interface AckPacket {
  readonly op: 'ACK';
  readonly block: number;
}
export interface ErrorPacket {
  readonly op: 'ERROR';
  readonly code: number;
  /** As received; when encoding, codes 1-7 send STANDARD_ERROR_TEXT instead. */
  readonly message: string;
}
export interface OackPacket {
  readonly op: 'OACK';
  readonly options: readonly TftpOption[];
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

/** Longest error text sent to a peer (netboot's maxErrorSize; dnsmasq's MAXMESSAGE is similar). */
export const MAX_ERROR_MESSAGE = 500;

const CONTROL_CHAR = /[\x01-\x1f\x7f]/;

function checkPrintable(s: string, what: string, offset: number): string {
  if (CONTROL_CHAR.test(s)) throw new DecodeError('NOT_NETASCII', offset, `${what} contains a control character`);
  return s;
}

/** Name/value pairs from `start` to the end. `lenient` tolerates trailing junk after the last
 *  complete pair (iPXE does so for OACKs because IBM Tivoli PXE Server appended junk); requests must
 *  be exact, except that trailing NUL padding is ignored. */
function readOptions(buf: Buffer, start: number, lenient: boolean): TftpOption[] {
  const options: TftpOption[] = [];
  let pos = start;
  while (pos < buf.length) {
    const nameEnd = buf.indexOf(0, pos);
    const valueEnd = nameEnd < 0 ? -1 : buf.indexOf(0, nameEnd + 1);
    if (nameEnd === pos) {
      if (buf.subarray(pos).every((b) => b === 0)) break;
      if (lenient) break;
      throw new DecodeError('BAD_OPTIONS', pos, 'empty option name');
    }
    if (valueEnd < 0) {
      if (lenient) break;
      throw new DecodeError('MISSING_NUL', pos, 'option without a NUL-terminated value');
    }
    const name = checkPrintable(buf.toString('latin1', pos, nameEnd), 'option name', pos);
    const value = checkPrintable(buf.toString('latin1', nameEnd + 1, valueEnd), 'option value', nameEnd + 1);
    options.push({ name, value });
    pos = valueEnd + 1;
  }
  return options;
}

export function decodeTftp(buf: Buffer): TftpPacket {
  // The one packet of every round trip, decoded without a reader.
  if (buf.length >= 4 && buf[0] === 0 && buf[1] === OPCODES.ACK) return { op: 'ACK', block: (buf[2]! << 8) | buf[3]! };
  const r = new ByteReader(buf);
  const opcode = r.u16('opcode');
  switch (opcode) {
    case OPCODES.RRQ:
    case OPCODES.WRQ: {
      if (buf[buf.length - 1] !== 0) throw new DecodeError('MISSING_NUL', buf.length - 1, 'request does not end with NUL');
      const filename = checkPrintable(r.cstring('filename'), 'filename', 2);
      if (filename.length === 0) throw new DecodeError('EMPTY_FILENAME', 2, 'empty filename');
      const modeAt = r.offset;
      const mode = checkPrintable(r.cstring('mode'), 'mode', modeAt);
      return { op: opcode === OPCODES.RRQ ? 'RRQ' : 'WRQ', filename, mode, options: readOptions(buf, r.offset, false) };
    }
    case OPCODES.DATA:
      return { op: 'DATA', block: r.u16('block number'), data: r.rest() };
    case OPCODES.ACK:
      // Trailing bytes after the block number are tolerated (dnsmasq checks len >= 4 too).
      return { op: 'ACK', block: r.u16('block number') };
    case OPCODES.ERROR: {
      const code = r.u16('error code');
      const rest = r.rest();
      const end = rest.indexOf(0);
      // A missing terminator is tolerated: the message is informational only.
      return { op: 'ERROR', code, message: rest.toString('latin1', 0, end < 0 ? rest.length : end) };
    }
    case OPCODES.OACK:
      return { op: 'OACK', options: readOptions(buf, 2, true) };
    default:
      throw new DecodeError('UNKNOWN_OPCODE', 0, `opcode ${opcode}`);
  }
}

/** The text an ERROR carries on the wire: RFC 1350's for codes 1-7, else `message` sanitized. */
export function wireErrorMessage(code: number, message: string): string {
  return STANDARD_ERROR_TEXT[code] ?? sanitizeErrorMessage(message);
}

/** Short and printable: what a peer may see of an error (details go to the log). */
export function sanitizeErrorMessage(message: string): string {
  const printable = message.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_ERROR_MESSAGE ? printable.slice(0, MAX_ERROR_MESSAGE) : printable;
}

function optionsLength(options: readonly TftpOption[]): number {
  let n = 0;
  for (const o of options) n += Buffer.byteLength(o.name, 'latin1') + 1 + Buffer.byteLength(o.value, 'latin1') + 1;
  return n;
}

export function tftpEncodingLength(p: TftpPacket): number {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      return 2 + Buffer.byteLength(p.filename, 'latin1') + 1 + Buffer.byteLength(p.mode, 'latin1') + 1 + optionsLength(p.options);
    case 'DATA':
      return 4 + p.data.length;
    case 'ACK':
      return 4;
    case 'ERROR':
      return 4 + wireErrorMessage(p.code, p.message).length + 1;
    case 'OACK':
      return 2 + optionsLength(p.options);
  }
}

export function encodeTftp(p: TftpPacket): Buffer {
  const w = new ByteWriter(tftpEncodingLength(p));
  w.u16(OPCODES[p.op]);
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      w.cstring(p.filename).cstring(p.mode);
      for (const o of p.options) w.cstring(o.name).cstring(o.value);
      break;
    case 'DATA':
      w.u16(p.block).bytes(p.data);
      break;
    case 'ACK':
      w.u16(p.block);
      break;
    case 'ERROR':
      w.u16(p.code).cstring(wireErrorMessage(p.code, p.message));
      break;
    case 'OACK':
      for (const o of p.options) w.cstring(o.name).cstring(o.value);
      break;
  }
  return w.done();
}

/** The 4-byte DATA header, so payloads can be sent scatter-gather without copying. */
export function encodeDataHeader(block: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt16BE(OPCODES.DATA, 0);
  h.writeUInt16BE(block & 0xffff, 2);
  return h;
}
