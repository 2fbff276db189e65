#!/usr/bin/env node
// Unicast TFTP throughput: pxecast vs tftpd-hpa vs atftpd, every server downloaded with atftp.
//   1. Loopback: each server on its own 127.0.0.1 port; blksize 512/1428/8192 x windowsize 1/16;
//      median of --runs downloads of one pseudo-random file, each verified by sha256.
//   2. 5% loss: servers in one namespace, atftp in another, joined by a veth pair, with a random
//      drop of UDP arriving in the client namespace; each run capped at --loss-timeout seconds.
// Results go to stdout and to bench-results/unicast-<date>.md. A full run takes about 30 minutes,
// mostly peers that do not finish the loss case; --quick is a smoke test of a few minutes.
//
// Needs `npm run build` first (it imports build/test/support/*.js); the loss case needs root.
// atftpd cannot be installed next to tftpd-hpa on Debian (the packages conflict); point
// PXECAST_ATFTPD at an unpacked copy: apt-get download atftpd && dpkg-deb -x atftpd_*.deb DIR
//
// PXECAST_BASELINE=DIR adds DIR's pxecast build as a fourth server (pxecast-baseline), measured in
// the same rounds, with a column pxecast/pxecast-baseline.
//
// Usage: node scripts/bench/unicast.mjs [--quick] [--runs N] [--loss-blksize 1428,512]
//                                       [--loss-timeout S] [--no-loss]
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BASELINE_CLI, MiB, PXECAST_CLI, baselineVersion, freeUdpPort, lastLine, loadSupport, machineLine, makeWorkDir, positiveInt, printHeaderComment,
  pxecastVersion, utcStamp, waitUntilServing as waitForTftp, writeRandomFile, writeReport,
} from './lib.mjs';

const { netns, peers } = await loadSupport();

const PAYLOAD = 'payload.bin';
const READY_PROBE = 'ready.bin';
const LOOPBACK_RUN_TIMEOUT_S = 120;
const LOSS_PROBABILITY = 0.05;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'loss-blksize': { type: 'string', default: '1428' },
    'loss-timeout': { type: 'string' },
    'no-loss': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
const config = {
  fileBytes: (flags.quick ? 16 : 64) * MiB,
  runs: positiveInt(flags.runs ?? (flags.quick ? '1' : '3'), '--runs'),
  // [blksize, windowsize]
  settings: flags.quick
    ? [[1428, 1], [1428, 16], [8192, 16]]
    : [512, 1428, 8192].flatMap((b) => [[b, 1], [b, 16]]),
  lossBlksizes: flags['loss-blksize'].split(',').map((b) => positiveInt(b, '--loss-blksize')),
  lossTimeoutS: positiveInt(flags['loss-timeout'] ?? (flags.quick ? '60' : '240'), '--loss-timeout'),
};

// Each server: how to start it listening on host:port serving root, and what it supports.
function pxecastServer(name, cli) {
  return {
    name,
    windowsize: true,
    missing: () => (existsSync(cli) ? null : 'n/a (not built)'),
    command: (host, port, root, tmp) => {
      const ini = join(tmp, `${name}-${host}-${port}.ini`);
      writeFileSync(ini, ['[log]', 'level = warn', '[tftp]', `listen = ${host}`, `port = ${port}`,
        `root = ${root}`, 'max_blksize = 65464', 'max_windowsize = 64',
        // A control socket of its own: two pxecast builds run side by side with PXECAST_BASELINE.
        '[control]', `socket = ${ini}.sock`, ''].join('\n'));
      return [process.execPath, [cli, 'serve', '--config', ini]];
    },
  };
}
const SERVERS = [
  pxecastServer('pxecast', PXECAST_CLI),
  ...(BASELINE_CLI ? [pxecastServer('pxecast-baseline', BASELINE_CLI)] : []),
  {
    name: 'tftpd-hpa',
    windowsize: false, // tftpd-hpa 5.2 implements blksize, tsize, timeout, rollover; not RFC 7440
    missing: () => (peers.findPeer('tftpd-hpa') ? null : 'n/a (not installed)'),
    // -L: foreground; -s: chroot to root; -B: allow blksize up to the RFC 2348 maximum.
    command: (host, port, root) => [peers.findPeer('tftpd-hpa').path, ['-L', '-s', root, '-a', `${host}:${port}`, '-B', '65464']],
  },
  {
    name: 'atftpd',
    windowsize: true,
    missing: () => (peers.findPeer('atftpd') ? null : 'n/a (not installed)'),
    command: (host, port, root) => [peers.findPeer('atftpd').path,
      ['--daemon', '--no-fork', '--logfile', '/dev/null', '--port', String(port), '--bind-address', host, root]],
  },
];

// Removed on exit; `root` is traversable by nobody, whom the servers drop to.
const { tmp, root } = makeWorkDir();
const downloaded = join(tmp, 'download.bin');

try {
  await main();
} finally {
  netns.teardown();
}

