// RFC 2090 multicast and PXE MTFTP under 1%, 5% and 20% random loss (iptables `statistic`) with
// real atftp clients on a bridged LAN of test namespaces. "Both ways" drops in the client's INPUT
// and in the server's INPUT matched on the client's address; "toward the clients" only the former.
// Every copy completes byte-identical or its client fails cleanly (transfer-outcome.ts), none
// outlives its bound, at least a stated number of the clients of each case complete (measured,
// below), and after each case a fresh loss-free client still gets the file byte-identical.
//
// atftp 0.8's MTFTP master never re-ACKs: a lost ACK leaves it waiting on a block it already has
// (it ignores our resends of it, and its own timeout only counts) until the pass ends master-silent
// and it aborts. So MTFTP has to complete at 1% toward the clients; both ways, any level may
// end in that clean failure, which is recorded.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { awaitClient, startAtftpMget, startAtftpMulticast, type MtftpChannel } from '../support/atftp-multicast.js';
import { writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { addRandomDrop, canUseNetns, createBridge, createNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';
import { findPeer, sha256File } from '../support/peers.js';
import { expectCompleteOrCleanFailure, failedTransferLine, logLinesSince, type Outcome } from '../support/transfer-outcome.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-rel-mc-'));
const root = join(work, 'root');
const SIZE = 1 << 20;
const BOUND_MS = 60_000;
const LOSS_LEVELS = [0.01, 0.05, 0.2] as const;
const CLIENTS_PER_LEVEL = 5;
// The catalog's default image gets iPXE's fixed channel.
const CHANNEL: MtftpChannel = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759 };

let server: LinkEnd;
let clean: LinkEnd;
let daemon: ProcessHandle;
let expected = '';
/** Per loss level: namespaces with loss both ways, and with loss toward the client only. */
const lossy = new Map<number, { both: LinkEnd[]; down: LinkEnd[] }>();

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'image.img'), randomBytes(SIZE));
  expected = await sha256File(join(root, 'image.img'));
  const serverNs = createNamespace('srv');
  const members: Namespace[] = [serverNs, createNamespace('clean')];
  for (const level of LOSS_LEVELS) {
    for (let i = 0; i < CLIENTS_PER_LEVEL; i++) members.push(createNamespace(`b${level * 100}n${i}`));
    for (let i = 0; i < CLIENTS_PER_LEVEL; i++) members.push(createNamespace(`d${level * 100}n${i}`));
  }
  const lan = createBridge(members);
  server = lan.members[0]!;
  clean = lan.members[1]!;
  let next = 2;
  for (const level of LOSS_LEVELS) {
    const both = lan.members.slice(next, next + CLIENTS_PER_LEVEL);
    const down = lan.members.slice(next + CLIENTS_PER_LEVEL, next + 2 * CLIENTS_PER_LEVEL);
    next += 2 * CLIENTS_PER_LEVEL;
    for (const end of [...both, ...down]) addRandomDrop(end.namespace, { probability: level, chain: 'INPUT', protocol: 'udp' });
    for (const end of both) addRandomDrop(serverNs, { probability: level, chain: 'INPUT', protocol: 'udp', source: end.address });
    lossy.set(level, { both, down });
  }
  const config = writeTempConfig(
    `[log]\nlevel = debug\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      `[multicast]\nstart_delay = 500ms\nmaster_timeout = 1s\n[mtftp]\nopen_hold = 500ms\n` +
      `[image demo]\nfile = image.img\ndefault = true\nmtftp = true\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /mtftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  if (!process.env["KEEP_WORK"]) rmSync(work, { recursive: true, force: true });
});

let run = 0;
type Start = (ns: Namespace, local: string) => ProcessHandle;
/** The daemon's line saying how `address`'s transfer ended and why, among `lines`; null if none. */
type ServerEnd = (lines: readonly string[], address: string) => string | null;
const rfc2090: Start = (ns, local) => startAtftpMulticast(ns, server.address, 'image.img', local);
const mtftp: Start = (ns, local) => startAtftpMget(ns, server.address, CHANNEL, 'image.img', local);
const at = (address: string) => `=${address.replace(/\./g, '\\.')}:`;
// RFC 2090: each member's own summary (outcome and detail, e.g. "silent as master 3 time(s)").
const memberEnd: ServerEnd = failedTransferLine;
// MTFTP: listeners are unknown to the server until they open. A client that failed either opened
// a pass (it was its master) that the daemon ended with an outcome saying why (master-silent...),
// or opened during someone else's pass (logged at debug) and the daemon then logged the end of the
// pass(es) it was waiting on.
const passEnd: ServerEnd = (lines, address) => {
  const own = lines.find((l) => / mtftp pass /.test(l) && new RegExp(`master${at(address)}`).test(l) && !/outcome=complete\b/.test(l));
  if (own) return own;
  const opened = lines.findIndex((l) => / open during a pass: another pass will follow /.test(l) && new RegExp(`peer${at(address)}`).test(l));
  if (opened < 0) return null;
  return lines.slice(opened + 1).filter((l) => / mtftp pass /.test(l)).at(-1) ?? null;
};

const daemonLines = () => daemon.outputTail().split('\n');

