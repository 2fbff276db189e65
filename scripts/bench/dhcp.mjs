#!/usr/bin/env node
// DHCP full-mode throughput: pxecast `[dhcp] mode = full` vs dnsmasq and ISC Kea, all driven by
// perfdhcp. A server namespace and a client namespace on one bridged LAN (10.213.N.0/24). For each
// target rate, pxecast, dnsmasq and Kea are started in turn (interleaved, fresh, empty lease file)
// in the server namespace and perfdhcp runs full DORA exchanges at that rate from the client
// namespace.
// perfdhcp (v4) always simulates a relay agent: it sends from <its address>:67 with giaddr = that
// address and hops = 1, so servers unicast every reply to giaddr:67 (a UDP tool cannot receive
// the broadcast replies a real client gets). Requests still go to 255.255.255.255 (-B), so they
// arrive at the servers like a client's broadcast on the LAN.
//   lab:  pool .10-.250 of the /24 (241 addresses), --clients simulated clients (default 200,
//         MACs taken in turn, so after the first 200 exchanges every client has a lease)
//   wide: second addresses on the same LAN (server 10.214.0.1/16, perfdhcp 10.214.0.2/16, its
//         giaddr), pool 10.214.0.10 - 10.214.255.250 (65,521 addresses), --wide-clients simulated
//         clients (default 20000): most exchanges allocate a new address, the lease table grows
//   ladder: the wide pool with --ladder-clients (default 60000) clients at --ladder-rates (default
//         1000,2000,4000,8000), --ladder-period seconds each (default 5): the ladder of issue 17
// Every perfdhcp run is bounded: -p (sending period) plus -n (2 x rate x period) and -W (it waits
// at most 1.5 s for the last answers); a run is also killed by its own timeout.
// Reported per run: completed DORA/s (ACKs received / sending period), drops % (exchanges started
// but not completed within perfdhcp's 1 s drop time), DISCOVER-OFFER and REQUEST-ACK latency
// (avg / max, as perfdhcp measures them; REQUEST-ACK p50 from its per-exchange timestamps, -x t), the server's CPU (utime + stime / sending period) and
// how many requests its kernel dropped on a full socket receive buffer (Udp RcvbufErrors).
// pxecast runs at log level warn, dnsmasq with --quiet-dhcp: neither logs each lease. Kea (memfile,
// persist = true, lease file cleanup off during the run) logs at INFO to a file, as it ships.
// --servers picks and orders the servers (default pxecast,dnsmasq,kea).
// Results go to stdout and bench-results/dhcp-<date>.md. A full run takes about 5 minutes;
// --quick (lab only, rates 100 and 1000, 3 s each) about 1.
// --profile RATE runs only pxecast (the first of --scenarios) at RATE under `node --cpu-prof`,
// keeps the .cpuprofile in bench-results/ and prints the functions with the most self time.
// --verbose prints perfdhcp's own report of every run.
// On 2 cores a measurement beside another benchmark is meaningless: it first waits (polling every
// 10 s, at most 30 minutes) until no other benchmark in scripts/bench/ and no test run is left,
// and again before each run (at most 10 minutes); a run during which one ran is measured again
// (at most twice) and marked † if it still overlapped. --no-wait measures at once (and marks).
//
// Needs root, `npm run build` first (it imports build/test/support/*.js), perfdhcp (Debian package
// kea-admin: apt-get install --no-install-recommends kea-admin), dnsmasq (dnsmasq-base) and
// kea-dhcp4 (kea-dhcp4-server).
//
// PXECAST_BASELINE=DIR adds DIR's pxecast build as a third server (pxecast-baseline), run right
// after this one at each rate, and a table of the ratios this build / baseline (DORA/s, CPU).
//
// Usage: node scripts/bench/dhcp.mjs [--quick] [--rates 100,500,...] [--period S] [--runs N]
//                                    [--clients N] [--wide-clients N] [--wide-rates 100,...]
//                                    [--ladder-clients N] [--ladder-rates 1000,...] [--ladder-period S]
//                                    [--scenarios lab,wide,ladder] [--servers pxecast,dnsmasq,kea]
//                                    [--profile RATE] [--verbose] [--no-wait]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BASELINE_CLI, PXECAST_CLI, baselineVersion, lastLine, loadSupport, machineLine, makeWorkDir, positiveInt, printHeaderComment,
  pxecastVersion, repo, sleep, utcStamp, waitForQuiet, watchActivity, writeReport,
} from './lib.mjs';