async function main() {
  if (!peers.findPeer('atftp')) throw new Error('the atftp client is required (apt-get install atftp)');
  console.error(`generating ${config.fileBytes / MiB} MiB test file in ${tmp}`);
  const expectedSha = writeRandomFile(join(root, PAYLOAD), config.fileBytes);
  writeFileSync(join(root, READY_PROBE), 'x', { mode: 0o644 });

  const sections = [await loopbackSection()];
  if (!flags['no-loss']) sections.push(await lossSection());
  const report = [header(), ...sections].join('\n\n') + '\n';
  console.log('\n' + report);
  console.error(`written to ${writeReport('unicast', report)}`);

  async function loopbackSection() {
    const instances = [];
    for (const server of SERVERS) instances.push(await startServer(server, null, '127.0.0.1', await freeUdpPort()));
    try {
      const rows = await measureSettings('loopback', instances, config.settings, null, LOOPBACK_RUN_TIMEOUT_S);
      return `## Loopback (127.0.0.1)\n\n${table(rows, instances, false)}\n${notes(instances)}`;
    } finally {
      await stopAll(instances);
    }
  }

  async function lossSection() {
    const title = `## ${LOSS_PROBABILITY * 100}% loss toward the client (veth between two namespaces)`;
    const support = netns.canUseNetns();
    if (!support.ok) return `${title}\n\nskipped: ${support.reason}`;
    const serverNs = netns.createNamespace('srv');
    const clientNs = netns.createNamespace('cli');
    const link = netns.connectVeth(serverNs, clientNs);
    const instances = [];
    for (const [i, server] of SERVERS.entries()) {
      instances.push(await startServer(server, serverNs, link.a.address, 6969 + i, clientNs));
    }
    try {
      // Added once every server answers, so readiness probes never fight the loss.
      netns.addRandomDrop(clientNs, { probability: LOSS_PROBABILITY, chain: 'INPUT', protocol: 'udp' });
      const settings = config.lossBlksizes.map((b) => [b, 1]);
      const rows = await measureSettings('loss', instances, settings, clientNs, config.lossTimeoutS);
      const rule = `iptables -A INPUT -p udp -m statistic --mode random --probability ${LOSS_PROBABILITY} -j DROP`;
      return `${title}\n\nClient namespace: \`${rule}\`; cap ${config.lossTimeoutS} s per run.\n\n` +
        `${table(rows, instances, true)}\n${notes(instances)}`;
    } finally {
      await stopAll(instances);
    }
  }

  async function measureSettings(label, instances, settings, clientNs, timeoutS) {
    const rows = [];
    for (const [blksize, windowsize] of settings) {
      const outcomes = new Map(instances.map((inst) => [inst, []]));
      for (let run = 1; run <= config.runs; run++) {
        for (const inst of instances) {
          const cell = outcomes.get(inst);
          if (inst.error || (windowsize > 1 && !inst.server.windowsize) || cellIsDecided(cell)) continue;
          const outcome = await downloadOnce(inst, { blksize, windowsize, clientNs, timeoutS });
          cell.push(outcome);
          console.error(`${label} blksize ${blksize} windowsize ${windowsize} run ${run}/${config.runs} ` +
            `${inst.server.name}: ${describeOutcome(outcome)}`);
        }
      }
      rows.push({ setting: `blksize ${blksize}, windowsize ${windowsize}`, windowsize, outcomes, timeoutS });
    }
    return rows;
  }

  async function downloadOnce(inst, { blksize, windowsize, clientNs, timeoutS }) {
    if (!inst.handle.isRunning()) return { kind: 'fail', reason: `server exited: ${lastLine(inst.handle.outputTail())}` };
    rmSync(downloaded, { force: true });
    const result = await peers.downloadWithAtftp({
      host: inst.host,
      port: inst.port,
      remote: PAYLOAD,
      local: downloaded,
      blksize,
      // Lock-step runs send no windowsize option, as a plain RFC 2348 client would.
      ...(windowsize > 1 ? { windowsize } : {}),
      timeoutMs: timeoutS * 1000,
      ...(clientNs ? { netns: clientNs } : {}),
    });
    if (result.timedOut) return { kind: 'timeout' };
    if (!result.ok) return { kind: 'fail', reason: lastLine(result.stderr) || `atftp exit ${result.exitCode}` };
    if ((await peers.sha256File(downloaded)) !== expectedSha) return { kind: 'fail', reason: 'sha256 mismatch' };
    return { kind: 'ok', seconds: result.ms / 1000 };
  }
}

async function startServer(server, ns, host, port, probeNs = ns) {
  const missing = server.missing();
  if (missing) return { server, error: missing };
  const [command, args] = server.command(host, port, root, tmp);
  const handle = netns.spawnInNamespace(ns, command, args);
  const inst = { server, handle, host, port };
  try {
    await waitUntilServing(inst, probeNs);
    return inst;
  } catch (err) {
    await handle.kill();
    return { server, error: 'FAIL: did not start', detail: err.message };
  }
}

