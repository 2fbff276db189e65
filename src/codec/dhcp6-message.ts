// DHCPv6 messages (RFC 8415 section 8, 9, 21) and the network-boot options of RFC 5970, as pure
// bytes <-> values. Our own codec: the `dhcp` package is IPv4 only. The walk is bounds-checked
// (design.md, example 3): an option whose length runs past its container is TRUNCATED, relay
// messages nest at most RELAY_NESTING_LIMIT deep (RFC 8415 7.6 HOP_COUNT_LIMIT can be set to 32 at
// most, so a deeper chain cannot come from conforming relays) and are RELAY_TOO_DEEP beyond.
// Every option consumes at least its 4 header bytes, so no length value can make the walk loop.
import { ByteReader, ByteWriter } from './byte-cursor.js';
import { DecodeError } from './decode-error.js';

export const Dhcp6MessageType = {
  SOLICIT: 1,
  ADVERTISE: 2,
  REQUEST: 3,
  CONFIRM: 4,
  RENEW: 5,
  REBIND: 6,
  REPLY: 7,
  RELEASE: 8,
  DECLINE: 9,
  RECONFIGURE: 10,
  INFORMATION_REQUEST: 11,
  RELAY_FORW: 12,
  RELAY_REPL: 13,
} as const;

export const Dhcp6Option = {
  CLIENTID: 1,
  SERVERID: 2,
  IA_NA: 3,
  IA_TA: 4,
  IAADDR: 5,
  ORO: 6,
  PREFERENCE: 7,
  ELAPSED_TIME: 8,
  RELAY_MSG: 9,
  STATUS_CODE: 13,
  RAPID_COMMIT: 14,
  USER_CLASS: 15,
  VENDOR_CLASS: 16,
  INTERFACE_ID: 18,
  DNS_SERVERS: 23,
  BOOTFILE_URL: 59,
  BOOTFILE_PARAM: 60,
  CLIENT_ARCH_TYPE: 61,
  NII: 62,
  CLIENT_LINKLAYER_ADDR: 79,
} as const;

/** RFC 8415 21.13 status codes the server sends. */
export const Dhcp6Status = { SUCCESS: 0, UNSPEC_FAIL: 1, NO_ADDRS_AVAIL: 2, NO_BINDING: 3, NOT_ON_LINK: 4, USE_MULTICAST: 5 } as const;

/** RFC 8415 7.6: HOP_COUNT_LIMIT is 8 by default and may be configured up to 32. */
export const RELAY_NESTING_LIMIT = 32;
/** IANA enterprise number of the UEFI Forum's vendor classes (`PXEClient`, `HTTPClient`). */
export const UEFI_ENTERPRISE = 343;

export interface Dhcp6OptionValue {
  readonly code: number;
  readonly data: Buffer;
}

/** A client or server message (RFC 8415 8): type, 24-bit transaction id, options in order. */
export interface Dhcp6ClientMessage {
  readonly kind: 'client';
  readonly type: number;
  readonly transactionId: number;
  readonly options: readonly Dhcp6OptionValue[];
}

/** RELAY-FORW / RELAY-REPL (RFC 8415 9); `inner` is the decoded Relay Message option (9). */
export interface Dhcp6RelayMessage {
  readonly kind: 'relay';
  readonly type: number;
  readonly hopCount: number;
  readonly linkAddress: string;
  readonly peerAddress: string;
  /** Every option but the Relay Message (Interface-Id 18, Client Link-Layer Address 79, ...). */
  readonly options: readonly Dhcp6OptionValue[];
  readonly inner: Dhcp6Message;
}

export type Dhcp6Message = Dhcp6ClientMessage | Dhcp6RelayMessage;

const isRelayType = (type: number) => type === Dhcp6MessageType.RELAY_FORW || type === Dhcp6MessageType.RELAY_REPL;

// ------------------------------------------------------------------------------------------------
// options

/** The options of a message or of an encapsulating option (IA_NA, IAADDR), in order. */
export function decodeDhcp6Options(buf: Buffer, base = 0): Dhcp6OptionValue[] {
  const r = new ByteReader(buf);
  const out: Dhcp6OptionValue[] = [];
  while (r.remaining() > 0) {
    const at = r.offset;
    if (r.remaining() < 4) throw new DecodeError('TRUNCATED', base + at, `${r.remaining()} byte(s) left where an option header needs 4`);
    const code = r.u16('option code');
    const length = r.u16('option length');
    if (length > r.remaining()) {
      throw new DecodeError('TRUNCATED', base + at, `option ${code} claims ${length} bytes of payload, but only ${r.remaining()} follow`);
    }
    out.push({ code, data: r.bytes(length) });
  }
  return out;
}

