// Abuse on a lab LAN, in namespaces made by the test: a flooder sends RRQs (plain and RFC 2090
// multicast) and PXE MTFTP opens from 120 source addresses that never ACK (as spoofed sources never
// do) and DHCPDISCOVERs from made-up MACs that never REQUEST, bounded in count and time. Meanwhile
// well-behaved clients work as usual: real atftp and curl downloads, real atftp RFC 2090 multicast
// downloads (of another file than the forged multicast RRQs ask for; all sha256-checked) and real busybox
// udhcpc leases, each DHCP client with a MAC of its own. Their success rate during the flood is
// measured and printed, and must stay at or above 95%. The daemon must also not log per packet.
// Then stray sources flood a transfer port and a multicast session port: the ERROR 5 answers
// they get stay within the budget of unsolicited answers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../support/fixtures.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, spawnInNamespace, teardown, type LinkEnd, type ProcessHandle } from '../support/netns.js';
import { downloadWithAtftp, downloadWithCurl, findPeer, sha256File } from '../support/peers.js';
import { REFUSAL_ERRORS_PER_S } from '../../src/admission/limit-gate.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-abuse-'));
const flooderScript = join(repoRoot, 'build/test/support/flooder.js');
const FILE_SIZE = 1 << 20;
const FLOOD_MS = 15_000;
// 120 addresses x 12 ports: 1440 distinct TIDs, more than the default max_transfers (1000).
const FLOOD = { rrqPerS: 1000, multicastRrqPerS: 200, mtftpOpenPerS: 50, discoverPerS: 300, sources: 120, portsPerSource: 12 };
const MTFTP_PORT = 1759;
const STRAY = { perS: 1000, durationMs: 2000 };
const MIN_SUCCESS = 0.95;

let server: LinkEnd;
let tftpClient: LinkEnd;
let multicastClient: LinkEnd;
let dhcpClient: LinkEnd;
let flooder: LinkEnd;
let subnet = '';
let daemon: ProcessHandle;
let expected = '';
const daemonLog: Buffer[] = [];

