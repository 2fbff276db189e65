#!/usr/bin/env node
// Soak: one pxecast daemon under continuous mixed load for --minutes (default 10), in a lab of
// network namespaces this script creates (scripts/lib/daemon-lab.mjs): a server and --clients + 1
// client namespaces on one bridge. Three loops run side by side until the deadline:
//   - unicast: atftp (blksize 512, 1428 or 8192 in turn) and curl downloads of the image, one
//     after the other, from the first client; every file's sha256 compared;
//   - multicast: RFC 2090 sessions, every other client at once with atftp `--option multicast`
//     (as scripts/bench/multicast.mjs), each file checked;
//   - DHCP: DISCOVER-OFFER-REQUEST-ACK exchanges back to back from the first client (about one
//     every 3 s: the probe listens 1.5 s per step), over 50 MACs in turn (so the soak itself never
//     exhausts the pool).
// Every second it samples the daemon's RSS (/proc/PID/status VmRSS) and its event-loop lag from
// its Prometheus endpoint (`pxecast_event_loop_lag_seconds`: the p99 of the last second measured
// inside the daemon by perf_hooks' monitorEventLoopDelay, the value its multicast flow control
// reads; neither `status --json` carries it, and a probe from outside would add its own delays).
// Writes bench-results/soak-<date>.csv (one row a second) and soak-<date>.md: per-minute
// min/median/max of RSS and lag, transfers completed/failed per minute, and the least-squares
// slope of RSS over time after the warm-up (the first 2 minutes, at most 40% of the run: V8 grows
// its heap for about the first 1.5 minutes of this load before it levels off).
// Exits 1 when the daemon died or logged an error or a stack trace, a file arrived corrupted, more
// than 2% of any kind of exchange failed, or the RSS slope exceeds --rss-slope MiB per minute
// (default 1, i.e. 60 MiB an hour: a leak that would matter within a day of lab use).
//
// Needs root, `npm run build` first, atftp and curl. Every loop ends at the deadline; every client
// run has its own timeout; namespaces and processes are removed on every exit.
// Usage: node scripts/soak/run.mjs [--minutes N] [--clients N] [--image-mib N] [--rss-slope MiB]
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkedDownload, controlRequest, createLab, createLogScan, dhcpDora, rssKiB, sha256, startLabDaemon, TFTP_PORT, writeLabConfig,
} from '../lib/daemon-lab.mjs';
import { loadSupport, makeWorkDir, MiB, positiveInt, printHeaderComment, sleep, utcStamp, watchActivity, writeReport } from '../bench/lib.mjs';
import { markdownSummary, slope, toCsv } from './report.mjs';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '3' },
    'image-mib': { type: 'string', default: '4' },
    'rss-slope': { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
const options = {
  minutes: positiveInt(flags.minutes, '--minutes'),
  multicastClients: positiveInt(flags.clients, '--clients'),
  imageBytes: positiveInt(flags['image-mib'], '--image-mib') * MiB,
  rssSlopeMiBPerMin: Number(flags['rss-slope']),
};
const IMAGE = { name: 'soak', file: 'soak.img' };
const METRICS_PORT = 9464;
const DHCP_MACS = 50;
const MAX_FAILED_FRACTION = 0.02;

const { netns, peers } = await loadSupport();
let daemon = null;
let failed = true;
try {
  failed = !(await main());
} catch (e) {
  console.error(`soak: ${e.stack ?? e}`);
} finally {
  await daemon?.kill();
  netns.teardown();
}
process.exit(failed ? 1 : 0);

async function main() {
  for (const peer of ['atftp', 'curl']) if (!peers.findPeer(peer)) throw new Error(`${peer} not found`);
  const { tmp, root } = makeWorkDir();
  writeFileSync(join(root, IMAGE.file), randomBytes(options.imageBytes));
  const expected = sha256(join(root, IMAGE.file));
  const lab = await createLab(netns, { clients: 1 + options.multicastClients });
  const configFile = join(tmp, 'pxecast.ini');
  writeLabConfig(configFile, {
    lab, root, stateFile: join(tmp, 'leases.json'), image: IMAGE,
    overrides: { metrics: { listen: `127.0.0.1:${METRICS_PORT}` }, multicast: { start_delay: '1s' } },
  });
  const scan = createLogScan();
  daemon = await startLabDaemon(lab, configFile, scan);
  const deadline = Date.now() + options.minutes * 60_000;
  console.log(`soak: pxecast pid ${daemon.pid}, ${options.minutes} min, image ${options.imageBytes / MiB} MiB, ${options.multicastClients} multicast clients`);

  const counts = { unicast_ok: 0, unicast_failed: 0, multicast_ok: 0, multicast_failed: 0, dhcp_ok: 0, dhcp_failed: 0 };
  const failures = [];
  const tally = (kind, result) => {
    counts[`${kind}_${result.ok ? 'ok' : 'failed'}`]++;
    if (!result.ok && failures.length < 20) failures.push(`${kind}: ${result.detail}`);
  };
  const loops = [
    unicastLoop(lab, tmp, expected, deadline, tally),
    multicastLoop(lab, tmp, expected, deadline, tally),
    dhcpLoop(lab, deadline, tally),
  ];
  // On 2 shared cores a lag spike may be someone else's test run: list what ran beside the soak.
  const activity = watchActivity('soak/run.mjs', 5000);
  const samples = await sampleLoop(lab, deadline, counts);
  await Promise.all(loops);
  const beside = await activity.stop();

  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok: Boolean(ok), detail });
  check('daemon alive', daemon.isRunning(), `pid ${daemon.pid}`);
  const status = await controlRequest(daemon.socket, { version: 1, command: 'status' }).catch((e) => ({ error: e.message }));
  check('control socket answers status', status?.ok === true, status?.ok ? `uptime ${Math.round(status.status.uptimeMs / 1000)} s` : JSON.stringify(status));
  for (const kind of ['unicast', 'multicast', 'dhcp']) {
    const ok = counts[`${kind}_ok`];
    const bad = counts[`${kind}_failed`];
    check(`${kind}: at most ${MAX_FAILED_FRACTION * 100}% failed`, ok > 0 && bad <= MAX_FAILED_FRACTION * (ok + bad), `${ok} ok, ${bad} failed`);
  }
  const trend = rssTrend(samples);
  check(`RSS slope <= ${options.rssSlopeMiBPerMin} MiB/min`, trend.slope !== null && trend.slope <= options.rssSlopeMiBPerMin, trend.text);
  const lagged = samples.filter((s) => s.lag_ms === null).length;
  check('lag scraped every second', lagged <= samples.length * 0.05, `${samples.length - lagged} of ${samples.length} scrapes`);
  check('no error-level log line', scan.errors.length === 0, scan.errors[0] ?? `${scan.lines} log lines`);
  check('no stack trace in the output', scan.stackLines.length === 0, scan.stackLines.slice(0, 3).join(' | ') || 'none');

  const markdown = markdownSummary({
    title: `pxecast soak, ${utcStamp()} UTC, ${options.minutes} min`,
    setup: [
      `image ${options.imageBytes / MiB} MiB; unicast atftp/curl from 1 client, RFC 2090 sessions of ${options.multicastClients} atftp clients, DHCP DORA back to back`,
      `RSS from /proc/PID/status; lag = pxecast_event_loop_lag_seconds (p99 of the last second, inside the daemon)`,
      `other test runs or benchmarks seen meanwhile: ${beside.length ? beside.slice(0, 5).join('; ') : 'none'}`,
      ...(failures.length ? [`first failures: ${failures.slice(0, 5).join('; ')}`] : []),
    ],
    samples,
    trend,
    checks,
  });
  const mdFile = writeReport('soak', markdown);
  const csvFile = mdFile.replace(/\.md$/, '.csv');
  writeFileSync(csvFile, toCsv(samples));
  console.log(`\n${markdown}\nwritten to ${mdFile} and ${csvFile}`);
  return checks.every((c) => c.ok);
}

