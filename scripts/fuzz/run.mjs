#!/usr/bin/env node
// Fuzzes a real `pxecast serve` over the network: generated, mutated (bit flips, truncation,
// extension, splicing, option-length lies, huge blksize/windowsize/tsize, block 0/65535,
// unterminated strings, bogus opcodes, netascii edge cases, DHCP pad/End/overflow abuse) and random
// datagrams to its TFTP (69), PXE MTFTP (1759), DHCP (67) and PXE (4011) ports and into its running
// transfers (the ports it answers from), random or mutated frames to its control socket, and
// seeded well-formed, mangled, oversized, body-carrying and never-finished requests to its HTTP
// port (scripts/fuzz/http-sender.mjs).
// Everything is seeded (--seed): a failure replays.
//
// The daemon runs in a lab of two network namespaces this script creates (scripts/lib/daemon-lab.mjs
// says why: fuzzed DHCP makes it broadcast and unicast to arbitrary addresses); the datagrams come
// from scripts/fuzz/sender.mjs in the client namespace at up to --rate per second, slowed down
// whenever the kernel drops datagrams on the daemon's full socket buffers. Afterwards it proves:
//   - the daemon is alive and its control socket answers `status`;
//   - a normal TFTP download (atftp, sha256 compared), an HTTP download (curl, sha256 compared) and
//     a DHCP DISCOVER-OFFER-REQUEST-ACK work; every HTTP request got an allowed status, none stalled;
//   - RSS is flat: from the sample after the warm-up (the first 10% of the datagrams: JIT, socket
//     buffers and session tables at their working size) to the end it grows by at most
//     --rss-bound MiB (default 32: over the default 1,000,000 datagrams, anything that keeps more
//     than ~34 bytes per datagram crosses it, while V8's heap breathes by less; see the README);
//   - nothing escaped a socket handler: no error-level log line and no stack trace in its output.
// It reports how many datagrams the daemon's namespace actually received (kernel UDP counters:
// InDatagrams) and how many the kernel dropped on a full socket buffer (RcvbufErrors).
// Exits 1 on any failed check (2 on bad usage); namespaces and processes it started are removed
// on every exit. Bounded: --count datagrams and --max-seconds of sending, control frames likewise.
//
// Needs root, `npm run build` first and atftp.
// Usage: node scripts/fuzz/run.mjs [--seed N] [--count N] [--max-seconds S] [--rate N]
//                                  [--control-frames N] [--rss-bound MiB] [--quick] [--json]
//   --quick   30,000 datagrams, 600 control frames (about 6 s of sending)
//   --rate    the pacing ceiling (default 8000/s; the sender starts at half and backs off on drops)
//   --json    print the summary as one JSON object (for test/netns/fuzz.test.ts)
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkedDownload, controlRequest, createLab, createLogScan, dhcpDora, DHCP_PORT, MTFTP, PXE_PORT, rssKiB, sha256,
  startLabDaemon, TFTP_PORT, udpCounters, writeLabConfig,
} from '../lib/daemon-lab.mjs';
import { loadSupport, makeWorkDir, positiveInt, printHeaderComment, repo, sleep } from '../bench/lib.mjs';

const { values: flags } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string' },
    'max-seconds': { type: 'string' },
    rate: { type: 'string', default: '8000' },
    'control-frames': { type: 'string' },
    'http-requests': { type: 'string' },
    'rss-bound': { type: 'string', default: '32' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
const count = positiveInt(flags.count ?? (flags.quick ? '30000' : '1000000'), '--count');
const options = {
  seed: positiveInt(flags.seed, '--seed'),
  count,
  maxSeconds: positiveInt(flags['max-seconds'] ?? (flags.quick ? '60' : '900'), '--max-seconds'),
  rate: positiveInt(flags.rate, '--rate'),
  controlFrames: positiveInt(flags['control-frames'] ?? String(Math.max(100, Math.round(count / 50))), '--control-frames'),
  httpRequests: positiveInt(flags['http-requests'] ?? String(Math.max(300, Math.round(count / 300))), '--http-requests'),
  rssBoundMiB: positiveInt(flags['rss-bound'], '--rss-bound'),
};
const IMAGE = { name: 'demo', file: 'demo.img', bytes: 256 * 1024 };
const SENDER = join(repo, 'scripts/fuzz/sender.mjs');
const HTTP_SENDER = join(repo, 'scripts/fuzz/http-sender.mjs');
const HTTP_PORT = 8080;
const say = (line) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);