export function dhcp6OptionsLength(options: readonly Dhcp6OptionValue[]): number {
  return options.reduce((n, o) => n + 4 + o.data.length, 0);
}

function writeOptions(w: ByteWriter, options: readonly Dhcp6OptionValue[]): void {
  for (const o of options) {
    if (o.data.length > 0xffff) throw new RangeError(`option ${o.code} has ${o.data.length} bytes; at most 65535 fit`);
    w.u16(o.code).u16(o.data.length).bytes(o.data);
  }
}

export function encodeDhcp6Options(options: readonly Dhcp6OptionValue[]): Buffer {
  const w = new ByteWriter(dhcp6OptionsLength(options));
  writeOptions(w, options);
  return w.done();
}

export function findOption(options: readonly Dhcp6OptionValue[], code: number): Buffer | null {
  return options.find((o) => o.code === code)?.data ?? null;
}

// ------------------------------------------------------------------------------------------------
// messages

export function decodeDhcp6(buf: Buffer): Dhcp6Message {
  return decodeAt(buf, 0, 0);
}

function decodeAt(buf: Buffer, base: number, depth: number): Dhcp6Message {
  const r = new ByteReader(buf);
  const type = r.u8('msg-type');
  if (!isRelayType(type)) {
    const transactionId = (r.u16('transaction-id') << 8) | r.u8('transaction-id');
    return { kind: 'client', type, transactionId, options: decodeDhcp6Options(r.rest(), base + 4) };
  }
  if (depth >= RELAY_NESTING_LIMIT) {
    throw new DecodeError('RELAY_TOO_DEEP', base, `relay message nested more than ${RELAY_NESTING_LIMIT} deep`);
  }
  const hopCount = r.u8('hop-count');
  const linkAddress = formatIpv6(r.bytes(16, 'link-address'));
  const peerAddress = formatIpv6(r.bytes(16, 'peer-address'));
  const all = decodeDhcp6Options(r.rest(), base + 34);
  const relayed = all.findIndex((o) => o.code === Dhcp6Option.RELAY_MSG);
  if (relayed < 0) throw new DecodeError('BAD_OPTIONS', base, 'relay message without a Relay Message option (9)');
  const innerData = all[relayed]!.data;
  if (innerData.length === 0) throw new DecodeError('TRUNCATED', base, 'empty Relay Message option');
  // Offsets inside the nested message are not tracked exactly: the depth is what matters.
  const inner = decodeAt(innerData, base, depth + 1);
  return { kind: 'relay', type, hopCount, linkAddress, peerAddress, options: all.filter((_, i) => i !== relayed), inner };
}

export function dhcp6EncodingLength(msg: Dhcp6Message): number {
  if (msg.kind === 'client') return 4 + dhcp6OptionsLength(msg.options);
  return 34 + dhcp6OptionsLength(msg.options) + 4 + dhcp6EncodingLength(msg.inner);
}

export function encodeDhcp6(msg: Dhcp6Message): Buffer {
  const w = new ByteWriter(dhcp6EncodingLength(msg));
  write(w, msg);
  return w.done();
}

function write(w: ByteWriter, msg: Dhcp6Message): void {
  w.u8(msg.type);
  if (msg.kind === 'client') {
    w.u16(msg.transactionId >>> 8).u8(msg.transactionId & 0xff);
    writeOptions(w, msg.options);
    return;
  }
  w.u8(msg.hopCount).bytes(parseIpv6(msg.linkAddress)).bytes(parseIpv6(msg.peerAddress));
  // Interface-Id first, as relays put it; then the Relay Message.
  writeOptions(w, msg.options);
  w.u16(Dhcp6Option.RELAY_MSG).u16(dhcp6EncodingLength(msg.inner));
  write(w, msg.inner);
}

// ------------------------------------------------------------------------------------------------
// option bodies

export interface IaNa {
  readonly iaid: number;
  readonly t1: number;
  readonly t2: number;
  readonly options: readonly Dhcp6OptionValue[];
}

/** IA_NA (RFC 8415 21.4): IAID, T1, T2, then options (IAADDR, Status Code). */
export function decodeIaNa(data: Buffer): IaNa {
  const r = new ByteReader(data);
  const iaid = r.u32('IAID');
  const t1 = r.u32('T1');
  const t2 = r.u32('T2');
  return { iaid, t1, t2, options: decodeDhcp6Options(r.rest(), 12) };
}

export function encodeIaNa(ia: IaNa): Buffer {
  const w = new ByteWriter(12 + dhcp6OptionsLength(ia.options));
  w.u32(ia.iaid).u32(ia.t1).u32(ia.t2);
  writeOptions(w, ia.options);
  return w.done();
}

export interface IaAddress {
  readonly address: string;
  readonly preferred: number;
  readonly valid: number;
  readonly options: readonly Dhcp6OptionValue[];
}

