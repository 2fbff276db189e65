// RFC 2090 multicast and PXE MTFTP under 1%, 5% and 20% random loss (iptables `statistic`) with
// real atftp clients on a bridged LAN of test namespaces. "Both ways" drops in the client's INPUT
// and in the server's INPUT matched on the client's address; "toward the clients" only the former.
// Every copy completes byte-identical or its client fails with a clear error, none outlives its
// bound, and after each level the daemon still serves a clean client.
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
import { expectCompleteOrCleanFailure, type Outcome } from '../support/transfer-outcome.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-rel-mc-'));
const root = join(work, 'root');
const SIZE = 1 << 20;
const BOUND_MS = 60_000;
const LOSS_LEVELS = [0.01, 0.05, 0.2] as const;
const CLIENTS_PER_LEVEL = 2;
// The catalog's default image gets iPXE's fixed channel.
const CHANNEL: MtftpChannel = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759 };

let server: LinkEnd;
let clean: Namespace;
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
  clean = members[1]!;
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
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      `[multicast]\nstart_delay = 500ms\nmaster_timeout = 1s\n[mtftp]\nopen_hold = 500ms\n` +
      `[image demo]\nfile = image.img\ndefault = true\nmtftp = true\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /mtftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

let run = 0;
type Start = (ns: Namespace, local: string) => ProcessHandle;
const rfc2090: Start = (ns, local) => startAtftpMulticast(ns, server.address, 'image.img', local);
const mtftp: Start = (ns, local) => startAtftpMget(ns, server.address, CHANNEL, 'image.img', local);

/** Starts one client per namespace together and checks each against the contract. */
async function fetchAll(namespaces: readonly Namespace[], start: Start, t: { diagnostic(msg: string): void }, label: string): Promise<Outcome[]> {
  const jobs = namespaces.map((ns) => {
    const local = join(work, `out-${run++}`);
    return { local, proc: start(ns, local) };
  });
  return Promise.all(
    jobs.map(async ({ local, proc }, i) => {
      const r = await awaitClient(proc, BOUND_MS);
      t.diagnostic(`${label} client ${i + 1}: ok=${r.ok} in ${Math.round(r.ms)} ms${r.ok ? '' : `; client said: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`}`);
      return expectCompleteOrCleanFailure(r, local, [expected], BOUND_MS);
    }),
  );
}

/** The daemon is alive and a loss-free client still gets the file. */
async function stillServes(start: Start, t: { diagnostic(msg: string): void }, label: string): Promise<void> {
  assert.ok(daemon.isRunning(), 'the daemon survived');
  const [outcome] = await fetchAll([clean], start, t, `${label} clean`);
  assert.equal(outcome, 'complete', 'a clean client is served after the lossy ones');
}

function sessionSummaries(pattern: RegExp): string[] {
  return daemon.outputTail().split('\n').filter((l) => pattern.test(l));
}

interface LossCase {
  readonly name: string;
  readonly start: Start;
  readonly summary: RegExp;
  readonly direction: 'both' | 'down';
  readonly levels: readonly number[];
  readonly mustComplete: (level: number) => boolean;
}

const CASES: readonly LossCase[] = [
  // At 5% both ways an atftp client is sometimes dropped cleanly ("no answer as master"): atftp
  // answers a promotion only on its own 5 s timer, and `master_tries` counts silent turns over the
  // whole session. Counting only turns in a row was tried: 5% then always completes, but at 20% a
  // client can stay past the 60 s bound, which is worse than a clean failure.
  { name: 'RFC 2090 multicast', start: rfc2090, summary: / multicast session .*bytes_sent=/, direction: 'both', levels: LOSS_LEVELS, mustComplete: (level) => level < 0.05 },
  // A listener that misses blocks reopens and, as master, re-ACKs the file from block 1; at 5% and
  // more, atftp's own retry budget sometimes runs out first (a clean abort).
  // At 20% an atftp copy once completed with wrong bytes (2 of 6 runs), before late openers were
  // keyed by host and the group kept fed (mtftp-channel.ts); 0 of 12 transfers since. A wrong
  // copy fails this test: the contract is byte-identical or a clean failure.
  { name: 'PXE MTFTP', start: mtftp, summary: / mtftp pass service=/, direction: 'down', levels: LOSS_LEVELS, mustComplete: (level) => level < 0.05 },
  // One level shows the atftp limitation above: even 1% ACK loss ends its pass.
  { name: 'PXE MTFTP', start: mtftp, summary: / mtftp pass service=/, direction: 'both', levels: [0.01], mustComplete: () => false },
];

for (const { name, start, summary, direction, levels, mustComplete } of CASES) {
  describe(`${name} under random loss ${direction === 'both' ? 'both ways' : 'toward the clients'} (atftp, netns)`, () => {
    for (const level of levels) {
      const must = mustComplete(level);
      it(`${level * 100}% loss: ${CLIENTS_PER_LEVEL} clients at once ${must ? 'complete byte-identical' : 'complete byte-identical or fail cleanly'}`, async (t) => {
        const before = sessionSummaries(summary).length;
        const ends = lossy.get(level)![direction];
        const outcomes = await fetchAll(ends.map((e) => e.namespace), start, t, `${level * 100}%`);
        for (const line of sessionSummaries(summary).slice(before)) t.diagnostic(line.replace(/^.*? info /, ''));
        if (must) assert.deepEqual(outcomes, outcomes.map(() => 'complete'));
        await stillServes(start, t, `${level * 100}%`);
      });
    }
  });
}