const PERFDHCP = '/usr/sbin/perfdhcp';
const DNSMASQ = '/usr/sbin/dnsmasq';
const KEA = '/usr/sbin/kea-dhcp4';
// perfdhcp waits this long after the sending period for answers still on their way (microseconds).
const EXIT_WAIT_US = 1_500_000;
const READY_TIMEOUT_MS = 15_000;
// The MAC the readiness probe uses, outside perfdhcp's default base 00:0c:01:02:03:04 + clients.
const PROBE_MAC = '02:00:5e:00:00:01';
const SELF = 'bench/dhcp.mjs';
// Waiting for other benchmarks and test runs: before starting, and before each run; a run during
// which one ran is measured again, at most MAX_REPEATS times.
const START_WAIT_MS = 30 * 60_000;
const RUN_WAIT_MS = 10 * 60_000;
const MAX_REPEATS = 2;
const WIDE = { server: '10.214.0.1', client: '10.214.0.2', prefix: 16, first: '10.214.0.10', last: '10.214.255.250', mask: '255.255.0.0' };

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string' },
    period: { type: 'string' },
    runs: { type: 'string', default: '1' },
    clients: { type: 'string', default: '200' },
    'wide-clients': { type: 'string', default: '20000' },
    'wide-rates': { type: 'string' },
    'ladder-clients': { type: 'string', default: '60000' },
    'ladder-rates': { type: 'string', default: '1000,2000,4000,8000' },
    'ladder-period': { type: 'string', default: '5' },
    servers: { type: 'string', default: 'pxecast,dnsmasq,kea' },
    scenarios: { type: 'string' },
    profile: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHeaderComment(import.meta.url);
  process.exit(0);
}
function intList(text, flag) {
  return text.split(',').map((r) => positiveInt(r.trim(), flag));
}
const config = {
  rates: intList(flags.rates ?? (flags.quick ? '100,1000' : '100,500,1000,2000,4000,8000'), '--rates'),
  wideRates: intList(flags['wide-rates'] ?? '100,500,1000,2000', '--wide-rates'),
  periodS: positiveInt(flags.period ?? (flags.quick ? '3' : '10'), '--period'),
  runs: positiveInt(flags.runs, '--runs'),
  labClients: positiveInt(flags.clients, '--clients'),
  wideClients: positiveInt(flags['wide-clients'], '--wide-clients'),
  ladderClients: positiveInt(flags['ladder-clients'], '--ladder-clients'),
  ladderRates: intList(flags['ladder-rates'], '--ladder-rates'),
  ladderPeriodS: positiveInt(flags['ladder-period'], '--ladder-period'),
  servers: flags.servers.split(',').map((s) => s.trim()),
  scenarios: (flags.scenarios ?? (flags.quick ? 'lab' : 'lab,ladder')).split(',').map((s) => s.trim()),
  profileRate: flags.profile === undefined ? null : positiveInt(flags.profile, '--profile'),
};
if (config.scenarios.some((name) => !['lab', 'wide', 'ladder'].includes(name))) {
  console.error(`--scenarios takes lab, wide and/or ladder, got '${flags.scenarios}'`);
  process.exit(2);
}
if (config.servers.some((name) => !['pxecast', 'dnsmasq', 'kea'].includes(name))) {
  console.error(`--servers takes pxecast, dnsmasq and/or kea, got '${flags.servers}'`);
  process.exit(2);
}
if (config.labClients > 240) {
  console.error('--clients is at most 240 (the lab pool, less one address for the readiness probe)');
  process.exit(2);
}
if (config.wideClients > 65_000 || config.ladderClients > 65_000) {
  console.error('--wide-clients and --ladder-clients are at most 65000 (the wide pool)');
  process.exit(2);
}
for (const [tool, pkg] of [[PERFDHCP, 'kea-admin'], [DNSMASQ, 'dnsmasq-base'], [KEA, 'kea-dhcp4-server']]) {
  if (!existsSync(tool)) {
    console.error(`${tool} not found: apt-get install --no-install-recommends ${pkg}`);
    process.exit(2);
  }
}

const { netns } = await loadSupport();
// `[control]` (the operator socket) exists only in newer builds; where it does, it must be off so
// this daemon does not fight a system one for /run/pxecast/control.sock.
const { CONFIG_SCHEMA } = await import(join(repo, 'build/src/config/schema.js'));
const hasControlSection = CONFIG_SCHEMA.some((section) => section.name === 'control');
const { tmp, root } = makeWorkDir();

