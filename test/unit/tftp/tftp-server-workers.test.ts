// The TFTP server with transfer workers ([tftp] workers): the real worker side runs in this thread
// (test/support/fake-workers.ts InlineThreads) on fake sockets, files and clock, so the hand-off
// and everything that stays in the main thread is checked end to end without timing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CatalogStore } from '../../../src/catalog/catalog-store.js';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../../src/codec/tftp-packet.js';
import type { TftpConfig } from '../../../src/config/config-types.js';
import { LossMeter, TokenBucket } from '../../../src/flowcontrol/pacing.js';
import { KeyedRateLimiter } from '../../../src/admission/keyed-rate-limiter.js';
import type { LogFields, Logger, PeerAddress } from '../../../src/io/ports.js';
import { TftpServer } from '../../../src/tftp/tftp-server.js';
import { PROGRESS_INTERVAL_MS } from '../../../src/tftp/worker-protocol.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocketFactory, settle } from '../../support/fake-socket.js';
import { InlineThreads } from '../../support/fake-workers.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';
import { multicastSettings, tftpSettings } from '../../support/settings.js';

interface Line {
  level: string;
  message: string;
  fields: LogFields;
}

function recordingLogger(lines: Line[], base: LogFields = {}): Logger {
  const at = (level: string) => (message: string, fields: LogFields = {}) => void lines.push({ level, message, fields: { ...base, ...fields } });
  return { child: (f) => recordingLogger(lines, { ...base, ...f }), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const FILE = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));

async function setup(over: Partial<TftpConfig> = {}) {
  const settings = tftpSettings({ listen: '127.0.0.1', root: '/srv', maxTransfers: 10, rtoInitialMs: 100, rtoMaxMs: 2000, ...over });
  const fs = new MemoryFileSystem().addFile('/srv/boot.img', FILE);
  const sockets = new FakeSocketFactory();
  const clock = new FakeClock();
  const threads = new InlineThreads({ clock, sockets, fs });
  const lines: Line[] = [];
  const server = new TftpServer({
    clock,
    sockets,
    fs,
    uploads: null,
    catalog: new CatalogStore({ root: '/srv', images: [], hosts: [], loadedAt: 0 }),
    logger: recordingLogger(lines),
    settings: () => settings,
    multicastSettings: () => multicastSettings({ startDelayMs: 0 }),
    loopLagMs: () => 0,
    globalBucket: new TokenBucket(125_000, 65536, 0),
    lossMeter: new LossMeter(),
    requestRate: new KeyedRateLimiter(() => clock.now(), () => ({ ratePerS: 1000, burst: 1000 })),
    workers: { threads, size: 2, cacheBytes: 1 << 20 },
  });
  await server.start();
  const listener = sockets.bound[0]!;
  const errors = sockets.bound[1]!;
  const rrq = async (from: PeerAddress, options: Array<[string, string]> = [], filename = 'boot.img') => {
    listener.deliver(encodeTftp({ op: 'RRQ', filename, mode: 'octet', options: options.map(([name, value]) => ({ name, value })) }), from);
    await settle();
  };
  /** The TID socket a worker bound for `peer`: the one that sent to it first. */
  const tidOf = (peer: PeerAddress) => sockets.bound.slice(2).find((s) => s.sent.some((d) => d.to.port === peer.port && d.to.address === peer.address))!;
  const send = async (to: ReturnType<typeof tidOf>, p: TftpPacket, from: PeerAddress) => {
    to.deliver(encodeTftp(p), from);
    await settle();
  };
  const summaries = () => lines.filter((l) => l.message === 'transfer');
  return { settings, fs, sockets, clock, threads, lines, server, listener, errors, rrq, tidOf, send, summaries };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** ACKs every DATA block of `peer`'s transfer until the short one; returns the bytes received. */
async function download(s: Setup, peer: PeerAddress): Promise<Buffer> {
  const tid = s.tidOf(peer);
  const got: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    const packets = tid.sent.splice(0).filter((d) => d.to.port === peer.port).map((d) => decodeTftp(d.data));
    const last = packets.at(-1);
    if (!last) break;
    if (last.op === 'OACK') await s.send(tid, { op: 'ACK', block: 0 }, peer);
    else if (last.op === 'DATA') {
      got.push(last.data);
      await s.send(tid, { op: 'ACK', block: last.block }, peer);
      if (last.data.length < 512) break;
    } else break;
  }
  return Buffer.concat(got);
}

