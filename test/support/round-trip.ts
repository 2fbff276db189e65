import assert from 'node:assert/strict';

/** The dns-packet `testEncoder` checks: length agrees, decode(encode(x)) == x, re-encode stable. */
export function assertRoundTrip<T>(
  value: T,
  encode: (v: T) => Buffer,
  decode: (b: Buffer) => T,
  encodingLength: (v: T) => number,
): void {
  const bytes = encode(value);
  assert.equal(bytes.length, encodingLength(value), 'encodingLength agrees with encode');
  const decoded = decode(bytes);
  assert.deepEqual(decoded, value, 'decode(encode(x)) equals x');
  assert.deepEqual(encode(decoded), bytes, 're-encoding is stable');
  // Decoding must not depend on the buffer starting at offset 0 of its ArrayBuffer.
  const padded = Buffer.concat([Buffer.from([0xaa, 0xbb, 0xcc]), bytes]).subarray(3);
  assert.deepEqual(decode(padded), value, 'decodes at an offset');
}

/** Deterministic PRNG (mulberry32) for bounded random tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