function pxecastServer(name, cli) {
  return {
    version: () => pxecastVersion(),
    start(lan, pool, { profileDir } = {}) {
      const stateFile = join(tmp, `${name}-leases.json`);
      rmSync(stateFile, { force: true });
      const ini = join(tmp, `${name}.ini`);
      writeFileSync(ini, [
        '[log]', 'level = warn',
        '[tftp]', `listen = ${lan.server.address}`, `root = ${root}`,
        '[dhcp]', 'mode = full', `interface = ${pool.serverAddress}`, 'lease_time = 1h', `state_file = ${stateFile}`,
        '[pool bench]', `first = ${pool.first}`, `last = ${pool.last}`, `prefix = ${pool.prefix}`,
        ...(hasControlSection ? ['[control]', 'enabled = false'] : []),
        '',
      ].join('\n'));
      const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
      return netns.spawnInNamespace(lan.server.namespace, process.execPath, [...nodeArgs, cli, 'serve', '--config', ini]);
    },
  };
}

const SERVERS = {
  pxecast: pxecastServer('pxecast', PXECAST_CLI),
  ...(BASELINE_CLI ? { 'pxecast-baseline': pxecastServer('pxecast-baseline', BASELINE_CLI) } : {}),
  dnsmasq: {
    version: () => execFileSync(DNSMASQ, ['--version'], { encoding: 'utf8' }).split('\n')[0].replace(/ +Copyright.*/, ''),
    start(lan, pool) {
      const leases = join(tmp, 'dnsmasq.leases');
      rmSync(leases, { force: true });
      return netns.spawnInNamespace(lan.server.namespace, DNSMASQ, [
        '--no-daemon',
        '--user=root', // dnsmasq-base has no `dnsmasq` user to drop to
        '--conf-file=/dev/null', // no /etc/dnsmasq.conf
        '--port=0', // no DNS
        '--quiet-dhcp', // no log line per packet, like pxecast at warn
        '--no-ping', // it would first ping each candidate address
        `--interface=${lan.server.ifname}`,
        '--bind-interfaces',
        `--dhcp-range=${pool.first},${pool.last},${pool.mask},1h`,
        `--dhcp-lease-max=${pool.size}`,
        `--dhcp-leasefile=${leases}`,
        `--pid-file=${join(tmp, 'dnsmasq.pid')}`,
      ]);
    },
  },
  kea: {
    version: () => `ISC Kea ${execFileSync(KEA, ['-v'], { encoding: 'utf8' }).trim()}`,
    start(lan, pool) {
      const leases = join(tmp, 'kea-leases4.csv');
      for (const f of [leases, `${leases}.2`, `${leases}.completed`, join(tmp, 'kea.log')]) rmSync(f, { force: true });
      const prefix = pool.prefix === 24 ? `${pool.first.split('.').slice(0, 3).join('.')}.0/24` : `${pool.first.split('.').slice(0, 2).join('.')}.0.0/${pool.prefix}`;
      const conf = join(tmp, 'kea-dhcp4.json');
      writeFileSync(conf, JSON.stringify({
        Dhcp4: {
          // Raw sockets on the server's interface (Kea's default): it hears the broadcasts.
          'interfaces-config': { interfaces: [lan.server.ifname] },
          // persist: every lease change is appended to the CSV file; lfc-interval 0: no cleanup
          // during the run.
          'lease-database': { type: 'memfile', persist: true, name: leases, 'lfc-interval': 0 },
          'valid-lifetime': 3600,
          subnet4: [{ id: 1, subnet: prefix, pools: [{ pool: `${pool.first} - ${pool.last}` }] }],
          loggers: [{ name: 'kea-dhcp4', output_options: [{ output: join(tmp, 'kea.log') }], severity: 'INFO' }],
        },
      }));
      // `env` execs kea-dhcp4 in place (same PID); its PID and lock files go to the work directory.
      return netns.spawnInNamespace(lan.server.namespace, '/usr/bin/env',
        [`KEA_PIDFILE_DIR=${tmp}`, `KEA_LOCKFILE_DIR=${tmp}`, KEA, '-c', conf]);
    },
  },
};

try {
  await main();
} finally {
  netns.teardown();
}

