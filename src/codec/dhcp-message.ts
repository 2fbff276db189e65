// DHCP messages (RFC 2131/2132) through the `dhcp` package's codec and option table, guarded as
// design.md section 6 asks: its parser checks only a 230-byte minimum, never the magic cookie,
// skips a byte after every pad, logs unknown options with console.error and reads fixed-size
// types whatever their wire length. So every packet first gets our own bounds-checked walk; the
// library then parses a normalized copy that holds only options it knows, at lengths that match
// their types. Replies are built by the library and padded to 300 bytes (dnsmasq's MIN_PACKETSZ:
// BOOTP-era clients ignore shorter ones).
import dhcp from 'dhcp';
import optionTable from 'dhcp/lib/options.js';
import protocol, { type LibPacket } from 'dhcp/lib/protocol.js';
import { DecodeError } from './decode-error.js';

export const DhcpMessageType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;

export const DHCP_MAGIC_COOKIE = 0x63825363;
const HEADER_LENGTH = 236;
const OPTIONS_START = HEADER_LENGTH + 4;
export const MIN_REPLY_LENGTH = 300;

// The PXE options the package's table lacks (RFC 4578, iPXE), registered once, here, since the
// table is module-global state.
dhcp.addOption(77, { name: 'User Class', type: 'UInt8s' });
dhcp.addOption(93, { name: 'Client System Architecture', type: 'UInt16s' });
dhcp.addOption(94, { name: 'Client Network Device Interface', type: 'UInt8s' });
dhcp.addOption(97, { name: 'Client Machine Identifier', type: 'UInt8s' });
dhcp.addOption(175, { name: 'iPXE Encapsulated Options', type: 'UInt8s' });

/** Options read only from `raw`, by dhcp/client-class.ts, which judges a malformed one itself (it
 *  falls back to the default policy): a wrong length there costs the option, not the datagram. */
const CLASSIFIER_OPTIONS: ReadonlySet<number> = new Set([60, 93]);

/** Wire lengths allowed for the package's option types (fixed ones exactly, lists by multiple). */
function lengthFits(type: string, length: number): boolean {
  switch (type) {
    case 'UInt8':
    case 'Int8':
      return length === 1;
    case 'UInt16':
    case 'Int16':
      return length === 2;
    case 'UInt32':
    case 'Int32':
    case 'IP':
      return length === 4;
    case 'IPs':
      return length >= 4 && length % 4 === 0;
    case 'UInt16s':
      return length >= 2 && length % 2 === 0;
    case 'UInt8s':
    case 'ASCII':
    case 'UTF8':
      return length >= 1;
    default:
      return false; // Bool and anything else: not handed to the library
  }
}

export interface DhcpMessage {
  readonly op: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** Lower-case, colon-separated Ethernet address. */
  readonly chaddr: string;
  readonly sname: string;
  readonly file: string;
  /** Every option as it came (first instance of each tag), for opaque ones like 43, 60, 77, 97, 175. */
  readonly raw: ReadonlyMap<number, Buffer>;
  /** Options the package's table knows, as it typed them. */
  readonly options: Readonly<Record<number, unknown>>;
}

/** Our walk over the options area: bounds, structure and termination. */
function walkOptions(buf: Buffer): Map<number, Buffer> {
  const raw = new Map<number, Buffer>();
  let pos = OPTIONS_START;
  while (pos < buf.length) {
    const tag = buf[pos]!;
    if (tag === 0) {
      pos++;
      continue;
    }
    if (tag === 255) return raw;
    if (pos + 1 >= buf.length) throw new DecodeError('TRUNCATED', pos, `option ${tag} has no length byte`);
    const length = buf[pos + 1]!;
    if (pos + 2 + length > buf.length) {
      throw new DecodeError('BAD_LENGTH', pos, `option ${tag} claims ${length} bytes, only ${buf.length - pos - 2} left`);
    }
    if (!raw.has(tag)) raw.set(tag, buf.subarray(pos + 2, pos + 2 + length));
    pos += 2 + length;
  }
  // No End option: accepted when the options ran exactly to the end of the datagram.
  return raw;
}

export function decodeDhcp(buf: Buffer): DhcpMessage {
  if (buf.length < OPTIONS_START) throw new DecodeError('TRUNCATED', buf.length, `${buf.length} bytes, a DHCP message has at least ${OPTIONS_START}`);
  const op = buf[0]!;
  if (op !== 1 && op !== 2) throw new DecodeError('UNKNOWN_OPCODE', 0, `op ${op}`);
  if (buf[1] !== 1 || buf[2] !== 6) throw new DecodeError('BAD_OPTIONS', 1, `hardware type ${buf[1]} length ${buf[2]}: only Ethernet is served`);
  if (buf.readUInt32BE(HEADER_LENGTH) !== DHCP_MAGIC_COOKIE) throw new DecodeError('BAD_MAGIC', HEADER_LENGTH, 'not a DHCP magic cookie');
  const raw = walkOptions(buf);

  // A normalized copy for the library: header + cookie + the options it knows at valid lengths.
  const parts: Buffer[] = [buf.subarray(0, OPTIONS_START)];
  for (const [tag, value] of raw) {
    const spec = optionTable.opts[tag];
    if (spec === undefined) continue;
    if (!lengthFits(spec.type, value.length)) {
      // The client classifier reads these from `raw` and takes an unreadable one as absent.
      if (CLASSIFIER_OPTIONS.has(tag)) continue;
      throw new DecodeError('BAD_LENGTH', OPTIONS_START, `option ${tag} (${spec.name}) has ${value.length} bytes, wrong for ${spec.type}`);
    }
    parts.push(Buffer.from([tag, value.length]), value);
  }
  parts.push(Buffer.from([255]));
  const lib = protocol.parse(Buffer.concat(parts));
  return {
    op,
    hops: lib.hops,
    xid: lib.xid,
    secs: lib.secs,
    flags: lib.flags,
    ciaddr: lib.ciaddr,
    yiaddr: lib.yiaddr,
    siaddr: lib.siaddr,
    giaddr: lib.giaddr,
    chaddr: lib.chaddr.toLowerCase().replace(/-/g, ':'),
    sname: cString(buf.subarray(44, 108)),
    file: cString(buf.subarray(108, 236)),
    raw,
    options: lib.options,
  };
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.toString('latin1', 0, end < 0 ? field.length : end);
}

/** A reply, options keyed by tag with values in the package's types (IP strings, byte arrays...). */
export interface DhcpReply {
  readonly xid: number;
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  readonly chaddr: string;
  readonly file: string;
  readonly options: Readonly<Record<number, unknown>>;
}

export function encodeDhcp(reply: DhcpReply): Buffer {
  const packet: LibPacket = {
    op: 2,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: reply.xid,
    secs: 0,
    flags: reply.flags,
    ciaddr: reply.ciaddr,
    yiaddr: reply.yiaddr,
    siaddr: reply.siaddr,
    giaddr: reply.giaddr,
    chaddr: reply.chaddr,
    sname: '',
    file: reply.file,
    options: reply.options as Record<number, unknown>,
  };
  const sb = protocol.format(packet);
  // format() returns the package's SeqBuffer; its bytes are `_data` up to `_w` (as its own _send does).
  const bytes = sb._data.subarray(0, sb._w);
  if (bytes.length >= MIN_REPLY_LENGTH) return Buffer.from(bytes);
  const padded = Buffer.alloc(MIN_REPLY_LENGTH);
  bytes.copy(padded);
  return padded;
}
