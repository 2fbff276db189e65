// Unicast TFTP under loss, duplication and reordering, with real clients (atftp, tftp-hpa, curl).
// Loss: iptables `statistic` drops in both directions (client INPUT, and server INPUT matched on the
// client's address; this kernel has no netem). Duplication and reordering: the impairment relay inside the client namespace,
// between the client (on loopback) and the server. Every transfer completes byte-identical or
// fails with a clear error, and none outlives its bound.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTempConfig } from '../support/daemon-process.js';
import { repoRoot } from '../support/fixtures.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { addRandomDrop, canUseNetns, createBridge, createNamespace, spawnInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';
import { downloadWithAtftp, downloadWithCurl, downloadWithTftpHpa, findPeer, sha256File, type DownloadRequest, type DownloadResult } from '../support/peers.js';
import { expectCompleteOrCleanFailure, failedTransferLine, lastLogFields, logLinesSince } from '../support/transfer-outcome.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-rel-uc-'));
/** The daemon's default `[tftp] idle_timeout`: how long it waits on a client that went silent. */
const IDLE_TIMEOUT_MS = 30_000;
const root = join(work, 'root');
const SIZE = 2 << 20;
// At 20% loss a 512-byte lock-step client needs ~0.6 timeouts per block: a smaller file keeps the
// suite short while still costing hundreds of recoveries.
const SIZE_AT_20 = 512 << 10;
const BOUND_MS = 45_000;
const relayScript = join(repoRoot, 'build/test/support/impairment-relay.js');
const LOSS_LEVELS = [0.01, 0.05, 0.2] as const;
const CLIENTS = ['atftp', 'curl', 'tftp-hpa'] as const;
type Client = (typeof CLIENTS)[number];

let server: LinkEnd;
let daemon: ProcessHandle;
const expected: Record<string, string> = {};
/** lossy[level][client]: a namespace of its own, so each summary line names one client. */
const lossy = new Map<number, Map<Client, LinkEnd>>();
let relayEnd: LinkEnd;

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  for (const c of CLIENTS) assert.ok(findPeer(c), `${c} must be installed`);
  mkdirSync(root);
  writeFileSync(join(root, 'image.bin'), randomBytes(SIZE));
  writeFileSync(join(root, 'small.bin'), randomBytes(SIZE_AT_20));
  for (const f of ['image.bin', 'small.bin']) expected[f] = await sha256File(join(root, f));
  const serverNs = createNamespace('srv');
  const members: Namespace[] = [serverNs];
  for (const level of LOSS_LEVELS) for (const c of CLIENTS) members.push(createNamespace(`l${level * 100}${c.slice(0, 2)}`.replace(/[^a-z0-9]/g, '')));
  members.push(createNamespace('relay'));
  const lan = createBridge(members);
  server = lan.members[0]!;
  let i = 1;
  for (const level of LOSS_LEVELS) {
    const byClient = new Map<Client, LinkEnd>();
    for (const c of CLIENTS) {
      const end = lan.members[i++]!;
      // Toward the client in its namespace; toward the server in the server's, for this client only.
      addRandomDrop(end.namespace, { probability: level, chain: 'INPUT', protocol: 'udp' });
      addRandomDrop(serverNs, { probability: level, chain: 'INPUT', protocol: 'udp', source: end.address });
      byClient.set(c, end);
    }
    lossy.set(level, byClient);
  }
  relayEnd = lan.members[i]!;
  // The default idle_timeout (30 s): a shorter one ended transfers whose client (curl at 20% loss,
  // backing off between retries) was slow but alive, and the client then hung past its bound.
  const config = writeTempConfig(`[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n`);
  daemon = await startDaemonIn(serverNs, config, /tftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  if (!process.env["KEEP_WORK"]) rmSync(work, { recursive: true, force: true });
});

function download(client: Client, request: DownloadRequest): Promise<DownloadResult> {
  if (client === 'atftp') return downloadWithAtftp({ ...request, blksize: 1428, windowsize: 8 });
  if (client === 'curl') return downloadWithCurl({ ...request, blksize: 1428 });
  return downloadWithTftpHpa(request);
}

/** The server's summary of the latest transfer from `address`; it may trail the client's exit by
 *  a few final-block retransmissions when the last ACK was lost. */