async function main() {
  const support = netns.canUseNetns();
  if (!support.ok) throw new Error(support.reason);
  const lan = await makeLan();
  const scenarios = [];
  if (config.scenarios.includes('lab')) {
    const pool = poolOn(lan);
    scenarios.push({ name: 'lab', pool, clients: config.labClients, rates: config.rates,
      title: `Lab pool: ${pool.first} - ${pool.last} (${pool.size} addresses), ${config.labClients} simulated clients` });
  }
  const widePool = { serverAddress: WIDE.server, clientAddress: WIDE.client, first: WIDE.first, last: WIDE.last,
    prefix: WIDE.prefix, mask: WIDE.mask, size: ipNumber(WIDE.last) - ipNumber(WIDE.first) + 1 };
  if (config.scenarios.includes('wide') || config.scenarios.includes('ladder')) await addWideAddressing(lan);
  if (config.scenarios.includes('ladder')) {
    scenarios.push({ name: 'ladder', pool: widePool, clients: config.ladderClients, rates: config.ladderRates, periodS: config.ladderPeriodS,
      title: `Ladder: ${widePool.first} - ${widePool.last} (${widePool.size} addresses), ${config.ladderClients} simulated clients,` +
        ` ${config.ladderPeriodS} s per step`,
      note: 'Most exchanges allocate a new address, so the lease table grows through the run (as in issue 17).' });
  }
  if (config.scenarios.includes('wide')) {
    const pool = widePool;
    scenarios.push({ name: 'wide', pool, clients: config.wideClients, rates: config.wideRates,
      title: `Wide pool: ${pool.first} - ${pool.last} (${pool.size} addresses), ${config.wideClients} simulated clients`,
      note: 'dnsmasq does not hold an offered address for its client, and perfdhcp\'s consecutive MACs hash to the' +
        ' same free address, so clients in flight are offered the same one and all but the first get a NAK' +
        ' ("address in use"): its drops here are mostly quick NAKs; pxecast\'s come from a saturated CPU (answers later' +
        ' than 1 s, requests lost from a full socket buffer).' });
  }
  if (!flags['no-wait']) {
    const busy = await waitForQuiet(SELF, { maxWaitMs: START_WAIT_MS });
    if (busy.length) console.error(`still running after ${START_WAIT_MS / 60_000} min, measuring anyway: ${busy[0]}`);
  }
  if (config.profileRate !== null) return profileRun(lan, scenarios[0], config.profileRate);
  const sections = [];
  for (const scenario of scenarios) sections.push(await scenarioSection(lan, scenario));
  const report = [header(), ...sections].join('\n\n') + '\n';
  console.log('\n' + report);
  console.error(`written to ${writeReport('dhcp', report)}`);
}

