#!/usr/bin/env node
// This pxecast build against a baseline build (PXECAST_BASELINE=DIR, required), unicast on
// loopback, downloaded with atftp and curl: per setting, --runs downloads of each build,
// interleaved (A B, then B A, ...), each verified by sha256; medians, this ÷ baseline throughput,
// the spread of each build's runs, and what the servers' transfer summary lines say
// (retransmits, spurious_timeouts). Each run is capped at --timeout seconds.
//
// Needs `npm run build` in both trees. Run it under the shared lock:
//   flock /tmp/pxecast-heavy.lock env PXECAST_BASELINE=DIR node scripts/bench/unicast-vs-baseline.mjs
//
// Usage: node scripts/bench/unicast-vs-baseline.mjs [--runs N] [--file-mib N] [--timeout S]
//          [--keep-logs] [--settings atftp:512:1,atftp:1428:1,atftp:8192:1,atftp:1428:16,atftp:8192:16,curl:512,curl:1428,curl:8192]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BASELINE_CLI, MiB, PXECAST_CLI, baselineVersion, freeUdpPort, lastLine, loadSupport, machineLine, makeWorkDir, median, parseFields,
  positiveInt, printHeaderComment, pxecastVersion, utcStamp, waitUntilServing, writeRandomFile, writeReport,
} from './lib.mjs';

const { netns, peers } = await loadSupport();

const PAYLOAD = 'payload.bin';
const READY_PROBE = 'ready.bin';
const DEFAULT_SETTINGS = 'atftp:512:1,atftp:1428:1,atftp:8192:1,atftp:1428:16,atftp:8192:16,curl:512,curl:1428,curl:8192';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'file-mib': { type: 'string', default: '16' },
    timeout: { type: 'string', default: '60' },
    settings: { type: 'string', default: DEFAULT_SETTINGS },
    'keep-logs': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
if (!BASELINE_CLI) throw new Error('set PXECAST_BASELINE=DIR (a built checkout of the build to compare with)');
const runs = positiveInt(flags.runs, '--runs');
const fileBytes = positiveInt(flags['file-mib'], '--file-mib') * MiB;
const timeoutS = positiveInt(flags.timeout, '--timeout');
const settings = flags.settings.split(',').map((text) => {
  const [client, blksize, windowsize = '1'] = text.split(':');
  if (client !== 'atftp' && client !== 'curl') throw new Error(`unknown client in --settings: ${text}`);
  if (client === 'curl' && windowsize !== '1') throw new Error(`curl has no windowsize: ${text}`);
  return { client, blksize: positiveInt(blksize, '--settings'), windowsize: positiveInt(windowsize, '--settings') };
});

const { tmp, root } = makeWorkDir();
const downloaded = join(tmp, 'download.bin');

try {
  await main();
} finally {
  netns.teardown();
}

async function main() {
  console.error(`generating ${fileBytes / MiB} MiB test file in ${tmp}`);
  const expectedSha = writeRandomFile(join(root, PAYLOAD), fileBytes);
  writeFileSync(join(root, READY_PROBE), 'x', { mode: 0o644 });
  const builds = [await startBuild('this', PXECAST_CLI), await startBuild('baseline', BASELINE_CLI)];
  try {
    const rows = [];
    for (const setting of settings) {
      const outcomes = new Map(builds.map((b) => [b, []]));
      for (let run = 1; run <= runs; run++) {
        // Alternate who goes first, so a drift in the machine's load hits both alike.
        for (const build of run % 2 === 1 ? builds : [...builds].reverse()) {
          const outcome = await downloadOnce(build, setting, expectedSha);
          outcomes.get(build).push(outcome);
          console.error(`${label(setting)} run ${run}/${runs} ${build.name}: ${describe(outcome)}`);
        }
      }
      rows.push({ setting, outcomes });
    }
    const report = [
      `# Unicast, this build vs baseline (${utcStamp()})`,
      '',
      `${machineLine()}; this: ${pxecastVersion()}; baseline: ${baselineVersion()}; ` +
        `${fileBytes / MiB} MiB on 127.0.0.1, ${runs} runs per build, interleaved, cap ${timeoutS} s.`,
      '',
      table(rows, builds),
    ].join('\n') + '\n';
    console.log('\n' + report);
    console.error(`written to ${writeReport('unicast-vs-baseline', report)}`);
  } finally {
    await Promise.all(builds.map((b) => b.handle.kill()));
    for (const b of builds) if (flags['keep-logs']) console.error(`server log: ${writeReport(`unicast-vs-baseline-${b.name}-log`, b.log.join('\n') + '\n')}`);
  }
}

