// The network fuzz harness (scripts/fuzz/run.mjs) in its bounded --quick form, so every test run
// throws 30,000 fuzzed datagrams and 600 control frames at a real daemon and then proves it still
// serves: alive, a sha256-checked TFTP download, a DHCP DORA, flat RSS, no error or stack trace in
// its log. It lives with the netns tests because the daemon must run in a lab namespace (fuzzed
// DHCP makes it broadcast and unicast to arbitrary addresses). The 1,000,000-datagram run is the
// same script without --quick; its numbers are in the README. The DHCPv6 port has its own lab and
// sender below (the lab of run.mjs is IPv4 only).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dhclient6, linkLocalReady } from '../support/dhclient6.js';
import { dhcp6HostileCases } from '../support/dhcp6-corpus.js';
import { repoRoot } from '../support/fixtures.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import {
  addIpv6Address,
  canUseNetns,
  createBridge,
  createNamespace,
  runInNamespace,
  teardown,
  type LinkEnd,
  type ProcessHandle,
} from '../support/netns.js';

interface FuzzSummary {
  readonly ok: boolean;
  readonly datagrams: { readonly sent: number; readonly received: number; readonly rcvbufErrors: number };
  readonly control: { readonly frames: number; readonly replies: number };
  readonly checks: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>;
}

describe('network fuzzing (scripts/fuzz/run.mjs --quick)', () => {
  it('a daemon that took 30,000 fuzzed datagrams and 600 control frames still serves, with flat RSS and a clean log', async () => {
    const support = canUseNetns();
    assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
    const run = await runInNamespace(null, process.execPath, [join(repoRoot, 'scripts/fuzz/run.mjs'), '--quick', '--json', '--seed', '8'], { timeoutMs: 180_000 });
    const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null') as FuzzSummary | null;
    assert.ok(summary, `no summary (exit ${run.exitCode}):\n${run.stderr.slice(-3000)}`);
    const failed = summary.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    assert.deepEqual(failed, [], 'every after-check passes');
    assert.equal(summary.datagrams.sent, 30_000);
    // Most datagrams must really reach the daemon, or the run tested the kernel's drop path.
    assert.ok(summary.datagrams.received >= 0.8 * summary.datagrams.sent, `received ${summary.datagrams.received}`);
    assert.ok(summary.control.replies >= summary.control.frames * 0.9, `control replies ${summary.control.replies}`);
    assert.equal(run.exitCode, 0, run.stderr.slice(-3000));
  });
});

// ------------------------------------------------------------------------------------------------
// DHCPv6 (port 547): the daemon's [dhcp6] responder on a bridged lab LAN of its own, fuzzed by
// scripts/fuzz/dhcp6-sender.mjs from the client namespace: first seeded mutations of real client
// messages, then the named hostile cases one by one. Our codec tells for each datagram whether the
// daemon must refuse it, and the daemon's pxecast_decode_errors_total{service="dhcp6"} and its debug
// lines must agree: exactly, per reason, for the hostile cases. Afterwards a real dhclient -6 gets
// its boot URL and the file behind it downloads byte for byte.

const SERVER6 = 'fd00:213:16::1';
const METRICS = `[${SERVER6}]:9469`;
const DHCP6_PORT = 547;
const IMAGE6 = randomBytes(100_000);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Dhcp6SenderDone {
  readonly sent: number;
  readonly sendErrors: number;
  readonly rejected: number;
  readonly accepted: number;
  readonly codecRejects: Readonly<Record<string, number>>;
  readonly replies: { readonly relay: number; readonly client: number };
  readonly timeBound?: boolean;
  readonly seconds: number;
}