/** Server and client namespaces on one bridge; the client can send to 255.255.255.255. */
async function makeLan() {
  const serverNs = netns.createNamespace('dsrv');
  const clientNs = netns.createNamespace('dcli');
  const bridge = netns.createBridge([serverNs, clientNs]);
  const [server, client] = bridge.members;
  // Without a default route nothing can be sent to the limited broadcast (ENETUNREACH).
  const r = await netns.runInNamespace(clientNs, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', client.ifname], { timeoutMs: 5000 });
  if (r.exitCode !== 0) throw new Error(`ip route add 255.255.255.255/32: ${r.stderr}`);
  return { server, client };
}

/**
 * Second addresses on the same LAN: the server 10.214.0.1/16, perfdhcp's relay 10.214.0.2/16, so
 * its giaddr selects the /16 pool in both servers.
 */
async function addWideAddressing(lan) {
  for (const [end, address] of [[lan.server, WIDE.server], [lan.client, WIDE.client]]) {
    const args = ['addr', 'add', `${address}/${WIDE.prefix}`, 'dev', end.ifname];
    const r = await netns.runInNamespace(end.namespace, 'ip', args, { timeoutMs: 5000 });
    if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
}

function poolOn(lan) {
  const prefix24 = lan.server.address.split('.').slice(0, 3).join('.');
  return {
    serverAddress: lan.server.address, clientAddress: lan.client.address,
    first: `${prefix24}.10`, last: `${prefix24}.250`, prefix: 24, mask: '255.255.255.0', size: 241,
  };
}

async function scenarioSection(lan, { title, note, pool, clients, rates, periodS = config.periodS }) {
  const rows = [];
  for (const rate of rates) {
    // Runs interleaved across servers (run 1 of each, then run 2...), so a disturbance hits all alike.
    const names = [...config.servers, ...(BASELINE_CLI ? ['pxecast-baseline'] : [])];
    const runs = new Map(names.map((name) => [name, []]));
    for (let run = 1; run <= config.runs; run++) {
      for (const name of names) {
        const label = `${title.split(':')[0]} ${name} rate ${rate} run ${run}/${config.runs}`;
        runs.get(name).push(await measureAlone(label, () => measure(lan, name, pool, { rate, clients, periodS })));
      }
    }
    for (const [name, done] of runs) {
      rows.push({ name, rate, result: medianRun(done), beside: [...new Set(done.flatMap((r) => r.beside ?? []))] });
    }
  }
  const beside = [...new Set(rows.flatMap((row) => row.beside))];
  const footnote = beside.length
    ? `\n\n† measured while another benchmark or test ran (${beside.slice(0, 3).join('; ')}): not comparable` : '';
  const baseline = BASELINE_CLI ? `\n\n${baselineTable(rows, rates)}` : '';
  return `## ${title}\n\n${note ? `${note}\n\n` : ''}${resultTable(rows)}\n\n${ratioTable(rows, rates)}${baseline}${footnote}`;
}

/**
 * `measure()` once no other benchmark or test runs; again (at most MAX_REPEATS times) when one
 * started meanwhile. The result's `beside` lists what overlapped the last attempt.
 */
async function measureAlone(label, measureOnce) {
  let result;
  for (let attempt = 0; attempt <= MAX_REPEATS; attempt++) {
    if (!flags['no-wait']) await waitForQuiet(SELF, { maxWaitMs: RUN_WAIT_MS });
    const watch = watchActivity(SELF);
    result = await measureOnce();
    result.beside = await watch.stop();
    console.error(`${label}: ${describe(result)}${result.beside.length ? ` [beside: ${result.beside[0]}]` : ''}`);
    if (result.beside.length === 0 || flags['no-wait'] || result.error) break;
    if (attempt < MAX_REPEATS) console.error('  another benchmark or test ran meanwhile: measuring again');
  }
  return result;
}

/** One fresh server, one perfdhcp run against it. */
async function measure(lan, name, pool, { rate, clients, periodS = config.periodS, profileDir }) {
  const handle = SERVERS[name].start(lan, pool, { profileDir });
  try {
    await waitUntilAnswering(lan, pool, handle);
    const cpuBefore = cpuSeconds(handle.pid);
    const overflowsBefore = await rcvbufErrors(lan.server.namespace);
    const run = await runPerfdhcp(lan, pool, { rate, clients, periodS });
    const cpu = cpuSeconds(handle.pid) - cpuBefore;
    const overflows = (await rcvbufErrors(lan.server.namespace)) - overflowsBefore;
    if (!handle.isRunning()) return { error: `server exited: ${lastLine(handle.outputTail())}` };
    if (run.error) return run;
    return { ...run, cpuPercent: (100 * cpu) / periodS, overflows };
  } catch (err) {
    return { error: err.message };
  } finally {
    await handle.kill();
  }
}

/**
 * perfdhcp arguments: DORA broadcast to 255.255.255.255:67 from `pool.clientAddress`:67, which
 * perfdhcp (v4) always puts in giaddr (hops 1), so servers unicast their replies to it, port 67.
 */
function perfdhcpArgs(pool, extra) {
  // -B: SO_BROADCAST, without which sending to 255.255.255.255 fails (EACCES).
  // -g single: one perfdhcp thread, so client and server each get one of the two cores.
  return ['-4', '-l', pool.clientAddress, '-B', '-g', 'single', ...extra, '255.255.255.255'];
}

/** Polls with single DORA exchanges (own MAC) until one completes; throws after 15 s. */
async function waitUntilAnswering(lan, pool, handle) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (!handle.isRunning()) throw new Error(`exited at start: ${lastLine(handle.outputTail()) || 'no output'}`);
    // `-n 1 -n 1`: one DISCOVER and one REQUEST; with a single -n perfdhcp stops waiting at the OFFER.
    const r = await netns.runInNamespace(lan.client.namespace, PERFDHCP,
      perfdhcpArgs(pool, ['-b', `mac=${PROBE_MAC}`, '-r', '10', '-n', '1', '-n', '1', '-W', '1000000']), { timeoutMs: 5000 });
    if (r.exitCode === 0) return;
    last = r.timedOut ? 'perfdhcp timed out' : lastLine(r.stderr) || `perfdhcp exit ${r.exitCode}`;
    await sleep(200);
  }
  throw new Error(`no DORA completed within ${READY_TIMEOUT_MS / 1000} s (${last})`);
}