const { netns, peers } = await loadSupport();
let daemon = null;
let failed = true;
try {
  failed = !(await main());
} catch (e) {
  console.error(`fuzz: ${e.stack ?? e}`);
} finally {
  await daemon?.kill();
  netns.teardown();
}
process.exit(failed ? 1 : 0);

async function main() {
  if (!peers.findPeer('atftp')) throw new Error('atftp not found (Debian package atftp)');
  const { tmp, root } = makeWorkDir();
  const uploads = join(tmp, 'uploads');
  mkdirSync(uploads);
  writeFileSync(join(root, IMAGE.file), randomBytes(IMAGE.bytes));
  const imageSha = sha256(join(root, IMAGE.file));
  const lab = await createLab(netns);
  const configFile = join(tmp, 'pxecast.ini');
  writeLabConfig(configFile, {
    lab, root, stateFile: join(tmp, 'leases.json'), image: IMAGE,
    // Short timers, so sessions the fuzz opened have ended when the after-checks run.
    overrides: {
      tftp: { upload_dir: uploads, max_upload_size: '1M', idle_timeout: '3s', rto_max: '1s', max_transfer_time: '20s' },
      dhcp: { offer_timeout: '2s' },
      http: { enabled: 'true', listen: lab.server.address, port: HTTP_PORT },
    },
  });
  const scan = createLogScan();
  daemon = await startLabDaemon(lab, configFile, scan);
  say(`pxecast pid ${daemon.pid} on ${lab.server.address} (seed ${options.seed}, ${options.count} datagrams at ${options.rate}/s)`);

  const rss = { start: rssKiB(daemon.pid), warm: null, peak: 0, samples: [] };
  const udpBefore = udpCounters(daemon.pid);
  const control = fuzzControl(daemon.socket, options.controlFrames, options.seed);
  const sent = await runSender(lab, (progress) => {
    const now = rssKiB(daemon.pid);
    if (now === null) return;
    rss.samples.push(now);
    rss.peak = Math.max(rss.peak, now);
    if (rss.warm === null && progress.sent >= options.count / 10) rss.warm = now;
  });
  const controlResult = await control;
  const http = await runHttpSender(lab);
  // Let the daemon drain its socket buffers and the sessions the fuzz opened time out.
  const settled = await settle(daemon);
  const udpAfter = udpCounters(daemon.pid);
  rss.end = rssKiB(daemon.pid);
  rss.warm ??= rss.samples[0] ?? rss.start;

  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok: Boolean(ok), detail });
  check('sender finished its count', !sent.timeBound && sent.sent === options.count, `${sent.sent} of ${options.count} in ${sent.seconds.toFixed(1)} s`);
  check('daemon alive', daemon.isRunning(), `pid ${daemon.pid}`);
  let status = null;
  try {
    status = await controlRequest(daemon.socket, { version: 1, command: 'status' });
  } catch (e) {
    status = { error: e.message };
  }
  check('control socket answers status', status?.ok === true, status?.ok ? `uptime ${Math.round(status.status.uptimeMs / 1000)} s` : JSON.stringify(status));
  check('control frames all answered', controlResult.unanswered === 0 && controlResult.badReplies === 0,
    `${controlResult.frames} frames, ${controlResult.replies} replies, ${controlResult.oversize} oversize refusals, ${controlResult.unanswered} unanswered, ${controlResult.badReplies} not version-1 JSON`);
  check('sessions ended after the fuzz', settled.ok, settled.detail);
  check('HTTP: every request answered with an allowed status, none stalled', http.wrong.length === 0 && http.stalls === 0,
    `${http.sent} requests in ${http.seconds} s ${JSON.stringify(http.byKind)}, statuses ${JSON.stringify(http.statuses)}${http.wrong.length ? `, wrong: ${JSON.stringify(http.wrong.slice(0, 3))}` : ''}`);
  const httpCopy = join(tmp, 'http-download.img');
  const curl = await netns.runInNamespace(lab.client.namespace, 'curl', ['-sS', '-o', httpCopy, `http://${lab.server.address}:${HTTP_PORT}/${IMAGE.file}`], { timeoutMs: 30_000 });
  const httpOk = curl.exitCode === 0 && sha256(httpCopy) === imageSha;
  check('HTTP download after the fuzz', httpOk, httpOk ? 'sha256 ok' : curl.stderr.trim() || 'sha256 mismatch');
  const download = await checkedDownload(peers, lab, { remote: IMAGE.file, local: join(tmp, 'download.img'), expected: imageSha });
  check('TFTP download after the fuzz', download.ok, `${IMAGE.bytes} bytes, ${download.detail}, ${Math.round(download.ms)} ms`);
  const dora = await dhcpDora(netns, lab, [0x02, 0xf0, 0x22, 0x00, 0x00, 0x01]);
  check('DHCP DISCOVER-OFFER-REQUEST-ACK after the fuzz', dora.ok, dora.detail);
  const growthMiB = (rss.end - rss.warm) / 1024;
  check(`RSS growth after warm-up <= ${options.rssBoundMiB} MiB`, rss.end !== null && growthMiB <= options.rssBoundMiB,
    `${mib(rss.start)} start, ${mib(rss.warm)} warm, ${mib(rss.peak)} peak, ${mib(rss.end)} end (${growthMiB >= 0 ? '+' : ''}${growthMiB.toFixed(1)} MiB)`);
  await sleep(200); // the last output lines
  check('no error-level log line', scan.errors.length === 0, scan.errors[0] ?? `${scan.lines} log lines`);
  check('no stack trace in the output', scan.stackLines.length === 0, scan.stackLines.slice(0, 3).join(' | ') || 'none');

  const received = udpAfter.InDatagrams - udpBefore.InDatagrams;
  const summary = {
    seed: options.seed,
    datagrams: { sent: sent.sent, bytes: sent.bytes, seconds: round(sent.seconds), perSecond: Math.round(sent.sent / sent.seconds),
      byService: sent.byService, sendErrors: sent.sendErrors, repliesHeard: sent.replies,
      received, rcvbufErrors: udpAfter.RcvbufErrors - udpBefore.RcvbufErrors, noPorts: udpAfter.NoPorts - udpBefore.NoPorts,
      receivedPercent: round((100 * received) / sent.sent) },
    control: controlResult,
    http,
    rssKiB: { start: rss.start, warm: rss.warm, peak: rss.peak, end: rss.end },
    daemonCounters: status?.ok ? status.status.counts : null,
    warnings: Object.fromEntries(scan.warnings),
    checks,
    ok: checks.every((c) => c.ok),
  };
  report(summary);
  return summary.ok;
}

