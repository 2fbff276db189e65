// Mechanism 2, join a running session: who joins an RFC 2090 stream, and what an MTFTP open does
// to the pass that runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideJoin, decideMtftpOpen, type MtftpOpenDecision, type MtftpPassState, type RunningSession } from '../../../src/flowcontrol/join-running-session.js';

describe('decideJoin (RFC 2090 10.2)', () => {
  const running: RunningSession = { sameFile: true, closed: false, members: 3, maxClients: 10, blksize: 1024 };
  const rows: Array<[string, Partial<RunningSession>, number | undefined, boolean]> = [
    ['same file, room, same blksize: joins', {}, 1024, true],
    ['asks a larger blksize: joins (gets the session one)', {}, 1432, true],
    ['asks a smaller blksize: does not (J2)', {}, 512, false],
    ['asks no blksize (512): does not', {}, undefined, false],
    ['another file (or version): does not', { sameFile: false }, 1432, false],
    ['session closed: does not', { closed: true }, 1432, false],
    ['session full (max_clients): does not', { members: 10 }, 1432, false],
    ['a 512-byte session takes a client that asks nothing', { blksize: 512 }, undefined, true],
  ];
  for (const [name, change, asked, expected] of rows) it(name, () => assert.equal(decideJoin({ ...running, ...change }, asked), expected));
});

describe('decideMtftpOpen', () => {
  const rows: Array<[MtftpPassState, boolean, number, MtftpOpenDecision]> = [
    ['idle', false, 0, 'start-pass'],
    ['opening', true, 0, 'hears-whole-pass'],
    ['holding', false, 1, 'hears-whole-pass'],
    ['sending', true, 1, 'resend-first-block'],
    ['sending', true, 7, 'ignore'],
    ['sending', false, 7, 'next-pass'],
    ['sending', false, 1, 'next-pass'],
  ];
  for (const [state, fromMaster, inFlight, expected] of rows) {
    it(`${state}, ${fromMaster ? 'the master' : 'another client'}, block ${inFlight} in flight: ${expected}`, () =>
      assert.equal(decideMtftpOpen(state, fromMaster, inFlight), expected));
  }
});
