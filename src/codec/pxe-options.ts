// DHCP option 43 as PXE sub-options (protocols.md 7.2): 6 discovery control, 1-5 the MTFTP
// channel. Ports are written in network byte order (the EFI 1.10 reference code reads them raw
// into a little-endian field; ISC-style configs write them big-endian: protocols.md 5.1).
import { DecodeError } from './decode-error.js';

/** 43.6 bit 3: "download the file named in this offer; no prompt, menu or discovery". */
export const DISCOVERY_USE_BOOTFILE = 0x08;

export interface MtftpSubOptions {
  readonly group: string;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly openTimeoutS: number;
  readonly reopenDelayS: number;
}

export function encodePxeVendorOptions(discoveryControl: number, mtftp: MtftpSubOptions | null): Buffer {
  const parts: number[] = [];
  if (mtftp) {
    const ip = mtftp.group.split('.').map(Number);
    parts.push(1, 4, ...ip);
    parts.push(2, 2, mtftp.clientPort >> 8, mtftp.clientPort & 0xff);
    parts.push(3, 2, mtftp.serverPort >> 8, mtftp.serverPort & 0xff);
    parts.push(4, 1, mtftp.openTimeoutS);
    parts.push(5, 1, mtftp.reopenDelayS);
  }
  parts.push(6, 1, discoveryControl, 255);
  return Buffer.from(parts);
}

/** Sub-options by tag (bounds-checked; unknown tags kept opaque). */
export function decodePxeVendorOptions(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const tag = buf[pos]!;
    if (tag === 255) break;
    if (tag === 0) {
      pos++;
      continue;
    }
    const length = buf[pos + 1];
    if (length === undefined || pos + 2 + length > buf.length) throw new DecodeError('BAD_LENGTH', pos, `PXE sub-option ${tag} overruns option 43`);
    out.set(tag, buf.subarray(pos + 2, pos + 2 + length));
    pos += 2 + length;
  }
  return out;
}

export function decodeMtftpSubOptions(buf: Buffer): MtftpSubOptions | null {
  const sub = decodePxeVendorOptions(buf);
  const ip = sub.get(1);
  const cport = sub.get(2);
  const sport = sub.get(3);
  const open = sub.get(4);
  const reopen = sub.get(5);
  if (ip?.length !== 4 || cport?.length !== 2 || sport?.length !== 2 || open?.length !== 1 || reopen?.length !== 1) return null;
  return {
    group: [...ip].join('.'),
    clientPort: cport.readUInt16BE(0),
    serverPort: sport.readUInt16BE(0),
    openTimeoutS: open[0]!,
    reopenDelayS: reopen[0]!,
  };
}
