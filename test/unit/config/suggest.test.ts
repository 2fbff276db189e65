import assert from 'node:assert/strict';
import { test } from 'node:test';

import { editDistance, suggestName } from '../../../src/config/suggest.js';

test('edit distance counts inserts, deletes, substitutions and neighbour swaps', () => {
  const cases: [a: string, b: string, distance: number][] = [
    ['', '', 0],
    ['tftp', 'tftp', 0],
    ['tftp', 'tfp', 1],
    ['tftp', 'tfpt', 1], // swap
    ['port', 'prot', 1],
    ['max_blksize', 'max_blocksize', 2],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ];
  for (const [a, b, distance] of cases) {
    assert.equal(editDistance(a, b), distance, `${a} → ${b}`);
    assert.equal(editDistance(b, a), distance, `${b} → ${a}`);
  }
});

test('suggestions: separator/case variants, then the closest within distance 2, then prefixes', () => {
  const keys = ['max_blksize', 'max_windowsize', 'max_transfers', 'port', 'root'];
  const cases: [input: string, suggestion: string | null][] = [
    ['MAX-BLKSIZE', 'max_blksize'],
    ['maxblksize', 'max_blksize'],
    ['max blksize', 'max_blksize'],
    ['max_blcksize', 'max_blksize'],
    ['max_transfer', 'max_transfers'],
    ['prot', 'port'],
    ['rot', 'root'],
    ['max_transfers_limit', 'max_transfers'],
    ['max_trans', 'max_transfers'],
    ['max', null],
    ['blocksize', null],
    ['colour', null],
  ];
  for (const [input, suggestion] of cases) assert.equal(suggestName(input, keys), suggestion, input);
});