/** Starts one client per namespace together and checks each against the contract. */
async function fetchAll(ends: readonly LinkEnd[], start: Start, serverEnd: ServerEnd, t: { diagnostic(msg: string): void }, label: string): Promise<Outcome[]> {
  const started = new Date();
  const since = () => logLinesSince(daemon.outputTail(), started);
  const jobs = ends.map((end) => {
    const local = join(work, `out-${run++}`);
    return { end, local, proc: start(end.namespace, local) };
  });
  return Promise.all(
    jobs.map(async ({ end, local, proc }, i) => {
      const r = await awaitClient(proc, BOUND_MS);
      t.diagnostic(`${label} client ${i + 1}: ok=${r.ok} in ${Math.round(r.ms)} ms${r.ok ? '' : `; client said: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`}`);
      return expectCompleteOrCleanFailure(r, local, [expected], BOUND_MS, {
        size: null, // atftp writes multicast blocks where they belong: an aborted copy can be full length
        // The daemon may log the end a little after the client gives up (its own timers).
        serverEnd: () => waitFor(() => serverEnd(since(), end.address), 15_000),
      });
    }),
  );
}

async function waitFor(find: () => string | null, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== null || Date.now() >= deadline || !daemon.isRunning()) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The daemon is alive and a fresh loss-free client gets the file byte-identical. */
async function stillServes(start: Start, serverEnd: ServerEnd, t: { diagnostic(msg: string): void }, label: string): Promise<void> {
  assert.ok(daemon.isRunning(), 'the daemon survived');
  const [outcome] = await fetchAll([clean], start, serverEnd, t, `${label} fresh`);
  assert.equal(outcome, 'complete', 'a fresh clean client is served after the lossy ones');
}

function sessionSummaries(pattern: RegExp): string[] {
  return daemonLines().filter((l) => pattern.test(l));
}

interface LossCase {
  readonly name: string;
  readonly start: Start;
  readonly serverEnd: ServerEnd;
  readonly summary: RegExp;
  readonly direction: 'both' | 'down';
  /** Loss level -> how many of the CLIENTS_PER_LEVEL clients must complete byte-identical. */
  readonly floors: ReadonlyMap<number, number>;
}

// Floors: measured over 4 runs of this file (09:22-09:31 UTC, 2026-12-03) under the heavy-test lock on the 2-core test machine
// (5 clients per case, so 20 clients per level), each set below the worst run with margin.
const CASES: readonly LossCase[] = [
  // At 5% both ways an atftp client is sometimes dropped cleanly ("no answer as master"): atftp
  // answers a promotion only on its own 5 s timer, and `master_tries` counts silent turns over the
  // whole session. Counting only turns in a row was tried: 5% then always completes, but at 20% a
  // client can stay past the 60 s bound, which is worse than a clean failure.
  // Measured: 1% 5,5,5,5 of 5; 5% 4,5,4,5 of 5; 20% 0,0,0,0 of 5 (every client dropped as a
  // silent master, "no answer as master", with ~0.45 of the file sent): no floor at 20% until the
  // session keeps its masters there; what holds is that each is dropped cleanly, the daemon logs
  // why, and a fresh client is served after.
  { name: 'RFC 2090 multicast', start: rfc2090, serverEnd: memberEnd, summary: / multicast session .*bytes_sent=/, direction: 'both', floors: new Map([[0.01, 5], [0.05, 3], [0.2, 0]]) },
  // A listener that misses blocks reopens and, as master, re-ACKs the file from block 1.
  // At 20% an atftp copy once completed with wrong bytes (2 of 6 runs), before late openers were
  // keyed by host and the group kept fed (mtftp-channel.ts); 0 of 12 transfers since. Later about
  // 1 in 35: a master whose pass ended silent (a loss burst) stayed in atftp's receive state and
  // exited 0 at the next pass's last block with holes; pxecast now answers its ACKs with an ERROR.
  // A wrong copy fails this test: the contract is byte-identical or a clean failure.
  // Measured: 1% 5,5,5,5; 5% 5,5,5,5; 20% 5,5,5,2 of 5 (completing ones after up to 49 s; in the
  // run with 2, a pass whose master could not hear the group went by unicast and two waiting
  // late openers timed out).
  { name: 'PXE MTFTP', start: mtftp, serverEnd: passEnd, summary: / mtftp pass service=/, direction: 'down', floors: new Map([[0.01, 5], [0.05, 4], [0.2, 1]]) },
  // The atftp limitation above: even 1% ACK loss ends its pass (measured: 0,0,0,0 of 5, every
  // pass outcome=master-silent after 8-190 blocks). No floor: what this case holds is that each
  // client fails cleanly, the daemon ends each such pass with its reason, and serves a fresh one.
  { name: 'PXE MTFTP', start: mtftp, serverEnd: passEnd, summary: / mtftp pass service=/, direction: 'both', floors: new Map([[0.01, 0]]) },
];

for (const { name, start, serverEnd, summary, direction, floors } of CASES) {
  describe(`${name} under random loss ${direction === 'both' ? 'both ways' : 'toward the clients'} (atftp, netns)`, () => {
    for (const [level, floor] of floors) {
      const wanted = floor === CLIENTS_PER_LEVEL ? 'all complete byte-identical' : `at least ${floor} complete byte-identical, the others fail cleanly`;
      it(`${level * 100}% loss: ${CLIENTS_PER_LEVEL} clients at once, ${wanted}; then a fresh client is served`, async (t) => {
        const before = sessionSummaries(summary).length;
        const ends = lossy.get(level)![direction];
        const outcomes = await fetchAll(ends, start, serverEnd, t, `${level * 100}%`);
        for (const line of sessionSummaries(summary).slice(before)) t.diagnostic(line.replace(/^.*? info /, ''));
        const completed = outcomes.filter((o) => o === 'complete').length;
        t.diagnostic(`${level * 100}%: ${completed} of ${outcomes.length} complete (floor ${floor})`);
        assert.ok(completed >= floor, `${completed} of ${outcomes.length} clients completed at ${level * 100}% loss; the floor is ${floor}`);
        await stillServes(start, serverEnd, t, `${level * 100}%`);
      });
    }
  });
}
