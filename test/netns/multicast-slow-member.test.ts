// A slow member in an RFC 2090 session (issue 16 item 4, WDS's auto-disconnect and multistream):
// one atftp client whose inbound UDP is throttled (iptables `limit` in its namespace) asks first,
// so it is the master from the start and, without the slow-member rule, the whole group moves at
// its pace; nine normal atftp clients join it. With `slow_rate` the session moves the slow one out
// of the group (it finishes by unicast from the session port) and the nine finish on the group
// first. Evidence from the daemon's own lines, no wall clock: the move-out line, every normal
// member's transfer line before the slow one's, and one group stream for the file. Every copy is
// checked by sha256.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAtftpMulticast } from '../support/atftp-multicast.js';
import { writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, teardown, throttleInboundUdp, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';
import { findPeer, sha256File } from '../support/peers.js';
import { logField, logLinesSince } from '../support/transfer-outcome.js';

const NORMAL = 9;
const SIZE = 3 << 20;
const BLKSIZE = 1428; // what startAtftpMulticast asks for
/** The slow client's inbound UDP, datagrams per second: about 1 Mbit/s of stop-and-wait DATA,
 *  against tens for the others. */
const SLOW_PPS = 150;
const work = mkdtempSync(join(tmpdir(), 'pxecast-mcslow-'));
const root = join(work, 'root');
let hash = '';
let server: LinkEnd;
let clients: Array<{ ns: Namespace; end: LinkEnd }> = [];
let daemon: ProcessHandle & { readonly socket: string };
let unthrottle: (() => void) | null = null;

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'image.img'), randomBytes(SIZE));
  hash = await sha256File(join(root, 'image.img'));
  const serverNs = createNamespace('srv');
  const clientNs = Array.from({ length: NORMAL + 1 }, (_, i) => createNamespace(`c${i}`));
  const lan = createBridge([serverNs, ...clientNs]);
  server = lan.members[0]!;
  clients = clientNs.map((ns, i) => ({ ns, end: lan.members[i + 1]! }));
  const config = writeTempConfig(
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      // The normal clients all join while the session gathers; a master is judged on 2 s of its pace.
      `[multicast]\nstart_delay = 1s\nslow_rate = 4\nslow_after = 2s\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /tftp listening/);
});

after(async () => {
  unthrottle?.();
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

/** Resolves once the daemon has logged `pattern` more than `before` times (bounded). */
async function logged(pattern: RegExp, before: number, timeoutMs = 10_000): Promise<void> {
  const count = () => daemon.outputTail().split('\n').filter((l) => pattern.test(l)).length;
  const deadline = Date.now() + timeoutMs;
  while (count() <= before) {
    assert.ok(Date.now() < deadline, `the daemon did not log ${pattern}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RFC 2090: a slow member is moved out of the group (atftp clients, bridged netns LAN)', () => {
  it(`one throttled client as master among ${NORMAL} normal ones: moved out, the others finish on the group first, every copy intact`, async (t) => {
    const testStart = new Date();
    const slow = clients[0]!;
    unthrottle = throttleInboundUdp(slow.ns, SLOW_PPS, 10);
    const opened = daemon.outputTail().split('\n').filter((l) => /multicast session opened/.test(l)).length;
    const jobs: Array<{ local: string; proc: ProcessHandle }> = [];
    const fetch = (c: { ns: Namespace }, i: number) => {
      const local = join(work, `out-${i}`);
      jobs.push({ local, proc: startAtftpMulticast(c.ns, server.address, 'image.img', local) });
    };
    // The slow client asks first: it opens the session and is its master from the start.
    fetch(slow, 0);
    await logged(/multicast session opened/, opened);
    clients.slice(1).forEach((c, i) => fetch(c, i + 1));
    const bound = setTimeout(() => jobs.forEach((j) => void j.proc.kill()), 120_000);
    const statuses = await Promise.all(jobs.map((j) => j.proc.exited));
    clearTimeout(bound);
    for (const [i, status] of statuses.entries()) {
      assert.equal(status.code, 0, `client ${i} failed:\n${jobs[i]!.proc.outputTail()}\n--- server ---\n${daemon.outputTail().slice(-3000)}`);
      assert.equal(await sha256File(jobs[i]!.local), hash, `client ${i}: sha256`);
    }
    await logged(/ multicast session .*bytes_sent=/, 0);
    const lines = logLinesSince(daemon.outputTail(), testStart);
    const slowAddr = slow.end.address.replace(/\./g, '\\.');
    const transfers = lines.filter((l) => / transfer /.test(l) && /file=image\.img/.test(l));
    assert.equal(transfers.length, NORMAL + 1, `one transfer line per client:\n${transfers.join('\n')}`);
    // What the server saw, for the record (durations are the server's, never asserted).
    for (const l of lines.filter((x) => /too slow|multicast session (sending|group)|bytes_sent=|transfer /.test(x))) t.diagnostic(l.replace(/^\S+ /, ''));
    const slowAt = transfers.findIndex((l) => new RegExp(`client=${slowAddr}:`).test(l));
    // The normal members finish on the group before the slow one: it no longer sets their pace
    // (without the rule the slow master, first, ends first and the others only after it).
    assert.equal(slowAt, NORMAL, `the slow member ends last:\n${transfers.join('\n')}`);
    const movedOut = lines.find((l) => /member too slow for the group: serving it by unicast/.test(l));
    assert.ok(movedOut !== undefined && new RegExp(`peer=${slowAddr}:`).test(movedOut), `the throttled master is moved out:\n${lines.filter((l) => /too slow|passed over|cannot hear|session/.test(l)).join('\n')}`);
    assert.match(transfers[slowAt]!, /moved_out=true/);
    for (const t of transfers.slice(0, NORMAL)) {
      assert.match(t, /moved_out=false/);
      assert.match(t, /unicast_fallback=false/, 'the normal members hear the group');
    }
    // It was moved out early, not after dragging the group through most of the file.
    const blocks = Math.floor(SIZE / BLKSIZE) + 1;
    assert.ok(Number(logField(movedOut, 'block')) < blocks / 2, `moved out at block ${logField(movedOut, 'block')} of ${blocks}`);
    // One session; the group carried about one copy of the file, the slow member's rest went by unicast.
    const summary = lines.filter((l) => / multicast session /.test(l) && /bytes_sent=/.test(l));
    assert.equal(summary.length, 1, summary.join('\n'));
    assert.match(summary[0]!, /members=10\b/);
    assert.match(summary[0]!, /moved_out=1\b/);
    const groupPackets = Number(logField(summary[0]!, 'data_packets')) - Number(logField(summary[0]!, 'unicast_blocks'));
    // (The slow master's own retransmissions before it was moved out went to the group: a measured
    // 2369 packets for 2203 blocks; ten unicast copies would be ten times the blocks.)
    assert.ok(groupPackets <= blocks * 1.25, `the group carried ${groupPackets} DATA packets for ${blocks} blocks`);
  });
});
