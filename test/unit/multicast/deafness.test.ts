import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEAF_HOSTS_CAPACITY, DeafHosts } from '../../../src/multicast/deaf-hosts.js';
import { judgeReAsk, type ReAskEvidence } from '../../../src/multicast/deafness.js';
import { FakeClock } from '../../support/fake-clock.js';

// iPXE tftm:// as seen after DATA 1 went to the group: its ACK 0 again, 250 ms later.
const IPXE: ReAskEvidence = {
  unicast: false,
  heardGroup: false,
  openingBlock: true,
  alsoUnicast: false,
  groupSends: 1,
  unexplainedReAsk: true,
  sinceFirstSendMs: 250,
  crossingMs: 10,
  deafAfter: 3,
};

describe('judgeReAsk: is the master deaf to the group?', () => {
  const cases: Array<[string, Partial<ReAskEvidence>, boolean]> = [
    ['iPXE: the opening ACK again after the first block went to the group', {}, true],
    ['a promoted master repeating its opening ACK (block k+1 went to the group)', { groupSends: 2 }, true],
    ['a copy our own sends explain (OACK resent) is no evidence', { unexplainedReAsk: false }, false],
    ['a copy that may have crossed the block in flight', { sinceFirstSendMs: 5 }, false],
    ['a copy within a millisecond of the block (a hearing atftp master in the netns test)', { sinceFirstSendMs: 0.3 }, false],
    ['exactly the crossing time after the send counts', { sinceFirstSendMs: 10 }, true],
    ['a master that has acknowledged a group-only block hears the group', { heardGroup: true }, false],
    ['already served by unicast: nothing to decide', { unicast: true }, false],
    ['PXE MTFTP block 1 also goes by unicast: a re-ask proves nothing', { alsoUnicast: true, groupSends: 5 }, false],
    ['nothing went to the group yet', { groupSends: 0 }, false],
    ['a later block re-asked once: loss, not deafness', { openingBlock: false }, false],
    ['a later block after deaf_after group sends', { openingBlock: false, groupSends: 3 }, true],
    ['our own timer after deaf_after group sends (no re-ask at all)', { openingBlock: false, unexplainedReAsk: false, groupSends: 3 }, true],
    ['our own timer, fewer sends', { unexplainedReAsk: false, groupSends: 2 }, false],
  ];
  for (const [name, change, deaf] of cases) {
    it(name, () => {
      const verdict = judgeReAsk({ ...IPXE, ...change });
      assert.equal(verdict.deaf, deaf, JSON.stringify(verdict));
      if (verdict.deaf) assert.ok(verdict.why.length > 0);
    });
  }
});

describe('DeafHosts', () => {
  it('remembers a host for deaf_memory after its last finding, then forgets it', () => {
    const clock = new FakeClock();
    const hosts = new DeafHosts(clock, () => 60_000);
    hosts.note('10.0.0.1');
    clock.advance(59_000);
    assert.ok(hosts.has('10.0.0.1'));
    hosts.note('10.0.0.1'); // found again: held from now
    clock.advance(60_000);
    assert.ok(hosts.has('10.0.0.1'));
    clock.advance(1);
    assert.ok(!hosts.has('10.0.0.1'));
    assert.equal(hosts.size, 0);
  });

  it('remembers nothing when deaf_memory is 0', () => {
    const hosts = new DeafHosts(new FakeClock(), () => 0);
    hosts.note('10.0.0.1');
    assert.ok(!hosts.has('10.0.0.1'));
  });

  it('is bounded: the oldest finding goes first', () => {
    const hosts = new DeafHosts(new FakeClock(), () => 60_000, 3);
    for (const n of [1, 2, 3]) hosts.note(`10.0.0.${n}`);
    hosts.note('10.0.0.1'); // refreshed: now the newest
    hosts.note('10.0.0.4');
    assert.deepEqual([1, 2, 3, 4].map((n) => hosts.has(`10.0.0.${n}`)), [true, false, true, true]);
    assert.ok(DEAF_HOSTS_CAPACITY >= 1024);
  });
});
