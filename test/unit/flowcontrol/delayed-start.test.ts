// Mechanism 1, delayed start: when a gathering RFC 2090 session sends DATA 1, and how long an MTFTP
// pass holds block 1.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideDelayedStart, mtftpHoldMs, type GatheringFacts, type StartDecision } from '../../../src/flowcontrol/delayed-start.js';

describe('decideDelayedStart', () => {
  const rows: Array<[string, GatheringFacts, StartDecision]> = [
    ['delay running, no min_clients: wait', { minClients: 0, members: 5, delayOver: false, masterAnswered: true, allKnownDeaf: false }, { start: false, waitingFor: 'members-or-delay' }],
    ['delay running, fewer than min_clients: wait', { minClients: 3, members: 2, delayOver: false, masterAnswered: true, allKnownDeaf: false }, { start: false, waitingFor: 'members-or-delay' }],
    ['min_clients reached before the delay: start', { minClients: 3, members: 3, delayOver: false, masterAnswered: true, allKnownDeaf: false }, { start: true, reason: 'min_clients 3 reached' }],
    ['delay over: start', { minClients: 3, members: 1, delayOver: true, masterAnswered: true, allKnownDeaf: false }, { start: true, reason: 'start_delay over' }],
    ['delay over, no ACK 0 from the master: wait for it', { minClients: 0, members: 1, delayOver: true, masterAnswered: false, allKnownDeaf: false }, { start: false, waitingFor: 'master-ack' }],
    ['min_clients reached, no ACK 0: wait for it', { minClients: 2, members: 2, delayOver: false, masterAnswered: false, allKnownDeaf: false }, { start: false, waitingFor: 'master-ack' }],
    ['every member known deaf: no gathering, start on ACK 0', { minClients: 0, members: 1, delayOver: false, masterAnswered: true, allKnownDeaf: true }, { start: true, reason: 'every member known deaf' }],
    ['every member known deaf, no ACK 0 yet: wait for it', { minClients: 0, members: 1, delayOver: false, masterAnswered: false, allKnownDeaf: true }, { start: false, waitingFor: 'master-ack' }],
    ['no delay configured (over at once): start on ACK 0', { minClients: 0, members: 1, delayOver: true, masterAnswered: true, allKnownDeaf: false }, { start: true, reason: 'start_delay over' }],
  ];
  for (const [name, facts, expected] of rows) it(name, () => assert.deepEqual(decideDelayedStart(facts), expected));
});

describe('mtftpHoldMs', () => {
  const rows: Array<[string, number, boolean, number]> = [
    ['a fresh open holds block 1 for open_hold', 500, false, 500],
    ['open_hold 0: no hold', 0, false, 0],
    ['a pass for late openers starts at once', 500, true, 0],
  ];
  for (const [name, openHold, late, expected] of rows) it(name, () => assert.equal(mtftpHoldMs(openHold, late), expected));
});
