// The abuse-limit state machines on a fake clock: per-key token buckets and limit episodes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedRateLimiter } from '../../../src/admission/keyed-rate-limiter.js';
import { LimitEpisodes } from '../../../src/admission/limit-episodes.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('KeyedRateLimiter', () => {
  it('allows a burst, then the sustained rate, per key', () => {
    const clock = new FakeClock();
    const limiter = new KeyedRateLimiter(() => clock.now(), () => ({ ratePerS: 10, burst: 3 }));
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false]);
    assert.equal(limiter.take('b'), true, 'another key has its own bucket');
    clock.advance(99);
    assert.equal(limiter.take('a'), false, 'less than one token after 99 ms at 10/s');
    clock.advance(1);
    assert.equal(limiter.take('a'), true, 'one token per 100 ms');
    assert.equal(limiter.take('a'), false);
  });

  it('keeps refusing a key that never slows down, and forgives it once it does', () => {
    const clock = new FakeClock();
    const limiter = new KeyedRateLimiter(() => clock.now(), () => ({ ratePerS: 10, burst: 5 }));
    let allowed = 0;
    for (let i = 0; i < 1000; i++) {
      if (limiter.take('flooder')) allowed++;
      clock.advance(1); // 1000 requests per second for one second
    }
    assert.ok(allowed <= 5 + 10 + 1, `at most burst + rate per second got through (${allowed})`);
    clock.advance(500);
    assert.equal(limiter.take('flooder'), true);
  });

  it('reads the limit on every call, so a reload applies at once', () => {
    const clock = new FakeClock();
    let limit = { ratePerS: 1, burst: 1 };
    const limiter = new KeyedRateLimiter(() => clock.now(), () => limit);
    assert.equal(limiter.take('a'), true);
    assert.equal(limiter.take('a'), false);
    limit = { ratePerS: 1, burst: 100 };
    clock.advance(1000);
    assert.equal(limiter.take('a'), true);
  });

  it('stays bounded under a flood from many addresses, forgetting only refilled or stalest keys', () => {
    const clock = new FakeClock();
    const limiter = new KeyedRateLimiter(() => clock.now(), () => ({ ratePerS: 1, burst: 2 }), 100);
    for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(limiter.trackedKeys <= 101, `tracked ${limiter.trackedKeys}`);
    // Idle keys refill and are forgotten as new ones arrive.
    clock.advance(10_000);
    for (let i = 0; i < 10; i++) limiter.take(`192.168.0.${i}`);
    assert.ok(limiter.trackedKeys <= 101);
  });
});

describe('LimitEpisodes', () => {
  it('reports the first hit of an episode only, and a new episode after a quiet spell', () => {
    const clock = new FakeClock();
    const episodes = new LimitEpisodes(() => clock.now(), 1000);
    assert.deepEqual(episodes.hit('x'), { first: true, hits: 1 });
    clock.advance(999);
    assert.deepEqual(episodes.hit('x'), { first: false, hits: 2 }, 'hits closer than quietMs extend the episode');
    clock.advance(999);
    assert.deepEqual(episodes.hit('x'), { first: false, hits: 3 });
    assert.deepEqual(episodes.hit('y'), { first: true, hits: 1 }, 'keys are independent');
    clock.advance(1000);
    assert.deepEqual(episodes.hit('x'), { first: true, hits: 1 });
  });

  it('a continuous flood is one episode however long it lasts', () => {
    const clock = new FakeClock();
    const episodes = new LimitEpisodes(() => clock.now(), 10_000);
    let firsts = 0;
    for (let i = 0; i < 100_000; i++) {
      if (episodes.hit('flooder').first) firsts++;
      clock.advance(5);
    }
    assert.equal(firsts, 1);
  });

  it('stays bounded with many keys', () => {
    const clock = new FakeClock();
    const episodes = new LimitEpisodes(() => clock.now(), 10_000, 50);
    for (let i = 0; i < 5000; i++) episodes.hit(`k${i}`);
    assert.ok(episodes.trackedKeys <= 51, `tracked ${episodes.trackedKeys}`);
  });
});
