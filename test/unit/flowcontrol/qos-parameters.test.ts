import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseSessionParameters, MULTICAST_MAX_BLOCKS } from '../../../src/flowcontrol/qos-parameters.js';

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

  it('with rollover, such a file is multicast at the block size asked, its block numbers wrapping', () => {
    const p = chooseSessionParameters(1428, size, { ...limits, rollover: true }, calm);
    assert.equal(p?.blksize, 1428);
    assert.match(p!.reasons.join('; '), /block numbers wrap past 65535: 91786 blocks/);
    assert.equal(chooseSessionParameters(1468, MULTICAST_MAX_BLOCKS * 1400 - 1, { ...limits, rollover: true }, { ...calm, lossRatio: 0.2 })?.blksize, 1400, 'a size that fits is still preferred');
  });
});

// Mechanism 3, QoS: one row per resource condition and what it changes.
describe('chooseSessionParameters: block size, timeout floor and rate from resource conditions', () => {
  const limits = { maxBlksize: 1468, rtoMinMs: 10, maxRateMbps: 800, minRateMbps: 8 };
  const calm = { activeSessions: 0, activeMembers: 0, lossRatio: 0, loopLagMs: 1 };
  const rows: Array<[string, number | undefined, Partial<typeof calm>, { blksize: number; rtoMinMs: number; initialRateMbps: number }]> = [
    ['calm: as asked, full rate', 1432, {}, { blksize: 1432, rtoMinMs: 10, initialRateMbps: 800 }],
    ['no blksize asked: 512', undefined, {}, { blksize: 512, rtoMinMs: 10, initialRateMbps: 800 }],
    ['asked above max_blksize: max_blksize', 65464, {}, { blksize: 1468, rtoMinMs: 10, initialRateMbps: 800 }],
    ['loss > 5%: blksize <= 1024, rate halved', 1432, { lossRatio: 0.08 }, { blksize: 1024, rtoMinMs: 10, initialRateMbps: 400 }],
    ['loss > 15%: blksize <= 512, rate halved', 1432, { lossRatio: 0.2 }, { blksize: 512, rtoMinMs: 10, initialRateMbps: 400 }],
    ['loop lag > 50 ms: rto floor 100 ms', 1432, { loopLagMs: 80 }, { blksize: 1432, rtoMinMs: 100, initialRateMbps: 800 }],
    ['loop lag > 200 ms: rto floor 500 ms', 1432, { loopLagMs: 250 }, { blksize: 1432, rtoMinMs: 500, initialRateMbps: 800 }],
    ['3 sessions running: a quarter of max_rate', 1432, { activeSessions: 3 }, { blksize: 1432, rtoMinMs: 10, initialRateMbps: 200 }],
    ['many sessions: never below min_rate', 1432, { activeSessions: 999 }, { blksize: 1432, rtoMinMs: 10, initialRateMbps: 8 }],
  ];
  for (const [name, asked, conditions, expected] of rows) {
    it(name, () => {
      const p = chooseSessionParameters(asked, 1e6, limits, { ...calm, ...conditions });
      assert.deepEqual(p && { blksize: p.blksize, rtoMinMs: p.rtoMinMs, initialRateMbps: p.initialRateMbps }, expected);
      assert.equal(p!.reasons.length === 0, name.startsWith('calm') || name.startsWith('no blksize') || name.startsWith('asked above'));
    });
  }
});
