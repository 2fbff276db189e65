#!/usr/bin/env node
// Duplicate blocks under server load (issue 12 item 10): atftp's high-load test, side by side.
// N parallel `atftp --get` of one 1 MiB pseudo-random file (default 512-byte blocks, lock-step)
// from one server on 127.0.0.1, for N in --clients (default 200,500), against pxecast, tftpd-hpa
// and atftpd in the same run, interleaved (the server order rotates every round). Counted per
// run: downloads that finished with the right sha256, the `got wrong block <block: N>, sending
// extra ACK` lines the atftp clients print (one per duplicate block received: a block resent
// although the client had it), wall time, and for pxecast the retransmits and spurious timeouts
// of its transfer summaries. On loopback nothing is lost, so the target is 0 duplicates.
// Bounded: every client is killed after --timeout seconds, each cell runs --rounds times.
//
// Needs `npm run build` first. tftpd-hpa and atftpd conflict as Debian packages: point
// PXECAST_IN_TFTPD / PXECAST_ATFTPD at unpacked copies (apt-get download tftpd-hpa atftpd;
// dpkg-deb -x) when they are not installed.
//
// `pxecast:W` runs pxecast with `[tftp] workers = W` (0, auto, N), so several pxecast settings can
// be compared in the same interleaved run; plain `pxecast` uses the default.
//
// Usage: node scripts/bench/busy-server.mjs [--clients 200,500] [--rounds 1] [--timeout 120]
//                                           [--servers pxecast:0,pxecast:auto,tftpd-hpa,atftpd]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  MiB, PXECAST_CLI, freeUdpPort, lastLine, loadSupport, machineLine, makeWorkDir, parseFields, positiveInt,
  printHeaderComment, pxecastVersion, utcStamp, waitForQuiet, waitUntilServing, writeRandomFile, writeReport,
} from './lib.mjs';

const { netns, peers } = await loadSupport();

const PAYLOAD = 'payload.bin';
const READY_PROBE = 'ready.bin';
const FILE_BYTES = 1 * MiB;
const WRONG_BLOCK = /got wrong block/g;

const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string', default: '200,500' },
    rounds: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '120' },
    servers: { type: 'string', default: 'pxecast,tftpd-hpa,atftpd' },
    'no-wait': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
const clientCounts = flags.clients.split(',').map((n) => positiveInt(n, '--clients'));
if (clientCounts.some((n) => n > 1000)) throw new Error('--clients: at most 1000 parallel clients');
const rounds = positiveInt(flags.rounds, '--rounds');
const timeoutS = positiveInt(flags.timeout, '--timeout');

/** pxecast, with `[tftp] workers = W` when given. */
const pxecastServer = (workers) => ({
  missing: () => null,
  command: (host, port, root, tmp) => {
    const ini = join(tmp, `pxecast-${port}.ini`);
    // Limits opened for one host running 500 clients; the RTO settings are the defaults.
    writeFileSync(ini, ['[log]', 'level = info', '[tftp]', `listen = ${host}`, `port = ${port}`, `root = ${root}`,
      'max_transfers = 2000', 'max_transfers_per_client = 2000', 'client_request_rate = 100000',
      'client_request_burst = 2000', 'max_unconfirmed = 2000', ...(workers === undefined ? [] : [`workers = ${workers}`]),
      // A control socket of its own: several pxecast instances run side by side.
      '[control]', `socket = ${join(tmp, `control-${port}.sock`)}`, ''].join('\n'));
    return [process.execPath, [PXECAST_CLI, 'serve', '--config', ini]];
  },
});
const isPxecast = (name) => name === 'pxecast' || name.startsWith('pxecast:');

const SERVERS = {
  pxecast: pxecastServer(undefined),
  'tftpd-hpa': {
    missing: () => (peers.findPeer('tftpd-hpa') ? null : 'n/a (not installed; see PXECAST_IN_TFTPD)'),
    command: (host, port, root) => [peers.findPeer('tftpd-hpa').path, ['-L', '-s', root, '-a', `${host}:${port}`]],
  },
  atftpd: {
    missing: () => (peers.findPeer('atftpd') ? null : 'n/a (not installed; see PXECAST_ATFTPD)'),
    // --maxthread: its default of 100 would refuse most of 500 clients.
    command: (host, port, root) => [peers.findPeer('atftpd').path,
      ['--daemon', '--no-fork', '--logfile', '/dev/null', '--maxthread', '2000', '--port', String(port), '--bind-address', host, root]],
  },
};