async function startBuild(name, cli) {
  const port = await freeUdpPort();
  const ini = join(tmp, `${name}.ini`);
  writeFileSync(ini, ['[log]', 'level = info', '[tftp]', 'listen = 127.0.0.1', `port = ${port}`, `root = ${root}`,
    'max_blksize = 65464', 'max_windowsize = 64', '[control]', `socket = ${ini}.sock`, ''].join('\n'));
  const build = { name, port, summaries: [], partial: '', log: [] };
  build.handle = netns.spawnInNamespace(null, process.execPath, [cli, 'serve', '--config', ini], {
    onOutput: (chunk) => {
      const lines = (build.partial + chunk.toString()).split('\n');
      build.partial = lines.pop();
      for (const line of lines) {
        if (flags['keep-logs']) build.log.push(line);
        if (line.includes('outcome=') && line.includes(PAYLOAD)) build.summaries.push(parseFields(line));
      }
    },
  });
  await waitUntilServing(peers, build.handle, { host: '127.0.0.1', port, remote: READY_PROBE, local: join(tmp, 'ready.out') });
  return build;
}

async function downloadOnce(build, { client, blksize, windowsize }, expectedSha) {
  if (!build.handle.isRunning()) return { kind: 'fail', reason: `server exited: ${lastLine(build.handle.outputTail())}` };
  rmSync(downloaded, { force: true });
  const seen = build.summaries.length;
  const dropsBefore = udpReceiveBufferDrops();
  const request = { host: '127.0.0.1', port: build.port, remote: PAYLOAD, local: downloaded, blksize, timeoutMs: timeoutS * 1000 };
  const result = client === 'curl'
    ? await peers.downloadWithCurl(request)
    : await peers.downloadWithAtftp({ ...request, ...(windowsize > 1 ? { windowsize } : {}) });
  const summary = await summaryAfter(build, seen);
  const server = summary ? { retransmits: Number(summary.retransmits), spurious: Number(summary.spurious_timeouts ?? 0), outcome: summary.outcome } : null;
  if (server) server.drops = udpReceiveBufferDrops() - dropsBefore;
  if (result.timedOut) return { kind: 'timeout', server };
  if (!result.ok) return { kind: 'fail', reason: lastLine(result.stderr) || `${client} exit ${result.exitCode}`, server };
  if ((await peers.sha256File(downloaded)) !== expectedSha) return { kind: 'fail', reason: 'sha256 mismatch', server };
  return { kind: 'ok', seconds: result.ms / 1000, server };
}

/** The server logs its summary when the last ACK arrives, normally before the client exits; a
 *  timed-out client leaves the transfer to the idle timeout, so wait at most 2 s for it. */
async function summaryAfter(build, seen) {
  const deadline = Date.now() + 2000;
  while (build.summaries.length === seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return build.summaries[seen] ?? null;
}

/** Datagrams the kernel dropped because a receiving socket's buffer was full (this namespace; on
 *  loopback that is the client's socket, or the server's). */
function udpReceiveBufferDrops() {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

function label({ client, blksize, windowsize }) {
  return `${client} blksize ${blksize}${client === 'atftp' ? ` windowsize ${windowsize}` : ''}`;
}

function describe(o) {
  const server = o.server ? ` (retransmits ${o.server.retransmits}, spurious ${o.server.spurious}, rcvbuf drops ${o.server.drops}, ${o.server.outcome})` : ' (no summary)';
  if (o.kind === 'ok') return `${o.seconds.toFixed(2)} s${server}`;
  if (o.kind === 'timeout') return `> ${timeoutS} s${server}`;
  return `FAIL ${o.reason}${server}`;
}

function stats(outcomes) {
  const seconds = outcomes.map((o) => (o.kind === 'ok' ? o.seconds : Infinity));
  const failed = outcomes.filter((o) => o.kind === 'fail').length;
  const med = median(seconds);
  const finite = seconds.filter(Number.isFinite);
  return {
    failed,
    seconds: med,
    mbps: Number.isFinite(med) ? fileBytes / med / 1e6 : 0,
    // Spread: slowest ÷ fastest finished run.
    spread: finite.length > 1 ? Math.max(...finite) / Math.min(...finite) : NaN,
    retransmits: outcomes.map((o) => o.server?.retransmits ?? '?').join('/'),
    spurious: outcomes.reduce((sum, o) => sum + (o.server?.spurious ?? 0), 0),
    drops: outcomes.reduce((sum, o) => sum + (o.server?.drops ?? 0), 0),
  };
}

function table(rows, [self, base]) {
  const lines = [
    '| setting | this MB/s | baseline MB/s | this ÷ baseline | spread this / baseline (slowest ÷ fastest) | retransmits per run this / baseline | spurious timeouts (sum) this / baseline | receive-buffer drops (sum) this / baseline |',
    '|---|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const { setting, outcomes } of rows) {
    const a = stats(outcomes.get(self));
    const b = stats(outcomes.get(base));
    const cell = (s) => (s.failed ? `FAIL (${s.failed})` : Number.isFinite(s.seconds) ? s.mbps.toFixed(1) : `> ${timeoutS} s`);
    const ratio = a.mbps > 0 && b.mbps > 0 ? (a.mbps / b.mbps).toFixed(2) : '—';
    lines.push(`| ${label(setting)} | ${cell(a)} | ${cell(b)} | ${ratio} | ${a.spread.toFixed(2)} / ${b.spread.toFixed(2)} | ` +
      `${a.retransmits} / ${b.retransmits} | ${a.spurious} / ${b.spurious} | ${a.drops} / ${b.drops} |`);
  }
  return lines.join('\n');
}
