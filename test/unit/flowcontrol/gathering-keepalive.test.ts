// Mechanism 1, continued: which ACKs of a gathering member are retries from its own timer (answered
// with its OACK again) and which are its immediate answer to our last OACK (absorbed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answersGatheringRetry, GATHERING_KEEPALIVE_MIN_INTERVAL_MS as MIN } from '../../../src/flowcontrol/gathering-keepalive.js';

describe('answersGatheringRetry', () => {
  const rows: Array<[string, number, number, boolean]> = [
    ['no OACK sent yet: answer', 0, -Infinity, true],
    ['the echo of an OACK just sent: absorb', 1000, 1000, false],
    ['repeats within the interval (10.1 T2: 1.75 s): absorb', 1750, 0, false],
    ['just under the interval: absorb', MIN - 1, 0, false],
    ['at the interval: answer', MIN, 0, true],
    ['an atftp retry 5 s after the OACK: answer', 5000, 0, true],
  ];
  for (const [name, now, lastOackAt, expected] of rows) it(name, () => assert.equal(answersGatheringRetry(now, lastOackAt), expected));
  it('the interval is far above a round trip, and below atftp\'s 5 s retry', () => {
    assert.ok(MIN >= 1000 && MIN < 5000);
  });
});
