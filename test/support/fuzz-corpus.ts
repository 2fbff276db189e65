// Generators of hostile-but-plausible inputs for every pxecast wire format: valid packets with
// boundary values (what the codec property tests round-trip), and the same packets with
// structure-aware lies (unterminated strings, bogus opcodes, option-length lies, pad/end abuse).
// The byte-level havoc is in fuzz-mutate.ts. Used by test/unit/codec/*fuzz* and scripts/fuzz.
import { encodeTftp, STANDARD_ERROR_TEXT, type TftpOption, type TftpPacket } from '../../src/codec/tftp-packet.js';
import { capture } from './fixtures.js';
import { mutate, pick, randomBytes, randomInt, type Random } from './fuzz-mutate.js';

// ---------------------------------------------------------------------------------------------
// TFTP

const NUMBER_TEXT = ['0', '1', '7', '8', '511', '512', '1428', '1432', '1468', '65464', '65465', '65535', '65536',
  '4294967295', '4294967296', '9999999999', '99999999999', '-1', '', ' 8', '1e3', '0x200', '08', '3.5'];
const OPTION_NAMES = ['blksize', 'BLKSIZE', 'tsize', 'timeout', 'windowsize', 'WindowSize', 'multicast', 'rollover', 'utimeout', 'x'];
const MODES = ['octet', 'OCTET', 'netascii', 'NetAscii', 'mail', 'binary', ''];

/** Printable latin1 text (what the codec accepts), sometimes long. */
export function printable(random: Random, maxLength: number): string {
  const n = randomInt(random, maxLength + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + randomInt(random, 0x5f) + (random() < 0.05 ? 0x80 : 0));
  return s;
}

/** A filename: the served files, traversal attempts, netascii oddities or random text. */
function filename(random: Random, known: readonly string[]): string {
  const r = random();
  if (r < 0.4 && known.length) return pick(random, known);
  if (r < 0.55) return pick(random, ['../etc/passwd', '/etc/passwd', 'a/../../b', '..', '.', '/', '//x', 'pxelinux.cfg/01-52-54-00-00-00-01', '\\..\\x']);
  if (r < 0.6) return 'a'.repeat(1 + randomInt(random, 1400));
  return printable(random, 40) || 'x';
}

function tftpOptions(random: Random): TftpOption[] {
  const options: TftpOption[] = [];
  const n = randomInt(random, 6);
  for (let i = 0; i < n; i++) {
    const name = pick(random, OPTION_NAMES);
    const value = name.toLowerCase() === 'multicast' && random() < 0.7 ? '' : random() < 0.8 ? pick(random, NUMBER_TEXT) : printable(random, 12);
    options.push({ name, value });
  }
  return options;
}

/** A well-formed TFTP packet of any kind with boundary values; encodes and decodes back exactly. */
export function validTftpPacket(random: Random, knownFiles: readonly string[] = []): TftpPacket {
  const block = () => pick(random, [0, 1, 2, 65534, 65535, randomInt(random, 65536)]);
  switch (randomInt(random, 6)) {
    case 0:
      return { op: 'RRQ', filename: filename(random, knownFiles), mode: pick(random, MODES), options: tftpOptions(random) };
    case 1:
      return { op: 'WRQ', filename: filename(random, knownFiles), mode: pick(random, MODES), options: tftpOptions(random) };
    case 2:
      return { op: 'DATA', block: block(), data: randomBytes(random, pick(random, [0, 1, 511, 512, 513, randomInt(random, 1500)])) };
    case 3:
      return { op: 'ACK', block: block() };
    case 4: {
      // Standard codes carry RFC 1350's text on the wire; the others any printable message.
      const code = pick(random, [0, 1, 5, 8, 9, 65535]);
      return { op: 'ERROR', code, message: STANDARD_ERROR_TEXT[code] ?? printable(random, 40).replace(/[^\x20-\x7e]/g, '?') };
    }
    default:
      return { op: 'OACK', options: tftpOptions(random) };
  }
}

/** The captured iPXE requests: the seeds every TFTP/MTFTP mutation starts from. */
export function tftpCaptures(): Buffer[] {
  return ['ipxe-tftp-rrq-bootfile', 'ipxe-tftm-rrq-multicast', 'ipxe-mtftp-rrq'].map((name) => capture(name));
}

