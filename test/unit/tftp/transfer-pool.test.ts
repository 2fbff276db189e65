import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerDelayMemory } from '../../../src/flowcontrol/peer-delay-memory.js';
import type { LogFields, Logger, PeerAddress } from '../../../src/io/ports.js';
import { DRAIN_TIMEOUT_MS, TransferPool, transferPoolSize, type RemoteHooks } from '../../../src/tftp/transfer-pool.js';
import type { TransferProgress, TransferResult } from '../../../src/tftp/transfer-types.js';
import type { TransferSpec } from '../../../src/tftp/worker-protocol.js';
import { FakeClock } from '../../support/fake-clock.js';
import { settle } from '../../support/fake-socket.js';
import { FakeThreads } from '../../support/fake-workers.js';

interface Line {
  level: string;
  message: string;
  fields: LogFields;
}

function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (message: string, fields: LogFields = {}) => void lines.push({ level, message, fields });
  const logger: Logger = { child: () => logger, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return logger;
}

const spec = (port: number): Omit<TransferSpec, 'id'> => ({
  path: '/srv/boot.img',
  identity: 'id-1',
  peer: { address: '10.0.0.9', port },
  listen: '0.0.0.0',
  mode: 'octet',
  read: { filename: 'boot.img', blksize: 512, windowsize: 1, timeoutS: null, oack: null },
  timing: { rtoMinMs: 10, rtoMaxMs: 3000, rtoInitialMs: 1000, idleTimeoutMs: 30_000, maxTransferTimeMs: 1_800_000 },
});

const initial: TransferProgress = { state: 'sending', bytes: 0, totalBytes: 3000, retransmits: 0, rtoMs: 1000, blksize: 512 };

class Heard implements RemoteHooks {
  confirmed = 0;
  strays: PeerAddress[] = [];
  decodeErrors: string[] = [];
  refused: string[] = [];
  ends: Array<{ result: TransferResult; worker: number }> = [];
  answerStrays = true;
  onConfirmed(): void {
    this.confirmed++;
  }
  onStray(from: PeerAddress, answer: () => void): void {
    this.strays.push(from);
    if (this.answerStrays) answer();
  }
  onDecodeError(code: string): void {
    this.decodeErrors.push(code);
  }
  onRefused(_code: number, _toClient: string, detail: string): void {
    this.refused.push(detail);
  }
  onEnd(result: TransferResult, worker: number): void {
    this.ends.push({ result, worker });
  }
}

async function setup(size = 2) {
  const clock = new FakeClock();
  const threads = new FakeThreads();
  const lines: Line[] = [];
  const peerDelay = new PeerDelayMemory(clock);
  const pool = new TransferPool({ threads, size, cacheBytes: 1000, clock, logger: recordingLogger(lines), peerDelay });
  await pool.start();
  return { clock, threads, lines, pool, peerDelay };
}

const result = (over: Partial<TransferResult> = {}): TransferResult => ({ outcome: 'complete', detail: '', bytes: 3000, blocks: 6, retransmits: 0, durationMs: 5, ...over });

describe('transfer pool size', () => {
  it('auto is one worker per CPU, none on a single CPU; a number is taken as is', () => {
    assert.equal(transferPoolSize('auto', 2), 2);
    assert.equal(transferPoolSize('auto', 8), 8);
    assert.equal(transferPoolSize('auto', 1), 0);
    assert.equal(transferPoolSize(0, 8), 0);
    assert.equal(transferPoolSize(3, 1), 3);
  });
});

