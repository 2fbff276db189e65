import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PACER_SLACK_MS, TokenBucket } from '../../../src/flowcontrol/pacing.js';

describe('TokenBucket', () => {
  it('delay takes nothing; charge takes the tokens of what went', () => {
    const b = new TokenBucket(1, 1000, 0); // 1 byte per ms
    assert.equal(b.delay(600, 0), 0);
    assert.equal(b.delay(600, 0), 0, 'asking again costs nothing');
    b.charge(600, 0);
    assert.equal(b.delay(600, 0), 200);
    assert.equal(b.delay(600, 200), 0);
  });
});

describe('TokenBucket depth', () => {
  it('holds at least PACER_SLACK_MS of tokens: a sender held up a few ms loses none of them', () => {
    const rate = 12_500; // 100 Mbit/s
    const b = new TokenBucket(rate, 8 * 1468, 0); // 8 blocks: 0.94 ms at this rate
    b.charge(8 * 1468, 0);
    const later = 5; // a late timer on a busy host: more than 8 blocks' worth, less than PACER_SLACK_MS
    assert.ok(later < PACER_SLACK_MS);
    b.charge(rate * later - 1472, later); // everything that accrued meanwhile, but one packet
    assert.equal(b.delay(1472, later), 0);
  });
});