/** Lies only a TFTP-aware fuzzer tells: missing final NUL, bogus opcodes, netascii edge cases. */
function tftpStructureLie(random: Random, valid: Buffer): Buffer {
  switch (randomInt(random, 5)) {
    case 0:
      return valid.subarray(0, Math.max(0, valid.length - 1 - randomInt(random, 3))); // unterminated strings
    case 1: {
      const b = Buffer.from(valid);
      if (b.length >= 2) b.writeUInt16BE(pick(random, [0, 7, 8, 255, 256, 0x0101, 0xffff]), 0);
      return b;
    }
    case 2: // netascii: CR without LF, CR NUL, a high byte or a control char inside a name
      return Buffer.concat([Buffer.from([0, 1]), Buffer.from(pick(random, ['a\rb', 'a\r\x00b', 'a\r\n', '\x80\xff', 'x\x01y', '\t']), 'latin1'), Buffer.from([0]), Buffer.from('netascii\0')]);
    case 3: // options without values, empty names, many options
      return Buffer.concat([valid, Buffer.from(pick(random, ['blksize\0', '\0\0', '\x00blksize\x00512\x00', 'tsize\0'.repeat(200)]), 'latin1')]);
    default:
      return Buffer.from([0, pick(random, [1, 2, 3, 4, 5, 6])]); // opcode only
  }
}

/** One TFTP datagram: valid, havoc-mutated from a capture or valid packet, structurally lying, or noise. */
export function fuzzTftpDatagram(random: Random, knownFiles: readonly string[], seeds: readonly Buffer[]): Buffer {
  const r = random();
  const valid = encodeTftp(validTftpPacket(random, knownFiles));
  if (r < 0.2) return valid;
  if (r < 0.6) return mutate(random() < 0.5 ? valid : pick(random, seeds), random, seeds);
  if (r < 0.85) return tftpStructureLie(random, valid);
  return randomBytes(random, randomInt(random, 600));
}

// ---------------------------------------------------------------------------------------------
// DHCP

const DHCP_HEADER = 236;
const COOKIE = Buffer.from([0x63, 0x82, 0x53, 0x63]);

/** The captured iPXE DISCOVER/REQUEST and dnsmasq OFFER. */
export function dhcpCaptures(): Buffer[] {
  return ['ipxe-dhcp-discover', 'ipxe-dhcp-request', 'dnsmasq-offer-pxe-option43'].map((name) => capture(name));
}

/** Option 60 values a boot client might send broken (issue 15): each is answered as if absent. */
const UNREADABLE_BOOT_CLASSES = [
  '', 'PXEClient:Arch:', 'PXEClient:Arch:abcde:UNDI:003016', 'PXEClient:Arch:99999:UNDI:003016', 'PXEClient:Arch:0x007',
  'PXEClient:Arch:00007:UNDI:3.0', 'PXEClient:Arch:00007\xff\x00', 'HTTPClient:Arch:-0016', 'HTTPClient\x80',
];

/** The iPXE DISCOVER's header with options 53, 60 and 93 as given: a boot client's DISCOVER. */
function discoverWith(vendorClass: Buffer, arch: Buffer): Buffer {
  const header = capture('ipxe-dhcp-discover').subarray(0, DHCP_HEADER);
  return Buffer.concat([header, COOKIE, tlv(53, Buffer.from([1])), tlv(60, vendorClass), tlv(93, arch), Buffer.from([255])]);
}

/** Seeds for DHCP fuzzing: the captures, and boot clients' DISCOVERs whose option 60 or 93 cannot
 *  be read (empty or odd 93; a boot class with unreadable fields), next to well-formed ones. */
export function dhcpSeeds(): Buffer[] {
  const edk2 = Buffer.from('PXEClient:Arch:00007:UNDI:003016', 'latin1');
  return [
    ...dhcpCaptures(),
    discoverWith(edk2, Buffer.from([0, 7])),
    ...[Buffer.alloc(0), Buffer.from([7]), Buffer.from([0, 7, 0])].map((arch) => discoverWith(edk2, arch)),
    ...UNREADABLE_BOOT_CLASSES.map((text) => discoverWith(Buffer.from(text, 'latin1'), Buffer.from([0, 7]))),
  ];
}

function tlv(tag: number, value: Buffer, lengthLie?: number): Buffer {
  return Buffer.concat([Buffer.from([tag, lengthLie ?? value.length]), value]);
}

/** A random PXE option 43 body: sub-options 1-6, 71, unknown ones, pads, early ends, length lies. */
export function pxeVendorBody(random: Random): Buffer {
  const parts: Buffer[] = [];
  const n = randomInt(random, 8);
  for (let i = 0; i < n; i++) {
    const tag = pick(random, [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 71, 255, randomInt(random, 256)]);
    if (tag === 0 || tag === 255) parts.push(Buffer.from([tag]));
    else {
      const value = randomBytes(random, pick(random, [0, 1, 2, 4, randomInt(random, 20)]));
      parts.push(tlv(tag, value, random() < 0.15 ? randomInt(random, 256) : undefined));
    }
  }
  return Buffer.concat(parts);
}

