// Helpers shared by the benchmarks in this folder: the compiled test-support modules, the work
// directory, the random payload, the report file and small formatting utilities.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { constants, cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const PXECAST_CLI = join(repo, 'build/src/cli.js');
/**
 * PXECAST_BASELINE=DIR: another built checkout of pxecast (e.g. the commit before a refactor). The
 * unicast, multicast and DHCP benchmarks then run its DIR/build/src/cli.js beside this one, in the
 * same run and interleaved, and print the ratio this/baseline.
 */
export const BASELINE_CLI = process.env.PXECAST_BASELINE ? join(resolve(process.env.PXECAST_BASELINE), 'build/src/cli.js') : null;
if (BASELINE_CLI && !existsSync(BASELINE_CLI)) {
  console.error(`PXECAST_BASELINE: ${BASELINE_CLI} not found (build that checkout first)`);
  process.exit(2);
}

/** `version (rev)` of the PXECAST_BASELINE checkout, for report headers. */
export function baselineVersion() {
  const dir = resolve(process.env.PXECAST_BASELINE ?? '.');
  try {
    return `${dir} (${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()})`;
  } catch {
    return dir;
  }
}
export const MiB = 1024 * 1024;

/** build/test/support/{netns,peers}.js, or exit 2 with a hint when the project is not built. */
export async function loadSupport() {
  const supportDir = join(repo, 'build/test/support');
  if (!existsSync(join(supportDir, 'netns.js')) || !existsSync(join(supportDir, 'peers.js'))) {
    console.error('build/test/support/{netns,peers}.js not found: run `npm run build` first');
    process.exit(2);
  }
  const netns = await import(join(supportDir, 'netns.js'));
  const peers = await import(join(supportDir, 'peers.js'));
  return { netns, peers };
}

/** Prints the script's leading comment block (after the shebang) as its --help. */
export function printHeaderComment(scriptUrl) {
  const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((line) => !line.startsWith('//'))).join('\n'));
}

/**
 * A fresh /tmp/pxc-bench-XXXX removed on exit (SIGINT and SIGTERM exit too, so exit handlers run),
 * with a world-traversable `root` inside: the servers drop to nobody, so every directory on the
 * way to the served file must be traversable.
 */
export function makeWorkDir() {
  const tmp = mkdtempSync('/tmp/pxc-bench-');
  process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(128 + constants.signals[signal]));
  chmodSync(tmp, 0o755);
  const root = join(tmp, 'root');
  mkdirSync(root, { mode: 0o755 });
  return { tmp, root };
}

/** Writes `size` pseudo-random bytes (mode 0644) and returns their sha256. */
export function writeRandomFile(path, size) {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w', 0o644);
  try {
    for (let written = 0; written < size; written += MiB) {
      const chunk = randomBytes(Math.min(MiB, size - written));
      hash.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Writes bench-results/<name>-<UTC date and time>.md and returns its path. */
export function writeReport(name, report) {
  mkdirSync(join(repo, 'bench-results'), { recursive: true });
  const file = join(repo, 'bench-results', `${name}-${new Date().toISOString().slice(0, 16).replace(':', '')}.md`);
  writeFileSync(file, report);
  return file;
}

/** "2026-11-21 11:45" (UTC), for report titles. */
export function utcStamp() {
  return new Date().toISOString().slice(0, 16).replace('T', ' ');
}

export function machineLine() {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.version}`;
}

export function pxecastVersion() {
  const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    return `${version} (${rev})`;
  } catch {
    return version;
  }
}

export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export function lastLine(text) {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

/** Parses a flag value as a positive integer, or exits 2 naming the flag. */
export function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${flag} expects a positive integer, got '${text}'`);
    process.exit(2);
  }
  return n;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls a freshly started TFTP server with a tiny atftp download (from `netns`, else here) until
 * it answers; throws after 15 s or when the process exits. `peers` is build/test/support/peers.js.
 */
export async function waitUntilServing(peers, handle, { host, port, remote, local, netns }) {
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    if (!handle.isRunning()) throw new Error(`exited at start: ${lastLine(handle.outputTail()) || 'no output'}`);
    const probe = await peers.downloadWithAtftp({ host, port, remote, local, timeoutMs: 2000, ...(netns ? { netns } : {}) });
    if (probe.ok) return;
    last = lastLine(probe.stderr) || (probe.timedOut ? 'no answer' : `atftp exit ${probe.exitCode}`);
    await sleep(250);
  }
  throw new Error(`not serving after 15 s (${last})`);
}

