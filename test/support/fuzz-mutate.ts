// Byte-level mutations for fuzzing (the AFL havoc set, kept small): bit flips, interesting values,
// truncation, extension, deletion, duplication and splicing from another input. Pure and driven by
// a seeded `Random`, so a failure is replayed from its seed. Shared by the codec property tests and
// scripts/fuzz (which imports the compiled build/test/support/fuzz-mutate.js).

/** Uniform in [0, 1), e.g. seededRandom(seed) from round-trip.ts. */
export type Random = () => number;

export const randomInt = (random: Random, below: number): number => Math.floor(random() * below);

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[randomInt(random, items.length)]!;
}

export function randomBytes(random: Random, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = randomInt(random, 256);
  return b;
}

/** Boundary values that make length and number checks go wrong. */
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x20];
const INTERESTING_16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xfffe, 0xffff];

type Mutation = (b: Buffer, random: Random, donors: readonly Buffer[]) => Buffer;

const MUTATIONS: readonly Mutation[] = [
  function flipBit(b, random) {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    out[randomInt(random, out.length)]! ^= 1 << randomInt(random, 8);
    return out;
  },
  function setInterestingByte(b, random) {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    out[randomInt(random, out.length)] = pick(random, INTERESTING_8);
    return out;
  },
  function setInterestingWord(b, random) {
    if (b.length < 2) return b;
    const out = Buffer.from(b);
    out.writeUInt16BE(pick(random, INTERESTING_16), randomInt(random, out.length - 1));
    return out;
  },
  function setRandomByte(b, random) {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    out[randomInt(random, out.length)] = randomInt(random, 256);
    return out;
  },
  function truncate(b, random) {
    return b.subarray(0, randomInt(random, b.length + 1));
  },
  function extend(b, random) {
    const n = 1 + randomInt(random, 64);
    const tail = random() < 0.5 ? randomBytes(random, n) : Buffer.alloc(n, pick(random, INTERESTING_8));
    return Buffer.concat([b, tail]);
  },
  function deleteRange(b, random) {
    if (b.length === 0) return b;
    const at = randomInt(random, b.length);
    const n = 1 + randomInt(random, Math.min(16, b.length - at));
    return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
  },
  function duplicateRange(b, random) {
    if (b.length === 0) return b;
    const at = randomInt(random, b.length);
    const n = 1 + randomInt(random, Math.min(32, b.length - at));
    return Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
  },
  function splice(b, random, donors) {
    if (donors.length === 0) return b;
    const donor = pick(random, donors);
    const from = randomInt(random, donor.length + 1);
    const at = randomInt(random, b.length + 1);
    return Buffer.concat([b.subarray(0, at), donor.subarray(from, from + 1 + randomInt(random, 64))]);
  },
];

/** 1-4 stacked mutations of `input` (never modified in place); `donors` feed splicing. */
export function mutate(input: Buffer, random: Random, donors: readonly Buffer[] = []): Buffer {
  let b = input;
  const rounds = 1 + randomInt(random, 4);
  for (let i = 0; i < rounds; i++) b = pick(random, MUTATIONS)(b, random, donors);
  return b;
}