describe('TransferPool', () => {
  it('starts its workers with an equal cache share and waits until they are ready', async () => {
    const s = await setup(2);
    assert.equal(s.threads.spawned.length, 2);
    assert.deepEqual(s.threads.spawned.map((t) => t.data), [{ workerId: 1, cacheBytes: 1000 }, { workerId: 2, cacheBytes: 1000 }]);
    assert.equal(s.pool.readyWorkers(), 2);
  });

  it('hands each transfer to the least busy worker and posts its start only on start()', async () => {
    const s = await setup(2);
    const [w1, w2] = s.threads.spawned as [typeof s.threads.spawned[0], typeof s.threads.spawned[0]];
    const a = s.pool.run(spec(1), initial, new Heard())!;
    const b = s.pool.run(spec(2), initial, new Heard())!;
    const c = s.pool.run(spec(3), initial, new Heard())!;
    assert.deepEqual([a.workerId, b.workerId, c.workerId], [1, 2, 1]);
    assert.equal(w1.of('start').length, 0);
    a.start();
    b.start();
    c.start();
    assert.deepEqual(w1.of('start').map((m) => m.spec.peer.port), [1, 3]);
    assert.deepEqual(w2.of('start').map((m) => m.spec.peer.port), [2]);
    assert.equal(w1.of('start')[0]!.spec.path, '/srv/boot.img', 'the worker gets the resolved path');
  });

  it('runs nothing in a worker that is not ready (the caller serves it in the main thread)', async () => {
    const clock = new FakeClock();
    const threads = new FakeThreads();
    threads.autoReady = false;
    const lines: Line[] = [];
    const pool = new TransferPool({ threads, size: 1, cacheBytes: 1000, clock, logger: recordingLogger(lines), peerDelay: new PeerDelayMemory(clock) });
    const started = pool.start();
    await settle();
    assert.equal(pool.run(spec(1), initial, new Heard()), null);
    clock.advance(10_000);
    await started;
    assert.equal(pool.run(spec(1), initial, new Heard()), null);
    assert.ok(lines.some((l) => l.level === 'error' && l.message.includes('did not start')));
  });

  it('forwards what the worker reports to the transfer it belongs to', async () => {
    const s = await setup(1);
    const w = s.threads.spawned[0]!;
    const heard = new Heard();
    const t = s.pool.run(spec(7), initial, heard)!;
    t.start();
    const id = w.of('start')[0]!.spec.id;
    w.say({ type: 'confirmed', id });
    w.say({ type: 'progress', items: [{ id, progress: { ...initial, bytes: 1024, retransmits: 1 } }] });
    w.say({ type: 'stray', id, from: { address: '10.0.0.66', port: 9 } });
    w.say({ type: 'decode-error', id, code: 'TRUNCATED', message: 'short', from: { address: '10.0.0.9', port: 7 }, packetHex: '00' });
    await settle();
    assert.equal(heard.confirmed, 1);
    assert.equal(t.progress().bytes, 1024);
    assert.deepEqual(heard.strays, [{ address: '10.0.0.66', port: 9 }]);
    assert.deepEqual(w.of('answer-stray'), [{ type: 'answer-stray', id, to: { address: '10.0.0.66', port: 9 } }]);
    assert.deepEqual(heard.decodeErrors, ['TRUNCATED']);
    t.onDuplicateRequest();
    t.abort('dropped by the operator');
    assert.deepEqual(w.of('duplicate-request'), [{ type: 'duplicate-request', id }]);
    assert.deepEqual(w.of('abort'), [{ type: 'abort', id, reason: 'dropped by the operator' }]);
    w.say({ type: 'end', id, result: result({ outcome: 'dropped' }) });
    w.say({ type: 'end', id, result: result() }); // a second end is ignored
    await settle();
    assert.deepEqual(heard.ends.map((e) => [e.result.outcome, e.worker]), [['dropped', 1]]);
  });

  it('passes a refusal on once and forgets the transfer', async () => {
    const s = await setup(1);
    const w = s.threads.spawned[0]!;
    const heard = new Heard();
    s.pool.run(spec(7), initial, heard)!.start();
    const id = w.of('start')[0]!.spec.id;
    w.say({ type: 'refused', id, tftpCode: 1, toClient: 'file not found', detail: 'vanished before open' });
    w.say({ type: 'end', id, result: result() });
    await settle();
    assert.deepEqual(heard.refused, ['vanished before open']);
    assert.equal(heard.ends.length, 0);
  });

  it('shares a proven ACK delay with the main thread and the other workers', async () => {
    const s = await setup(2);
    const [w1, w2] = s.threads.spawned as [typeof s.threads.spawned[0], typeof s.threads.spawned[0]];
    w1.say({ type: 'peer-delay', address: '10.0.0.9', delayMs: 300 });
    await settle();
    assert.equal(s.peerDelay.floorMs('10.0.0.9'), 600);
    assert.deepEqual(w2.of('peer-delay'), [{ type: 'peer-delay', address: '10.0.0.9', delayMs: 300 }]);
    assert.equal(w1.of('peer-delay').length, 0);
  });

  it('logs what a worker logs, naming the worker', async () => {
    const s = await setup(1);
    s.threads.spawned[0]!.say({ type: 'log', level: 'error', message: 'bug: x', fields: { peer: 'p' } });
    await settle();
    assert.deepEqual(s.lines.at(-1), { level: 'error', message: 'bug: x', fields: { peer: 'p', worker: 1 } });
  });

  it('contains a crashed worker: it is logged, its transfers end as failed, a new worker takes its place', async () => {
    const s = await setup(2);
    const [w1, w2] = s.threads.spawned as [typeof s.threads.spawned[0], typeof s.threads.spawned[0]];
    const a = new Heard();
    const b = new Heard();
    const c = new Heard();
    s.pool.run(spec(1), initial, a)!.start();
    s.pool.run(spec(2), initial, b)!.start();
    s.pool.run(spec(3), initial, c)!.start();
    const idA = w1.of('start')[0]!.spec.id;
    w1.say({ type: 'progress', items: [{ id: idA, progress: { ...initial, bytes: 1536, retransmits: 2 } }] });
    await settle();
    s.clock.advance(250);
    w1.crash(new TypeError('cannot read properties of undefined'));
    assert.deepEqual(a.ends.map((e) => [e.result.outcome, e.result.bytes, e.result.retransmits, e.result.durationMs, e.worker]), [['io-error', 1536, 2, 250, 1]]);
    assert.match(a.ends[0]!.result.detail, /transfer worker 1 died \(TypeError: cannot read properties of undefined\)/);
    assert.deepEqual(c.ends.map((e) => e.result.outcome), ['io-error']);
    assert.equal(b.ends.length, 0, 'the other worker runs on');
    const died = s.lines.find((l) => l.message === 'transfer worker died');
    assert.equal(died?.level, 'error');
    assert.equal(died?.fields['transfers'], 2);
    // The replacement comes up and takes new transfers; reports of the dead worker count no more.
    assert.equal(s.threads.spawned.length, 3);
    await settle();
    assert.equal(s.pool.readyWorkers(), 2);
    assert.ok(s.lines.some((l) => l.message === 'transfer worker replaced' && l.fields['worker'] === 3 && l.fields['replaces'] === 1));
    const d = s.pool.run(spec(4), initial, new Heard())!;
    assert.equal(d.workerId, 3);
    assert.equal(w2.terminated, false);
  });

  it('drains: waits for the ends of the transfers the server aborted, then ends the threads', async () => {
    const s = await setup(2);
    const [w1, w2] = s.threads.spawned as [typeof s.threads.spawned[0], typeof s.threads.spawned[0]];
    const a = new Heard();
    const ta = s.pool.run(spec(1), initial, a)!;
    ta.start();
    ta.abort('server shutting down');
    let drained = false;
    const draining = s.pool.drain().then(() => (drained = true));
    await settle();
    assert.equal(drained, false, 'waits for the worker to report the end');
    assert.equal(s.pool.run(spec(9), initial, new Heard()), null, 'takes no new transfers while draining');
    w1.say({ type: 'end', id: w1.of('start')[0]!.spec.id, result: result({ outcome: 'dropped' }) });
    await draining;
    assert.deepEqual(a.ends.map((e) => e.result.outcome), ['dropped']);
    assert.ok(w1.terminated && w2.terminated);
    assert.ok(!s.lines.some((l) => l.message === 'transfer worker died'), 'a drained worker did not crash');
    assert.equal(s.threads.spawned.length, 2, 'and is not replaced');
  });

  it('drains within a bounded time: a transfer whose worker never answers ends as dropped', async () => {
    const s = await setup(1);
    const a = new Heard();
    s.pool.run(spec(1), initial, a)!.start();
    const draining = s.pool.drain();
    await settle();
    s.clock.advance(DRAIN_TIMEOUT_MS);
    await draining;
    assert.deepEqual(a.ends.map((e) => e.result.outcome), ['dropped']);
    assert.ok(s.threads.spawned[0]!.terminated);
  });
});
