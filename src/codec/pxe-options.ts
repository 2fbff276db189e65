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

/**
 * Option 93 (RFC 4578 2.1): the client's architecture types, a list of 16-bit numbers, so a
 * non-empty even number of bytes.
 */
export function decodeClientArchitectures(buf: Buffer): number[] {
  if (buf.length === 0 || buf.length % 2 !== 0) throw new DecodeError('BAD_LENGTH', 0, `option 93 has ${buf.length} bytes, not a list of 16-bit types`);
  const types: number[] = [];
  for (let pos = 0; pos < buf.length; pos += 2) types.push(buf.readUInt16BE(pos));
  return types;
}

/** The boot classes of option 60 (PXE 2.1 2.2.4; UEFI 2.5+ 24.7 for HTTP Boot). */
export type BootVendorClass = 'PXEClient' | 'HTTPClient';

/**
 * Option 60 read as a boot client's class: `PXEClient` or `HTTPClient` (the prefix iPXE, EDK2 and
 * dnsmasq classify on), optionally followed by `:Arch:xxxxx` (a 16-bit type in decimal) and
 * `:UNDI:yyyzzz` (major and minor version in decimal). Null for any other vendor class: that is
 * not a boot client, not a malformed one. A boot class whose fields cannot be read, or with bytes
 * outside printable ASCII (trailing NULs aside), throws.
 */
export function decodeBootVendorClass(buf: Buffer): BootVendorClass | null {
  const text = buf.toString('latin1').replace(/\0+$/, '');
  const name = (['PXEClient', 'HTTPClient'] as const).find((c) => text.startsWith(c));
  if (name === undefined) return null;
  if (!/^[\x20-\x7e]*$/.test(text)) throw new DecodeError('NOT_NETASCII', 0, `option 60 "${printableText(text)}" holds bytes outside printable ASCII`);
  const fields = text.slice(name.length);
  const arch = /^:Arch:([^:]*)/.exec(fields);
  if (arch && !(/^\d{1,5}$/.test(arch[1]!) && Number(arch[1]) <= 0xffff)) {
    throw new DecodeError('BAD_OPTIONS', 0, `option 60 "${printableText(text)}": Arch is not a 16-bit number`);
  }
  const undi = /:UNDI:([^:]*)/.exec(fields);
  if (undi && !/^\d{6}$/.test(undi[1]!)) throw new DecodeError('BAD_OPTIONS', 0, `option 60 "${printableText(text)}": UNDI is not 6 digits`);
  return name;
}

/** For messages about client text: non-printable bytes as `\xNN`, at most 64 characters. */
function printableText(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  return shown.replace(/[^\x20-\x7e]|["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
