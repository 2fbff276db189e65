// Property tests for the control protocol's receiving side (fixed seed, bounded): the line framer,
// the request parser and the handler glue answer every frame, however malformed, with one
// protocol-conforming reply and never throw or reject.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaemonView } from '../../../src/control/control-handler.js';
import { parseControlRequest } from '../../../src/control/control-protocol.js';
import { controlRequestHandler } from '../../../src/control/control-server.js';
import type { Logger } from '../../../src/io/ports.js';
import { LineFramer } from '../../../src/io/node-ipc-transport.js';
import { fuzzControlFrame } from '../../support/fuzz-corpus.js';
import { randomInt } from '../../support/fuzz-mutate.js';
import { seededRandom } from '../../support/round-trip.js';

const quiet: Logger = { child: () => quiet, debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const view: DaemonView = {
  status: () => ({ version: 't', pid: 1, uptimeMs: 0, configFile: '/x', services: [], counts: {
    images: 0, activeTransfers: 0, activeMulticastSessions: 0, activeMtftpPasses: 0, tftpRequests: 0, tftpRefused: 0,
    transferOutcomes: {}, bytesSent: 0, retransmits: 0, mtftpOpens: 0, mtftpPasses: {} } }),
  sessions: () => [],
  leases: () => ({ responder: 'off', note: null, leases: [], v6: { responder: 'off', note: null, leases: [] } }),
  catalog: () => ({ root: '/srv', images: [], hosts: [] }),
  reload: async () => ({ ok: false, errors: ['f:1: bad'] }),
  drop: () => 'no-such-session',
};

describe('control protocol properties (seeded)', () => {
  it('answers 5,000 generated, mutated and random frames with one version-1 reply each', async () => {
    const random = seededRandom(1);
    const handler = controlRequestHandler(view, quiet);
    for (let i = 0; i < 5000; i++) {
      const frame = fuzzControlFrame(random).toString('utf8');
      const reply = JSON.parse(await handler.onRequest(frame)) as { version: number; ok: boolean };
      assert.equal(reply.version, 1, frame);
      assert.equal(typeof reply.ok, 'boolean', frame);
      let value: unknown;
      try {
        value = JSON.parse(frame);
      } catch {
        continue;
      }
      const parsed = parseControlRequest(value);
      assert.equal(typeof parsed.ok, 'boolean');
    }
  });

  it('frames 2,000 random chunk streams without throwing and never returns a frame over the limit', () => {
    const random = seededRandom(2);
    const limit = 256;
    for (let i = 0; i < 2000; i++) {
      const framer = new LineFramer(limit);
      for (let c = 0; c < 1 + randomInt(random, 8); c++) {
        const chunk = Buffer.concat([fuzzControlFrame(random), Buffer.from(random() < 0.7 ? '\n' : '')]).toString('utf8');
        const frames = framer.push(chunk);
        if (frames === 'oversize') break;
        for (const f of frames) assert.ok(Buffer.byteLength(f) <= limit);
      }
    }
  });
});