async function summaryFor(address: string, waitMs = 3000): Promise<Record<string, string> | null> {
  const pattern = new RegExp(` transfer .*client=${address.replace(/\./g, '\\.')}:`);
  const count = () => daemon.outputTail().split('\n').filter((l) => pattern.test(l)).length;
  const before = summariesSeen.get(address) ?? 0;
  const deadline = Date.now() + waitMs;
  while (count() <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  summariesSeen.set(address, count());
  return count() > before ? lastLogFields(daemon.outputTail(), pattern) : null;
}
const summariesSeen = new Map<string, number>();

describe('unicast under random loss in both directions (iptables statistic, netns)', () => {
  for (const level of LOSS_LEVELS) {
    const file = level < 0.2 ? 'image.bin' : 'small.bin';
    it(`${level * 100}% loss, ${file}: atftp (blksize 1428, windowsize 8), curl (1428), tftp-hpa (512) each complete or fail cleanly`, async (t) => {
      const started = new Date();
      const runs = CLIENTS.map(async (c) => {
        const end = lossy.get(level)!.get(c)!;
        const local = join(work, `loss-${level}-${c}`);
        const r = await download(c, { host: server.address, port: 69, remote: file, local, netns: end.namespace, timeoutMs: BOUND_MS });
        // A client that gave up leaves the server waiting up to idle_timeout (30 s) before it logs.
        const summary = await summaryFor(end.address, r.ok ? 3000 : IDLE_TIMEOUT_MS + 5000);
        t.diagnostic(`${c} ${level * 100}%: ok=${r.ok} in ${Math.round(r.ms)} ms, server outcome=${summary?.['outcome'] ?? '?'} retransmits=${summary?.['retransmits'] ?? '?'} spurious_timeouts=${summary?.['spurious_timeouts'] ?? 0}; client said: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
        const outcome = await expectCompleteOrCleanFailure(r, local, [expected[file]!], BOUND_MS, {
          size: level < 0.2 ? SIZE : SIZE_AT_20,
          serverEnd: () => failedTransferLine(logLinesSince(daemon.outputTail(), started), end.address),
        });
        return { c, outcome, r };
      });
      const results = await Promise.all(runs);
      // 1% and 5% are everyday LANs: every client must get its file. 20% may cost a client its
      // transfer (its own retry budget runs out), but then cleanly.
      if (level < 0.2) for (const { c, outcome, r } of results) assert.equal(outcome, 'complete', `${c}: ${r.stderr}`);
      assert.ok(daemon.isRunning(), 'the daemon survives every loss level');
    });
  }
});

/** Starts the impairment relay in the relay namespace on 127.0.0.1:`port` (see its header). */
async function startRelay(port: number, duplicate: number, reorder: number, oack: 'once' | 'late-copy'): Promise<ProcessHandle> {
  const relay = spawnInNamespace(relayEnd.namespace, process.execPath, [relayScript, `127.0.0.1:${port}`, `${server.address}:69`, String(duplicate), String(reorder), '20', '2090', '120000', oack]);
  const deadline = Date.now() + 5000;
  while (!/relay ready/.test(relay.outputTail())) {
    assert.ok(relay.isRunning() && Date.now() < deadline, `relay did not start: ${relay.outputTail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return relay;
}

describe('unicast through the impairment relay: duplicated and reordered datagrams both ways', () => {
  let relay: ProcessHandle;
  const RELAY_PORT = 6969;

  before(async () => {
    // 10% of DATA and ACKs duplicated, 20% held back 1-20 ms (overtaken by later datagrams), fixed
    // seed. The option exchange passes once: its duplicates are the next describe's case.
    relay = await startRelay(RELAY_PORT, 0.1, 0.2, 'once');
  });

  after(async () => {
    await relay?.kill();
  });

  for (const c of CLIENTS) {
    it(`${c}: the file arrives byte-identical`, async (t) => {
      const started = new Date();
      const local = join(work, `relay-${c}`);
      const r = await download(c, { host: '127.0.0.1', port: RELAY_PORT, remote: 'small.bin', local, netns: relayEnd.namespace, timeoutMs: BOUND_MS });
      const summary = await summaryFor(relayEnd.address, r.ok ? 3000 : IDLE_TIMEOUT_MS + 5000);
      const outcome = await expectCompleteOrCleanFailure(r, local, [expected['small.bin']!], BOUND_MS, {
        size: SIZE_AT_20,
        serverEnd: () => failedTransferLine(logLinesSince(daemon.outputTail(), started), relayEnd.address),
      });
      t.diagnostic(`${c} via relay: ${outcome} in ${Math.round(r.ms)} ms, server retransmits=${summary?.['retransmits'] ?? '?'} spurious_timeouts=${summary?.['spurious_timeouts'] ?? 0}`);
      assert.equal(outcome, 'complete', r.stderr);
    });
  }

  it('the relay really duplicated and delayed datagrams', async () => {
    await relay.kill();
    const counters = JSON.parse(relay.outputTail().trim().split('\n').at(-1)!) as { duplicated: number; delayed: number; flows: number };
    assert.ok(counters.duplicated > 100 && counters.delayed > 100, JSON.stringify(counters));
    assert.ok(counters.flows >= CLIENTS.length);
  });
});

describe('a late duplicate of our OACK (netns, relay)', () => {
  it('curl goes back to block 0 on it: the server ends the transfer with an ERROR naming that, and curl exits with it', async () => {
    const relay = await startRelay(6970, 0, 0, 'late-copy');
    try {
      const started = new Date();
      const local = join(work, 'late-oack-curl');
      const r = await downloadWithCurl({ host: '127.0.0.1', port: 6970, remote: 'small.bin', local, netns: relayEnd.namespace, timeoutMs: BOUND_MS, blksize: 1428 });
      assert.match(relay.outputTail(), /late OACK copy/, 'the copy reached curl after DATA');
      const serverEnd = () => failedTransferLine(logLinesSince(daemon.outputTail(), started), relayEnd.address);
      const outcome = await expectCompleteOrCleanFailure(r, local, [expected['small.bin']!], BOUND_MS, { size: SIZE_AT_20, serverEnd });
      assert.equal(outcome, 'clean-failure', `curl cannot complete after going back (it appends): ${r.stderr}`);
      assert.match(r.stderr, /curl: \(71\)/, 'curl reports the ERROR (illegal operation)');
      assert.match(serverEnd() ?? '', /outcome=protocol-error .*went back to block 0 after acknowledging block \d+/);
      assert.ok(r.ms < 20_000, `ended in ${Math.round(r.ms)} ms, not at the client's bound`);
    } finally {
      await relay.kill();
    }
  });
});
