// Mechanism 5, resend the most recent packet on an unexpected packet, rate-limited.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideListenerAck, decideResend, MAX_STRAY_ACKS, ResendLimiter, type ListenerAckDecision } from '../../../src/flowcontrol/resend-on-unexpected.js';

describe('decideResend', () => {
  const rows: Array<[string, number, number, number, boolean]> = [
    ['never resent: resend', 0, -Infinity, 50, true],
    ['within the interval: not again', 120, 100, 50, false],
    ['the interval has passed: resend', 150, 100, 50, true],
    ['a zero interval never limits', 100, 100, 0, true],
  ];
  for (const [name, now, lastAt, interval, expected] of rows) it(name, () => assert.equal(decideResend(now, lastAt, interval), expected));
});

describe('decideListenerAck', () => {
  const rows: Array<[string, boolean, number, ListenerAckDecision]> = [
    ['first stray ACK: resend its OACK mc=0', true, 0, 'resend-oack'],
    ['within the resend interval: nothing now', false, 3, 'rate-limited'],
    [`the ${MAX_STRAY_ACKS}th repeat still goes`, true, MAX_STRAY_ACKS - 1, 'resend-oack'],
    [`ACKs after ${MAX_STRAY_ACKS} repeats: dropped`, true, MAX_STRAY_ACKS, 'drop-member'],
    ['a rate-limited ACK never drops it', false, MAX_STRAY_ACKS + 3, 'rate-limited'],
  ];
  for (const [name, mayResend, stray, expected] of rows) it(name, () => assert.equal(decideListenerAck(mayResend, stray), expected));
});

describe('ResendLimiter', () => {
  it('allows one resend per interval, read at each event', () => {
    let interval = 100;
    const limiter = new ResendLimiter(() => interval);
    assert.deepEqual([0, 50, 100, 150].map((t) => limiter.allow(t)), [true, false, true, false]);
    interval = 10;
    assert.equal(limiter.allow(111), true);
  });
});
