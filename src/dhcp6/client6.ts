// Who is asking over DHCPv6 (RFC 8415, RFC 5970): its DUID (option 1), its MAC when one can be
// known (a DUID-LLT/DUID-LL of Ethernet, else the Client Link-Layer Address option 79 a relay added,
// RFC 6939), its architecture from option 61 (the same IANA table as DHCPv4 option 93), UEFI PXE
// or HTTP Boot from the vendor class (16, enterprise 343: `PXEClient:...` / `HTTPClient:...`),
// iPXE from its user class (15, `iPXE`), what it asked for (option 6) and its IA_NAs.
import {
  decodeClientArchTypes,
  decodeIaNa,
  decodeOptionRequest,
  decodeVendorClass,
  Dhcp6Option,
  findOption,
  macFromDuid,
  UEFI_ENTERPRISE,
  type Dhcp6ClientMessage,
  type IaNa,
} from '../codec/dhcp6-message.js';
import type { Architecture } from '../config/config-types.js';
import { ARCH_BY_TYPE, type ClientInfo } from '../dhcp/client-class.js';
import { ByteReader } from '../codec/byte-cursor.js';

export interface Client6Info {
  /** Option 1 as sent; null for an INFORMATION-REQUEST without one (allowed there). */
  readonly duid: Buffer | null;
  /** Lower-case colon-separated, or null when neither the DUID nor a relay tells it. */
  readonly mac: string | null;
  /** The MAC a DUID-LLT/DUID-LL of Ethernet carries. */
  readonly duidMac: string | null;
  /** The MAC the relay next to the client reported (option 79). */
  readonly relayMac: string | null;
  readonly archType: number | null;
  readonly arch: Architecture | null;
  readonly isPxe: boolean;
  readonly isHttpClient: boolean;
  readonly isIpxe: boolean;
  /** Option codes of the Option Request option (6). */
  readonly requested: readonly number[];
  readonly iaNas: readonly IaNa[];
  /** Option 2 when the client named a server. */
  readonly serverId: Buffer | null;
  readonly rapidCommit: boolean;
}

/** Reads the client's options; a malformed body of an option we use throws DecodeError. */
export function classifyClient6(msg: Dhcp6ClientMessage, relayMac: string | null): Client6Info {
  const duid = findOption(msg.options, Dhcp6Option.CLIENTID);
  const arch61 = findOption(msg.options, Dhcp6Option.CLIENT_ARCH_TYPE);
  const archTypes = arch61 === null ? [] : decodeClientArchTypes(arch61);
  const archType = archTypes[0] ?? null;
  let vendorText = '';
  for (const o of msg.options) {
    if (o.code !== Dhcp6Option.VENDOR_CLASS) continue;
    const vc = decodeVendorClass(o.data);
    if (vc.enterprise === UEFI_ENTERPRISE && vc.data[0]) vendorText = vc.data[0].toString('latin1');
  }
  const oro = findOption(msg.options, Dhcp6Option.ORO);
  const duidMac = duid === null ? null : macFromDuid(duid);
  return {
    duid,
    mac: duidMac ?? relayMac,
    duidMac,
    relayMac,
    archType,
    arch: archType === null ? null : (ARCH_BY_TYPE.get(archType) ?? null),
    isPxe: vendorText.startsWith('PXEClient'),
    isHttpClient: vendorText.startsWith('HTTPClient') || archType === 16 || archType === 19,
    isIpxe: userClasses(findOption(msg.options, Dhcp6Option.USER_CLASS)).includes('iPXE'),
    requested: oro === null ? [] : decodeOptionRequest(oro),
    iaNas: msg.options.filter((o) => o.code === Dhcp6Option.IA_NA).map((o) => decodeIaNa(o.data)),
    serverId: findOption(msg.options, Dhcp6Option.SERVERID),
    rapidCommit: findOption(msg.options, Dhcp6Option.RAPID_COMMIT) !== null,
  };
}

/** User Class (15, RFC 8415 21.15): length-prefixed opaque strings. */
function userClasses(data: Buffer | null): string[] {
  if (data === null) return [];
  const r = new ByteReader(data);
  const out: string[] = [];
  while (r.remaining() > 0) out.push(r.bytes(r.u16('user-class-len'), 'user-class-data').toString('latin1'));
  return out;
}

/** The same client as the DHCPv4 catalog rules see one (chooseImage). */
export function asClientInfo(c: Client6Info): ClientInfo {
  return {
    mac: c.mac ?? '',
    isPxe: c.isPxe,
    isHttpClient: c.isHttpClient,
    isIpxe: c.isIpxe,
    archType: c.archType,
    arch: c.arch,
    machineId: null,
    malformed: [],
  };
}