/**
 * Starts `pxecast serve ARGS` (`cli`: this build's by default) in `ns` and waits up to 15 s for
 * `ready` in its output. Returns { handle, error }: error is null once it is up, else why it did
 * not start (it is killed then).
 */
export async function startPxecast(netns, ns, args, ready, cli = PXECAST_CLI) {
  const handle = netns.spawnInNamespace(ns, process.execPath, [cli, 'serve', ...args]);
  const deadline = Date.now() + 15_000;
  while (!ready.test(handle.outputTail())) {
    if (!handle.isRunning() || Date.now() > deadline) {
      const error = `FAIL: did not start (${lastLine(handle.outputTail()) || 'no output'})`;
      await handle.kill();
      return { handle, error };
    }
    await sleep(20);
  }
  return { handle, error: null };
}

/**
 * Starts atftpd in `ns` on `address`:69 serving `root`, with `extraArgs` before the root. It logs
 * to stdout at level 6 (per request, never per packet), so a report can say what it did. It prints
 * nothing when ready: `probe` ({ remote, local, netns }) is fetched until it works. Returns
 * { handle, error } like startPxecast; handle is null when atftpd is not installed.
 */
export async function startAtftpd(netns, peers, ns, { address, root, extraArgs, probe }) {
  const program = peers.findPeer('atftpd');
  if (!program) return { handle: null, error: 'n/a (atftpd not installed; see PXECAST_ATFTPD)' };
  const handle = netns.spawnInNamespace(ns, program.path, [
    '--daemon', '--no-fork', '--logfile', '-', '--verbose=6', '--port', '69', '--bind-address', address, ...extraArgs, root,
  ]);
  try {
    await waitUntilServing(peers, handle, { host: address, port: 69, ...probe });
    return { handle, error: null };
  } catch (err) {
    await handle.kill();
    return { handle, error: `FAIL: did not start (${err.message})` };
  }
}

// Other benchmarks in this folder and test runs: on 2 cores, measuring beside them is meaningless.
const BUSY_PATTERN = 'scripts/bench/|node --test|run-tests\\.mjs';
const BENCH_PATTERN = /scripts\/bench\//;

/**
 * Command lines of test runs and of the benchmarks that started before this process (not
 * `selfScript`, e.g. 'bench/multicast.mjs'). Only older benchmarks count, so two benchmarks that
 * both wait for quiet never wait for each other: the younger one waits, the older one goes on.
 * `olderOnly: false` counts younger ones too (did anything overlap a measurement?).
 */
export function otherActivity(selfScript, { olderOnly = true } = {}) {
  try {
    return othersIn(execFileSync('pgrep', ['-af', BUSY_PATTERN], { encoding: 'utf8', timeout: 5000 }), selfScript, olderOnly);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/**
 * Polls for other benchmarks and test runs every `intervalMs` in the background (without blocking
 * the event loop) until stop(), which resolves with every command line seen meanwhile. Unlike
 * otherActivity() it counts younger benchmarks too (one started with --no-wait disturbs as much).
 */
export function watchActivity(selfScript, intervalMs = 1000) {
  const seen = new Set();
  const poll = () => new Promise((resolve) => {
    execFile('pgrep', ['-af', BUSY_PATTERN], { encoding: 'utf8', timeout: 5000 }, (err, out) => {
      if (!err) othersIn(out, selfScript, false).forEach((l) => seen.add(l));
      resolve();
    });
  });
  let pending = poll();
  const timer = setInterval(() => (pending = pending.then(poll)), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      await poll();
      return [...seen];
    },
  };
}

function othersIn(pgrepOutput, selfScript, olderOnly) {
  const ownStart = startTicks(process.pid);
  return pgrepOutput.split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.includes(selfScript) && !l.startsWith(`${process.pid} `))
    .filter((l) => {
      if (!olderOnly || !BENCH_PATTERN.test(l)) return true;
      const start = startTicks(Number(l.split(' ')[0]));
      return start !== null && ownStart !== null && start < ownStart;
    })
    .map((l) => l.split(' ').slice(1).join(' '));
}