/** IAADDR (RFC 8415 21.6). */
export function decodeIaAddress(data: Buffer): IaAddress {
  const r = new ByteReader(data);
  const address = formatIpv6(r.bytes(16, 'IPv6-address'));
  const preferred = r.u32('preferred-lifetime');
  const valid = r.u32('valid-lifetime');
  return { address, preferred, valid, options: decodeDhcp6Options(r.rest(), 24) };
}

export function encodeIaAddress(a: IaAddress): Buffer {
  const w = new ByteWriter(24 + dhcp6OptionsLength(a.options));
  w.bytes(parseIpv6(a.address)).u32(a.preferred).u32(a.valid);
  writeOptions(w, a.options);
  return w.done();
}

export function encodeStatusCode(code: number, message: string): Buffer {
  return Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(message, 'utf8')]);
}

export function decodeStatusCode(data: Buffer): { code: number; message: string } {
  const r = new ByteReader(data);
  return { code: r.u16('status-code'), message: r.rest().toString('utf8') };
}

/** Option Request (6): a list of 16-bit codes. */
export function decodeOptionRequest(data: Buffer): number[] {
  if (data.length % 2 !== 0) throw new DecodeError('BAD_LENGTH', 0, `option request of ${data.length} bytes is not a list of 16-bit codes`);
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 2) out.push(data.readUInt16BE(i));
  return out;
}

/** Client System Architecture Type (61, RFC 5970 3.3): a list of 16-bit types. */
export const decodeClientArchTypes = decodeOptionRequest;

export function encodeU16List(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

export interface VendorClass {
  readonly enterprise: number;
  readonly data: readonly Buffer[];
}

/** Vendor Class (16, RFC 8415 21.16): enterprise number, then length-prefixed opaque strings. */
export function decodeVendorClass(data: Buffer): VendorClass {
  const r = new ByteReader(data);
  const enterprise = r.u32('enterprise-number');
  const items: Buffer[] = [];
  while (r.remaining() > 0) items.push(r.bytes(r.u16('vendor-class-len'), 'vendor-class-data'));
  return { enterprise, data: items };
}

export function encodeVendorClass(v: VendorClass): Buffer {
  const w = new ByteWriter(4 + v.data.reduce((n, d) => n + 2 + d.length, 0));
  w.u32(v.enterprise);
  for (const d of v.data) w.u16(d.length).bytes(d);
  return w.done();
}

/** Boot File Parameters (60, RFC 5970 3.2): length-prefixed UTF-8 strings. */
export function encodeBootFileParams(params: readonly string[]): Buffer {
  return Buffer.concat(params.map((p) => {
    const b = Buffer.from(p, 'utf8');
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  }));
}

export function decodeBootFileParams(data: Buffer): string[] {
  const r = new ByteReader(data);
  const out: string[] = [];
  while (r.remaining() > 0) out.push(r.bytes(r.u16('param-len'), 'parameter').toString('utf8'));
  return out;
}

/** The MAC in a DUID-LLT (type 1) or DUID-LL (type 3) of hardware type 1 (Ethernet); else null. */
export function macFromDuid(duid: Buffer): string | null {
  if (duid.length < 4) return null;
  const type = duid.readUInt16BE(0);
  const hardware = duid.readUInt16BE(2);
  const at = type === 1 ? 8 : type === 3 ? 4 : -1;
  if (at < 0 || hardware !== 1 || duid.length !== at + 6) return null;
  return formatMac(duid.subarray(at));
}

/** Client Link-Layer Address (79, RFC 6939) of Ethernet (type 1): the MAC, else null. */
export function macFromLinkLayerOption(data: Buffer): string | null {
  if (data.length !== 8 || data.readUInt16BE(0) !== 1) return null;
  return formatMac(data.subarray(2));
}

const formatMac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

// ------------------------------------------------------------------------------------------------
// IPv6 text (no node:net in codecs)

/** 16 bytes -> RFC 5952 text (lower case, longest run of two or more zero groups as `::`). */
export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** IPv6 text (`::`, embedded IPv4 tail allowed) -> 16 bytes; throws RangeError on bad text. */
export function parseIpv6(text: string): Buffer {
  const bad = () => new RangeError(`not an IPv6 address: ${text}`);
  let s = text;
  const tail: number[] = [];
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const octets = v4.slice(2, 6).map(Number);
    if (octets.some((o) => o > 255)) throw bad();
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    s = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) throw bad();
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    return parseInt(g, 16);
  }));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fixed = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (fixed > 7) throw bad();
    groups = [...head, ...new Array<number>(8 - fixed).fill(0), ...rest, ...tail];
  } else {
    if (fixed !== 8) throw bad();
    groups = [...head, ...tail];
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
