// Property tests for option 43 (fixed seed, bounded): random sub-option streams decode or fail with
// DecodeError; every MTFTP tuple survives encode -> decode.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMtftpSubOptions, decodePxeVendorOptions, encodePxeVendorOptions } from '../../../src/codec/pxe-options.js';
import { decodesOrThrowsDecodeError } from '../../support/decode-property.js';
import { pxeVendorBody } from '../../support/fuzz-corpus.js';
import { mutate, randomInt } from '../../support/fuzz-mutate.js';
import { seededRandom } from '../../support/round-trip.js';

describe('pxe option 43 properties (seeded)', () => {
  it('round-trips 5,000 generated MTFTP tuples and discovery-control values', () => {
    const random = seededRandom(43);
    for (let i = 0; i < 5000; i++) {
      const tuple = {
        group: `${224 + randomInt(random, 16)}.${randomInt(random, 256)}.${randomInt(random, 256)}.${randomInt(random, 256)}`,
        clientPort: randomInt(random, 65536),
        serverPort: randomInt(random, 65536),
        openTimeoutS: randomInt(random, 256),
        reopenDelayS: randomInt(random, 256),
      };
      const control = randomInt(random, 256);
      const body = encodePxeVendorOptions(control, tuple);
      assert.deepEqual(decodeMtftpSubOptions(body), tuple);
      assert.deepEqual([...decodePxeVendorOptions(body).get(6)!], [control]);
    }
  });

  it('decodes 20,000 random and mutated sub-option streams with nothing but DecodeError', () => {
    const random = seededRandom(4011);
    const valid = encodePxeVendorOptions(8, { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 3 });
    for (let i = 0; i < 20_000; i++) {
      const body = random() < 0.5 ? pxeVendorBody(random) : mutate(valid, random, [valid]);
      decodesOrThrowsDecodeError(decodePxeVendorOptions, body);
      decodesOrThrowsDecodeError(decodeMtftpSubOptions, body);
    }
  });
});