const peerA = { address: '10.0.0.9', port: 3000 };
const peerB = { address: '10.0.0.9', port: 3001 };

describe('TftpServer with transfer workers', () => {
  it('runs reads in the workers, spread over both, and logs and counts each in the main thread', async () => {
    const s = await setup();
    await s.rrq(peerA);
    await s.rrq(peerB, [['tsize', '0']]);
    assert.equal(s.threads.spawned.length, 2);
    assert.deepEqual(s.sockets.bound.slice(2).map((b) => b.localPort()).length, 2, 'each transfer has its own TID socket');
    assert.deepEqual(await download(s, peerA), FILE);
    assert.deepEqual(await download(s, peerB), FILE);
    await settle();
    const lines = s.summaries();
    assert.deepEqual(lines.map((l) => [l.level, l.fields['client'], l.fields['bytes'], l.fields['outcome']]), [
      ['info', '10.0.0.9:3000', 3000, 'complete'],
      ['info', '10.0.0.9:3001', 3000, 'complete'],
    ]);
    assert.deepEqual(lines.map((l) => l.fields['worker']).sort(), [1, 2], 'one transfer in each worker');
    assert.equal(lines[1]!.fields['options'], 'tsize=3000');
    assert.deepEqual(s.server.counters.outcomes, { complete: 2 });
    assert.equal(s.server.counters.bytesSent, 6000);
    assert.equal(s.server.activeTransfers(), 0);
    assert.equal(s.fs.openCount, 0, 'every handle released, in both threads');
  });

  it('answers a repeated RRQ from the same TID (10.5 a): one worker transfer, the OACK again', async () => {
    const s = await setup();
    await s.rrq(peerA, [['tsize', '0']]);
    await s.rrq(peerA, [['tsize', '0']]);
    assert.equal(s.sockets.bound.length, 3, 'no second TID socket');
    assert.deepEqual(s.sockets.bound[2]!.sent.map((d) => decodeTftp(d.data).op), ['OACK', 'OACK']);
  });

  it('confirms the peer from the worker, answers strays within the main budget and keeps the transfer', async () => {
    const s = await setup();
    await s.rrq(peerA);
    const tid = s.tidOf(peerA);
    tid.sent.length = 0;
    await s.send(tid, { op: 'ACK', block: 1 }, { address: '10.0.0.66', port: 3000 });
    assert.deepEqual(decodeTftp(tid.sent[0]!.data), { op: 'ERROR', code: 5, message: 'Unknown transfer ID' });
    assert.deepEqual(tid.sent[0]!.to, { address: '10.0.0.66', port: 3000 });
    assert.equal(s.server.counters.wrongTid, 1);
    tid.deliver(Buffer.from([0, 4, 0]), peerA); // a truncated ACK: counted in the main thread
    await settle();
    assert.equal(s.server.counters.decodeErrors['TRUNCATED'], 1);
    await s.send(tid, { op: 'ACK', block: 1 }, peerA);
    assert.equal(decodeTftp(tid.sent.at(-1)!.data).op, 'DATA');
  });

  it('evicts an unconfirmed worker transfer silently to make room (max_unconfirmed)', async () => {
    const s = await setup({ maxUnconfirmed: 1 });
    await s.rrq(peerA);
    await s.rrq(peerB);
    await settle();
    const a = s.summaries().find((l) => l.fields['client'] === '10.0.0.9:3000');
    assert.equal(a?.fields['outcome'], 'unconfirmed');
    assert.equal(a?.level, 'debug');
    assert.ok(!s.tidOf(peerA).sent.some((d) => decodeTftp(d.data).op === 'ERROR'), 'no ERROR to a maybe-forged source');
    assert.equal(s.server.activeTransfers(), 1);
    // A confirmed transfer is safe from eviction: peerB answers, a third request is refused busy instead.
    await s.send(s.tidOf(peerB), { op: 'ACK', block: 1 }, peerB);
    assert.equal(s.server.activeTransfers(), 1);
  });

  it('ends a worker transfer whose peer never answers after unconfirmed_timeout, without an ERROR', async () => {
    const s = await setup({ unconfirmedTimeoutMs: 20_000 });
    await s.rrq(peerA);
    s.clock.advance(20_000);
    await settle();
    assert.deepEqual(s.summaries().map((l) => l.fields['outcome']), ['unconfirmed']);
    assert.equal(s.server.counters.limited['unconfirmed-expired'], 1);
  });

  it('shows worker transfers in transfers() with progress reported by the worker, and drops them by client', async () => {
    const s = await setup();
    await s.rrq(peerA);
    const tid = s.tidOf(peerA);
    await s.send(tid, { op: 'ACK', block: 1 }, peerA);
    await s.send(tid, { op: 'ACK', block: 2 }, peerA);
    assert.deepEqual(s.server.transfers().map((t) => [t.client, t.file, t.bytes, t.totalBytes]), [['10.0.0.9:3000', 'boot.img', 0, 3000]]);
    s.clock.advance(PROGRESS_INTERVAL_MS);
    await settle();
    assert.deepEqual(s.server.transfers().map((t) => [t.state, t.bytes]), [['sending', 1536]]);
    assert.equal(s.server.drop('10.0.0.9:3000', 'dropped by the operator'), true);
    await settle();
    const last = decodeTftp(tid.sent.at(-1)!.data);
    assert.deepEqual(last, { op: 'ERROR', code: 0, message: 'dropped by the operator' });
    assert.deepEqual(s.summaries().map((l) => [l.fields['outcome'], l.fields['worker']]), [['dropped', 1]]);
    assert.equal(s.server.transfers().length, 0);
  });

  it('contains a crashed worker: its transfer ends as failed (warn), a new worker serves the next request', async () => {
    const s = await setup();
    await s.rrq(peerA);
    const first = s.threads.spawned.find((t) => t.worker.size > 0)!;
    first.crash(new Error('simulated crash'));
    await settle();
    const [line] = s.summaries();
    assert.equal(line?.level, 'warn');
    assert.equal(line?.fields['outcome'], 'io-error');
    assert.match(String(line?.fields['detail']), /transfer worker \d died \(Error: simulated crash\)/);
    assert.ok(s.lines.some((l) => l.level === 'error' && l.message === 'transfer worker died'));
    assert.equal(s.server.activeTransfers(), 0);
    assert.equal(s.threads.spawned.length, 3, 'replaced');
    await s.rrq(peerB);
    await s.rrq({ address: '10.0.0.10', port: 5000 });
    assert.deepEqual(await download(s, peerB), FILE);
    assert.deepEqual(await download(s, { address: '10.0.0.10', port: 5000 }), FILE);
    await settle();
    assert.deepEqual(s.summaries().slice(1).map((l) => l.fields['worker']).sort(), [2, 3], 'the survivor and the replacement');
  });

  it('stop ends worker transfers with an ERROR to each client; drain waits for their summaries and ends the threads', async () => {
    const s = await setup();
    await s.rrq(peerA);
    await s.rrq(peerB);
    s.server.stop();
    await s.server.drain();
    for (const peer of [peerA, peerB]) {
      assert.deepEqual(decodeTftp(s.tidOf(peer).sent.at(-1)!.data), { op: 'ERROR', code: 0, message: 'server shutting down' });
    }
    assert.deepEqual(s.summaries().map((l) => l.fields['outcome']), ['dropped', 'dropped']);
    assert.ok(s.threads.spawned.every((t) => t.terminated));
    assert.ok(!s.lines.some((l) => l.message === 'transfer worker died'));
  });

  it('keeps multicast sessions in the main thread', async () => {
    const s = await setup();
    await s.rrq(peerA, [['multicast', ''], ['blksize', '1024']]);
    assert.ok(s.threads.spawned.every((t) => t.worker.size === 0), 'no worker transfer');
    assert.deepEqual(s.server.transfers().map((t) => t.multicast?.group), ['239.255.0.0:1758']);
  });
});
