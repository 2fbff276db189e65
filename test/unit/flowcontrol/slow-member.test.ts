import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgePace, median, MIN_MEASURED_BLOCKS, PaceWatch, paceMbps, type SlowMemberPolicy } from '../../../src/flowcontrol/slow-member.js';
import { FakeClock } from '../../support/fake-clock.js';

const policy = (over: Partial<SlowMemberPolicy> = {}): SlowMemberPolicy => ({ absoluteMbps: 0, sharePercent: 10, windowMs: 5000, ...over });

describe('slow member rule (flowcontrol/slow-member.ts)', () => {
  it('pace is the data the group moved: blocks x blksize over the window, in Mbit/s', () => {
    assert.equal(paceMbps(1000, 1250, 1000), 10); // 1.25 MB in 1 s
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), null);
  });

  it('absolute threshold: under slow_rate is slow, at it is not', () => {
    const p = policy({ absoluteMbps: 4, sharePercent: 0 });
    assert.equal(judgePace({ policy: p, paceMbps: 3.9, othersMbps: [], othersWaiting: true }).slow, true);
    assert.equal(judgePace({ policy: p, paceMbps: 4, othersMbps: [], othersWaiting: true }).slow, false);
  });

  it('share of the session median: needs someone measured, and compares with the median of the others', () => {
    const p = policy({ sharePercent: 10 });
    assert.equal(judgePace({ policy: p, paceMbps: 0.01, othersMbps: [], othersWaiting: true }).slow, false, 'no reference yet');
    const v = judgePace({ policy: p, paceMbps: 9, othersMbps: [100, 95, 1], othersWaiting: true });
    assert.equal(v.slow, true, '9 < 10% of the median 95');
    assert.match(v.slow ? v.why : '', /10% of the session median 95 Mbit\/s/);
    assert.equal(judgePace({ policy: p, paceMbps: 9.5, othersMbps: [100, 95, 1], othersWaiting: true }).slow, false);
  });

  it('nobody waiting on the group: nobody is dragged, never slow; both thresholds 0: off', () => {
    assert.equal(judgePace({ policy: policy({ absoluteMbps: 100 }), paceMbps: 0, othersMbps: [], othersWaiting: false }).slow, false);
    assert.equal(judgePace({ policy: policy({ absoluteMbps: 0, sharePercent: 0 }), paceMbps: 0, othersMbps: [1000], othersWaiting: true }).slow, false);
  });

  it('PaceWatch on the clock: one window per judgement, turns recorded per member for the median', () => {
    const clock = new FakeClock();
    const watch = new PaceWatch<string>(policy({ windowMs: 1000, sharePercent: 10 }), 1250);
    // Member a: a fast turn, 1000 blocks in 100 ms (100 Mbit/s), then done.
    watch.beginTurn(clock.now());
    for (let i = 0; i < 1000; i++) watch.delivered();
    clock.advance(100);
    watch.endTurn('a', clock.now());
    // Member b: 5 blocks a second (0.05 Mbit/s), judged once its window is over.
    watch.beginTurn(clock.now());
    for (let i = 0; i < 5; i++) {
      clock.advance(200);
      watch.delivered();
    }
    const v = watch.judge('b', clock.now(), true);
    assert.equal(v.slow, true);
    assert.equal(v.slow && Math.round(v.paceMbps * 100) / 100, 0.05);
    // The next window starts afresh: b at 10 Mbit/s (1000 blocks in 1 s) is no longer slow.
    for (let i = 0; i < 1000; i++) watch.delivered();
    clock.advance(1000);
    assert.equal(watch.judge('b', clock.now(), true).slow, false);
  });

  it(`a turn of fewer than ${MIN_MEASURED_BLOCKS} blocks says nothing about a member's pace`, () => {
    const clock = new FakeClock();
    const watch = new PaceWatch<string>(policy({ windowMs: 1000, sharePercent: 50 }), 1000);
    watch.beginTurn(clock.now());
    for (let i = 0; i < MIN_MEASURED_BLOCKS - 1; i++) watch.delivered();
    clock.advance(1);
    watch.endTurn('a', clock.now());
    watch.beginTurn(clock.now());
    clock.advance(1000);
    assert.equal(watch.judge('b', clock.now(), true).slow, false, 'no reference: a was not measured');
  });
});
