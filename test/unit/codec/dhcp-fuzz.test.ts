// Property tests over generated and mutated DHCP datagrams (fixed seeds, bounded counts): decoding,
// and the classification the server runs on every decoded request, fail only with DecodeError and
// never reach the `dhcp` package's console logging; replies survive encode -> decode.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../src/codec/decode-error.js';
import { decodeDhcp, DhcpMessageType, encodeDhcp, type DhcpReply } from '../../../src/codec/dhcp-message.js';
import { classifyClient } from '../../../src/dhcp/client-class.js';
import { decodesOrThrowsDecodeError } from '../../support/decode-property.js';
import { dhcpSeeds, fuzzDhcpDatagram, printable, pxeVendorBody } from '../../support/fuzz-corpus.js';
import { pick, randomBytes, randomInt, type Random } from '../../support/fuzz-mutate.js';
import { seededRandom } from '../../support/round-trip.js';

function silencingConsole<T>(body: () => T): { result: T; printed: number } {
  const original = { error: console.error, log: console.log, warn: console.warn };
  let printed = 0;
  console.error = console.log = console.warn = () => void printed++;
  try {
    return { result: body(), printed };
  } finally {
    Object.assign(console, original);
  }
}

const ip = (random: Random) => Array.from(randomBytes(random, 4)).join('.');
const mac = (random: Random) => [...randomBytes(random, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');

function randomReply(random: Random): DhcpReply {
  const options: Record<number, unknown> = { 53: pick(random, Object.values(DhcpMessageType)), 54: ip(random) };
  if (random() < 0.5) options[1] = ip(random);
  if (random() < 0.5) options[3] = [ip(random), ip(random)];
  if (random() < 0.5) options[51] = randomInt(random, 2 ** 31);
  if (random() < 0.5) options[60] = 'PXEClient';
  if (random() < 0.5) options[43] = [...pxeVendorBody(random).subarray(0, 255)].concat([255]).slice(0, 255);
  if (random() < 0.5) options[67] = printable(random, 60).replace(/[^\x21-\x7e]/g, 'x') || 'f';
  return {
    xid: randomInt(random, 2 ** 32),
    flags: pick(random, [0, 0x8000]),
    ciaddr: ip(random),
    yiaddr: ip(random),
    siaddr: ip(random),
    giaddr: ip(random),
    chaddr: mac(random),
    file: printable(random, 120).replace(/[^\x21-\x7e]/g, 'x'),
    options,
  };
}

describe('dhcp codec properties (seeded)', () => {
  it('round-trips 2,000 generated replies through the package and our decoder', () => {
    const random = seededRandom(2132);
    for (let i = 0; i < 2000; i++) {
      const reply = randomReply(random);
      const msg = decodeDhcp(encodeDhcp(reply));
      assert.equal(msg.op, 2);
      for (const key of ['xid', 'flags', 'ciaddr', 'yiaddr', 'siaddr', 'giaddr', 'chaddr', 'file'] as const) assert.equal(msg[key], reply[key], key);
      for (const [tag, value] of Object.entries(reply.options)) {
        const raw = msg.raw.get(Number(tag));
        assert.ok(raw, `option ${tag} lost`);
        if (Array.isArray(value) && typeof value[0] === 'number') assert.deepEqual([...raw], value, `option ${tag}`);
        else assert.deepEqual(msg.options[Number(tag)], value, `option ${tag}`);
      }
    }
  });

  it('decodes and classifies 20,000 generated, mutated and random datagrams with nothing but DecodeError, silently', () => {
    const random = seededRandom(4578);
    const seeds = dhcpSeeds();
    const { result: decoded, printed } = silencingConsole(() => {
      let n = 0;
      for (let i = 0; i < 20_000; i++) {
        const msg = decodesOrThrowsDecodeError(decodeDhcp, fuzzDhcpDatagram(random, seeds));
        if (msg instanceof DecodeError) continue;
        n++;
        classifyClient(msg);
      }
      return n;
    });
    assert.equal(printed, 0, 'the dhcp package logged to the console');
    assert.ok(decoded > 2000, `only ${decoded} datagrams decoded`);
  });

  it('classifies a request with an unreadable option 60 or 93 exactly as the same request without it (20,000 datagrams)', () => {
    const random = seededRandom(9360);
    const seeds = dhcpSeeds();
    let fallbacks = 0;
    silencingConsole(() => {
      for (let i = 0; i < 20_000; i++) {
        const msg = decodesOrThrowsDecodeError(decodeDhcp, fuzzDhcpDatagram(random, seeds));
        if (msg instanceof DecodeError) continue;
        const client = classifyClient(msg);
        if (client.malformed.length === 0) continue;
        fallbacks++;
        const unreadable = [60, 93].filter((tag) => client.malformed.some((problem) => problem.includes(`option ${tag}`)));
        assert.ok(unreadable.length > 0, client.malformed.join('; '));
        const without = classifyClient({ ...msg, raw: new Map([...msg.raw].filter(([tag]) => !unreadable.includes(tag))) });
        assert.deepEqual({ ...client, malformed: [] }, without);
      }
    });
    assert.ok(fallbacks > 500, `only ${fallbacks} requests had an unreadable 60 or 93`);
  });
});