const { tmp, root } = makeWorkDir();
const names = flags.servers.split(',').map((n) => {
  const workers = /^pxecast:(auto|\d+)$/.exec(n)?.[1];
  if (workers !== undefined) SERVERS[n] = pxecastServer(workers);
  if (!SERVERS[n]) throw new Error(`--servers: unknown ${n}`);
  return n;
});

try {
  await main();
} finally {
  netns.teardown();
}

async function main() {
  if (!peers.findPeer('atftp')) throw new Error('the atftp client is required (apt-get install atftp)');
  if (!flags['no-wait']) {
    const busy = await waitForQuiet('bench/busy-server.mjs', { maxWaitMs: 10 * 60_000 });
    if (busy.length) console.error(`still running (results may be disturbed): ${busy.join('; ')}`);
  }
  const expectedSha = writeRandomFile(join(root, PAYLOAD), FILE_BYTES);
  writeFileSync(join(root, READY_PROBE), 'x', { mode: 0o644 });
  const instances = [];
  for (const name of names) instances.push(await startServer(name));
  const results = new Map(); // `${name}/${n}` -> runs
  try {
    for (const n of clientCounts) {
      for (let round = 0; round < rounds; round++) {
        // Interleaved: each round starts with the next server, so drift in machine load spreads.
        const order = instances.map((_, i) => instances[(i + round) % instances.length]);
        for (const inst of order) {
          if (inst.error) continue;
          const run = await loadRun(inst, n, expectedSha);
          const key = `${inst.name}/${n}`;
          results.set(key, [...(results.get(key) ?? []), run]);
          console.error(`${n} clients round ${round + 1}/${rounds} ${inst.name}: ${describe(run)}`);
        }
      }
    }
  } finally {
    await Promise.all(instances.filter((i) => i.handle).map((i) => i.handle.kill()));
  }
  const report = [header(), table(instances, results)].join('\n\n') + '\n';
  console.log('\n' + report);
  console.error(`written to ${writeReport('busy-server', report)}`);
}

async function startServer(name) {
  const server = SERVERS[name];
  const missing = server.missing();
  if (missing) return { name, error: missing };
  const host = '127.0.0.1';
  const port = await freeUdpPort();
  const [command, args] = server.command(host, port, root, tmp);
  // Every line of output is kept while a run lasts (the handle keeps only a tail): pxecast's
  // transfer summaries are counted from it.
  const inst = { name, host, port, output: [] };
  const handle = netns.spawnInNamespace(null, command, args, { onOutput: (chunk) => inst.output.push(chunk) });
  inst.handle = handle;
  try {
    await waitUntilServing(peers, handle, { host, port, remote: READY_PROBE, local: join(tmp, 'ready.out') });
    return inst;
  } catch (err) {
    await handle.kill();
    return { name, error: `FAIL: did not start (${err.message})` };
  }
}

/** N parallel atftp clients against one server; resolves when every client has exited. */
async function loadRun(inst, n, expectedSha) {
  const started = performance.now();
  inst.output.length = 0;
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(oneClient(inst, i, expectedSha));
  const outcomes = await Promise.all(clients);
  return {
    ms: performance.now() - started,
    ok: outcomes.filter((o) => o.ok).length,
    failed: outcomes.filter((o) => !o.ok).length,
    duplicates: outcomes.reduce((sum, o) => sum + o.duplicates, 0),
    clientsWithDuplicates: outcomes.filter((o) => o.duplicates > 0).length,
    reasons: [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.reason))].slice(0, 3),
    pxecast: isPxecast(inst.name) ? pxecastCounters(inst) : null,
  };
}

