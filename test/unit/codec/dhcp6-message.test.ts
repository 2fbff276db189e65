// The DHCPv6 codec: annotated bytes for parse and generate, round trips, the malformed-input table
// (with the reason asserted), and a bounded seeded property test over mutated messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../src/codec/decode-error.js';
import {
  decodeClientArchTypes,
  decodeDhcp6,
  decodeIaAddress,
  decodeIaNa,
  decodeVendorClass,
  Dhcp6MessageType as T,
  dhcp6EncodingLength,
  encodeDhcp6,
  formatIpv6,
  macFromDuid,
  macFromLinkLayerOption,
  parseIpv6,
  RELAY_NESTING_LIMIT,
  type Dhcp6Message,
} from '../../../src/codec/dhcp6-message.js';
import { decodesOrThrowsDecodeError } from '../../support/decode-property.js';
import { dhclientCaptures, dhcp6HostileCases, dhcp6Seeds, fuzzDhcp6Datagram, MAX_UDP6_PAYLOAD, relayed, uefiSolicit } from '../../support/dhcp6-corpus.js';
import { assertRoundTrip, seededRandom } from '../../support/round-trip.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/.*$/gm, ''), 'hex');

// A SOLICIT as EDK2 sends it (shape from protocols.md 13.3), field by field.
const SOLICIT = hex(`
  01 abcdef                                  // SOLICIT, transaction id 0xabcdef
  0001 000a 0003 0001 525400123456           // CLIENTID: DUID-LL, Ethernet, 52:54:00:12:34:56
  0003 000c 00000001 00000000 00000000       // IA_NA: IAID 1, T1 0, T2 0, no options
  0006 0004 003b 003c                        // ORO: 59, 60
  003d 0002 0007                             // CLIENT_ARCH_TYPE: 7 (x64 UEFI)
  0010 0026 00000157 0020                    // VENDOR_CLASS: enterprise 343, one 32-byte string
  5058 4543 6c69 656e 743a 4172 6368 3a30 3030 3037 3a55 4e44 493a 3030 3330 3136  // PXEClient:Arch:00007:UNDI:003016
`);

