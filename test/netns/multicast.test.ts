// RFC 2090 multicast against real atftp clients (`--option multicast`) on a bridged LAN of network
// namespaces made by the test: a server and five clients. Every copy is checked by sha256, and
// the server's transmitted bytes (its interface counter) prove that one stream served them all.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAtftpMulticast } from '../support/atftp-multicast.js';
import { cliPath, writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import {
  addRandomDrop,
  canUseNetns,
  createBridge,
  createNamespace,
  teardown,
  txBytes,
  type LinkEnd,
  type Namespace,
  type ProcessHandle,
} from '../support/netns.js';
import { findPeer, sha256File } from '../support/peers.js';
import { logField, logLinesSince } from '../support/transfer-outcome.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-mc-'));
const root = join(work, 'root');
const SMALL = 2 << 20;
const LARGE = 12 << 20;
const hashes: Record<string, string> = {};
let server: LinkEnd;
let clients: Array<{ ns: Namespace; end: LinkEnd }> = [];
let daemon: ProcessHandle & { readonly socket: string };

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'small.img'), randomBytes(SMALL));
  writeFileSync(join(root, 'large.img'), randomBytes(LARGE));
  for (const f of ['small.img', 'large.img']) hashes[f] = await sha256File(join(root, f));
  const serverNs = createNamespace('srv');
  const clientNs = Array.from({ length: 5 }, (_, i) => createNamespace(`c${i + 1}`));
  const lan = createBridge([serverNs, ...clientNs]);
  server = lan.members[0]!;
  clients = clientNs.map((ns, i) => ({ ns, end: lan.members[i + 1]! }));
  const config = writeTempConfig(
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      // A pace the tests can act within (~6 s for the 12 MiB stream): unpaced, a stream on an idle
      // machine could end before a CLI poll on a busy one saw it reach 2 MiB.
      `[multicast]\nstart_delay = 1s\nmaster_timeout = 1s\nmax_rate = 16\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /tftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

let run = 0;
function fetchMulticast(client: { ns: Namespace }, file: string): { local: string; proc: ProcessHandle } {
  const local = join(work, `out-${run++}`);
  return { local, proc: startAtftpMulticast(client.ns, server.address, file, local) };
}

/** Waits (bounded) for every client and checks each copy byte for byte. */
async function expectAll(jobs: Array<{ local: string; proc: ProcessHandle }>, file: string, timeoutMs = 90_000): Promise<void> {
  const timer = setTimeout(() => jobs.forEach((j) => void j.proc.kill()), timeoutMs);
  const statuses = await Promise.all(jobs.map((j) => j.proc.exited));
  clearTimeout(timer);
  for (const [i, status] of statuses.entries()) {
    assert.equal(status.code, 0, `client ${i + 1} failed:\n${jobs[i]!.proc.outputTail()}\n--- server ---\n${daemon.outputTail().slice(-4000)}`);
    assert.equal(await sha256File(jobs[i]!.local), hashes[file], `client ${i + 1}: sha256`);
  }
}

function sessionLines(): string[] {
  return daemon.outputTail().split('\n').filter((l) => / multicast session /.test(l) && /bytes_sent=/.test(l));
}

/** Resolves once the server has logged one more `multicast session sending` than `before`. */
async function sessionStarted(before: number, timeoutMs = 10_000): Promise<void> {
  const count = () => (daemon.outputTail().match(/multicast session sending/g) ?? []).length;
  const deadline = Date.now() + timeoutMs;
  while (count() <= before) {
    assert.ok(Date.now() < deadline, 'no multicast session started');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sendingCount = () => (daemon.outputTail().match(/multicast session sending/g) ?? []).length;

/** Waits (bounded) for the summary of the session the last clients were in: it is logged when
 *  the last member ends, which can trail that client's exit by its final ACK's handling. */
async function sessionsSince(before: number, count: number, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (sessionLines().length - before < count) {
    assert.ok(Date.now() < deadline, `${count} session summaries within ${timeoutMs} ms:\n${daemon.outputTail().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return sessionLines().slice(before);
}

/** The RFC 2090 master's address once the stream is `atLeast` bytes in, as the daemon reports it. */
async function masterOnceStreamIsAt(atLeast: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = execFileSync(process.execPath, [cliPath, 'sessions', '--json', '--socket', daemon.socket], { encoding: 'utf8', timeout: 10_000 });
    const rows = (JSON.parse(out) as { sessions: Array<{ kind: string; bytes: number; master: string | null }> }).sessions;
    const driving = rows.find((r) => r.kind === 'multicast' && r.master !== null && r.bytes >= atLeast);
    if (driving) return driving.master!.replace(/:\d+$/, '');
    assert.ok(Date.now() < deadline, `the stream did not reach ${atLeast} bytes: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measured<T>(body: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const before = txBytes(server);
  const result = await body();
  return { result, bytes: txBytes(server) - before };
}

describe('RFC 2090 multicast with atftp clients (bridged netns LAN)', () => {
  it('one client', async () => {
    await expectAll([fetchMulticast(clients[0]!, 'small.img')], 'small.img');
  });

  for (const n of [3, 5]) {
    it(`${n} clients at once: one stream serves them all`, async () => {
      const sessionsBefore = sessionLines().length;
      const { bytes } = await measured(() => expectAll(clients.slice(0, n).map((c) => fetchMulticast(c, 'large.img')), 'large.img'));
      // One copy of the file plus headers, OACKs and a little repair traffic; n unicast copies
      // would be n times the file.
      assert.ok(bytes < LARGE * 1.25, `server sent ${bytes} bytes for ${n} clients of a ${LARGE}-byte file`);
      const added = await sessionsSince(sessionsBefore, 1);
      assert.equal(added.length, 1, `one session:\n${added.join('\n')}`);
      assert.match(added[0]!, new RegExp(`members=${n}\\b`));
      assert.match(added[0]!, /unicast_blocks=0\b/, 'every atftp client hears the group: none is served by unicast\n' + daemon.outputTail().split('\n').filter((l) => /cannot hear|known deaf|large.img/.test(l)).slice(-12).join('\n'));
    });
  }

  it('staggered joins: late clients pick up the running stream and complete', async () => {
    const sessionsBefore = sessionLines().length;
    const testStart = new Date();
    const { bytes } = await measured(async () => {
      const started = sendingCount();
      const jobs = [fetchMulticast(clients[0]!, 'large.img')];
      await sessionStarted(started);
      // The next two join mid-stream: once the master has ACKed 1 MiB, then 2 MiB.
      for (const [i, c] of clients.slice(1, 3).entries()) {
        await masterOnceStreamIsAt((i + 1) << 20);
        jobs.push(fetchMulticast(c, 'large.img'));
      }
      await expectAll(jobs, 'large.img');
    });
    const added = await sessionsSince(sessionsBefore, 1);
    assert.equal(added.length, 1, `the late clients joined the running session:\n${added.join('\n')}`);
    assert.match(added[0]!, /members=3\b/);
    assert.match(added[0]!, /unicast_blocks=0\b/, 'late joiners hear the group: none is judged deaf\n' + daemon.outputTail().split('\n').filter((l) => /cannot hear|known deaf/.test(l)).join('\n'));
    // Where each client joined, as the server saw it: how far a spawned client lags the CLI's
    // poll depends on the machine's load, so the bound follows the real join points. A late
    // joiner that joined after P packets costs at most its missed head again (P), so the whole
    // session needs no more than one file after the last join.
    const joinedAfter = logLinesSince(daemon.outputTail(), testStart)
      .filter((l) => / transfer /.test(l) && /file=large\.img/.test(l))
      .map((l) => Number(logField(l, 'joined_after_packets')));
    assert.equal(joinedAfter.length, 3, 'one transfer line per client');
    assert.equal(joinedAfter.filter((p) => p > 0).length, 2, `two clients joined the running stream: ${joinedAfter.join(', ')}`);
    const blocks = Math.floor(LARGE / Number(logField(added[0]!, 'blksize'))) + 1;
    const packets = Number(logField(added[0]!, 'data_packets'));
    const bound = Math.ceil((blocks + Math.max(...joinedAfter)) * 1.05);
    assert.ok(packets <= bound, `late joiners fetch only their missed head again: ${packets} DATA packets, joins after ${joinedAfter.join(', ')}, bound ${bound}`);
    assert.ok(bytes < (bound + 200) * 1500, `the interface carried ${bytes} bytes for ${bound} DATA packets at most`);
  });

  it('the master killed mid-transfer: the session passes it over and the others finish', async () => {
    const testStart = new Date();
    const started = sendingCount();
    const three = clients.slice(0, 3);
    const jobs = three.map((c) => fetchMulticast(c, 'large.img'));
    await sessionStarted(started);
    // Mid-transfer: the master (whichever request came first) has ACKed 1 MiB of the 12.
    const master = await masterOnceStreamIsAt(1 << 20);
    const victim = three.findIndex((c) => c.end.address === master);
    assert.ok(victim >= 0, `the master ${master} is one of the three clients`);
    // SIGKILL, by PID: a crash, so no ERROR reaches the server and it must notice the silence.
    process.kill(jobs[victim]!.proc.pid, 'SIGKILL');
    await jobs[victim]!.proc.exited;
    await expectAll(jobs.filter((_, i) => i !== victim), 'large.img');
    // Only this test's lines, and about this master: passed over, or dropped as a silent master.
    const about = new RegExp(`master silent: passed over .*peer=${master.replace(/\./g, '\\.')}:|transfer .*client=${master.replace(/\./g, '\\.')}:.*silent as master`);
    assert.ok(logLinesSince(daemon.outputTail(), testStart).some((l) => about.test(l)), `the daemon noticed its killed master ${master}:\n${logLinesSince(daemon.outputTail(), testStart).join('\n').slice(-3000)}`);
  });

  it('5% random loss toward one client: every copy still arrives intact', async () => {
    addRandomDrop(clients[4]!.ns, { probability: 0.05, chain: 'INPUT', protocol: 'udp' });
    await expectAll(
      [clients[2]!, clients[3]!, clients[4]!].map((c) => fetchMulticast(c, 'small.img')),
      'small.img',
    );
  });
});
