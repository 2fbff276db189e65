// Transfer workers ([tftp] workers) against real clients: the real daemon with `workers = 2`
// serving atftp, curl and tftp-hpa at once (every copy compared by sha256, and the summaries show
// transfers in both workers), transfers in workers listed and dropped through the control socket;
// and a real worker thread killed by an uncaught exception while it serves: the failure stays in
// that worker's transfer, the other worker's transfer completes, a new worker takes its place.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { decodeTftp, encodeTftp } from '../../src/codec/tftp-packet.js';
import type { SessionInfo } from '../../src/control/control-protocol.js';
import { KeyedRateLimiter } from '../../src/admission/keyed-rate-limiter.js';
import { LossMeter, TokenBucket } from '../../src/flowcontrol/pacing.js';
import { NodeFileSystem } from '../../src/io/node-file-system.js';
import { nodeUdp } from '../../src/io/node-udp.js';
import { nodeWorkerThreads } from '../../src/io/node-worker.js';
import type { LogFields, Logger, WorkerThread, WorkerThreadFactory } from '../../src/io/ports.js';
import { systemClock } from '../../src/io/system-clock.js';
import { TftpServer } from '../../src/tftp/tftp-server.js';
import { DaemonProcess, cliPath, freeUdpPort, writeTempConfig } from '../support/daemon-process.js';
import { downloadWithAtftp, downloadWithCurl, downloadWithTftpHpa, findPeer, sha256File } from '../support/peers.js';
import { multicastSettings, tftpSettings } from '../support/settings.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-workers-'));
const root = join(work, 'root');
const out = join(work, 'out');
const data = { one: randomBytes(1 << 20), small: randomBytes(100_003), big: randomBytes(8 << 20) };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(() => {
  for (const peer of ['atftp', 'tftp-hpa', 'curl'] as const) assert.ok(findPeer(peer), `${peer} must be installed`);
  mkdirSync(root, { recursive: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(root, 'one-mib.bin'), data.one);
  writeFileSync(join(root, 'small.bin'), data.small);
  writeFileSync(join(root, 'big.bin'), data.big);
});
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
const local = () => join(out, `dl-${n++}`);

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A raw TFTP reader (blksize 512). It ACKs every block while `acking()` says so and collects the
 * data; `firstData` resolves on the first DATA, `ended` with the received bytes or the ERROR text.
 * Bounded: it gives up after READER_LIMIT_MS (ended: `{ error: 'gave up' }`).
 */
const READER_LIMIT_MS = 60_000;
function rawReader(port: number, file: string, acking: () => boolean = () => true) {
  const socket = dgram.createSocket('udp4');
  const parts: Buffer[] = [];
  let next = 1;
  let markFirst!: () => void;
  const firstData = new Promise<void>((r) => (markFirst = r));
  const ended = new Promise<{ data: Buffer } | { error: string }>((resolve, reject) => {
    const limit = setTimeout(() => {
      socket.close();
      markFirst();
      resolve({ error: 'gave up' });
    }, READER_LIMIT_MS);
    socket.on('close', () => clearTimeout(limit));
    socket.on('message', (msg, from) => {
      const packet = decodeTftp(msg);
      if (packet.op === 'OACK') socket.send(encodeTftp({ op: 'ACK', block: 0 }), from.port, from.address);
      else if (packet.op === 'DATA') {
        markFirst();
        if (!acking()) return;
        if (packet.block === (next & 0xffff)) {
          parts.push(packet.data);
          next++;
        }
        socket.send(encodeTftp({ op: 'ACK', block: packet.block }), from.port, from.address);
        if (packet.data.length < 512) {
          socket.close();
          resolve({ data: Buffer.concat(parts) });
        }
      } else if (packet.op === 'ERROR') {
        socket.close();
        resolve({ error: packet.message });
      }
    });
    socket.on('error', reject);
  });
  socket.bind(0, '127.0.0.1', () =>
    socket.send(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: [{ name: 'blksize', value: '512' }] }), port, '127.0.0.1'),
  );
  return {
    firstData,
    ended,
    close: () => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
}