/** One option with a plausible or hostile value for the PXE-relevant and typed tags. */
function dhcpOption(random: Random): Buffer {
  const tag = pick(random, [1, 3, 6, 12, 43, 50, 51, 52, 53, 54, 55, 57, 60, 61, 66, 67, 77, 93, 94, 97, 175, randomInt(random, 256)]);
  let value: Buffer;
  switch (tag) {
    case 53:
      value = Buffer.from([pick(random, [1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 255])]);
      break;
    case 43:
      value = pxeVendorBody(random);
      break;
    case 60:
      value = Buffer.from(pick(random, ['PXEClient', 'PXEClient:Arch:00007:UNDI:003016', 'PXE', 'HTTPClient:Arch:00016', ...UNREADABLE_BOOT_CLASSES]), 'latin1');
      break;
    case 93:
      value = randomBytes(random, pick(random, [0, 1, 2, 3, 4]));
      break;
    case 55:
      value = randomBytes(random, randomInt(random, 255));
      break;
    default:
      value = randomBytes(random, pick(random, [0, 1, 2, 4, 6, 16, randomInt(random, 255)]));
  }
  if (value.length > 255) value = value.subarray(0, 255);
  return tlv(tag, value, random() < 0.1 ? randomInt(random, 256) : undefined);
}

/**
 * A BOOTREQUEST from the captured iPXE header with a random xid and MAC and a random option area:
 * typed options at right and wrong lengths, pad runs, an early or a missing End, length lies,
 * and an option area that overflows past where the datagram ends.
 */
export function fuzzDhcpRequest(random: Random): Buffer {
  const header = Buffer.from(capture('ipxe-dhcp-discover').subarray(0, DHCP_HEADER));
  header.writeUInt32BE(randomInt(random, 2 ** 32), 4);
  randomBytes(random, 6).copy(header, 28);
  if (random() < 0.2) header.writeUInt32BE(randomInt(random, 2 ** 32), 12); // ciaddr
  const options: Buffer[] = [COOKIE];
  const n = randomInt(random, 12);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.1) options.push(Buffer.alloc(1 + randomInt(random, 40), 0)); // pads
    else if (r < 0.13) options.push(Buffer.from([255])); // early End
    else options.push(dhcpOption(random));
  }
  if (random() < 0.7) options.push(Buffer.from([255]));
  if (random() < 0.1) options.push(randomBytes(random, randomInt(random, 1200))); // trailing junk / overflow
  return Buffer.concat([header, ...options]);
}

/** One DHCP datagram: a capture, a generated request, either havoc-mutated, or noise. */
export function fuzzDhcpDatagram(random: Random, seeds: readonly Buffer[]): Buffer {
  const r = random();
  if (r < 0.1) return pick(random, seeds);
  if (r < 0.45) return fuzzDhcpRequest(random);
  if (r < 0.9) return mutate(random() < 0.5 ? fuzzDhcpRequest(random) : pick(random, seeds), random, seeds);
  return randomBytes(random, randomInt(random, 700));
}

// ---------------------------------------------------------------------------------------------
// Control socket (one JSON text per line)

const CONTROL_VALID = ['status', 'sessions', 'leases', 'catalog', 'drop'].map((command) => JSON.stringify({ version: 1, command, session: '127.0.0.1:1' }));

function randomJson(random: Random, depth: number): unknown {
  switch (randomInt(random, depth > 3 ? 4 : 7)) {
    case 0:
      return null;
    case 1:
      return pick(random, [0, -1, 1, 1e308, -0, 2 ** 53, 1.5]);
    case 2:
      return printable(random, 30);
    case 3:
      return random() < 0.5;
    case 4:
      return Array.from({ length: randomInt(random, 4) }, () => randomJson(random, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (const key of ['version', 'command', 'session', '__proto__', 'constructor', printable(random, 6)]) {
        if (random() < 0.5) o[key] = key === 'command' && random() < 0.6 ? pick(random, ['status', 'drop', 'reload', 'nope', '']) : randomJson(random, depth + 1);
      }
      return o;
    }
  }
}

/** One control frame (without its newline): valid, mutated, random JSON, deep nesting or bytes. */
export function fuzzControlFrame(random: Random): Buffer {
  const r = random();
  if (r < 0.15) return Buffer.from(pick(random, CONTROL_VALID));
  if (r < 0.45) return mutate(Buffer.from(pick(random, CONTROL_VALID)), random);
  if (r < 0.8) return Buffer.from(JSON.stringify(randomJson(random, 0)) ?? 'null');
  if (r < 0.85) return Buffer.from('['.repeat(1 + randomInt(random, 5000))); // deep nesting
  return Buffer.from(randomBytes(random, randomInt(random, 200)).filter((b) => b !== 0x0a));
}