describe('dhcp6 codec: annotated bytes', () => {
  it('parses the SOLICIT field by field and generates the same bytes', () => {
    const msg = decodeDhcp6(SOLICIT);
    assert.equal(msg.kind, 'client');
    if (msg.kind !== 'client') return;
    assert.equal(msg.type, T.SOLICIT);
    assert.equal(msg.transactionId, 0xabcdef);
    assert.deepEqual(msg.options.map((o) => o.code), [1, 3, 6, 61, 16]);
    assert.equal(macFromDuid(msg.options[0]!.data), '52:54:00:12:34:56');
    assert.deepEqual(decodeIaNa(msg.options[1]!.data), { iaid: 1, t1: 0, t2: 0, options: [] });
    assert.deepEqual(decodeClientArchTypes(msg.options[3]!.data), [7]);
    const vc = decodeVendorClass(msg.options[4]!.data);
    assert.equal(vc.enterprise, 343);
    assert.equal(vc.data[0]!.toString(), 'PXEClient:Arch:00007:UNDI:003016');
    assert.deepEqual(encodeDhcp6(msg), SOLICIT);
  });

  it('decodes what dhclient -6 really sent (captures) and re-encodes the same bytes', () => {
    const [info, solicit] = dhclientCaptures();
    for (const [bytes, type, codes] of [[info!, T.INFORMATION_REQUEST, [1, 6, 8, 61]], [solicit!, T.SOLICIT, [1, 6, 8, 61, 3]]] as const) {
      const msg = decodeDhcp6(bytes);
      if (msg.kind !== 'client') return assert.fail('a client message');
      assert.equal(msg.type, type);
      assert.deepEqual(msg.options.map((o) => o.code), codes);
      assert.equal(macFromDuid(msg.options[0]!.data), '9e:9c:4d:9a:01:f8');
      assert.deepEqual(decodeClientArchTypes(msg.options[3]!.data), [7]);
      assert.deepEqual(encodeDhcp6(msg), bytes);
    }
  });

  it('round-trips client and nested relay messages (length, stability, offset)', () => {
    for (const seed of dhcp6Seeds()) {
      assertRoundTrip<Dhcp6Message>(decodeDhcp6(seed), encodeDhcp6, decodeDhcp6, dhcp6EncodingLength);
      assert.deepEqual(encodeDhcp6(decodeDhcp6(seed)), seed);
    }
  });

  it('relay messages: hop count, addresses, the inner message and the options beside it', () => {
    const msg = decodeDhcp6(relayed(uefiSolicit(), 2, '52:54:00:aa:bb:cc'));
    assert.equal(msg.kind, 'relay');
    if (msg.kind !== 'relay' || msg.inner.kind !== 'relay') return assert.fail('two relay levels');
    assert.equal(msg.hopCount, 1);
    assert.equal(msg.linkAddress, 'fd00::1');
    assert.equal(msg.peerAddress, 'fe80::11');
    assert.equal(msg.inner.inner.kind, 'client');
    assert.equal(macFromLinkLayerOption(msg.inner.options.find((o) => o.code === 79)!.data), '52:54:00:aa:bb:cc');
  });

  it('IPv6 text both ways (RFC 5952 output)', () => {
    for (const [text, canonical] of [
      ['::', '::'],
      ['::1', '::1'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8::', '2001:db8::'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ] as const) {
      assert.equal(formatIpv6(parseIpv6(text)), canonical, text);
    }
    for (const bad of ['', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::', '12345::', '1:2:3:4:5:6:7']) assert.throws(() => parseIpv6(bad), RangeError, bad);
  });

  it('IAADDR and MACs from DUIDs', () => {
    const ia = decodeIaAddress(hex('fd000000000000000000000000001000 00000e10 00001c20'));
    assert.deepEqual(ia, { address: 'fd00::1000', preferred: 3600, valid: 7200, options: [] });
    assert.equal(macFromDuid(hex('0001 0001 2a2b2c2d 525400000001')), '52:54:00:00:00:01', 'DUID-LLT');
    assert.equal(macFromDuid(hex('0004 00112233445566778899aabbccddeeff')), null, 'DUID-UUID carries none');
    assert.equal(macFromDuid(hex('0003 0006 525400000001')), null, 'not Ethernet');
  });
});

describe('dhcp6 codec: malformed input is refused with its reason', () => {
  const deep = (n: number) => relayed(uefiSolicit(), n);
  const cases: Array<[string, Buffer, string]> = [
    ['empty datagram', Buffer.alloc(0), 'TRUNCATED'],
    ['header cut in the transaction id', hex('01 abcd'), 'TRUNCATED'],
    ['option header cut (3 bytes left)', hex('01 000001 0001 00'), 'TRUNCATED'],
    ['option length past the end', hex('01 000001 0001 0010 0003 0001'), 'TRUNCATED'],
    ['option length 0xffff (a length loop)', hex('01 000001 0008 ffff 0000'), 'TRUNCATED'],
    ['relay header cut', hex('0c 00 fd00'), 'TRUNCATED'],
    ['relay without a Relay Message option', Buffer.concat([hex('0c 00'), Buffer.alloc(32), hex('0012 0001 41')]), 'BAD_OPTIONS'],
    ['relay with an empty Relay Message', Buffer.concat([hex('0c 00'), Buffer.alloc(32), hex('0009 0000')]), 'TRUNCATED'],
    ['inner option length past the relayed message', Buffer.concat([hex('0c 00'), Buffer.alloc(32), hex('0009 0008 01000001 0001 0009')]), 'TRUNCATED'],
    [`relay nesting of ${RELAY_NESTING_LIMIT + 1}`, deep(RELAY_NESTING_LIMIT + 1), 'RELAY_TOO_DEEP'],
    ['relay nesting of 100', deep(100), 'RELAY_TOO_DEEP'],
  ];
  for (const [name, bytes, code] of cases) {
    it(name, () => {
      assert.throws(() => decodeDhcp6(bytes), (e: unknown) => e instanceof DecodeError && e.code === code);
    });
  }
  it(`relay nesting of exactly ${RELAY_NESTING_LIMIT} is accepted`, () => {
    let msg = decodeDhcp6(deep(RELAY_NESTING_LIMIT));
    let depth = 0;
    while (msg.kind === 'relay') {
      msg = msg.inner;
      depth++;
    }
    assert.equal(depth, RELAY_NESTING_LIMIT);
  });
  it('option bodies: IA_NA shorter than 12 bytes, odd arch list, vendor class cut', () => {
    assert.throws(() => decodeIaNa(hex('00000001 0000')), (e: unknown) => e instanceof DecodeError && e.code === 'TRUNCATED');
    assert.throws(() => decodeClientArchTypes(hex('000700')), (e: unknown) => e instanceof DecodeError && e.code === 'BAD_LENGTH');
    assert.throws(() => decodeVendorClass(hex('00000157 0010 41')), (e: unknown) => e instanceof DecodeError && e.code === 'TRUNCATED');
  });
});

// The same cases the network fuzz (test/netns/fuzz.test.ts) sends to the daemon, which must count
// exactly the refused ones.
describe('dhcp6 codec: the hostile cases of the network fuzz', () => {
  for (const { name, bytes, reason } of dhcp6HostileCases()) {
    it(`${name}: ${reason ?? 'accepted'}`, () => {
      assert.ok(bytes.length <= MAX_UDP6_PAYLOAD, 'fits one UDP datagram over IPv6');
      if (reason === null) {
        assert.deepEqual(encodeDhcp6(decodeDhcp6(bytes)), bytes);
        return;
      }
      assert.throws(() => decodeDhcp6(bytes), (e: unknown) => e instanceof DecodeError && e.code === reason);
    });
  }
});

describe('dhcp6 codec properties (seeded)', () => {
  it('20,000 mutated and random datagrams: decode returns or throws DecodeError; what decodes re-encodes stably', () => {
    const random = seededRandom(8415);
    const seeds = dhcp6Seeds();
    const reasons = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const input = fuzzDhcp6Datagram(random, seeds);
      const result = decodesOrThrowsDecodeError(decodeDhcp6, input);
      if (result instanceof DecodeError) reasons.set(result.code, (reasons.get(result.code) ?? 0) + 1);
      // Client messages come back byte for byte; a relay's Relay Message is re-encoded last.
      else if (result.kind === 'client') assert.deepEqual(encodeDhcp6(result), input, input.toString('hex'));
      else assert.deepEqual(decodeDhcp6(encodeDhcp6(result)), result, input.toString('hex'));
    }
    for (const code of ['TRUNCATED', 'RELAY_TOO_DEEP']) assert.ok((reasons.get(code) ?? 0) > 0, `the corpus reaches ${code}: ${[...reasons]}`);
  });
});