function pxecast(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('the daemon with workers = 2 against real clients (loopback)', () => {
  let daemon: DaemonProcess;
  let port: number;

  before(async () => {
    port = await freeUdpPort();
    const limits = 'max_transfers_per_client = 100\nclient_request_rate = 1000\nclient_request_burst = 1000\n';
    const config = writeTempConfig(`[log]\nlevel = info\n[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${root}\nmax_blksize = 8192\nworkers = 2\n${limits}`);
    daemon = await DaemonProcess.start(config);
    assert.match(daemon.output, /transfer workers started service=tftp workers=2/);
  });
  after(async () => {
    await daemon?.stop();
  });

  it('serves atftp, curl and tftp-hpa in parallel from both workers, every copy intact', { timeout: 120_000 }, async () => {
    const host = '127.0.0.1';
    const jobs: Array<[Promise<{ ok: boolean; stderr: string }>, string, Buffer]> = [];
    const add = (p: Promise<{ ok: boolean; stderr: string }>, path: string, expected: Buffer) => jobs.push([p, path, expected]);
    for (const options of [{}, { blksize: 1428, tsize: true }, { blksize: 8192, windowsize: 8 }, { blksize: 512, windowsize: 4 }, {}, { blksize: 1428 }]) {
      const path = local();
      add(downloadWithAtftp({ remote: 'one-mib.bin', local: path, host, port, ...options }), path, data.one);
    }
    for (const blksize of [undefined, 1428]) {
      const path = local();
      add(downloadWithCurl({ remote: 'one-mib.bin', local: path, host, port, ...(blksize ? { blksize } : {}) }), path, data.one);
    }
    for (let i = 0; i < 2; i++) {
      const path = local();
      add(downloadWithTftpHpa({ remote: 'small.bin', local: path, host, port }), path, data.small);
    }
    for (const [promise, path, expected] of jobs) {
      const r = await promise;
      assert.ok(r.ok, r.stderr);
      assert.equal(await sha256File(path), sha(expected), path);
    }
    const summaries = await until('a summary per download', () => {
      const lines = daemon.output.split('\n').filter((l) => / info transfer service=tftp /.test(l));
      return lines.length >= jobs.length ? lines : undefined;
    });
    assert.equal(summaries.length, jobs.length, 'one summary line per transfer');
    assert.ok(summaries.every((l) => /outcome=complete/.test(l)), summaries.join('\n'));
    const workers = new Set(summaries.map((l) => /worker=(\d+)/.exec(l)?.[1]));
    assert.deepEqual([...workers].sort(), ['1', '2'], 'transfers ran in both workers');
  });

  it('lists a transfer running in a worker with its progress, and drops it with an ERROR', { timeout: 120_000 }, async () => {
    const reader = rawReader(port, 'big.bin');
    await reader.firstData;
    const session = await until('the transfer with progress in `pxecast sessions`', () => {
      const r = pxecast('sessions', '--json', '--socket', daemon.socket);
      const sessions = (JSON.parse(r.stdout) as { sessions: SessionInfo[] }).sessions;
      return sessions.find((s) => s.file === 'big.bin' && s.bytes > 0);
    });
    assert.equal(session.kind, 'unicast');
    assert.equal(session.totalBytes, data.big.length);
    const dropped = pxecast('drop', session.id, '--socket', daemon.socket);
    assert.equal(dropped.status, 0, dropped.stderr);
    assert.deepEqual(await reader.ended, { error: 'dropped by the operator' });
    await until('the summary of the dropped transfer', () => (/file=big.bin .*outcome=dropped .*worker=\d/.test(daemon.output) ? true : undefined));
  });
});

describe('a real worker thread that crashes while serving', () => {
  const lines: Array<{ level: string; message: string; fields: LogFields }> = [];
  const logger = (base: LogFields = {}): Logger => {
    const at = (level: string) => (message: string, fields: LogFields = {}) => void lines.push({ level, message, fields: { ...base, ...fields } });
    return { child: (f) => logger({ ...base, ...f }), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  };
  const threads: WorkerThread[] = [];
  const real = nodeWorkerThreads(new URL('../support/crash-on-message-worker.js', import.meta.url));
  const recording: WorkerThreadFactory = {
    cpus: real.cpus,
    spawn: (d) => {
      const t = real.spawn(d);
      threads.push(t);
      return t;
    },
  };
  let server: TftpServer;
  let port: number;

  before(async () => {
    const settings = tftpSettings({ listen: '127.0.0.1', port: 0, root, maxTransfersPerClient: 100, clientRequestRate: 1000, clientRequestBurst: 1000, workers: 2 });
    const requestRate = new KeyedRateLimiter(() => systemClock.now(), () => ({ ratePerS: 1000, burst: 1000 }));
    server = new TftpServer({
      clock: systemClock,
      sockets: nodeUdp,
      fs: new NodeFileSystem(),
      uploads: null,
      catalog: new CatalogStore({ root, images: [], hosts: [], loadedAt: 0 }),
      logger: logger({ service: 'tftp' }),
      settings: () => settings,
      multicastSettings: () => multicastSettings(),
      loopLagMs: () => 0,
      globalBucket: new TokenBucket(125_000, 65536, 0),
      lossMeter: new LossMeter(),
      requestRate,
      workers: { threads: recording, size: 2, cacheBytes: 16 << 20 },
    });
    await server.start();
    port = server.port();
  });
  after(async () => {
    server.stop();
    await server.drain();
  });

  it('ends only that worker\'s transfer (failed), the other completes, a new worker serves on', { timeout: 120_000 }, async () => {
    let stalled = false;
    // Worker 1 takes the first transfer; the reader stops ACKing it, so it is still running when its
    // worker dies. Worker 2 takes the second, whose reader reads on to the end.
    const victim = rawReader(port, 'big.bin', () => !stalled);
    await victim.firstData;
    stalled = true;
    const survivor = rawReader(port, 'big.bin');
    await survivor.firstData;
    threads[0]!.post({ type: 'test-crash' });
    const died = await until('the death of worker 1 in the log', () => lines.find((l) => l.message === 'transfer worker died'));
    assert.equal(died.level, 'error');
    assert.equal(died.fields['worker'], 1);
    assert.equal(died.fields['transfers'], 1);
    assert.match(String(died.fields['error']), /injected crash/);
    const failed = lines.find((l) => l.message === 'transfer' && l.fields['worker'] === 1);
    assert.equal(failed?.level, 'warn');
    assert.equal(failed?.fields['outcome'], 'io-error');
    const got = await survivor.ended;
    assert.ok('data' in got, JSON.stringify(got));
    assert.equal(sha(got.data), sha(data.big), 'the other worker\'s transfer is intact');
    victim.close();
    await until('the replacement', () => lines.find((l) => l.message === 'transfer worker replaced'));
    // Two downloads at once: one lands on the replacement (worker 3), one on worker 2.
    const paths = [local(), local()];
    const results = await Promise.all(paths.map((path) => downloadWithAtftp({ remote: 'one-mib.bin', local: path, host: '127.0.0.1', port, blksize: 512 })));
    for (const [i, r] of results.entries()) {
      assert.ok(r.ok, r.stderr);
      assert.equal(await sha256File(paths[i]!), sha(data.one));
    }
    const last = await until('both summaries', () => {
      const ends = lines.filter((l) => l.message === 'transfer' && l.fields['file'] === 'one-mib.bin');
      return ends.length === 2 ? ends : undefined;
    });
    assert.deepEqual(last.map((l) => l.fields['worker']).sort(), [2, 3]);
    assert.equal(server.activeTransfers(), 0);
    assert.equal(server.counters.outcomes['io-error'], 1);
  });
});
