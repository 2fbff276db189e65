// A scheduled start (WDS style): one RFC 2090 session waits up to `start_delay` (here 70 s) for
// `min_clients` (10) while real atftp clients (`--option multicast`) join over about a minute. The
// joined clients must not give up meanwhile: atftp aborts after six 5 s timeouts without an answer,
// so the session answers their own retries with their OACK (flowcontrol/gathering-keepalive.ts).
// Every copy is checked by sha256; the server's interface counter proves one stream served all.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAtftpMulticast } from '../support/atftp-multicast.js';
import { writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, teardown, txBytes, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';
import { findPeer, sha256File } from '../support/peers.js';
import { logField, logLinesSince } from '../support/transfer-outcome.js';

const CLIENTS = 10;
/** Between two client starts: the ten start over 58.5 s, longer than atftp's ~30 s patience. */
const START_SPACING_MS = 6_500;
const FILE_SIZE = 8 << 20;
/** Every client is killed by then (the scenario needs about 60 s plus a few seconds of transfer). */
const CLIENT_BOUND_MS = 150_000;

const work = mkdtempSync(join(tmpdir(), 'pxecast-sched-'));
const root = join(work, 'root');
let hash = '';
let server: LinkEnd;
let clients: Namespace[] = [];
let daemon: ProcessHandle & { readonly socket: string };

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'image.img'), randomBytes(FILE_SIZE));
  hash = await sha256File(join(root, 'image.img'));
  const serverNs = createNamespace('srv');
  clients = Array.from({ length: CLIENTS }, (_, i) => createNamespace(`c${i + 1}`));
  const lan = createBridge([serverNs, ...clients]);
  server = lan.members[0]!;
  const config = writeTempConfig(
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      `[multicast]\nstart_delay = 70s\nmin_clients = ${CLIENTS}\nmaster_timeout = 1s\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /tftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

describe('scheduled start: start_delay 70 s, min_clients 10 (bridged netns LAN, atftp)', () => {
  it(`${CLIENTS} atftp clients started over ~60 s are served by one session`, { timeout: CLIENT_BOUND_MS + 30_000 }, async (t) => {
    const testStart = new Date();
    const before = txBytes(server);
    const jobs: Array<{ local: string; proc: ProcessHandle; startedAt: number; endedAt?: number }> = [];
    const bound = setTimeout(() => jobs.forEach((j) => void j.proc.kill()), CLIENT_BOUND_MS);
    try {
      // The spacing is the scenario (clients arriving over a minute), not a wait for readiness.
      for (const [i, ns] of clients.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, START_SPACING_MS));
        const local = join(work, `out-${i + 1}`);
        const job: (typeof jobs)[number] = { local, proc: startAtftpMulticast(ns, server.address, 'image.img', local), startedAt: performance.now() };
        void job.proc.exited.then(() => (job.endedAt = performance.now()));
        jobs.push(job);
      }
      const statuses = await Promise.all(jobs.map((j) => j.proc.exited));
      for (const [i, status] of statuses.entries()) {
        const ranMs = Math.round((jobs[i]!.endedAt ?? performance.now()) - jobs[i]!.startedAt);
        assert.equal(status.code, 0, `client ${i + 1} failed after ${ranMs} ms:\n${jobs[i]!.proc.outputTail().slice(-2000)}\n--- server ---\n${daemon.outputTail().slice(-4000)}`);
        assert.equal(await sha256File(jobs[i]!.local), hash, `client ${i + 1}: sha256`);
      }
    } finally {
      clearTimeout(bound);
    }
    const bytes = txBytes(server) - before;
    // The session's summary is logged when its last member ends: wait for it (bounded).
    const deadline = Date.now() + 10_000;
    const summaries = () => logLinesSince(daemon.outputTail(), testStart).filter((l) => / multicast session /.test(l) && /bytes_sent=/.test(l));
    while (summaries().length === 0) {
      assert.ok(Date.now() < deadline, `no session summary:\n${daemon.outputTail().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines = logLinesSince(daemon.outputTail(), testStart);
    assert.equal(summaries().length, 1, `one session:\n${summaries().join('\n')}`);
    assert.match(summaries()[0]!, new RegExp(`members=${CLIENTS}\\b`));
    const sending = lines.filter((l) => /multicast session sending/.test(l));
    assert.equal(sending.length, 1, sending.join('\n'));
    assert.match(sending[0]!, /min_clients 10 reached/, 'started by min_clients, before start_delay');
    const waitedMs = Number(logField(sending[0]!, 'waited_ms'));
    assert.ok(waitedMs >= (CLIENTS - 1) * START_SPACING_MS - 1_000, `the session waited for the last client: waited_ms=${waitedMs}`);
    assert.ok(bytes <= FILE_SIZE * 1.25, `server sent ${bytes} bytes (${(bytes / FILE_SIZE).toFixed(3)}× the file) for ${CLIENTS} clients`);
    t.diagnostic(`waited_ms=${waitedMs} bytes/file=${(bytes / FILE_SIZE).toFixed(3)} ${summaries()[0]!.slice(summaries()[0]!.indexOf('members='))}`);
    const joinedLate = lines.filter((l) => / transfer /.test(l) && /file=image\.img/.test(l) && Number(logField(l, 'joined_after_packets')) > 0);
    assert.deepEqual(joinedLate, [], 'everyone was there from DATA 1');
  });
});
