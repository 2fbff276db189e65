// DHCPv6 client messages as UEFI firmware and relays send them (protocols.md 13.3), built with our
// codec, plus the fuzz input generator for the DHCPv6 decoder and server.
import {
  Dhcp6MessageType as T,
  Dhcp6Option as O,
  encodeDhcp6,
  encodeIaAddress,
  encodeIaNa,
  encodeU16List,
  encodeVendorClass,
  UEFI_ENTERPRISE,
  type Dhcp6Message,
  type Dhcp6OptionValue,
} from '../../src/codec/dhcp6-message.js';
import { mutate, pick, randomBytes, randomInt, type Random } from './fuzz-mutate.js';

/** DUID-LL (type 3) of Ethernet for `mac`. */
export function duidLl(mac: string): Buffer {
  return Buffer.from([0, 3, 0, 1, ...mac.split(':').map((x) => parseInt(x, 16))]);
}

/** DUID-UUID (type 4), as EDK2 sends it: carries no MAC. */
export function duidUuid(n: number): Buffer {
  const b = Buffer.alloc(18);
  b.writeUInt16BE(4, 0);
  b.writeUInt32BE(0x12345600 + n, 2);
  return b;
}

export interface ClientMessageSpec {
  readonly type: number;
  readonly duid?: Buffer | null;
  readonly serverId?: Buffer;
  readonly arch?: number;
  /** Vendor class 16 text with enterprise 343, e.g. `HTTPClient:Arch:00016:UNDI:003001`. */
  readonly vendorClass?: string;
  readonly oro?: readonly number[];
  /** IA_NAs by IAID, each with an optional requested address. */
  readonly iaNa?: ReadonlyArray<{ readonly iaid: number; readonly address?: string }>;
  readonly transactionId?: number;
  readonly extra?: readonly Dhcp6OptionValue[];
}

export function clientOptions(spec: ClientMessageSpec): Dhcp6OptionValue[] {
  const options: Dhcp6OptionValue[] = [];
  if (spec.duid !== null) options.push({ code: O.CLIENTID, data: spec.duid ?? duidUuid(1) });
  if (spec.serverId) options.push({ code: O.SERVERID, data: spec.serverId });
  for (const ia of spec.iaNa ?? []) {
    const addr = ia.address ? [{ code: O.IAADDR, data: encodeIaAddress({ address: ia.address, preferred: 0, valid: 0, options: [] }) }] : [];
    options.push({ code: O.IA_NA, data: encodeIaNa({ iaid: ia.iaid, t1: 0, t2: 0, options: addr }) });
  }
  options.push({ code: O.ELAPSED_TIME, data: Buffer.from([0, 0]) });
  if (spec.oro) options.push({ code: O.ORO, data: encodeU16List(spec.oro) });
  if (spec.arch !== undefined) options.push({ code: O.CLIENT_ARCH_TYPE, data: encodeU16List([spec.arch]) });
  if (spec.vendorClass) options.push({ code: O.VENDOR_CLASS, data: encodeVendorClass({ enterprise: UEFI_ENTERPRISE, data: [Buffer.from(spec.vendorClass)] }) });
  options.push(...(spec.extra ?? []));
  return options;
}

export function clientMessage(spec: ClientMessageSpec): Buffer {
  return encodeDhcp6({ kind: 'client', type: spec.type, transactionId: spec.transactionId ?? 0x123456, options: clientOptions(spec) });
}

/** EDK2's PXEv6 SOLICIT shape: DUID-UUID, one IA_NA, ORO with 59/60/23/24, arch 7, `PXEClient`. */
export function uefiSolicit(n = 1): Buffer {
  return clientMessage({ type: T.SOLICIT, duid: duidUuid(n), iaNa: [{ iaid: n }], oro: [59, 60, 23, 24], arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003016' });
}

/** `inner` wrapped in `depth` RELAY-FORW levels; the innermost relay adds option 79 for `mac`. */
export function relayed(inner: Buffer, depth: number, mac?: string): Buffer {
  let msg: Buffer = inner;
  for (let i = 0; i < depth; i++) {
    const options: Buffer[] = [];
    if (i === 0 && mac) options.push(opt(O.CLIENT_LINKLAYER_ADDR, Buffer.from([0, 1, ...mac.split(':').map((x) => parseInt(x, 16))])));
    options.push(opt(O.INTERFACE_ID, Buffer.from(`port${i}`)));
    options.push(opt(O.RELAY_MSG, msg));
    const head = Buffer.alloc(34);
    head[0] = T.RELAY_FORW;
    head[1] = i;
    head.writeUInt16BE(0xfd00, 2); // link-address fd00::<i>
    head[17] = i;
    head.writeUInt16BE(0xfe80, 18); // peer-address fe80::<i>
    head[33] = 0x10 + i;
    msg = Buffer.concat([head, ...options]);
  }
  return msg;
}

const opt = (code: number, data: Buffer) => Buffer.concat([Buffer.from([code >> 8, code & 0xff, data.length >> 8, data.length & 0xff]), data]);

/** Seeds: every message type a server may see, relayed or not. */
export function dhcp6Seeds(): Buffer[] {
  const mac = '52:54:00:66:00:01';
  return [
    uefiSolicit(1),
    clientMessage({ type: T.INFORMATION_REQUEST, duid: duidLl(mac), oro: [59] }),
    clientMessage({ type: T.REQUEST, duid: duidLl(mac), serverId: Buffer.from('000400', 'hex'), iaNa: [{ iaid: 1, address: 'fd00::1000' }] }),
    clientMessage({ type: T.CONFIRM, duid: duidLl(mac), iaNa: [{ iaid: 1, address: 'fd00::1000' }] }),
    clientMessage({ type: T.SOLICIT, arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', iaNa: [{ iaid: 7 }] }),
    relayed(uefiSolicit(2), 1, mac),
    relayed(uefiSolicit(3), 3),
  ];
}

/** One DHCPv6 datagram: a seed, a mutated seed (option lengths, nesting, truncation), or noise. */
export function fuzzDhcp6Datagram(random: Random, seeds: readonly Buffer[]): Buffer {
  const r = random();
  if (r < 0.1) return pick(random, seeds);
  if (r < 0.2) return relayed(pick(random, seeds), randomInt(random, 40));
  if (r < 0.9) return mutate(pick(random, seeds), random, seeds);
  return randomBytes(random, randomInt(random, 400));
}

export type { Dhcp6Message };
