// Who is asking (protocols.md 7.1, 8): a PXE client by option 60 `PXEClient` (the 9-byte prefix
// both iPXE and EDK2 classify on) or a UEFI HTTP Boot client by `HTTPClient`, its architecture from option 93, iPXE by its user class 77
// (`iPXE`, raw bytes, not RFC 3004 format) or its encapsulated options 175, and its GUID from 97.
// An option 60 or 93 that cannot be read (codec/pxe-options.ts) is taken as absent: the client
// gets the answer the default policy gives a client that did not send it, and the problem is
// reported in `malformed` for the log.
import { DecodeError } from '../codec/decode-error.js';
import type { DhcpMessage } from '../codec/dhcp-message.js';
import { decodeBootVendorClass, decodeClientArchitectures, type BootVendorClass } from '../codec/pxe-options.js';
import type { Architecture } from '../config/config-types.js';

export interface ClientInfo {
  readonly mac: string;
  readonly isPxe: boolean;
  /** UEFI HTTP Boot: option 60 starts `HTTPClient` (UEFI 2.5+ 24.7). */
  readonly isHttpClient: boolean;
  readonly isIpxe: boolean;
  /** First type of option 93, or null (a plain DHCP client). */
  readonly archType: number | null;
  readonly arch: Architecture | null;
  /** Option 97 as sent, echoed by PXE replies (type 0 + 16-byte UUID). */
  readonly machineId: Buffer | null;
  /** Options 60 and 93 that could not be read and were taken as absent, one problem each. */
  readonly malformed: readonly string[];
}

/** RFC 4578 / IANA processor architecture types served by name in the catalog. Type 9 is x64 in
 *  practice (RFC 4578 swapped 7 and 9; erratum), so it is treated as x64 like 7. */
export const ARCH_BY_TYPE: ReadonlyMap<number, Architecture> = new Map([
  [0, 'bios'],
  [6, 'efi-ia32'],
  [7, 'efi-x64'],
  [9, 'efi-x64'],
  [10, 'efi-arm32'],
  [11, 'efi-arm64'],
  [16, 'efi-x64-http'],
  [19, 'efi-arm64-http'],
]);

export function classifyClient(msg: DhcpMessage): ClientInfo {
  const malformed: string[] = [];
  /** The option decoded, or null when absent or unreadable (then noted in `malformed`). */
  const read = <T>(tag: number, decode: (buf: Buffer) => T): T | null => {
    const value = msg.raw.get(tag);
    if (value === undefined) return null;
    try {
      return decode(value);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      malformed.push(e.message);
      return null;
    }
  };
  const bootClass: BootVendorClass | null = read(60, decodeBootVendorClass);
  const archType = read(93, decodeClientArchitectures)?.[0] ?? null;
  const userClass = msg.raw.get(77)?.toString('latin1') ?? '';
  const machineId = msg.raw.get(97) ?? null;
  return {
    mac: msg.chaddr,
    isPxe: bootClass === 'PXEClient',
    isHttpClient: bootClass === 'HTTPClient',
    isIpxe: userClass === 'iPXE' || msg.raw.has(175),
    archType,
    arch: archType === null ? null : (ARCH_BY_TYPE.get(archType) ?? null),
    machineId: machineId && machineId.length === 17 ? machineId : null,
    malformed,
  };
}