function oneClient(inst, i, expectedSha) {
  const local = join(tmp, `${inst.name}-${i}.out`);
  rmSync(local, { force: true });
  return new Promise((resolve) => {
    const child = spawn(peers.findPeer('atftp').path, ['--get', '-r', PAYLOAD, '-l', local, inst.host, String(inst.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const duplicates = (output.match(WRONG_BLOCK) ?? []).length;
      let ok = false;
      let reason = timedOut ? `no end within ${timeoutS} s` : `atftp exit ${code}: ${lastLine(output)}`;
      if (!timedOut && code === 0) {
        try {
          ok = createHash('sha256').update(readFileSync(local)).digest('hex') === expectedSha;
          if (!ok) reason = 'sha256 mismatch';
        } catch (err) {
          reason = err.message;
        }
      }
      rmSync(local, { force: true });
      resolve({ ok, duplicates, reason });
    });
  });
}

/** Retransmits and spurious timeouts of pxecast's read summaries during the run. */
function pxecastCounters(inst) {
  const last = Buffer.concat(inst.output).toString('utf8').split('\n').filter((l) => l.includes('info transfer') && l.includes(`file=${PAYLOAD}`));
  let retransmits = 0;
  let spurious = 0;
  const workers = {};
  for (const line of last) {
    const f = parseFields(line);
    retransmits += Number(f.retransmits ?? 0);
    spurious += Number(f.spurious_timeouts ?? 0);
    const w = f.worker ?? 'main';
    workers[w] = (workers[w] ?? 0) + 1;
  }
  return { summaries: last.length, retransmits, spurious, workers };
}

function describe(run) {
  const px = run.pxecast ? `; pxecast: ${run.pxecast.retransmits} retransmits, ${run.pxecast.spurious} spurious timeouts (${run.pxecast.summaries} summaries read; by thread ${threads(run.pxecast.workers)})` : '';
  return `${run.ok} ok, ${run.failed} failed, ${run.duplicates} duplicate blocks at ${run.clientsWithDuplicates} clients, ` +
    `${(run.ms / 1000).toFixed(1)} s${px}${run.reasons.length ? `; ${run.reasons.join(' | ')}` : ''}`;
}

/** Transfers per thread that ran them: `main 200` or `1: 101, 2: 99`. */
function threads(workers) {
  return Object.entries(workers).sort(([a], [b]) => a.localeCompare(b)).map(([w, n]) => (w === 'main' ? `main ${n}` : `${w}: ${n}`)).join(', ');
}

function header() {
  const versions = ['atftp', 'tftpd-hpa', 'atftpd'].map((n) => `${n}: ${peers.findPeer(n)?.version ?? 'not installed'}`).join('; ');
  return [
    `# Duplicate blocks under load (atftp high-load test), ${utcStamp()} UTC`,
    '',
    `- pxecast ${pxecastVersion()}; ${versions}`,
    `- ${machineLine()}`,
    `- N parallel \`atftp --get\` of a ${FILE_BYTES / MiB} MiB file (512-byte blocks) from one server on 127.0.0.1; ` +
      `${rounds} round(s), servers interleaved; every download checked by sha256; clients killed after ${timeoutS} s`,
    '- duplicates = `got wrong block ..., sending extra ACK` lines of the clients (blocks they received twice); no loss on loopback',
  ].join('\n');
}

function table(instances, results) {
  const lines = [
    '| clients | server | ok / failed | duplicate blocks (median) | clients with duplicates | wall s (median) | wall ÷ fastest peer | pxecast retransmits / spurious | transfers per thread | duplicates vs pxecast |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const n of clientCounts) {
    const median = (runs, f) => [...runs.map(f)].sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    const firstPxecast = instances.find((i) => isPxecast(i.name) && !i.error);
    const ours = firstPxecast && results.get(`${firstPxecast.name}/${n}`);
    const peerWalls = instances.filter((i) => !isPxecast(i.name) && !i.error && results.get(`${i.name}/${n}`)?.length)
      .map((i) => median(results.get(`${i.name}/${n}`), (r) => r.ms));
    const fastestPeer = peerWalls.length ? Math.min(...peerWalls) : null;
    const ourDup = ours ? median(ours, (r) => r.duplicates) : null;
    for (const inst of instances) {
      if (inst.error) {
        lines.push(`| ${n} | ${inst.name} | ${inst.error} | | | | | | | |`);
        continue;
      }
      const runs = results.get(`${inst.name}/${n}`) ?? [];
      if (!runs.length) continue;
      const dup = median(runs, (r) => r.duplicates);
      const ok = runs.map((r) => `${r.ok}/${r.failed}`).join(', ');
      const px = runs[0].pxecast ? runs.map((r) => `${r.pxecast.retransmits} / ${r.pxecast.spurious}`).join(', ') : '';
      const perThread = runs[0].pxecast ? runs.map((r) => threads(r.pxecast.workers)).join('; ') : '';
      const wall = median(runs, (r) => r.ms);
      const vsPeer = fastestPeer === null ? '' : `${(wall / fastestPeer).toFixed(2)}`;
      const vs = isPxecast(inst.name) || ourDup === null ? '' : dup === 0 ? (ourDup === 0 ? '1 (both 0)' : `∞ (${ourDup} vs 0)`) : `${Number((ourDup / dup).toPrecision(3))}×`;
      lines.push(`| ${n} | ${inst.name} | ${ok} | ${dup} | ${median(runs, (r) => r.clientsWithDuplicates)} | ${(wall / 1000).toFixed(1)} | ${vsPeer} | ${px} | ${perThread} | ${vs} |`);
    }
  }
  return lines.join('\n');
}
