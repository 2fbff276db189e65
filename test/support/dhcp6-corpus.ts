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
import { capture } from './fixtures.js';
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

/** What ISC dhclient -6 really sent (test/fixtures/captures), as is and through one RELAY-FORW. */
export function dhclientCaptures(): Buffer[] {
  const sent = [capture('dhclient6-information-request'), capture('dhclient6-solicit')];
  return [...sent, ...sent.map((m) => relayed(m, 1, '9e:9c:4d:9a:01:f8'))];
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

/** A datagram the decoder must refuse with `reason`, or (reason null) one it must accept. */
export interface Dhcp6HostileCase {
  readonly name: string;
  readonly bytes: Buffer;
  readonly reason: 'TRUNCATED' | 'RELAY_TOO_DEEP' | 'BAD_OPTIONS' | null;
}

/** The largest UDP payload over IPv6 without jumbograms (65535 - the 8-byte UDP header). */
export const MAX_UDP6_PAYLOAD = 65_527;

/** A relay level with nothing but the Relay Message option around `inner` (38 bytes of overhead). */
function bareRelay(inner: Buffer): Buffer {
  const head = Buffer.alloc(34);
  head[0] = T.RELAY_FORW;
  return Buffer.concat([head, opt(O.RELAY_MSG, inner)]);
}

/**
 * The named hostile inputs of issue 18 (truncated options, option lengths past the end,
 * option-length "loops", relay nesting past 32, zero-length and huge datagrams), shared by the
 * codec's unit test (each refused with its reason) and the network fuzz (each counted once by the
 * daemon). A length "loop" is a length that, read as a signed or wrapping number, would send a
 * careless walk back to the same or an earlier option: 0xfffc is -4, 0xfff8 is -8.
 */
export function dhcp6HostileCases(): Dhcp6HostileCase[] {
  const solicit = uefiSolicit(40);
  const info = clientMessage({ type: T.INFORMATION_REQUEST, duid: duidLl('52:54:00:66:00:40'), oro: [59, 60], arch: 7 });
  const withFirstLength = (msg: Buffer, length: number) => {
    const out = Buffer.from(msg);
    out.writeUInt16BE(length, 6); // the first option's length (after type, transaction id, code)
    return out;
  };
  const relayHead = (type: number) => Buffer.concat([Buffer.from([type, 0]), Buffer.alloc(32)]);
  const hugeTruncated = Buffer.concat([solicit, opt(0x7fff, Buffer.alloc(60_000, 0x41))]);
  hugeTruncated.writeUInt16BE(60_001, solicit.length + 2); // one byte more than the datagram has
  let deep1000 = info;
  for (let i = 0; i < 1000; i++) deep1000 = bareRelay(deep1000);
  const hugeNoise = Buffer.alloc(MAX_UDP6_PAYLOAD, 0xff); // type 255, options 0xffff of length 0xffff
  return [
    { name: 'zero-length datagram', bytes: Buffer.alloc(0), reason: 'TRUNCATED' },
    { name: 'one byte (message type only)', bytes: Buffer.from([T.SOLICIT]), reason: 'TRUNCATED' },
    { name: 'header cut in the transaction id', bytes: solicit.subarray(0, 3), reason: 'TRUNCATED' },
    { name: 'SOLICIT cut inside its last option', bytes: solicit.subarray(0, solicit.length - 3), reason: 'TRUNCATED' },
    { name: 'SOLICIT cut inside an option header', bytes: solicit.subarray(0, 4 + 3), reason: 'TRUNCATED' },
    { name: 'INFORMATION-REQUEST cut inside its last option', bytes: info.subarray(0, info.length - 1), reason: 'TRUNCATED' },
    { name: 'option length one past the end', bytes: withFirstLength(solicit, solicit.length - 8 + 1), reason: 'TRUNCATED' },
    { name: 'option length 0xffff', bytes: withFirstLength(info, 0xffff), reason: 'TRUNCATED' },
    { name: 'option-length loop: 0xfffc (-4, the same option again)', bytes: withFirstLength(solicit, 0xfffc), reason: 'TRUNCATED' },
    { name: 'option-length loop: 0xfff8 (-8, back before the option)', bytes: withFirstLength(info, 0xfff8), reason: 'TRUNCATED' },
    { name: 'option-length loop inside a relayed message', bytes: relayed(withFirstLength(solicit, 0xfffc), 2), reason: 'TRUNCATED' },
    { name: 'Relay Message option longer than the relay message', bytes: (() => { const r = relayed(info, 1); r.writeUInt16BE(0xfff0, r.length - info.length - 2); return r; })(), reason: 'TRUNCATED' },
    { name: 'relay header cut', bytes: relayHead(T.RELAY_FORW).subarray(0, 20), reason: 'TRUNCATED' },
    { name: 'relay with an empty Relay Message', bytes: Buffer.concat([relayHead(T.RELAY_FORW), opt(O.RELAY_MSG, Buffer.alloc(0))]), reason: 'TRUNCATED' },
    { name: 'relay without a Relay Message option', bytes: Buffer.concat([relayHead(T.RELAY_FORW), opt(O.INTERFACE_ID, Buffer.from('port0'))]), reason: 'BAD_OPTIONS' },
    { name: 'relay nesting of 33', bytes: relayed(solicit, 33), reason: 'RELAY_TOO_DEEP' },
    { name: 'relay nesting of 64 around an INFORMATION-REQUEST', bytes: relayed(info, 64), reason: 'RELAY_TOO_DEEP' },
    { name: `relay nesting of 1000 (${deep1000.length} bytes)`, bytes: deep1000, reason: 'RELAY_TOO_DEEP' },
    { name: `huge SOLICIT (${hugeTruncated.length} bytes) whose last option runs one byte past the end`, bytes: hugeTruncated, reason: 'TRUNCATED' },
    { name: `huge datagram of 0xff (${MAX_UDP6_PAYLOAD} bytes)`, bytes: hugeNoise, reason: 'TRUNCATED' },
    // Not malformed: these decode (and are answered), so they must not be counted.
    { name: 'relay nesting of exactly 32', bytes: relayed(solicit, 32), reason: null },
    { name: 'huge well-formed SOLICIT (a 60,000-byte unknown option)', bytes: Buffer.concat([solicit, opt(0x7fff, Buffer.alloc(60_000, 0x42))]), reason: null },
  ];
}
