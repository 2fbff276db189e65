#!/usr/bin/env node
// Per-packet cost of the unicast TFTP path: server CPU (or instructions) per DATA block.
//   cpu (default): pxecast on 127.0.0.1 serves one pseudo-random file to the bounded reader in
//     tftp-reader.mjs at blksize 512/1428/8192, lock-step and windowsize 16; the server's CPU time
//     (every thread, from /proc/PID/task/*/schedstat) over each download is divided by the blocks
//     sent. Median of --runs; every copy checked by sha256.
//   --instructions: the same under `valgrind --tool=callgrind`, counting the instructions the
//     server executed per block (counters zeroed before and dumped after each download): exact
//     and repeatable on a loaded machine, where CPU time is not. Slow (about 50× per block):
//     use a small --file-mib.
//   --rss: --rss-clients parallel readers of one large file for --rss-seconds; the server's RSS
//     sampled every second, then every reader's copy so far checked by sha256 against the
//     same prefix of the file.
// With PXECAST_BASELINE=DIR the baseline build runs beside this one in the same run, interleaved
// (A B, B A, ...), and each row prints this ÷ baseline (below 1: this build does less work).
// --profile DIR writes a `node --cpu-prof` profile of each server to DIR (cpu mode).
//
// Bounded: every download has a deadline, the RSS run stops itself; loopback only. Results go to
// stdout and bench-results/per-packet-<date>.md. Needs `npm run build` first.
//
// Usage: node scripts/bench/per-packet.mjs [--file-mib N] [--runs N] [--settings 512x1,1428x16,...]
//          [--instructions] [--rss [--rss-clients 200] [--rss-seconds 20] [--rss-file-mib 1024]
//          [--rss-blksize 1428]] [--only-rss] [--profile DIR]
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { createReadStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import {
  BASELINE_CLI, MiB, PXECAST_CLI, baselineVersion, freeUdpPort, lastLine, machineLine, makeWorkDir, median, positiveInt,
  printHeaderComment, pxecastVersion, sleep, utcStamp, writeRandomFile, writeReport,
} from './lib.mjs';
import { readFile } from './tftp-reader.mjs';

const run = promisify(execFile);
const PAYLOAD = 'payload.bin';
const BIG = 'big.bin';
const PROBE = 'ready.bin';

const { values: flags } = parseArgs({
  options: {
    'file-mib': { type: 'string' },
    runs: { type: 'string' },
    settings: { type: 'string', default: '512x1,1428x1,8192x1,512x16,1428x16,8192x16' },
    instructions: { type: 'boolean', default: false },
    rss: { type: 'boolean', default: false },
    'only-rss': { type: 'boolean', default: false },
    'rss-clients': { type: 'string', default: '200' },
    'rss-seconds': { type: 'string', default: '20' },
    'rss-file-mib': { type: 'string', default: '1024' },
    'rss-blksize': { type: 'string', default: '1428' },
    warmup: { type: 'string' },
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
const instructions = flags.instructions;
const config = {
  fileBytes: positiveInt(flags['file-mib'] ?? (instructions ? '1' : '16'), '--file-mib') * MiB,
  runs: positiveInt(flags.runs ?? (instructions ? '1' : '5'), '--runs'),
  // Unmeasured downloads per setting and build first, so the JIT has settled: TurboFan compiles
  // (on other threads) for several thousand blocks after start.
  warmup: positiveInt(flags.warmup ?? (instructions ? '4' : '1'), '--warmup'),
  settings: flags.settings.split(',').map((s) => s.split('x').map((n) => positiveInt(n, '--settings'))),
  rss: flags.rss || flags['only-rss'],
  rssClients: positiveInt(flags['rss-clients'], '--rss-clients'),
  rssSeconds: positiveInt(flags['rss-seconds'], '--rss-seconds'),
  rssFileBytes: positiveInt(flags['rss-file-mib'], '--rss-file-mib') * MiB,
  rssBlksize: positiveInt(flags['rss-blksize'], '--rss-blksize'),
};
// Under valgrind the server runs ~50× slower: the reader waits longer before asking again.
const READER_TIMING = instructions ? { retryMs: 5000, deadlineMs: 1_200_000 } : { retryMs: 1000, deadlineMs: 120_000 };
const BUILDS = [{ name: 'this', cli: PXECAST_CLI }, ...(BASELINE_CLI ? [{ name: 'baseline', cli: BASELINE_CLI }] : [])];

const { tmp, root } = makeWorkDir();
const children = new Set();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

const sections = [];
console.error(`generating ${config.fileBytes / MiB} MiB test file in ${tmp}`);
const expectedSha = writeRandomFile(join(root, PAYLOAD), config.fileBytes);
writeFileSync(join(root, PROBE), 'x', { mode: 0o644 });
if (!flags['only-rss']) sections.push(await perBlockSection());
if (config.rss) sections.push(await rssSection());
const report = [header(), ...sections].join('\n\n') + '\n';
console.log('\n' + report);
console.error(`written to ${writeReport('per-packet', report)}`);
process.exit(0);

function header() {
  return `# Per-packet cost, ${utcStamp()} UTC\n\n${machineLine()}; pxecast ${pxecastVersion()}` +
    (BASELINE_CLI ? `; baseline ${baselineVersion()}` : '') + `; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the end`;
}

async function perBlockSection() {
  const servers = [];
  for (const build of BUILDS) servers.push(await startServer(build, { valgrind: instructions }));
  try {
    for (let w = 0; w < config.warmup; w++) {
      for (const server of servers) for (const [blksize, windowsize] of config.settings) await download(server, blksize, windowsize);
    }
    const rows = [];
    for (const [blksize, windowsize] of config.settings) {
      const samples = new Map(servers.map((s) => [s, []]));
      const duplicates = new Map(servers.map((s) => [s, 0]));
      const allThreads = new Map(servers.map((s) => [s, []]));
      for (let r = 0; r < config.runs; r++) {
        const order = r % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const before = await server.meter.start();
          const result = await download(server, blksize, windowsize);
          const { used, all } = await server.meter.stop(before);
          const blocks = Math.floor(config.fileBytes / blksize) + 1;
          samples.get(server).push(used / blocks);
          allThreads.get(server).push(all / blocks);
          duplicates.set(server, duplicates.get(server) + result.duplicates);
          console.error(`blksize ${blksize} windowsize ${windowsize} run ${r + 1}/${config.runs} ${server.build.name}: ` +
            `${(used / blocks).toFixed(instructions ? 0 : 2)} ${server.meter.unit}/block (all threads ${(all / blocks).toFixed(instructions ? 0 : 2)}), ` +
            `${(result.ms / 1000).toFixed(2)} s, ` +
            `${result.duplicates} duplicate blocks`);
        }
      }
      rows.push({ blksize, windowsize, samples, duplicates, allThreads });
    }
    return perBlockTable(rows, servers);
  } finally {
    for (const server of servers) await server.stop();
  }
}

async function download(server, blksize, windowsize) {
  const result = await readFile({ host: '127.0.0.1', port: server.port, file: PAYLOAD, blksize, windowsize, ...READER_TIMING });
  if (!result.ok) throw new Error(`${server.build.name} blksize ${blksize} windowsize ${windowsize}: ${result.error}`);
  if (result.sha256 !== expectedSha) throw new Error(`${server.build.name} blksize ${blksize} windowsize ${windowsize}: sha256 mismatch`);
  return result;
}

function perBlockTable(rows, servers) {
  const unit = servers[0].meter.unit;
  const digits = instructions ? 0 : 2;
  const what = instructions
    ? 'Instructions the server\'s event-loop thread executed per DATA block (callgrind, timers and logging included); ' +
      '"all threads" adds the compiler, GC and libuv helper threads'
    : 'Server CPU time per DATA block on the event-loop thread (from /proc/PID/task/PID/schedstat); "all threads" adds ' +
      'the compiler, GC and libuv helper threads';
  const names = servers.map((s) => s.build.name);
  const lines = [
    `## Per block, ${config.fileBytes / MiB} MiB file, median of ${config.runs}`,
    '',
    `${what}; 127.0.0.1, tftp-reader.mjs as the client; duplicates: DATA blocks the reader got twice (server resends), all runs.`,
    '',
    `| blksize | windowsize | ${names.map((n) => `${n} ${unit}/block`).join(' | ')} |${servers.length > 1 ? ' this ÷ baseline |' : ''} ` +
      `${names.map((n) => `${n}, all threads`).join(' | ')} |${servers.length > 1 ? ' this ÷ baseline |' : ''} duplicates |`,
    `|---:|---:|${names.map(() => '---:').join('|')}|${servers.length > 1 ? '---:|' : ''}${names.map(() => '---:').join('|')}|` +
      `${servers.length > 1 ? '---:|' : ''}---|`,
  ];
  for (const row of rows) {
    const medians = servers.map((s) => median(row.samples.get(s)));
    const all = servers.map((s) => median(row.allThreads.get(s)));
    const ratio = (m) => (servers.length > 1 ? ` ${(m[0] / m[1]).toFixed(2)} |` : '');
    lines.push(`| ${row.blksize} | ${row.windowsize} | ${medians.map((m) => fmt(m, digits)).join(' | ')} |${ratio(medians)} ` +
      `${all.map((m) => fmt(m, digits)).join(' | ')} |${ratio(all)} ` +
      `${servers.map((s) => `${s.build.name} ${row.duplicates.get(s)}`).join(', ')} |`);
  }
  return lines.join('\n');
}

function fmt(n, digits) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

async function rssSection() {
  const { rssClients: clients, rssSeconds: seconds, rssFileBytes: size, rssBlksize: blksize } = config;
  console.error(`generating ${size / MiB} MiB file for the RSS run`);
  writeRandomFile(join(root, BIG), size);
  const results = [];
  // Sequential (each run fills both cores), alternating builds.
  for (const build of BUILDS) {
    const metricsPort = await freeTcpPort();
    const server = await startServer(build, { valgrind: false, maxTransfers: clients, metricsPort });
    try {
      const samples = [];
      const started = performance.now();
      const sample = async () => {
        const s = (performance.now() - started) / 1000;
        const mb = rssMb(server.pid);
        samples.push({ s, mb, ...(await heapMb(metricsPort)) });
      };
      const sampler = setInterval(() => void sample(), 1000);
      const copies = await Promise.all(Array.from({ length: clients }, () => readFile({
        host: '127.0.0.1', port: server.port, file: BIG, blksize, retryMs: 1000, deadlineMs: (seconds + 60) * 1000, stopAfterMs: seconds * 1000,
      })));
      clearInterval(sampler);
      await sample();
      const failed = copies.filter((c) => !c.ok);
      const reasons = [...new Set(failed.map((c) => c.error))].slice(0, 3).join('; ');
      const wrong = await wrongPrefixes(join(root, BIG), copies.filter((c) => c.ok));
      const line = `${build.name}: RSS ${samples.map((x) => x.mb.toFixed(0)).join(', ')} MB; ` +
        `${copies.reduce((n, c) => n + c.bytes, 0) / MiB | 0} MiB served; ${failed.length} readers failed` +
        `${reasons ? ` (${reasons})` : ''}; ${wrong} copies wrong; heap/external MB at the end: ` +
        `${samples.at(-1).heapUsed?.toFixed(0)}/${samples.at(-1).external?.toFixed(0)}`;
      console.error(line);
      results.push({ build, samples, copies, failed, wrong, reasons });
    } finally {
      await server.stop();
    }
  }
  const marks = [5, 10, 15, 20, 30, 45, 60].filter((s) => s <= seconds);
  const at = (samples, s) => samples.reduce((best, x) => (Math.abs(x.s - s) < Math.abs(best.s - s) ? x : best)).mb;
  const lines = [
    `## RSS, ${clients} parallel readers of a ${size / MiB} MiB file for ${seconds} s`,
    '',
    `blksize ${blksize}, lock-step, 127.0.0.1; the server's VmRSS each second; after ${seconds} s every reader stops ` +
      '(ERROR to the server) and every copy so far is checked by sha256 against the same prefix of the file.',
    '',
    `| build | ${marks.map((s) => `RSS at ${s} s`).join(' | ')} | max RSS | V8 heap used / external at the end | MiB served | readers failed | copies wrong |`,
    `|---|${marks.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|`,
  ];
  for (const r of results) {
    const end = r.samples.at(-1);
    lines.push(`| ${r.build.name} | ${marks.map((s) => `${at(r.samples, s)?.toFixed(0) ?? '-'} MB`).join(' | ')} | ` +
      `${Math.max(...r.samples.map((x) => x.mb)).toFixed(0)} MB | ${end.heapUsed?.toFixed(0) ?? '?'} / ${end.external?.toFixed(0) ?? '?'} MB | ` +
      `${(r.copies.reduce((n, c) => n + c.bytes, 0) / MiB).toFixed(0)} | ${r.failed.length}${r.reasons ? ` (${r.reasons})` : ''} | ${r.wrong} |`);
  }
  return lines.join('\n');
}

/** Copies whose sha256 differs from the file's prefix of the same length (one pass over the file). */
async function wrongPrefixes(path, copies) {
  const sorted = [...copies].sort((a, b) => a.bytes - b.bytes);
  const hash = createHash('sha256');
  let offset = 0;
  let i = 0;
  let wrong = 0;
  const settle = () => {
    while (i < sorted.length && sorted[i].bytes === offset) if (hash.copy().digest('hex') !== sorted[i++].sha256) wrong++;
  };
  settle();
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) {
    let at = 0;
    while (at < chunk.length) {
      const next = i < sorted.length ? Math.min(chunk.length, at + sorted[i].bytes - offset) : chunk.length;
      hash.update(chunk.subarray(at, next));
      offset += next - at;
      at = next;
      settle();
    }
  }
  return wrong + (sorted.length - i);
}

/** V8 heap used and external memory (MB) from the server's Prometheus endpoint (prom-client's
 *  process metrics); empty when it does not answer. */
async function heapMb(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const value = (name) => Number(text.match(new RegExp(`^${name} (\\S+)`, 'm'))?.[1] ?? NaN) / MiB;
    return { heapUsed: value('nodejs_heap_size_used_bytes'), external: value('nodejs_external_memory_bytes') };
  } catch {
    return {};
  }
}

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function rssMb(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** Starts `pxecast serve` for `build` on a free 127.0.0.1 port and waits until it serves. */
async function startServer(build, { valgrind, maxTransfers = 64, metricsPort = null }) {
  const port = await freeUdpPort();
  const ini = join(tmp, `${build.name}-${port}.ini`);
  writeFileSync(ini, ['[log]', 'level = warn', '[tftp]', 'listen = 127.0.0.1', `port = ${port}`, `root = ${root}`,
    'max_blksize = 65464', 'max_windowsize = 64', `max_transfers = ${maxTransfers + 64}`,
    `max_transfers_per_client = ${Math.max(maxTransfers, 64)}`, `max_unconfirmed = ${Math.max(maxTransfers, 64)}`,
    `client_request_rate = ${Math.max(maxTransfers, 64) * 10}`, `client_request_burst = ${Math.max(maxTransfers, 64) * 10}`,
    '[multicast]', 'enabled = false', '[mtftp]', 'enabled = false', '[control]', `socket = ${ini}.sock`,
    ...(metricsPort ? ['[metrics]', `listen = 127.0.0.1:${metricsPort}`] : []), ''].join('\n'));
  const cgOut = join(tmp, `callgrind-${build.name}`);
  const nodeArgs = flags.profile && !valgrind ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(flags.profile), build.name)}`] : [];
  if (nodeArgs.length) mkdirSync(join(resolve(flags.profile), build.name), { recursive: true });
  const [command, args] = valgrind
    ? ['valgrind', ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${cgOut}.%p`, process.execPath, build.cli, 'serve', '--config', ini]]
    : [process.execPath, [...nodeArgs, build.cli, 'serve', '--config', ini]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = performance.now() + (valgrind ? 300_000 : 15_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${build.name} exited at start: ${lastLine(output)}`);
    const probe = await readFile({ host: '127.0.0.1', port, file: PROBE, blksize: 512, retryMs: 1000, deadlineMs: valgrind ? 20_000 : 2000 });
    if (probe.ok) break;
    if (performance.now() > deadline) throw new Error(`${build.name} not serving: ${lastLine(output) || probe.error}`);
    await sleep(200);
  }
  const pid = child.pid;
  return {
    build,
    port,
    pid,
    meter: valgrind ? callgrindMeter(pid, cgOut, port) : cpuMeter(pid),
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), valgrind ? 60_000 : 10_000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

/** CPU time of the event-loop thread (the main thread: its TID is the PID) and of all threads of
 *  `pid`, in µs. */
function cpuMeter(pid) {
  const threadNs = (tid) => {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      return 0; // the thread ended meanwhile
    }
  };
  const read = () => ({ main: threadNs(pid), all: readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + threadNs(tid), 0) });
  return {
    unit: 'µs',
    start: async () => read(),
    stop: async (before) => {
      const now = read();
      return { used: (now.main - before.main) / 1000, all: (now.all - before.all) / 1000 };
    },
  };
}

/**
 * Instructions since start(), from callgrind's own counters: `callgrind_control -z` zeroes them,
 * `-d` dumps them to a new file whose `summary:` line is the total. Valgrind reads such commands
 * only while the process runs, so an idle server is woken with a datagram it drops (a stray ACK to
 * the request port costs the same few instructions in every build).
 */
function callgrindMeter(pid, cgOut, port) {
  let dumps = 0;
  const command = async (flag) => {
    const pending = run('callgrind_control', [flag, String(pid)], { timeout: 120_000 });
    const socket = createSocket('udp4');
    const wake = setInterval(() => socket.send(Buffer.from([0, 4, 0, 0]), port, '127.0.0.1'), 500);
    try {
      await pending;
    } finally {
      clearInterval(wake);
      socket.close();
    }
  };
  return {
    unit: 'instructions',
    start: async () => {
      await command('-z');
      return null;
    },
    stop: async () => {
      await command('-d');
      dumps++;
      // --separate-threads: one file per thread, `<out>.<pid>.<dump>-<thread>`; thread 1 runs the loop.
      const files = readdirSync(tmp).filter((f) => f.startsWith(`${basename(cgOut)}.${pid}.${dumps}-`));
      let used = 0;
      let all = 0;
      for (const f of files) {
        const summary = readFileSync(join(tmp, f), 'utf8').match(/^summary: (\d+)/m);
        if (!summary) throw new Error(`no summary in ${f}`);
        all += Number(summary[1]);
        if (f.endsWith('-01')) used = Number(summary[1]);
      }
      if (files.length === 0) throw new Error(`no callgrind dump ${dumps} of ${pid}`);
      return { used, all };
    },
  };
}