async function inNs(end: LinkEnd, command: string, args: string[]): Promise<void> {
  const r = await runInNamespace(end.namespace, command, args, { timeoutMs: 10_000 });
  assert.equal(r.exitCode, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  const lan = createBridge([createNamespace('asrv'), createNamespace('atftp'), createNamespace('adhcp'), createNamespace('aflood'), createNamespace('amcast')]);
  [server, tftpClient, dhcpClient, flooder, multicastClient] = lan.members as [LinkEnd, LinkEnd, LinkEnd, LinkEnd, LinkEnd];
  subnet = server.address.split('.').slice(0, 3).join('.');
  // The flooder's many source addresses: real, so the server's answers reach it and go unanswered.
  const batch = join(work, 'flooder-addresses.ip');
  writeFileSync(batch, Array.from({ length: FLOOD.sources }, (_, i) => `addr add ${subnet}.${100 + i}/32 dev ${flooder.ifname}\n`).join(''));
  await inNs(flooder, 'ip', ['-batch', batch]);
  // A 0.0.0.0 socket needs a route to send to 255.255.255.255 (udhcpc uses raw sockets).
  await inNs(flooder, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', flooder.ifname]);
  mkdirSync(join(work, 'root'));
  const image = randomBytes(FILE_SIZE);
  writeFileSync(join(work, 'root', 'image.bin'), image);
  // The same bytes under another name: the real multicast client's own sessions (see below).
  writeFileSync(join(work, 'root', 'image2.bin'), image);
  expected = await sha256File(join(work, 'root', 'image.bin'));
  const config = join(work, 'pxecast.ini');
  writeFileSync(
    config,
    [
      '[tftp]',
      `listen = ${server.address}`,
      `root = ${join(work, 'root')}`,
      // The flood's MTFTP opens ask for this image's channel (server port 1759).
      '[image demo]',
      'file = image.bin',
      'default = true',
      'mtftp = true',
      '[dhcp]',
      'mode = full',
      `interface = ${server.address}`,
      `state_file = ${join(work, 'leases.json')}`,
      '[pool lab]',
      `first = ${subnet}.20`,
      `last = ${subnet}.60`,
      `router = ${server.address}`,
      '[metrics]',
      `listen = ${server.address}:9469`,
      '',
    ].join('\n'),
  );
  // Every line, not the handle's 64 KiB tail: the well-behaved clients alone log more than that.
  daemon = await startDaemonIn(server.namespace, config, /dhcp listening/, 10_000, { onOutput: (chunk) => daemonLog.push(chunk) });
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

interface Tally {
  attempts: number;
  ok: number;
  failures: string[];
}

const tally = (): Tally => ({ attempts: 0, ok: 0, failures: [] });

/** Runs `attempt` back to back until `until`, counting successes. */
async function loop(until: number, t: Tally, attempt: (n: number) => Promise<string | null>): Promise<void> {
  for (let n = 0; Date.now() < until; n++) {
    t.attempts++;
    const failure = await attempt(n);
    if (failure === null) t.ok++;
    else t.failures.push(failure);
  }
}

async function download(kind: 'atftp' | 'curl', n: number): Promise<string | null> {
  const local = join(work, `${kind}-${n}.bin`);
  const request = { host: server.address, port: 69, remote: 'image.bin', local, netns: tftpClient.namespace, timeoutMs: 20_000 };
  const r = kind === 'atftp' ? await downloadWithAtftp({ ...request, blksize: 1428 }) : await downloadWithCurl(request);
  if (!r.ok) return `${kind} #${n}: ${r.stderr.trim().slice(0, 200)}`;
  const sum = await sha256File(local);
  rmSync(local, { force: true });
  return sum === expected ? null : `${kind} #${n}: sha256 mismatch`;
}

/** atftp as an RFC 2090 client: `--option multicast --option "blksize 1428"`, of a file the
 *  flood does not ask for. A silent listener (atftp sends nothing after an mc=0 OACK) that shares
 *  a session with forged members waits behind each forged master for master_timeout, as nothing
 *  tells it apart from them; what must hold is that forged multicast requests neither take the
 *  slots, groups and time other multicast clients need. */
async function multicastDownload(n: number): Promise<string | null> {
  const local = join(work, `mcast-${n}.bin`);
  const r = await runInNamespace(
    multicastClient.namespace,
    findPeer('atftp')!.path,
    ['--option', 'multicast', '--option', 'blksize 1428', '-g', '-r', 'image2.bin', '-l', local, server.address, '69'],
    { timeoutMs: 20_000 },
  );
  if (r.exitCode !== 0) return `multicast #${n}: ${r.timedOut ? 'timed out' : ''} ${(r.stdout + r.stderr).trim().replace(/\s+/g, ' ').slice(-300)}`;
  const sum = await sha256File(local);
  rmSync(local, { force: true });
  return sum === expected ? null : `multicast #${n}: sha256 mismatch`;
}

async function lease(n: number): Promise<string | null> {
  // A MAC of its own per run: each run is a new machine that needs a new address.
  const mac = `52:54:00:ab:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  await inNs(dhcpClient, 'ip', ['link', 'set', 'dev', dhcpClient.ifname, 'address', mac]);
  const r = await runInNamespace(dhcpClient.namespace, 'busybox', ['udhcpc', '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', '/bin/true', '-i', dhcpClient.ifname], { timeoutMs: 15_000 });
  const out = r.stdout + r.stderr;
  return new RegExp(`lease of ${subnet.replace(/\./g, '\\.')}\\.\\d+ obtained`).test(out) ? null : `udhcpc ${mac}: ${out.trim().split('\n').slice(-2).join(' | ')}`;
}

describe('well-behaved clients during an RRQ, multicast RRQ, MTFTP open and DISCOVER flood (netns)', () => {
  it(`keep a success rate of at least ${MIN_SUCCESS * 100}%`, async () => {
    const flood = spawnInNamespace(flooder.namespace, process.execPath, [
      flooderScript,
      JSON.stringify({
        server: server.address,
        tftpPort: 69,
        dhcpPort: 67,
        sources: Array.from({ length: FLOOD.sources }, (_, i) => `${subnet}.${100 + i}`),
        portsPerSource: FLOOD.portsPerSource,
        file: 'image.bin',
        rrqPerS: FLOOD.rrqPerS,
        multicastRrqPerS: FLOOD.multicastRrqPerS,
        mtftpOpenPerS: FLOOD.mtftpOpenPerS,
        mtftpPort: MTFTP_PORT,
        mtftpFile: 'image.bin',
        discoverPerS: FLOOD.discoverPerS,
        durationMs: FLOOD_MS,
        maxPackets: Math.ceil(((FLOOD.rrqPerS + FLOOD.multicastRrqPerS + FLOOD.mtftpOpenPerS + FLOOD.discoverPerS) * FLOOD_MS) / 1000),
      }),
    ]);
    try {
      // The flood is on before the clients start: the daemon has hit one of its limits.
      const floodFrom = Buffer.concat(daemonLog).length;
      const floodDeadline = Date.now() + 10_000;
      while (!/limit reached/.test(Buffer.concat(daemonLog).subarray(floodFrom).toString('utf8'))) {
        assert.ok(Date.now() < floodDeadline && flood.isRunning(), `the flood never reached a limit of the daemon:\n${flood.outputTail()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const until = Date.now() + FLOOD_MS - 2000;
      const atftp = tally();
      const curl = tally();
      const multicast = tally();
      const dhcp = tally();
      await Promise.all([
        loop(until, atftp, (n) => download('atftp', n)),
        loop(until, curl, (n) => download('curl', n)),
        loop(until, multicast, multicastDownload),
        loop(until, dhcp, lease),
      ]);
      const floodStatus = await Promise.race([flood.exited, new Promise<null>((r) => setTimeout(() => r(null), FLOOD_MS + 10_000))]);
      assert.ok(floodStatus, 'the flooder ended within its bound');
      const sent = JSON.parse(flood.outputTail().trim().split('\n').at(-1) ?? '{}') as {
        rrqs?: number;
        multicastRrqs?: number;
        mtftpOpens?: number;
        discovers?: number;
        ms?: number;
      };
      const metrics = await runInNamespace(server.namespace, 'curl', ['-sS', `http://${server.address}:9469/metrics`], { timeoutMs: 10_000 });
      const limited = metrics.stdout.split('\n').filter((l) => l.startsWith('pxecast_limited_total'));
      const rate = (t: Tally) => (t.attempts === 0 ? 0 : t.ok / t.attempts);
      const kinds = [atftp, curl, multicast, dhcp];
      const all = { attempts: kinds.reduce((n, t) => n + t.attempts, 0), ok: kinds.reduce((n, t) => n + t.ok, 0) };
      console.log(
        [
          `flood: ${sent.rrqs} RRQs + ${sent.multicastRrqs} multicast RRQs + ${sent.mtftpOpens} MTFTP opens from ${FLOOD.sources} addresses x ${FLOOD.portsPerSource} ports + ${sent.discovers} DISCOVERs in ${sent.ms} ms`,
          `atftp 1 MiB downloads: ${atftp.ok}/${atftp.attempts} (${(rate(atftp) * 100).toFixed(1)}%)`,
          `curl 1 MiB downloads:  ${curl.ok}/${curl.attempts} (${(rate(curl) * 100).toFixed(1)}%)`,
          `atftp RFC 2090 multicast 1 MiB downloads: ${multicast.ok}/${multicast.attempts} (${(rate(multicast) * 100).toFixed(1)}%)`,
          `udhcpc leases:         ${dhcp.ok}/${dhcp.attempts} (${(rate(dhcp) * 100).toFixed(1)}%)`,
          `all:                   ${all.ok}/${all.attempts} (${((all.ok / all.attempts) * 100).toFixed(1)}%)`,
          ...limited,
          ...kinds.flatMap((t) => t.failures).slice(0, 5).map((f) => `failure: ${f}`),
        ].join('\n'),
      );
      assert.ok((sent.rrqs ?? 0) >= FLOOD.rrqPerS * 5, 'the flood really ran');
      assert.ok((sent.multicastRrqs ?? 0) >= FLOOD.multicastRrqPerS * 5, 'with multicast RRQs');
      assert.ok((sent.mtftpOpens ?? 0) >= FLOOD.mtftpOpenPerS * 5, 'and MTFTP opens');
      for (const t of kinds) assert.ok(t.attempts >= 3, 'each client kind ran a few times');
      assert.ok(all.ok / all.attempts >= MIN_SUCCESS, `success rate ${all.ok}/${all.attempts}`);
      // One line per limit episode, not per packet: what the flood made the daemon log (all but the
      // well-behaved clients' own transfer and lease lines, one per success) fits in a few KiB.
      const lines = Buffer.concat(daemonLog).toString('utf8').split('\n');
      const limitLines = lines.filter((l) => /limit reached|pool full|pool exhausted/.test(l));
      assert.ok(limitLines.length <= 10, `${limitLines.length} limit log lines:\n${limitLines.slice(0, 20).join('\n')}`);
      const goodClients = [`client=${tftpClient.address}:`, `client=${multicastClient.address}:`, 'mac=52:54:00:ab:'];
      const floodLog = lines.filter((l) => !goodClients.some((c) => l.includes(c))).join('\n');
      assert.ok(floodLog.length < 20_000, `the daemon logged ${floodLog.length} bytes for the flood:\n${floodLog.slice(-2000)}`);
      assert.match(limited.join('\n'), /limit="unconfirmed-evicted"|limit="unconfirmed-expired"/);
      assert.match(limited.join('\n'), /service="dhcp",limit="offer-reclaimed"/);
    } finally {
      await flood.kill();
    }
  });

  for (const at of ['transfer', 'session'] as const) {
    it(`bounds ERROR 5 answers to stray sources flooding a ${at === 'transfer' ? 'transfer (TID)' : 'multicast session'} port`, async () => {
      const flood = spawnInNamespace(flooder.namespace, process.execPath, [
        flooderScript,
        JSON.stringify({
          server: server.address,
          tftpPort: 69,
          dhcpPort: 67,
          sources: Array.from({ length: FLOOD.sources }, (_, i) => `${subnet}.${100 + i}`),
          portsPerSource: FLOOD.portsPerSource,
          file: 'image.bin',
          rrqPerS: 0,
          discoverPerS: 0,
          strayAt: at,
          strayPerS: STRAY.perS,
          durationMs: STRAY.durationMs,
          maxPackets: Math.ceil((STRAY.perS * STRAY.durationMs) / 1000),
        }),
      ]);
      try {
        const status = await Promise.race([flood.exited, new Promise<null>((r) => setTimeout(() => r(null), STRAY.durationMs + 15_000))]);
        assert.ok(status, 'the flooder ended within its bound');
        const got = JSON.parse(flood.outputTail().trim().split('\n').at(-1) ?? '{}') as { strays?: number; errors5?: number; port?: number };
        console.log(`${at} port ${got.port}: ${got.strays} stray ACKs, ${got.errors5} ERROR 5 answers`);
        assert.ok((got.strays ?? 0) >= (STRAY.perS * STRAY.durationMs) / 2000, 'the stray flood really ran');
        // The refusal budget: REFUSAL_ERRORS_PER_S per second of the burst and of its tail, plus
        // one second's worth at once (a flood of one ERROR per packet would be ~${STRAY.perS}/s).
        const bound = REFUSAL_ERRORS_PER_S * (STRAY.durationMs / 1000 + 2);
        assert.ok((got.errors5 ?? 0) >= 1, 'stray sources are still told (RFC 1350 4)');
        assert.ok((got.errors5 ?? 0) <= bound, `${got.errors5} ERROR 5 answers to ${got.strays} stray packets (at most ${bound})`);
      } finally {
        await flood.kill();
      }
    });
  }
});