/** RSS slope in MiB/min over the samples after the warm-up. */
function rssTrend(samples) {
  const warmupS = Math.min(120, options.minutes * 60 * 0.4);
  const points = samples.filter((s) => s.t_s > warmupS && s.rss_kib !== null).map((s) => ({ x: s.t_s / 60, y: s.rss_kib / 1024 }));
  const value = slope(points);
  const text = value === null ? 'not enough samples'
    : `${value >= 0 ? '+' : ''}${value.toFixed(3)} MiB/min over ${points.length} samples after ${Math.round(warmupS)} s of warm-up`
      + ` (${(points[0].y).toFixed(1)} -> ${(points[points.length - 1].y).toFixed(1)} MiB)`;
  return { slope: value, text };
}

/** Once a second until the deadline: RSS, lag and the cumulative counts. */
async function sampleLoop(lab, deadline, counts) {
  const samples = [];
  const started = Date.now();
  while (Date.now() < deadline && daemon.isRunning()) {
    const tick = Date.now();
    const lag = await scrapeLagMs(lab);
    samples.push({ t_s: Math.round((tick - started) / 100) / 10, rss_kib: rssKiB(daemon.pid), lag_ms: lag, ...counts });
    const last = samples[samples.length - 1];
    process.stdout.write(`\r  ${Math.round(last.t_s)} s: RSS ${(last.rss_kib / 1024).toFixed(1)} MiB, lag ${lag?.toFixed(1) ?? '?'} ms, `
      + `unicast ${counts.unicast_ok}/${counts.unicast_failed}, multicast ${counts.multicast_ok}/${counts.multicast_failed}, dhcp ${counts.dhcp_ok}/${counts.dhcp_failed}   `);
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  return samples;
}

/** pxecast_event_loop_lag_seconds in ms, scraped with curl inside the server namespace; null on failure. */
async function scrapeLagMs(lab) {
  const r = await netns.runInNamespace(lab.server.namespace, 'curl', ['-sS', '--max-time', '1', `http://127.0.0.1:${METRICS_PORT}/metrics`], { timeoutMs: 2000 });
  const m = /^pxecast_event_loop_lag_seconds (\S+)$/m.exec(r.stdout);
  return m ? Number(m[1]) * 1000 : null;
}

async function unicastLoop(lab, tmp, expected, deadline, tally) {
  const local = join(tmp, 'unicast.img');
  for (let i = 0; Date.now() < deadline; i++) {
    if (i % 4 === 3) {
      const r = await peers.downloadWithCurl({ host: lab.server.address, port: TFTP_PORT, remote: IMAGE.file, local, netns: lab.client.namespace, timeoutMs: 60_000 });
      const ok = r.ok && sha256(local) === expected;
      tally('unicast', { ok, detail: ok ? '' : `curl: ${r.timedOut ? 'timed out' : r.stderr.trim() || 'sha256 mismatch'}` });
    } else {
      tally('unicast', await checkedDownload(peers, lab, { remote: IMAGE.file, local, expected, blksize: [512, 1428, 8192][i % 4], timeoutMs: 60_000 }));
    }
  }
}

async function multicastLoop(lab, tmp, expected, deadline, tally) {
  const atftp = peers.findPeer('atftp').path;
  const members = lab.clients.slice(1);
  while (Date.now() < deadline) {
    const results = await Promise.all(members.map(async (end, i) => {
      const local = join(tmp, `multicast-${i}.img`);
      const r = await netns.runInNamespace(end.namespace, atftp, ['-g', '-r', IMAGE.file, '-l', local, '--option', 'multicast', '--option', 'blksize 1428',
        lab.server.address, String(TFTP_PORT)], { timeoutMs: 120_000 });
      const ok = r.exitCode === 0 && sha256(local) === expected;
      return { ok, detail: ok ? '' : `atftp multicast: ${r.timedOut ? 'timed out' : r.stderr.trim().split('\n').pop() || 'sha256 mismatch'}` };
    }));
    for (const r of results) tally('multicast', r);
    await sleep(500);
  }
}

async function dhcpLoop(lab, deadline, tally) {
  for (let i = 0; Date.now() < deadline; i++) {
    const started = Date.now();
    tally('dhcp', await dhcpDora(netns, lab, [0x02, 0x50, 0x4b, 0x00, 0x00, i % DHCP_MACS]));
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
}
