// TFTP faults on a bridged LAN of test namespaces, each with the exact behaviour it must produce:
// an RFC 2090 master SIGKILLed mid-transfer, every member of a session vanishing, clients sending
// ERROR mid-stream (unicast, multicast master, multicast member), and the served file replaced,
// rewritten or truncated under a running transfer (old bytes or new bytes or a clean ERROR, never
// a mix).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { awaitClient, startAtftpMulticast } from '../support/atftp-multicast.js';
import { cliPath, writeTempConfig } from '../support/daemon-process.js';
import { repoRoot } from '../support/fixtures.js';
import { controlSocketPath, startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, dropFirstAck, runInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';
import { downloadWithAtftp, downloadWithTftpHpa, findPeer, sha256File } from '../support/peers.js';
import { expectCompleteOrCleanFailure, failedTransferLine, logLinesSince, type FailureEvidence } from '../support/transfer-outcome.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-rel-faults-'));
const root = join(work, 'root');
const probeScript = join(repoRoot, 'build/test/support/tftp-probe.js');
const SIZE = 4 << 20;
const BOUND_MS = 60_000;
const socket = controlSocketPath();
let server: LinkEnd;
let clients: Namespace[] = [];
let clientEnds: LinkEnd[] = [];
let daemon: ProcessHandle;
let expected = '';

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp') && findPeer('tftp-hpa'), 'atftp and tftp-hpa must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'image.img'), randomBytes(SIZE));
  expected = await sha256File(join(root, 'image.img'));
  const serverNs = createNamespace('srv');
  clients = [createNamespace('f1'), createNamespace('f2'), createNamespace('f3')];
  const lan = createBridge([serverNs, ...clients]);
  server = lan.members[0]!;
  clientEnds = lan.members.slice(1);
  const config = writeTempConfig(
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      // A pace the tests can act within: ~4 s for the 4 MiB stream.
      `[multicast]\nstart_delay = 1s\nmaster_timeout = 1s\nmax_rate = 8\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /tftp listening/, 10_000, { socket });
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

let run = 0;
const local = () => join(work, `out-${run++}`);
const logLines = (pattern: RegExp) => daemon.outputTail().split('\n').filter((l) => pattern.test(l));
const sessionLines = () => logLines(/ multicast session .*bytes_sent=/);
const sendingCount = () => (daemon.outputTail().match(/multicast session sending/g) ?? []).length;

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    assert.ok(performance.now() - started < timeoutMs, `${what} within ${timeoutMs} ms\n${daemon.outputTail().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}

function probe(ns: Namespace, errorAfter: number, kind: 'unicast' | 'multicast'): Promise<{ master: boolean; blocks: number; dataAfterError: number; erroredAt: number | null; serverError: string | null }> {
  return runInNamespace(ns, process.execPath, [probeScript, server.address, 'image.img', String(errorAfter), kind, '1000', '20000'], { timeoutMs: 25_000 }).then((r) => {
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  });
}

interface SessionRow {
  kind: string;
  file: string;
  clients: string[];
  bytes: number;
  master?: string | null;
  group?: string | null;
}
async function tftpSessions(): Promise<SessionRow[]> {
  const out = execFileSync(process.execPath, [cliPath, 'sessions', '--json', '--socket', socket], { encoding: 'utf8', timeout: 10_000 });
  return (JSON.parse(out) as { sessions: SessionRow[] }).sessions;
}

/** Evidence for a clean failure of the client in namespace `ns`: the daemon's summary of its
 *  transfer, logged after `since`, ends with a reason. `inOrder`: a unicast client, which writes
 *  the file in order (an atftp multicast client writes blocks where they belong). */
function failureEvidence(ns: Namespace, since: Date, inOrder: boolean): FailureEvidence {
  const address = clientEnds[clients.indexOf(ns)]!.address;
  return { size: inOrder ? SIZE : null, serverEnd: () => failedTransferLine(logLinesSince(daemon.outputTail(), since), address) };
}

/** The RFC 2090 session's master (its address) once the stream is `atLeast` bytes in. */
async function masterOnceStreamIsAt(atLeast: number): Promise<string> {
  let master: string | null = null;
  await until(() => {
    const rows = execFileSync(process.execPath, [cliPath, 'sessions', '--json', '--socket', socket], { encoding: 'utf8', timeout: 10_000 });
    const members = (JSON.parse(rows) as { sessions: SessionRow[] }).sessions.filter((s) => s.kind === 'multicast');
    const m = members.find((s) => s.master && s.bytes >= atLeast);
    master = m?.master ?? null;
    return master !== null;
  }, `the stream ${atLeast} bytes in`);
  return master!.replace(/:\d+$/, '');
}

describe('RFC 2090 members failing (netns)', () => {
  it('the master SIGKILLed mid-transfer: the session passes it over, promotes the next member, and the others finish', async () => {
    const started = new Date();
    const sessions = sessionLines().length;
    const jobs = clients.map((ns, i) => {
      const out = local();
      return { out, ns, address: clientEnds[i]!.address, proc: startAtftpMulticast(ns, server.address, 'image.img', out) };
    });
    // Mid-transfer: the master has ACKed a quarter of the file. Whoever's request came first is
    // master; the daemon says which.
    const masterAddress = await masterOnceStreamIsAt(SIZE / 4);
    const victim = jobs.find((j) => j.address === masterAddress);
    assert.ok(victim, `the master ${masterAddress} is one of the clients`);
    process.kill(victim.proc.pid, 'SIGKILL'); // a crash: no ERROR, only silence
    for (const job of jobs.filter((j) => j !== victim)) {
      const r = await awaitClient(job.proc, BOUND_MS);
      assert.equal(await expectCompleteOrCleanFailure(r, job.out, [expected], BOUND_MS, failureEvidence(job.ns, started, false)), 'complete');
    }
    await until(() => sessionLines().length > sessions, 'the session summary');
    const summary = sessionLines().at(-1)!;
    assert.match(summary, /members=3\b/);
    assert.match(summary, /master_switches=[1-9]/);
    const passedOver = new RegExp(`master silent: passed over .*peer=${masterAddress.replace(/\./g, '\\.')}:`);
    assert.ok(logLinesSince(daemon.outputTail(), started).some((l) => passedOver.test(l)), `the killed master ${masterAddress} was passed over`);
  });

  it('every member vanishes: the session ends and frees its group within a bound', async (t) => {
    const sessions = sessionLines().length;
    const jobs = clients.slice(0, 2).map((ns) => startAtftpMulticast(ns, server.address, 'image.img', local()));
    await until(() => /multicast session sending/.test(daemon.outputTail().split('\n').slice(-50).join('\n')), 'the session sends');
    await masterOnceStreamIsAt(1); // DATA is being ACKed: both are members of a running session
    assert.equal((await tftpSessions()).filter((s) => s.kind === 'multicast').length, 2, 'two members listed');
    for (const job of jobs) process.kill(job.pid, 'SIGKILL');
    const ms = await until(() => sessionLines().length > sessions, 'the session ends', 20_000);
    t.diagnostic(`session ended ${Math.round(ms)} ms after its last member vanished: ${sessionLines().at(-1)!.replace(/^.*? info /, '')}`);
    assert.deepEqual(await tftpSessions(), [], 'nothing left in the session table');
    // The group is free again: the next session gets one and completes.
    const out = local();
    const since = new Date();
    const r = await awaitClient(startAtftpMulticast(clients[2]!, server.address, 'image.img', out), BOUND_MS);
    assert.equal(await expectCompleteOrCleanFailure(r, out, [expected], BOUND_MS, failureEvidence(clients[2]!, since, false)), 'complete');
  });

  // The probe (test/support/tftp-probe.ts) walks away mid-stream, as master and as member: after
  // ~0.8 s of the 8 Mbit/s stream, long after the second member has joined.
  const WALK_AWAY_AFTER = 600;
  for (const probeFirst of [true, false]) {
    it(`the ${probeFirst ? 'master' : 'non-master member'} sends ERROR mid-stream: it leaves at once, the other member finishes`, async (t) => {
      const sessions = sessionLines().length;
      const started = new Date();
      const out = local();
      let atftp: ProcessHandle | null = null;
      // The second joins once DATA flows, so the first is master (the oldest member).
      const sending = sendingCount();
      let walking: ReturnType<typeof probe>;
      if (probeFirst) {
        walking = probe(clients[0]!, WALK_AWAY_AFTER, 'multicast');
        await until(() => sendingCount() > sending, 'the probe\'s session sends');
        atftp = startAtftpMulticast(clients[1]!, server.address, 'image.img', out);
      } else {
        atftp = startAtftpMulticast(clients[1]!, server.address, 'image.img', out);
        await until(() => sendingCount() > sending, 'atftp\'s session sends');
        walking = probe(clients[0]!, WALK_AWAY_AFTER, 'multicast');
      }
      const p = await walking;
      t.diagnostic(`the probe was ${p.master ? 'master' : 'a member'} when it sent ERROR after ${p.blocks} blocks; ${p.dataAfterError} DATA reached it afterwards`);
      assert.equal(p.master, probeFirst, 'the oldest member is master');
      assert.equal(p.serverError, null, 'the server never gave up on the probe before its ERROR');
      const r = await awaitClient(atftp!, BOUND_MS);
      assert.equal(await expectCompleteOrCleanFailure(r, out, [expected], BOUND_MS, failureEvidence(clients[1]!, started, false)), 'complete');
      await until(() => sessionLines().length > sessions, 'the session summary');
      assert.match(sessionLines().at(-1)!, /members=2\b/);
      if (p.master) assert.match(sessionLines().at(-1)!, /master_switches=[1-9]/, 'the other member was promoted');
    });
  }
});

describe('a unicast client sends ERROR mid-stream (netns)', () => {
  it('the transfer ends at once as aborted-by-client: no more DATA, and the next request is served', async () => {
    const p = await probe(clients[0]!, 50, 'unicast');
    assert.equal(p.erroredAt, 50);
    assert.ok(p.dataAfterError <= 1, `${p.dataAfterError} DATA after the ERROR (at most the one in flight)`);
    await until(() => logLines(/ transfer .*outcome=aborted-by-client/).length > 0, 'the summary');
    const out = local();
    const since = new Date();
    const r = await downloadWithTftpHpa({ host: server.address, port: 69, remote: 'image.img', local: out, netns: clients[1]!, timeoutMs: BOUND_MS });
    assert.equal(await expectCompleteOrCleanFailure(r, out, [expected], BOUND_MS, failureEvidence(clients[1]!, since, true)), 'complete');
  });
});

describe('a lost ACK of our OACK (netns)', () => {
  it('atftp whose ACK 0 is lost completes: its own re-sent ACK 0 comes before a second OACK, on which it would abort', async () => {
    const restore = dropFirstAck(clients[1]!, '00040000');
    try {
      const out = local();
      const since = new Date();
      const r = await downloadWithAtftp({ host: server.address, port: 69, remote: 'image.img', local: out, netns: clients[1]!, timeoutMs: BOUND_MS, blksize: 1428 });
      assert.match(r.stderr, /timeout: retrying/, `the ACK 0 was lost and atftp retried it:\n${r.stderr}`);
      assert.equal(await expectCompleteOrCleanFailure(r, out, [expected], BOUND_MS, failureEvidence(clients[1]!, since, true)), 'complete', r.stderr);
    } finally {
      restore();
    }
  });
});

describe('the served file changes under a running transfer (netns)', () => {
  // tftp-hpa's 512-byte lock-step keeps a 4 MiB transfer running for seconds: time to act. The
  // change happens once 512 KiB have arrived and while the client is still receiving; if that
  // point is never reached the test fails rather than changing the file at some other time.
  async function duringTransfer(file: string, change: () => void): Promise<{ outcome: string; digest: string | null; ms: number; serverEnd: string | null }> {
    const out = local();
    const started = new Date();
    let finished = false;
    const running = downloadWithTftpHpa({ host: server.address, port: 69, remote: file, local: out, netns: clients[2]!, timeoutMs: BOUND_MS }).finally(() => {
      finished = true;
    });
    const received = () => {
      try {
        return statSync(out).size;
      } catch {
        return 0; // not created yet
      }
    };
    await until(() => finished || received() > 512 << 10, '512 KiB received', 20_000);
    assert.ok(!finished && received() < SIZE, `the change must land mid-transfer: client finished=${finished}, ${received()} of ${SIZE} bytes received`);
    change();
    const r = await running;
    const evidence = failureEvidence(clients[2]!, started, true);
    const outcome = await expectCompleteOrCleanFailure(r, out, [oldDigest, newDigest], BOUND_MS, evidence);
    return { outcome, digest: r.ok ? await sha256File(out) : null, ms: r.ms, serverEnd: r.ok ? null : await evidence.serverEnd() };
  }

  let oldDigest = '';
  let newDigest = '';
  const oldBytes = randomBytes(SIZE);
  const newBytes = randomBytes(SIZE);
  before(async () => {
    writeFileSync(join(work, 'new.img'), newBytes);
    newDigest = await sha256File(join(work, 'new.img'));
  });
  const fresh = async (name: string) => {
    writeFileSync(join(root, name), oldBytes);
    oldDigest = await sha256File(join(root, name));
  };

  it('replaced by rename: the running transfer keeps its snapshot (old bytes); the next one gets the new file', async (t) => {
    await fresh('renamed.img');
    const r = await duringTransfer('renamed.img', () => {
      writeFileSync(join(root, '.renamed.tmp'), newBytes);
      renameSync(join(root, '.renamed.tmp'), join(root, 'renamed.img'));
    });
    t.diagnostic(`rename over: ${r.outcome} in ${Math.round(r.ms)} ms`);
    assert.equal(r.digest, oldDigest, 'the open handle keeps serving the old file');
    const out = local();
    const since = new Date();
    const next = await downloadWithTftpHpa({ host: server.address, port: 69, remote: 'renamed.img', local: out, netns: clients[2]!, timeoutMs: BOUND_MS });
    assert.equal(await expectCompleteOrCleanFailure(next, out, [newDigest], BOUND_MS, failureEvidence(clients[2]!, since, true)), 'complete');
  });

  it('rewritten in place (truncate, then new bytes of the same size, as cp does): old bytes, new bytes or a clean ERROR, never a mix', async (t) => {
    await fresh('rewritten.img');
    const r = await duringTransfer('rewritten.img', () => {
      truncateSync(join(root, 'rewritten.img'), 0);
      writeFileSync(join(root, 'rewritten.img'), newBytes);
    });
    t.diagnostic(`rewrite in place: ${r.outcome} in ${Math.round(r.ms)} ms${r.digest === oldDigest ? ' (old bytes)' : r.digest === newDigest ? ' (new bytes)' : ''}`);
    // Part of the old file has gone out by now, and the new bytes are on disk: only the ERROR is right.
    assert.equal(r.outcome, 'clean-failure');
    t.diagnostic(`daemon: ${r.serverEnd?.replace(/^.*? (warn|info) /, '')}`);
    assert.match(r.serverEnd ?? '', /file modified in place while being served/);
  });

  it('truncated to half: a clean ERROR, not a silently short file', async (t) => {
    await fresh('truncated.img');
    const r = await duringTransfer('truncated.img', () => truncateSync(join(root, 'truncated.img'), SIZE / 2));
    t.diagnostic(`truncate: ${r.outcome} in ${Math.round(r.ms)} ms; daemon: ${r.serverEnd?.replace(/^.*? (warn|info) /, '')}`);
    // The first half is still on disk but the file is no longer what the transfer started on: the
    // client must get an ERROR, never a copy (old bytes included) that passes for the whole file.
    assert.equal(r.outcome, 'clean-failure', `the client got a complete copy (${r.digest === oldDigest ? 'the old bytes' : r.digest})`);
    assert.match(r.serverEnd ?? '', /file=truncated\.img/);
    assert.ok(daemon.isRunning());
  });
});
