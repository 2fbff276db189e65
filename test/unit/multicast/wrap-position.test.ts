import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cannotFollowWrap,
  groupMayCarry,
  noteAcknowledged,
  noteReached,
  placeReport,
  startPosition,
  wireBlock,
  wraps,
} from '../../../src/multicast/wrap-position.js';

describe('wrap-position: block numbers past 65535 in a multicast session', () => {
  it('the wire carries index mod 65536: 65535 is followed by 0, as in unicast', () => {
    assert.deepEqual([65534, 65535, 65536, 65537, 131072].map(wireBlock), [65534, 65535, 0, 1, 0]);
    assert.equal(wraps(65535), false);
    assert.equal(wraps(65536), true);
  });

  it('below the wrap a number is its own index', () => {
    const known = { floor: 10, ceiling: 400 };
    assert.equal(placeReport(399, known), 399);
    assert.equal(placeReport(10, known), 10);
  });

  it('a master asking for a block across the wrap: ACK 65535 and ACK 0 around index 65536', () => {
    const known = { floor: 65535, ceiling: 65536 };
    assert.equal(placeReport(65535, known), 65535, 'it asks again for the block after the wrap');
    assert.equal(placeReport(0, known), 65536, 'it took the block after the wrap');
  });

  it('a late copy of an older ACK is placed behind, not a wrap ahead', () => {
    assert.equal(placeReport(65530, { floor: 65540, ceiling: 65541 }), 65530);
  });

  it('a member that joined after the wrap and holds nothing: ACK 0 is 0, not 65536', () => {
    const joiner = startPosition();
    assert.equal(placeReport(0, joiner), 0);
    noteReached(joiner, 70_000); // blocks it heard from the group since it joined
    assert.equal(placeReport(0, joiner), null, 'ACK 0 could now be 0 or 65536: not guessed');
    noteAcknowledged(joiner, 1);
    assert.equal(placeReport(0, joiner), 65536, 'once it is known to hold block 1, ACK 0 can only be 65536');
  });

  it('never guesses: a number two blocks within the bounds carry is not placed', () => {
    assert.equal(placeReport(0, { floor: 0, ceiling: 65536 }), null, '0 or 65536');
    assert.equal(placeReport(5, { floor: 0, ceiling: 65536 }), 5, 'only 5: 65541 has not reached it');
    assert.equal(placeReport(5, { floor: 100, ceiling: 200_000 }), null, '65541 or 131077');
    assert.equal(placeReport(5, { floor: 70_000, ceiling: 150_000 }), 131_077, 'only 131077 lies within');
  });

  it('a number no block that reached the member carries is not placed', () => {
    assert.equal(placeReport(10, { floor: 0, ceiling: 5 }), null);
  });

  it('what a member holds only grows; what reached it only grows', () => {
    const p = startPosition();
    noteAcknowledged(p, 70);
    noteAcknowledged(p, 60);
    noteReached(p, 90);
    noteReached(p, 80);
    assert.deepEqual(p, { floor: 70, ceiling: 90 });
  });

  it('a master that never acknowledged a wrapped block and asks again for the one before it cannot follow', () => {
    assert.equal(cannotFollowWrap({ followsWrap: false, askedAgain: 65536, unexplainedCopy: true }), true);
    assert.equal(cannotFollowWrap({ followsWrap: false, askedAgain: 65536, unexplainedCopy: false }), false, 'a copy our own resends explain');
    assert.equal(cannotFollowWrap({ followsWrap: true, askedAgain: 70_000, unexplainedCopy: true }), false, 'it followed a wrap before: loss');
    assert.equal(cannotFollowWrap({ followsWrap: false, askedAgain: 65535, unexplainedCopy: true }), false, 'before the wrap: loss');
  });

  it('the group carries a wrapped block only when every member hearing it follows wraps', () => {
    assert.equal(groupMayCarry(65535, false), true);
    assert.equal(groupMayCarry(65536, false), false);
    assert.equal(groupMayCarry(65536, true), true);
  });
});