function waitUntilServing(inst, clientNs) {
  return waitForTftp(peers, inst.handle, {
    host: inst.host, port: inst.port, remote: READY_PROBE, local: join(tmp, 'ready.out'), netns: clientNs,
  });
}

async function stopAll(instances) {
  await Promise.all(instances.filter((inst) => inst.handle).map((inst) => inst.handle.kill()));
}

// A cell is decided once a run failed or more than half the runs hit the cap: the median is then
// known, and more runs would only burn time.
function cellIsDecided(outcomes) {
  return outcomes.some((o) => o.kind === 'fail') || outcomes.filter((o) => o.kind === 'timeout').length > config.runs / 2;
}

function summarize(outcomes, timeoutS) {
  const failure = outcomes.find((o) => o.kind === 'fail');
  if (failure) return { text: `FAIL: ${failure.reason}` };
  const seconds = outcomes.map((o) => (o.kind === 'ok' ? o.seconds : Infinity)).sort((a, b) => a - b);
  const median = seconds[Math.floor(seconds.length / 2)];
  if (median === Infinity) return { text: `> ${timeoutS} s (did not finish)`, rate: config.fileBytes / timeoutS, bound: 'below' };
  const unfinished = seconds.filter((s) => s === Infinity).length;
  return {
    rate: config.fileBytes / median,
    bound: 'exact',
    seconds: median,
    note: unfinished ? ` (${unfinished}/${seconds.length} did not finish)` : '',
  };
}

function table(rows, instances, withTime) {
  const byName = new Map(instances.map((inst) => [inst.server.name, inst]));
  const names = SERVERS.map((s) => s.name);
  const unit = withTime ? 'MB/s (s)' : 'MB/s';
  const others = names.filter((n) => n !== 'pxecast');
  const lines = [
    `| setting | ${names.map((n) => `${n} ${unit}`).join(' | ')} | ${others.map((n) => `pxecast/${n}`).join(' | ')} |`,
    `|---|${names.map(() => '---:').join('|')}|${others.map(() => '---:').join('|')}|`,
  ];
  for (const row of rows) {
    const cells = new Map(names.map((name) => [name, cellFor(byName.get(name), row)]));
    const texts = names.map((name) => {
      const c = cells.get(name);
      if (c.text) return c.text;
      const mbps = (c.rate / 1e6).toFixed(withTime ? 2 : 1);
      return `${mbps}${withTime ? ` (${c.seconds.toFixed(1)} s)` : ''}${c.note}`;
    });
    const ratios = others.map((peer) => ratio(cells.get('pxecast'), cells.get(peer)));
    lines.push(`| ${row.setting} | ${texts.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  return lines.join('\n');
}

function cellFor(inst, row) {
  if (inst.error) return { text: inst.error };
  if (row.windowsize > 1 && !inst.server.windowsize) return { text: 'n/a (no windowsize)' };
  return summarize(row.outcomes.get(inst), row.timeoutS);
}

// A server that hit the cap is only known to be slower than size/cap, so the ratio is a bound.
function ratio(ours, theirs) {
  if (!ours.rate || !theirs.rate || (ours.bound === 'below' && theirs.bound === 'below')) return 'n/a';
  const value = `${Number((ours.rate / theirs.rate).toPrecision(3))}×`;
  if (theirs.bound === 'below') return `> ${value}`;
  if (ours.bound === 'below') return `< ${value}`;
  return value;
}

function notes(instances) {
  const lines = instances.filter((i) => i.detail).map((i) => `- ${i.server.name} did not start: ${i.detail}`);
  return lines.length ? `\n${lines.join('\n')}\n` : '';
}

function versionOf(name) {
  return peers.findPeer(name)?.version ?? 'not installed';
}

function header() {
  const peerVersions = ['atftp', 'tftpd-hpa', 'atftpd'].map((n) => `${n}: ${versionOf(n)}`).join('; ');
  return [
    `# Unicast TFTP benchmark, ${utcStamp()} UTC`,
    '',
    `- pxecast ${pxecastVersion()}; ${peerVersions}${BASELINE_CLI ? `; pxecast-baseline: ${baselineVersion()}` : ''}`,
    `- ${machineLine()}`,
    // atftp keeps the default receive buffer, which a window of 16 large blocks can overflow.
    `- net.core.rmem_default = ${readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim()} bytes`,
    `- ${config.fileBytes / MiB} MiB pseudo-random file, client atftp for every server, median of ${config.runs} run(s);` +
      ' every download checked by sha256 (a mismatch is FAIL)',
    '- MB/s = 10^6 bytes per second of the client\'s wall time (process start to exit)',
    '- n/a (no windowsize): tftpd-hpa 5.2 does not implement RFC 7440 windowsize',
  ].join('\n');
}

function describeOutcome(outcome) {
  if (outcome.kind === 'ok') return `${(config.fileBytes / outcome.seconds / 1e6).toFixed(1)} MB/s (${outcome.seconds.toFixed(2)} s)`;
  return outcome.kind === 'timeout' ? 'did not finish' : `FAIL: ${outcome.reason}`;
}