/** When a process started, in clock ticks since boot (/proc/PID/stat field 22); null if gone. */
function startTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

/**
 * Polls every `pollMs` until no other benchmark or test run is left, at most `maxWaitMs`; returns
 * what is still running then (empty: quiet).
 */
export async function waitForQuiet(selfScript, { maxWaitMs, pollMs = 10_000 }) {
  const deadline = Date.now() + maxWaitMs;
  let found = otherActivity(selfScript);
  let said = '';
  while (found.length && Date.now() < deadline) {
    if (found[0] !== said) console.error(`waiting for: ${(said = found[0])}`);
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    found = otherActivity(selfScript);
  }
  return found;
}

/** `key=value` fields of one pxecast log line (values may be JSON-quoted). */
export function parseFields(line) {
  const fields = {};
  for (const [, key, value] of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) fields[key] = value;
  return fields;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Waits (at most 10 s) until the server's interface has sent nothing for 1 s, so the traffic of
 *  the previous scenario is not counted in the next. */
export async function quiesce(netns, serverEnd) {
  const deadline = Date.now() + 10_000;
  let last = netns.txBytes(serverEnd);
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < 1000) {
    await sleep(200);
    const now = netns.txBytes(serverEnd);
    if (now !== last) [last, quietSince] = [now, Date.now()];
  }
}

/**
 * Pacing check (--pacing): the DATA rate pxecast achieved against its `max_rate`, from the summary
 * lines of the multicast sessions or MTFTP passes that ran together (each has bytes_sent,
 * data_packets and duration_ms). What `max_rate` caps is TFTP DATA packets, payload plus the 4-byte
 * header, so that is what is counted; sessions that ran side by side share one window, the longest.
 */
export function pacingRate(summaryLines, maxRateMbps) {
  const fields = summaryLines.map(parseFields);
  const bytes = fields.reduce((n, f) => n + Number(f.bytes_sent ?? 0) + 4 * Number(f.data_packets ?? 0), 0);
  const ms = Math.max(0, ...fields.map((f) => Number(f.duration_ms ?? 0)));
  const mbps = ms > 0 ? (bytes * 8) / ms / 1000 : 0;
  return { mbps, ratio: mbps / maxRateMbps, bytes, ms, count: fields.length };
}

/** Within ±10% of max_rate: the goal of issue 12 item 5. */
export const PACING_TOLERANCE = 0.1;

/** One output line of a pacing check. */
export function pacingLine(what, maxRateMbps, rate, extra = '') {
  const verdict = Math.abs(rate.ratio - 1) <= PACING_TOLERANCE ? 'ok' : 'OUT OF ±10%';
  return `pacing ${what} max_rate=${maxRateMbps} Mbit/s: achieved ${rate.mbps.toFixed(1)} Mbit/s = ` +
    `${rate.ratio.toFixed(3)} × max_rate [${verdict}] (${(rate.bytes / MiB).toFixed(1)} MiB in ${rate.ms} ms, ` +
    `${rate.count} summary line(s))${extra ? `; ${extra}` : ''}`;
}

/** Bytes of a pacing test file: about `seconds` at `maxRateMbps`, at most `capBytes`. */
export function pacingFileBytes(maxRateMbps, seconds, capBytes) {
  return Math.min(capBytes, Math.round((maxRateMbps * 1e6 * seconds) / 8));
}
