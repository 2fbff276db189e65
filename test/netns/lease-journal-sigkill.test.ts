// No ACKed lease is lost when the daemon is SIGKILLed: perfdhcp (many real DHCP clients, each with
// its own MAC, each exchange a new binding) runs DORA at a rate the daemon is busy with; the test
// SIGKILLs the daemon (by PID) in the middle of the ACKs, once its lease journal has grown, and
// restarts it. Every address perfdhcp got an ACK for (its `-x l` list) must be bound in the table the
// restarted daemon reads back. Several rounds, each with fresh MACs, each killed at another point.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemonIn } from '../support/netns-daemon.js';
import { storedLeases } from '../support/stored-leases.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';

const PERFDHCP = '/usr/sbin/perfdhcp';
// A /16 beside the bridge's own /24: perfdhcp plays a relay with giaddr = its address, which
// selects this pool; room for every client of every round.
const WIDE = { server: '10.216.0.1', client: '10.216.0.2', first: '10.216.0.10', last: '10.216.255.250' };
const ROUNDS = 3;
const RATE = 400;
const PERIOD_S = 4;
// The daemon is killed once the journal holds about this many more bytes (a few hundred leases).
const KILL_AFTER_BYTES = [12_000, 30_000, 20_000];

const work = mkdtempSync(join(tmpdir(), 'pxecast-sigkill-'));
const stateFile = join(work, 'state', 'leases.json');
const configFile = join(work, 'pxecast.ini');
let serverNs: Namespace;
let client: LinkEnd;
let daemon: ProcessHandle | null = null;

const journalBytes = () => {
  try {
    return statSync(`${stateFile}.journal`).size;
  } catch {
    return 0;
  }
};

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  serverNs = createNamespace('ksrv');
  const clientNs = createNamespace('kcli');
  const lan = createBridge([serverNs, clientNs]);
  const server = lan.members[0]!;
  client = lan.members[1]!;
  for (const [end, address] of [[server, WIDE.server], [client, WIDE.client]] as const) {
    const r = await runInNamespace(end.namespace, 'ip', ['addr', 'add', `${address}/16`, 'dev', end.ifname], { timeoutMs: 5000 });
    assert.equal(r.exitCode, 0, r.stderr);
  }
  const r = await runInNamespace(client.namespace, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', client.ifname], { timeoutMs: 5000 });
  assert.equal(r.exitCode, 0, r.stderr);
  mkdirSync(join(work, 'root'));
  writeFileSync(
    configFile,
    [
      '[log]', 'level = info', // 'dhcp listening' tells the test it is ready
      '[tftp]', `listen = ${server.address}`, `root = ${join(work, 'root')}`,
      '[dhcp]', 'mode = full', `interface = ${WIDE.server}`, 'lease_time = 1h', `state_file = ${stateFile}`,
      '[pool wide]', `first = ${WIDE.first}`, `last = ${WIDE.last}`, 'prefix = 16',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

/** The addresses of perfdhcp's `-x l` list of REQUEST-ACK leases (`client_id,address,` lines;
 *  the client id is empty: pxecast does not echo option 61). */
function ackedAddresses(report: string): Set<string> {
  const at = report.indexOf('***Leases for REQUEST-ACK***');
  const acked = new Set<string>();
  if (at < 0) return acked;
  for (const m of report.slice(at).matchAll(/^[0-9a-f]*,(\d+\.\d+\.\d+\.\d+),/gm)) acked.add(m[1]!);
  return acked;
}

describe('lease journal: SIGKILL right after ACKs (perfdhcp, netns)', () => {
  it('every lease ACKed before the kill is in the table after the restart, in every round', async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
      const startBytes = journalBytes();
      // Its report lists every lease; it goes to a file (the captured output keeps only a tail).
      const report = join(work, `perfdhcp-${round}.out`);
      const run = runInNamespace(client.namespace, '/bin/sh', ['-c', `exec "$0" "$@" > ${report}`, PERFDHCP,
        '-4', '-l', WIDE.client, '-B', '-g', 'single',
        '-r', String(RATE), '-p', String(PERIOD_S), '-n', String(RATE * PERIOD_S), '-n', String(RATE * PERIOD_S),
        '-R', '20000', '-b', `mac=02:00:00:0${round}:00:00`, '-W', '1000000', '-x', 'l', '255.255.255.255',
      ], { timeoutMs: (PERIOD_S + 20) * 1000 });
      // Wait for the journal to grow (the event), then kill at once, while ACKs are going out.
      let finished = false;
      void run.then(() => (finished = true));
      while (!finished && journalBytes() - startBytes < KILL_AFTER_BYTES[round]!) await new Promise((r) => setImmediate(r));
      const killedMidRun = !finished;
      process.kill(daemon.pid, 'SIGKILL');
      await daemon.exited;
      daemon = null;
      const result = await run;
      const text = readFileSync(report, 'utf8');
      const acked = ackedAddresses(text);
      assert.ok(acked.size > 0, `no ACKs in round ${round}: ${text.slice(0, 1500)}${result.stderr}`);
      assert.ok(killedMidRun, `perfdhcp ended before the journal grew (round ${round}, ${acked.size} ACKs)`);

      daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
      const stored = new Set(storedLeases(stateFile).filter((l) => l.state === 'bound').map((l) => l.address));
      const lost = [...acked].filter((address) => !stored.has(address));
      t.diagnostic(`round ${round}: ${acked.size} ACKed before the kill, ${stored.size} bound after the restart, ${lost.length} lost`);
      assert.deepEqual(lost, [], 'ACKed leases missing after the restart');
      await daemon.kill();
      daemon = null;
    }
  });
});
