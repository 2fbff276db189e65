import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseSessionParameters, MULTICAST_MAX_BLOCKS, PACER_SLACK_MS, TokenBucket } from '../../../src/flowcontrol/flow-control.js';

describe('chooseSessionParameters: max_blksize', () => {
  const limits = { maxBlksize: 1468, rtoMinMs: 10, maxRateMbps: 1000, minRateMbps: 8 };
  const calm = { activeSessions: 0, activeMembers: 0, lossRatio: 0, loopLagMs: 1 };
  // 2000 bytes per block are needed to fit the 16-bit block counter: more than max_blksize.
  const size = MULTICAST_MAX_BLOCKS * 2000 - 1;

  it('never raises the block size above max_blksize to fit 65535 blocks: such a file is not multicast', () => {
    assert.equal(chooseSessionParameters(65464, size, limits, calm), null);
    assert.equal(chooseSessionParameters(65464, size, limits, { ...calm, lossRatio: 0.2 }), null);
  });

  it('still raises it up to max_blksize when that fits (here under loss, whose cap is 512)', () => {
    const p = chooseSessionParameters(1468, MULTICAST_MAX_BLOCKS * 1400 - 1, limits, { ...calm, lossRatio: 0.2 });
    assert.equal(p?.blksize, 1400);
  });
});

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