/** Runs sender.mjs in the client namespace; `onProgress` once a second; its final stats. */
async function runSender(lab, onProgress) {
  let partial = '';
  let done = null;
  const plan = {
    target: lab.server.address, daemonPid: daemon.pid, seed: options.seed, count: options.count, maxSeconds: options.maxSeconds,
    rate: options.rate, sockets: 64, files: [IMAGE.file, 'boot.ipxe'],
    ports: { tftp: TFTP_PORT, mtftp: MTFTP.serverPort, dhcp: DHCP_PORT, pxe: PXE_PORT },
  };
  const sender = netns.spawnInNamespace(lab.client.namespace, process.execPath, [SENDER, JSON.stringify(plan)], {
    onOutput(chunk) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const message = JSON.parse(line);
        if (message.progress) {
          onProgress(message.progress);
          if (!flags.json) process.stdout.write(`\r  ${message.progress.sent} sent, ${Math.round(message.progress.sent / message.progress.seconds)}/s (now ${message.progress.rate}/s), RSS ${mib(rssKiB(daemon.pid))}   `);
        }
        if (message.done) done = message.done;
      }
    },
  });
  // The sender stops itself at --max-seconds; this is the backstop should it hang.
  const timer = setTimeout(() => sender.kill(), (options.maxSeconds + 30) * 1000);
  const status = await sender.exited;
  clearTimeout(timer);
  if (!flags.json) process.stdout.write('\n');
  if (!done) throw new Error(`the sender failed (exit ${status.code ?? status.signal}): ${sender.outputTail().slice(-2000)}`);
  return done;
}

/** Runs http-sender.mjs in the client namespace and returns its stats. */
async function runHttpSender(lab) {
  const plan = { target: lab.server.address, port: HTTP_PORT, seed: options.seed, count: options.httpRequests, maxSeconds: options.maxSeconds, files: [IMAGE.file] };
  const sender = netns.spawnInNamespace(lab.client.namespace, process.execPath, [HTTP_SENDER, JSON.stringify(plan)]);
  const timer = setTimeout(() => sender.kill(), (options.maxSeconds + 60) * 1000);
  const status = await sender.exited;
  clearTimeout(timer);
  const line = sender.outputTail().split('\n').find((l) => l.startsWith('{"done"'));
  if (!line) throw new Error(`the HTTP sender failed (exit ${status.code ?? status.signal}): ${sender.outputTail().slice(-2000)}`);
  return JSON.parse(line).done;
}

/**
 * Sends `total` fuzzed frames over a series of control connections (at most 25 frames each, some
 * with an oversize frame or a half frame before closing) and checks that every complete frame
 * before an oversize one gets one version-1 JSON reply.
 */