async function runPerfdhcp(lan, pool, { rate, clients, periodS }) {
  const maxExchanges = String(2 * rate * periodS);
  const args = perfdhcpArgs(pool, [
    '-r', String(rate), '-p', String(periodS),
    '-n', maxExchanges, '-n', maxExchanges, // a second bound besides -p: DISCOVERs, REQUESTs
    '-R', String(clients), '-W', String(EXIT_WAIT_US),
    '-x', 't', // per-exchange timestamps, for the REQUEST-ACK median
  ]);
  const timeoutMs = (periodS + EXIT_WAIT_US / 1e6 + 15) * 1000;
  // Its report (with one line per exchange from -x t) goes to a file: more than a captured tail holds.
  const reportFile = join(tmp, 'perfdhcp.out');
  const r = await netns.runInNamespace(lan.client.namespace, '/bin/sh',
    ['-c', 'exec "$0" "$@" > "$REPORT"'.replace('$REPORT', reportFile), PERFDHCP, ...args], { timeoutMs });
  const stdout = existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : '';
  rmSync(reportFile, { force: true });
  if (flags.verbose) console.error(`${stdout.replace(/^sent \/ received:.*\n/gm, '')}${r.stderr}`);
  // Exit 3: some exchanges did not complete, which the numbers show.
  if (r.timedOut) return { error: `perfdhcp killed after ${timeoutMs / 1000} s` };
  if (r.exitCode !== 0 && r.exitCode !== 3) return { error: `perfdhcp exit ${r.exitCode}: ${lastLine(r.stderr) || lastLine(stdout)}` };
  const stats = parsePerfdhcp(stdout);
  const doStats = stats['DISCOVER-OFFER'];
  const raStats = stats['REQUEST-ACK'];
  if (!doStats || !raStats) return { error: `unexpected perfdhcp output: ${lastLine(stdout)}` };
  const started = doStats['sent packets'];
  const completed = raStats['received packets'];
  return {
    started,
    completed,
    doraPerS: completed / periodS,
    dropPercent: started > 0 ? (100 * (started - completed)) / started : 0,
    doAvgMs: doStats['avg delay'], doMaxMs: doStats['max delay'],
    raAvgMs: raStats['avg delay'], raMaxMs: raStats['max delay'],
    raP50Ms: medianDelayMs(stdout, 'REQUEST-ACK'),
  };
}

/** The median delay of one exchange type from perfdhcp's `-x t` timestamps ("sent / received:
 *  SSSSSS.UUUUUU / SSSSSS.UUUUUU" lines under "***Timestamps for packets: TYPE***"), in ms. */
function medianDelayMs(text, type) {
  const start = text.indexOf(`***Timestamps for packets: ${type}***`);
  if (start < 0) return NaN;
  const end = text.indexOf('***', start + 4 + type.length + 25);
  const delays = [];
  for (const m of text.slice(start, end < 0 ? undefined : end).matchAll(/sent \/ received: ([\d.]+) \/ ([\d.]+)/g)) {
    delays.push((Number(m[2]) - Number(m[1])) * 1000);
  }
  if (delays.length === 0) return NaN;
  delays.sort((a, b) => a - b);
  return delays[Math.floor(delays.length / 2)];
}

/**
 * perfdhcp's final report: "***Statistics for: DISCOVER-OFFER***" and "... REQUEST-ACK***"
 * blocks of "key: number [unit]" lines (delays in ms; absent when nothing was received).
 */
function parsePerfdhcp(text) {
  const stats = {};
  let current = null;
  for (const line of text.split('\n')) {
    const head = /^\*\*\*Statistics for: (\S+)\*\*\*/.exec(line);
    if (head) {
      current = stats[head[1]] = {};
      continue;
    }
    if (line.startsWith('***')) current = null;
    const kv = /^([a-z][a-z ]*[a-z]):\s+(-?[\d.]+(?:e[-+]?\d+)?)/i.exec(line);
    if (current && kv) current[kv[1]] = Number(kv[2]);
  }
  return stats;
}

/** Datagrams the server namespace's kernel dropped because a UDP socket's receive buffer was full. */
async function rcvbufErrors(ns) {
  const r = await netns.runInNamespace(ns, 'cat', ['/proc/net/snmp'], { timeoutMs: 5000 });
  const [names, values] = r.stdout.split('\n').filter((line) => line.startsWith('Udp:')).map((line) => line.split(/\s+/));
  const value = Number(values?.[names.indexOf('RcvbufErrors')]);
  if (!Number.isFinite(value)) throw new Error(`no Udp RcvbufErrors in /proc/net/snmp: ${r.stderr}`);
  return value;
}

