// Mechanism 4, rate reduction: AIMD of a multicast stream's rate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AimdRate, CLEAN_BLOCKS, decideRate, type RateEvent, type RateState } from '../../../src/flowcontrol/rate-reduction.js';

describe('decideRate', () => {
  const bounds = { floorMbps: 10, ceilingMbps: 160 };
  const rows: Array<[string, RateState, RateEvent, RateState]> = [
    ['a retransmission timeout halves the rate', { mbps: 160, clean: 5 }, { congestion: 'retransmission-timeout' }, { mbps: 80, clean: 0 }],
    ['a re-requested block halves it', { mbps: 80, clean: 0 }, { congestion: 're-requested-block' }, { mbps: 40, clean: 0 }],
    ['a master passed over halves it', { mbps: 40, clean: 3 }, { congestion: 'master-passed-over' }, { mbps: 20, clean: 0 }],
    ['never below the floor (min_rate)', { mbps: 12, clean: 0 }, { congestion: 're-requested-block' }, { mbps: 10, clean: 0 }],
    ['clean blocks short of CLEAN_BLOCKS: no change yet', { mbps: 40, clean: 0 }, { progressBlocks: CLEAN_BLOCKS - 1 }, { mbps: 40, clean: CLEAN_BLOCKS - 1 }],
    ['CLEAN_BLOCKS clean blocks: a sixteenth of the ceiling back', { mbps: 40, clean: CLEAN_BLOCKS - 1 }, { progressBlocks: 1 }, { mbps: 50, clean: 0 }],
    ['several steps at once', { mbps: 40, clean: 0 }, { progressBlocks: 3 * CLEAN_BLOCKS + 2 }, { mbps: 70, clean: 2 }],
    ['never above the ceiling (max_rate)', { mbps: 155, clean: 0 }, { progressBlocks: CLEAN_BLOCKS }, { mbps: 160, clean: 0 }],
  ];
  for (const [name, state, event, expected] of rows) it(name, () => assert.deepEqual(decideRate(state, event, bounds), expected));
});

describe('AimdRate', () => {
  it('moves by decideRate and counts congestion signals', () => {
    const rate = new AimdRate(160, 10, 160);
    rate.congestion('retransmission-timeout');
    rate.congestion('re-requested-block');
    rate.progress(CLEAN_BLOCKS);
    assert.equal(rate.mbps, 50);
    assert.equal(rate.congestionEvents, 2);
  });
});
