// Property tests over generated and mutated TFTP datagrams (fixed seeds, bounded counts): the
// packet codec and the option reader never fail any other way than DecodeError, and every valid
// packet survives encode -> decode unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../src/codec/decode-error.js';
import { parseRequestedOptions } from '../../../src/codec/tftp-options.js';
import { decodeTftp, encodeTftp, tftpEncodingLength } from '../../../src/codec/tftp-packet.js';
import { decodesOrThrowsDecodeError } from '../../support/decode-property.js';
import { fuzzTftpDatagram, tftpCaptures, validTftpPacket } from '../../support/fuzz-corpus.js';
import { assertRoundTrip, seededRandom } from '../../support/round-trip.js';

const FILES = ['boot.ipxe', 'undionly.kpxe', 'test.img'];

describe('tftp codec properties (seeded)', () => {
  it('round-trips 5,000 generated valid packets of every kind', () => {
    const random = seededRandom(1350);
    for (let i = 0; i < 5000; i++) assertRoundTrip(validTftpPacket(random, FILES), encodeTftp, decodeTftp, tftpEncodingLength);
  });

  it('decodes 30,000 mutated, lying and random datagrams with nothing but DecodeError, and reads their options', () => {
    const random = seededRandom(2347);
    const seeds = tftpCaptures();
    const codes = new Map<string, number>();
    let decoded = 0;
    for (let i = 0; i < 30_000; i++) {
      const result = decodesOrThrowsDecodeError(decodeTftp, fuzzTftpDatagram(random, FILES, seeds));
      if (result instanceof DecodeError) codes.set(result.code, (codes.get(result.code) ?? 0) + 1);
      else {
        decoded++;
        if (result.op === 'RRQ' || result.op === 'WRQ' || result.op === 'OACK') parseRequestedOptions(result.options);
      }
    }
    // The generator reaches both sides and the main rejection reasons (or it tests little).
    assert.ok(decoded > 3000, `only ${decoded} datagrams decoded`);
    for (const code of ['TRUNCATED', 'UNKNOWN_OPCODE', 'MISSING_NUL', 'NOT_NETASCII']) assert.ok((codes.get(code) ?? 0) > 50, `${code}: ${codes.get(code)}`);
  });
});
