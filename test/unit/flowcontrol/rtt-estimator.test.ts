import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RttEstimator } from '../../../src/flowcontrol/rtt-estimator.js';

describe('RttEstimator', () => {
  const bounds = { minMs: 10, maxMs: 3000, initialMs: 1000 };

  it('starts at the initial RTO and converges on srtt + 4 rttvar', () => {
    const e = new RttEstimator(bounds);
    assert.equal(e.rtoMs(), 1000);
    e.sample(100);
    assert.equal(e.rtoMs(), 300); // 100 + 4 * 50
    for (let i = 0; i < 50; i++) e.sample(100);
    assert.ok(Math.abs(e.rtoMs() - 100) < 2);
  });

  it('never goes below the floor on a fast LAN', () => {
    const e = new RttEstimator(bounds);
    e.sample(0.05);
    assert.equal(e.rtoMs(), 10);
  });

  it('doubles from the floor on expiry and stops at the ceiling', () => {
    const e = new RttEstimator(bounds);
    e.sample(0.05);
    const seen = [];
    for (let i = 0; i < 12; i++) {
      e.expired();
      seen.push(e.rtoMs());
    }
    assert.deepEqual(seen.slice(0, 4), [20, 40, 80, 160]);
    assert.equal(seen.at(-1), 3000);
  });

  it('forgets the back-off on progress or a new sample', () => {
    const e = new RttEstimator(bounds);
    e.sample(1);
    e.expired();
    e.expired();
    e.progress();
    assert.equal(e.rtoMs(), 10);
  });

  it('after a spurious timeout adopts the delay that caused it and drops the back-off', () => {
    const e = new RttEstimator(bounds);
    for (let i = 0; i < 20; i++) e.sample(1);
    assert.equal(e.rtoMs(), 10);
    e.expired();
    assert.equal(e.rtoMs(), 20);
    e.spuriousTimeout(24);
    assert.equal(e.rtoMs(), 24 + 4 * 12); // srtt = 24, rttvar = 12, no back-off
  });

  it('keeps twice a proven ACK delay as its floor once the estimate has decayed', () => {
    const e = new RttEstimator(bounds);
    e.sample(1);
    e.spuriousTimeout(15);
    for (let i = 0; i < 200; i++) e.sample(1);
    assert.equal(e.rtoMs(), 30);
    assert.equal(e.minRttMs(), 1);
  });

  it('keeps the configured floor when no timeout was spurious', () => {
    const e = new RttEstimator(bounds);
    for (let i = 0; i < 200; i++) e.sample(1);
    assert.equal(e.rtoMs(), 10);
  });
});