async function fuzzControl(socketPath, total, seed) {
  const { seededRandom } = await import(join(repo, 'build/test/support/round-trip.js'));
  const { fuzzControlFrame } = await import(join(repo, 'build/test/support/fuzz-corpus.js'));
  const random = seededRandom(seed + 1);
  const result = { frames: 0, replies: 0, oversize: 0, unanswered: 0, badReplies: 0, connections: 0 };
  while (result.frames < total) {
    const frames = [];
    for (let i = 0; i < 25 && result.frames + frames.length < total; i++) {
      // Frames that are empty after trimming get no reply (the transport skips blank lines).
      const frame = fuzzControlFrame(random).toString('utf8').replace(/\n/g, '');
      frames.push(frame.trim() === '' ? 'x' : frame);
    }
    const oversize = random() < 0.05;
    const halfFrame = random() < 0.2 ? '{"version":1,"comm' : '';
    const text = frames.map((f) => `${f}\n`).join('') + (oversize ? `${'y'.repeat(70 * 1024)}\n` : '') + halfFrame;
    const replies = await exchangeOnControl(socketPath, text, frames.length + (oversize ? 1 : 0));
    result.connections++;
    result.frames += frames.length;
    result.replies += replies.length;
    if (oversize) result.oversize++;
    for (const line of replies) {
      try {
        if (JSON.parse(line).version !== 1) result.badReplies++;
      } catch {
        result.badReplies++;
      }
    }
    // An oversize frame makes the daemon answer once and close, possibly before earlier replies.
    if (!oversize) result.unanswered += Math.max(0, frames.length - replies.length);
  }
  return result;
}

/** Writes `text`, collects reply lines until `expected` arrived, the daemon closed, or 5 s. */
function exchangeOnControl(socketPath, text, expected) {
  return new Promise((resolve) => {
    const socket = connect({ path: socketPath });
    let buffered = '';
    const lines = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(lines);
    };
    const timer = setTimeout(finish, 5000);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (d) => {
      buffered += d.toString('utf8');
      let end;
      while ((end = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
      }
      if (lines.length >= expected) finish();
    });
    socket.write(text);
  });
}

/** Waits (at most 30 s) until the daemon reports no running transfer, session or MTFTP pass. */
async function settle(handle) {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const reply = await controlRequest(handle.socket, { version: 1, command: 'status' });
      const c = reply.status.counts;
      last = `${c.activeTransfers} transfers, ${c.activeMulticastSessions} multicast sessions, ${c.activeMtftpPasses} MTFTP passes`;
      if (c.activeTransfers + c.activeMulticastSessions + c.activeMtftpPasses === 0) return { ok: true, detail: `idle (${last})` };
    } catch (e) {
      last = e.message;
    }
    await sleep(500);
  }
  return { ok: false, detail: `still running after 30 s: ${last}` };
}

function report(summary) {
  if (flags.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const d = summary.datagrams;
  const rows = [
    ['datagrams sent', `${d.sent} (${Object.entries(d.byService).map(([k, v]) => `${k} ${v}`).join(', ')})`],
    ['send rate', `${d.perSecond}/s over ${d.seconds} s (${(d.bytes / 1024 / 1024).toFixed(1)} MiB)`],
    ['received by the daemon', `${d.received} (${d.receivedPercent}%), kernel RcvbufErrors ${d.rcvbufErrors}, NoPorts ${d.noPorts}`],
    ['daemon replies heard', String(d.repliesHeard)],
    ['control frames', `${summary.control.frames} on ${summary.control.connections} connections, ${summary.control.replies} replies`],
    ['RSS (KiB)', `start ${summary.rssKiB.start}, warm ${summary.rssKiB.warm}, peak ${summary.rssKiB.peak}, end ${summary.rssKiB.end}`],
    ['daemon warnings', Object.entries(summary.warnings).map(([k, v]) => `${k} ×${v}`).join('; ') || 'none'],
  ];
  console.log('\n| measure | value |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  console.log('\n| check | result | detail |\n|---|---|---|');
  for (const c of summary.checks) console.log(`| ${c.name} | ${c.ok ? 'ok' : '**FAIL**'} | ${c.detail} |`);
  console.log(`\n${summary.ok ? 'PASS' : 'FAIL'} (seed ${summary.seed})`);
}

function mib(kib) {
  return kib === null ? 'gone' : `${(kib / 1024).toFixed(1)} MiB`;
}

function round(x) {
  return Math.round(x * 10) / 10;
}