/** The daemon's DHCPv6 decode errors by reason, from its Prometheus endpoint. */
async function dhcp6DecodeErrors(client: LinkEnd): Promise<Record<string, number>> {
  const r = await runInNamespace(client.namespace, 'curl', ['-sS', '--max-time', '5', `http://${METRICS}/metrics`], { timeoutMs: 10_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  const out: Record<string, number> = {};
  for (const m of r.stdout.matchAll(/^pxecast_decode_errors_total\{service="dhcp6",reason="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const total = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);
const minus = (after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));

/** The daemon's UDP socket on `port` (/proc/<pid>/net/udp6 lists its network namespace's). */
function udp6Socket(pid: number, port: number): { readonly rxQueue: number; readonly drops: number } {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const fields = readFileSync(`/proc/${pid}/net/udp6`, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[1]?.endsWith(local));
  assert.ok(fields, `no UDP socket on port ${port} in the daemon's namespace`);
  // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
  return { rxQueue: parseInt(fields[4]!.split(':')[1]!, 16), drops: Number(fields[fields.length - 1]) };
}

/** Resolves once the daemon's socket on `port` has nothing queued (every datagram was handled). */
async function drained(pid: number, port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rxQueue } = udp6Socket(pid, port);
    if (rxQueue === 0) return;
    assert.ok(Date.now() < deadline, `port ${port} still has ${rxQueue} bytes queued`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('network fuzzing of the DHCPv6 port (scripts/fuzz/dhcp6-sender.mjs)', () => {
  const work = mkdtempSync(join(tmpdir(), 'pxecast-fuzz6-'));
  let daemon: (ProcessHandle & { readonly socket: string }) | null = null;
  after(async () => {
    await daemon?.kill();
    teardown();
    rmSync(work, { recursive: true, force: true });
  });

  it('6,000 mutated messages and the hostile cases are dropped and counted exactly as the codec refuses them; dhclient -6 then gets its boot URL', async (t) => {
    const support = canUseNetns();
    assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
    const [server, client] = createBridge([createNamespace('f6srv'), createNamespace('f6cli')]).members as [LinkEnd, LinkEnd];
    addIpv6Address(server, `${SERVER6}/64`);
    const route = await runInNamespace(client.namespace, 'ip', ['-6', 'route', 'add', 'fd00:213:16::/64', 'dev', client.ifname], { timeoutMs: 5000 });
    assert.equal(route.exitCode, 0, route.stderr);
    await Promise.all([server, client].map(linkLocalReady));

    writeFileSync(join(work, 'bootx64.efi'), IMAGE6);
    const configFile = join(work, 'pxecast.ini');
    writeFileSync(configFile, [
      '[log]', 'level = debug', 'format = json',
      '[tftp]', 'listen = ::', `root = ${work}`,
      '[mtftp]', 'enabled = false',
      '[metrics]', `listen = ${METRICS}`,
      '[dhcp6]', 'mode = stateless', `address = ${SERVER6}`, `link = ${server.ifname}`,
      '[image uefi]', 'file = bootx64.efi', 'arch = efi-x64', 'default = true', '',
    ].join('\n'));
    const log = { partial: '', dropLines: 0, errors: [] as string[], stackLines: [] as string[] };
    const onOutput = (chunk: Buffer) => {
      const lines = (log.partial + chunk.toString('utf8')).split('\n');
      log.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\s+at .+[:)]/.test(line) || /uncaught|unhandled/i.test(line)) log.stackLines.push(line);
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { level?: string; message?: string };
        if (entry.level === 'error') log.errors.push(line);
        if (entry.message === 'malformed DHCPv6 datagram dropped' && entry.level === 'debug') log.dropLines++;
      }
    };
    daemon = await startDaemonIn(server.namespace, configFile, /metrics endpoint listening/, 15_000, { onOutput });
    await drained(daemon.pid, DHCP6_PORT);

    const runSender = async (plan: Record<string, unknown>): Promise<Dhcp6SenderDone> => {
      const full = { target: SERVER6, port: DHCP6_PORT, seed: 6, ...plan };
      const r = await runInNamespace(client.namespace, process.execPath, [join(repoRoot, 'scripts/fuzz/dhcp6-sender.mjs'), JSON.stringify(full)], { timeoutMs: 90_000 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{"done"'));
      assert.ok(line, `the DHCPv6 sender failed (exit ${r.exitCode}): ${r.stderr.slice(-2000)}`);
      return (JSON.parse(line) as { done: Dhcp6SenderDone }).done;
    };

    // 1. Seeded mutations: what the codec refuses, the daemon counts (kernel drops aside).
    const before = await dhcp6DecodeErrors(client);
    const dropsBefore = udp6Socket(daemon.pid, DHCP6_PORT).drops;
    const fuzz = await runSender({ mode: 'fuzz', count: 6000, rate: 3000, maxSeconds: 30, daemonPid: daemon.pid });
    await drained(daemon.pid, DHCP6_PORT);
    const fuzzCounted = minus(await dhcp6DecodeErrors(client), before);
    const kernelDrops = udp6Socket(daemon.pid, DHCP6_PORT).drops - dropsBefore;
    const fuzzDetail = `sent ${fuzz.sent} (${fuzz.rejected} refused by the codec: ${JSON.stringify(fuzz.codecRejects)}), daemon counted ${JSON.stringify(fuzzCounted)}, kernel drops ${kernelDrops}, ${fuzz.seconds} s`;
    t.diagnostic(fuzzDetail);
    assert.equal(fuzz.sent, 6000, fuzzDetail);
    assert.equal(fuzz.sendErrors, 0, fuzzDetail);
    // Most must really reach the daemon, or the run tested the kernel's drop path.
    assert.ok(kernelDrops <= 0.2 * fuzz.sent, fuzzDetail);
    // The corpus reaches every refusal of the message codec, and answerable messages too.
    for (const reason of ['TRUNCATED', 'RELAY_TOO_DEEP', 'BAD_OPTIONS']) assert.ok((fuzz.codecRejects[reason] ?? 0) > 0, `${reason}: ${fuzzDetail}`);
    assert.ok(fuzz.replies.client + fuzz.replies.relay > 0, `the daemon answered some: ${fuzzDetail}`);
    // Every message the codec refuses is counted under its reason; option bodies the daemon reads
    // later (IA_NA, ORO, vendor class) can add TRUNCATED and BAD_LENGTH, never RELAY_TOO_DEEP or
    // BAD_OPTIONS, which only the message codec raises. A datagram the kernel dropped for a full
    // buffer (counted) never reached the daemon.
    for (const [reason, n] of Object.entries(fuzz.codecRejects)) assert.ok((fuzzCounted[reason] ?? 0) >= n - kernelDrops, `${reason}: ${fuzzDetail}`);
    for (const reason of ['RELAY_TOO_DEEP', 'BAD_OPTIONS']) assert.ok((fuzzCounted[reason] ?? 0) <= (fuzz.codecRejects[reason] ?? 0), `${reason}: ${fuzzDetail}`);
    assert.ok(total(fuzzCounted) <= fuzz.sent, fuzzDetail);

    // 2. The hostile cases, each once: counted exactly, per reason.
    const cases = dhcp6HostileCases();
    const expected: Record<string, number> = {};
    for (const c of cases) if (c.reason !== null) expected[c.reason] = (expected[c.reason] ?? 0) + 1;
    const beforeHostile = await dhcp6DecodeErrors(client);
    const hostileDropsBefore = udp6Socket(daemon.pid, DHCP6_PORT).drops;
    const hostile = await runSender({ mode: 'hostile' });
    await drained(daemon.pid, DHCP6_PORT);
    const hostileCounted = minus(await dhcp6DecodeErrors(client), beforeHostile);
    assert.equal(udp6Socket(daemon.pid, DHCP6_PORT).drops - hostileDropsBefore, 0, 'no hostile datagram was lost to a full buffer');
    t.diagnostic(`hostile: ${hostile.sent} sent, counted ${JSON.stringify(hostileCounted)}, replies ${JSON.stringify(hostile.replies)}`);
    assert.equal(hostile.sent, cases.length);
    assert.equal(hostile.sendErrors, 0, 'zero-length and 64 KiB datagrams went out');
    assert.deepEqual(hostile.codecRejects, expected, 'the sender saw the codec refuse what the table says');
    assert.deepEqual(hostileCounted, expected, `the daemon counted each hostile case once, under its reason (${cases.length - total(expected)} well-formed ones not at all)`);
    // The relay chain of exactly 32 is answered through the relay; the huge well-formed SOLICIT too.
    assert.equal(hostile.replies.relay, 1, JSON.stringify(hostile.replies));
    assert.equal(hostile.replies.client, 1, JSON.stringify(hostile.replies));

    // 3. Still serving: a real dhclient -6 gets the boot URL (option 59), and the file behind it.
    const env = await dhclient6(client, { work, name: 'after-fuzz', args: ['-S'], reason: /INFORM6|RENEW6/, arch: 7, context: () => daemon?.outputTail() ?? '' });
    assert.equal(env['new_dhcp6_bootfile_url'], `tftp://[${SERVER6}]/bootx64.efi`, JSON.stringify(env));
    const file = join(work, 'download.efi');
    const curl = await runInNamespace(client.namespace, 'curl', ['-sS', '--max-time', '20', '-o', file, env['new_dhcp6_bootfile_url']!], { timeoutMs: 30_000 });
    assert.equal(curl.exitCode, 0, curl.stderr);
    assert.equal(sha(readFileSync(file)), sha(IMAGE6));

    await drained(daemon.pid, DHCP6_PORT);
    const counted = minus(await dhcp6DecodeErrors(client), before);
    assert.equal(total(counted), total(fuzzCounted) + total(expected), 'dhclient -6 added no decode error');
    assert.ok(daemon.isRunning(), 'the daemon is alive');
    assert.equal(log.dropLines, total(counted), 'one debug line per dropped datagram');
    assert.deepEqual(log.errors, [], 'no error-level log line');
    assert.deepEqual(log.stackLines, [], 'no stack trace');
  });
});
