import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDeliveries } from '../../support/impairment.js';
import { seededRandom } from '../../support/round-trip.js';

describe('impairment relay plan', () => {
  const settings = { duplicate: 0.1, reorder: 0.2, maxDelayMs: 20, seed: 2090 };
  const plans = (seed: number) => {
    const random = seededRandom(seed);
    return Array.from({ length: 10_000 }, () => planDeliveries({ ...settings, seed }, random));
  };

  it('replays exactly from its seed', () => {
    assert.deepEqual(plans(2090), plans(2090));
    assert.notDeepEqual(plans(2090), plans(7));
  });

  it('duplicates and holds back about the configured fractions, within the delay bound', () => {
    const all = plans(2090);
    const duplicated = all.filter((p) => p.length === 2).length / all.length;
    const held = all.filter((p) => p[0]! > 0).length / all.length;
    assert.ok(Math.abs(duplicated - 0.1) < 0.02, `duplicated ${duplicated}`);
    assert.ok(Math.abs(held - 0.2) < 0.02, `held ${held}`);
    for (const p of all) for (const d of p) assert.ok(d >= 0 && d <= 2 * settings.maxDelayMs);
  });
});