/** utime + stime of a process in seconds (the server's own CPU, from /proc). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

function medianRun(runs) {
  const ok = runs.filter((r) => !r.error).sort((a, b) => a.doraPerS - b.doraPerS);
  return ok.length ? ok[Math.floor(ok.length / 2)] : runs[0];
}

function describe(r) {
  if (r.error) return `FAIL: ${r.error}`;
  return `${r.doraPerS.toFixed(0)} DORA/s, drops ${r.dropPercent.toFixed(1)}%, ` +
    `DO ${ms(r.doAvgMs)}/${ms(r.doMaxMs)} ms, RA ${ms(r.raAvgMs)}/${ms(r.raMaxMs)} ms (p50 ${ms(r.raP50Ms)}), CPU ${r.cpuPercent.toFixed(0)}%, ` +
    `${r.overflows} socket overflows`;
}

function ms(v) {
  return v === undefined || Number.isNaN(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v.toFixed(0);
}

function resultTable(rows) {
  const lines = [
    '| server | target rate | achieved DORA/s | drops % | avg latency ms (DO / RA) | RA p50 ms | max latency ms (DO / RA) |' +
      ' server CPU % | socket overflows |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { name: server, rate, result: r, beside } of rows) {
    const name = `${server}${beside.length ? ' †' : ''}`;
    if (r.error) {
      lines.push(`| ${name} | ${rate} | FAIL: ${r.error.replace(/\|/g, '/')} | | | | | | |`);
      continue;
    }
    lines.push(`| ${name} | ${rate} | ${r.doraPerS.toFixed(0)} | ${r.dropPercent.toFixed(1)} | ` +
      `${ms(r.doAvgMs)} / ${ms(r.raAvgMs)} | ${ms(r.raP50Ms)} | ${ms(r.doMaxMs)} / ${ms(r.raMaxMs)} | ${r.cpuPercent.toFixed(0)} | ${r.overflows} |`);
  }
  return lines.join('\n');
}

/** pxecast against each peer at each rate: DORA/s and REQUEST-ACK p50 side by side, with ratios. */
function ratioTable(rows, rates) {
  const peers = config.servers.filter((name) => name !== 'pxecast');
  if (!config.servers.includes('pxecast') || peers.length === 0) return '';
  const head = ['target rate', 'pxecast DORA/s', ...peers.map((p) => `${p} DORA/s`), ...peers.map((p) => `pxecast/${p}`),
    'pxecast RA p50 ms', ...peers.map((p) => `${p} RA p50 ms`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`];
  for (const rate of rates) {
    const get = (name) => rows.find((row) => row.name === name && row.rate === rate);
    const ok = (name) => { const r = get(name)?.result; return r && !r.error ? r : null; };
    const mark = (name) => (get('pxecast')?.beside.length || get(name)?.beside.length ? ' †' : '');
    const fmt = (name) => ok(name)?.doraPerS.toFixed(0) ?? 'FAIL';
    const ratio = (name) => ok('pxecast') && ok(name)?.doraPerS > 0 ? `${(ok('pxecast').doraPerS / ok(name).doraPerS).toFixed(2)}×${mark(name)}` : 'n/a';
    const p50 = (name) => (ok(name) ? ms(ok(name).raP50Ms) : 'n/a');
    lines.push(`| ${[rate, fmt('pxecast'), ...peers.map(fmt), ...peers.map(ratio), p50('pxecast'), ...peers.map(p50)].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** PXECAST_BASELINE: achieved DORA/s and server CPU, this build / baseline, per rate. */
function baselineTable(rows, rates) {
  const lines = ['| target rate | DORA/s this / baseline | ratio | CPU % this / baseline | ratio |', '|---:|---:|---:|---:|---:|'];
  for (const rate of rates) {
    const get = (name) => rows.find((row) => row.name === name && row.rate === rate)?.result;
    const [p, b] = [get('pxecast'), get('pxecast-baseline')];
    if (!p || !b || p.error || b.error) {
      lines.push(`| ${rate} | ${p?.error ? 'FAIL' : 'n/a'} / ${b?.error ? 'FAIL' : 'n/a'} | n/a | | |`);
      continue;
    }
    lines.push(`| ${rate} | ${p.doraPerS.toFixed(0)} / ${b.doraPerS.toFixed(0)} | ${(p.doraPerS / b.doraPerS).toFixed(3)}× | ` +
      `${p.cpuPercent.toFixed(0)} / ${b.cpuPercent.toFixed(0)} | ${(p.cpuPercent / b.cpuPercent).toFixed(3)}× |`);
  }
  return lines.join('\n');
}

function header() {
  const perfdhcpVersion = execFileSync(PERFDHCP, ['-v'], { encoding: 'utf8' }).trim().replace(/^VERSION:\s*/, '');
  return [
    `# DHCP full-mode benchmark, ${utcStamp()} UTC`,
    '',
    `- pxecast ${pxecastVersion()} (log level warn)${BASELINE_CLI ? `; pxecast-baseline: ${baselineVersion()}` : ''}; ${SERVERS.dnsmasq.version()} (--quiet-dhcp --no-ping);` +
      ` ${SERVERS.kea.version()} (memfile, persist, INFO log to a file); perfdhcp ${perfdhcpVersion}`,
    `- ${machineLine()}`,
    `- server and perfdhcp in two network namespaces on one bridge; perfdhcp \`-4 -l RELAY-ADDRESS -B -g single -r RATE` +
      ` -p PERIOD -R CLIENTS -W ${EXIT_WAIT_US} -x t\` to 255.255.255.255. perfdhcp (v4) always plays a relay agent:` +
      ' giaddr = its address, so both servers unicast OFFER and ACK to it on port 67 (a real client on the LAN would get' +
      ' them broadcast); every server started fresh with an empty lease file for each run;' +
      ` median of ${config.runs} run(s) by achieved rate`,
    '- achieved DORA/s = ACKs received / sending period; drops % = exchanges started (DISCOVERs sent)' +
      ' that got no ACK within the 1 s drop time; latency as perfdhcp measures it: DO = DISCOVER to OFFER,' +
      ' RA = REQUEST to ACK, RA p50 = median over the completed exchanges; server CPU = its utime + stime over the sending period (100% = one core);' +
      ' socket overflows = requests the server namespace\'s kernel dropped on a full receive buffer (Udp RcvbufErrors)',
    '- the binding is stored before the ACK leaves: dnsmasq rewrites its lease file in place and fsyncs it for every' +
      ' changed lease; pxecast appends it to its lease journal and fdatasyncs (one sync for all the ACKs of a batch);' +
      ' Kea appends a CSV line and flushes it to the kernel without fsync (survives a process crash, not a power loss)',
  ].join('\n');
}

function ipNumber(address) {
  return address.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

// ------------------------------------------------------------------------------------------------
// --profile RATE

async function profileRun(lan, scenario, rate) {
  const profileDir = join(tmp, 'profile');
  const result = await measureAlone(`${scenario.title}\npxecast rate ${rate} under --cpu-prof`,
    () => {
      rmSync(profileDir, { recursive: true, force: true }); // one profile: the last attempt's
      return measure(lan, 'pxecast', scenario.pool, { rate, clients: scenario.clients, profileDir });
    });
  if (result.error) throw new Error(result.error);
  // The profile is written when the daemon exits (handle.kill() waited for that).
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const kept = join(repo, 'bench-results', `dhcp-profile-${scenario.name}-${rate}-${new Date().toISOString().slice(0, 16).replace(':', '')}.cpuprofile`);
  renameSync(join(profileDir, file), kept);
  console.log(summarizeProfile(JSON.parse(readFileSync(kept, 'utf8')), 25));
  console.error(`profile kept in ${kept} (open it in Chrome DevTools > Performance)`);
}

/** Self time per function (name, file:line), the biggest first, as a Markdown table. */
function summarizeProfile(profile, top) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id).callFrame;
    const where = frame.url ? `${frame.url.replace(`file://${repo}`, '').replace(/^.*node_modules\//, 'node_modules/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    total += dt;
  });
  const idle = selfUs.get('(idle)') ?? 0;
  const rows = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `pxecast CPU profile: ${(total / 1e6).toFixed(1)} s sampled, ${(idle / 1e6).toFixed(1)} s idle`,
    '',
    '| self ms | % of busy | function |',
    '|---:|---:|---|',
    ...rows.map(([key, us]) => `| ${(us / 1000).toFixed(0)} | ${key === '(idle)' ? '' : ((100 * us) / (total - idle)).toFixed(1)} | ${key} |`),
  ].join('\n');
}
