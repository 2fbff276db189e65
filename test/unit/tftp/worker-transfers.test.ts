import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTftp, encodeTftp } from '../../../src/codec/tftp-packet.js';
import type { FromWorker, TransferSpec } from '../../../src/tftp/worker-protocol.js';
import { PROGRESS_INTERVAL_MS } from '../../../src/tftp/worker-protocol.js';
import { WorkerTransfers } from '../../../src/tftp/worker-transfers.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocketFactory, settle } from '../../support/fake-socket.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';

const peer = { address: '10.0.0.9', port: 3000 };

function setup() {
  const clock = new FakeClock();
  const sockets = new FakeSocketFactory();
  const fs = new MemoryFileSystem().addFile('/srv/boot.img', Buffer.alloc(1000, 7));
  const posted: FromWorker[] = [];
  const worker = new WorkerTransfers({ clock, sockets, fs, post: (m) => posted.push(m) });
  const spec = (over: Partial<TransferSpec> = {}): TransferSpec => ({
    id: 1,
    path: '/srv/boot.img',
    identity: '/srv/boot.img:1000',
    peer,
    listen: '127.0.0.1',
    mode: 'octet',
    read: { filename: 'boot.img', blksize: 512, windowsize: 1, timeoutS: null, oack: null },
    timing: { rtoMinMs: 10, rtoMaxMs: 2000, rtoInitialMs: 100, idleTimeoutMs: 30_000, maxTransferTimeMs: 1_800_000 },
    ...over,
  });
  return { clock, sockets, fs, posted, worker, spec };
}

describe('WorkerTransfers (the worker side of the pool)', () => {
  it('serves the resolved path from a TID socket of its own and reports confirmation, progress and the end', async () => {
    const s = setup();
    s.worker.onMessage({ type: 'start', spec: s.spec() });
    await settle();
    const tid = s.sockets.bound[0]!;
    assert.equal(decodeTftp(tid.sent[0]!.data).op, 'DATA');
    tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), peer);
    tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), peer);
    await settle();
    assert.deepEqual(s.posted.filter((m) => m.type === 'confirmed'), [{ type: 'confirmed', id: 1 }], 'confirmed once');
    s.clock.advance(PROGRESS_INTERVAL_MS);
    const progress = s.posted.filter((m) => m.type === 'progress');
    assert.equal(progress.length, 1);
    assert.deepEqual(progress[0]!.type === 'progress' && progress[0]!.items.map((i) => [i.id, i.progress.bytes]), [[1, 1000]]);
    tid.deliver(encodeTftp({ op: 'ACK', block: 2 }), peer);
    await settle();
    const end = s.posted.find((m) => m.type === 'end');
    assert.equal(end?.type === 'end' && end.result.outcome, 'complete');
    assert.ok(tid.closed);
    assert.equal(s.fs.openCount, 0);
    s.clock.advance(10 * PROGRESS_INTERVAL_MS);
    assert.equal(s.posted.filter((m) => m.type === 'progress').length, 1, 'no progress messages while idle');
    assert.equal(s.clock.pending(), 0);
  });

  it('refuses a file replaced since the main thread sized it, and one that vanished', async () => {
    const s = setup();
    s.worker.onMessage({ type: 'start', spec: s.spec({ identity: '/srv/boot.img:999' }) });
    s.worker.onMessage({ type: 'start', spec: s.spec({ id: 2, path: '/srv/gone.img' }) });
    await settle();
    assert.deepEqual(s.posted.filter((m) => m.type === 'refused').map((m) => m.type === 'refused' && [m.id, m.tftpCode, m.detail]), [
      [1, 0, 'file replaced between request and transfer start'],
      [2, 1, 'vanished before open'],
    ]);
    assert.equal(s.sockets.bound.length, 0, 'nothing sent');
    assert.equal(s.fs.openCount, 0);
  });

  it('sends strays to the main thread and answers them only when told to', async () => {
    const s = setup();
    s.worker.onMessage({ type: 'start', spec: s.spec() });
    await settle();
    const tid = s.sockets.bound[0]!;
    tid.sent.length = 0;
    const stray = { address: '10.0.0.66', port: 1 };
    tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), stray);
    assert.deepEqual(s.posted.at(-1), { type: 'stray', id: 1, from: stray });
    assert.equal(tid.sent.length, 0);
    s.worker.onMessage({ type: 'answer-stray', id: 1, to: stray });
    assert.deepEqual(decodeTftp(tid.sent[0]!.data), { op: 'ERROR', code: 5, message: 'Unknown transfer ID' });
    assert.ok(!s.posted.some((m) => m.type === 'confirmed'));
  });

  it('an abandon that arrives during set-up ends the transfer quietly, before anything is sent', async () => {
    const s = setup();
    s.worker.onMessage({ type: 'start', spec: s.spec() });
    s.worker.onMessage({ type: 'abandon', id: 1, reason: 'evicted' });
    await settle();
    assert.equal(s.sockets.bound[0]!.sent.length, 0);
    const end = s.posted.find((m) => m.type === 'end');
    assert.equal(end?.type === 'end' && end.result.outcome, 'unconfirmed');
    assert.equal(s.fs.openCount, 0);
  });

  it('learns another thread\'s ACK delay without reporting it back', async () => {
    const s = setup();
    s.worker.onMessage({ type: 'peer-delay', address: '10.0.0.9', delayMs: 300 });
    assert.ok(!s.posted.some((m) => m.type === 'peer-delay'));
  });
});
