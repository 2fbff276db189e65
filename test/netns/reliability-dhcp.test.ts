// DHCP faults in full mode on a bridged LAN of test namespaces: the lease file's disk fills up
// (a tiny tmpfs the test mounts in a directory it created), and the daemon is SIGKILLed in the
// middle of a burst of REQUESTs and restarted. The promise under test: a client is ACKed only for
// a binding that is on disk, the lease file is never torn, and no address is ever handed out twice.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DhcpMessageType } from '../../src/codec/dhcp-message.js';
import { dhcpExchange, ipBytes, plainDhcpPacket, testMac, type DhcpReply } from '../support/dhcp-exchange.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { storedLeases as readStoredLeases } from '../support/stored-leases.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-rel-dhcp-'));
const stateDir = join(work, 'state');
const stateFile = join(stateDir, 'leases.json');
const configFile = join(work, 'pxecast.ini');
const TMPFS_BYTES = 64 * 1024;
let mounted = false;
let serverNs: Namespace;
let server: LinkEnd;
let client: LinkEnd;
let subnet = '';
let daemon: ProcessHandle | null = null;

interface StoredLease {
  readonly address: string;
  readonly mac: string;
  readonly state: string;
}

const storedLeases = (): StoredLease[] => readStoredLeases(stateFile);
const boundTo = (mac: number) => storedLeases().find((l) => l.mac === testMac(mac) && l.state === 'bound')?.address;

async function startDaemon(): Promise<void> {
  daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  mkdirSync(stateDir);
  // A disk that can fill up, in a directory this test created; unmounted in after().
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'pxecast-test', stateDir]);
  mounted = true;
  serverNs = createNamespace('dsrv');
  const clientNs = createNamespace('dcli');
  const lan = createBridge([serverNs, clientNs]);
  server = lan.members[0]!;
  client = lan.members[1]!;
  // The probe sends to 255.255.255.255 from a 0.0.0.0 socket, which needs a route.
  const r = await runInNamespace(client.namespace, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', client.ifname], { timeoutMs: 5000 });
  assert.equal(r.exitCode, 0, r.stderr);
  subnet = server.address.split('.').slice(0, 3).join('.');
  mkdirSync(join(work, 'root'));
  writeFileSync(
    configFile,
    [
      '[log]', 'level = info',
      '[tftp]', `listen = ${server.address}`, `root = ${join(work, 'root')}`,
      '[dhcp]', 'mode = full', `interface = ${server.address}`, 'lease_time = 1h', `state_file = ${stateFile}`,
      '[pool lab]', `first = ${subnet}.100`, `last = ${subnet}.150`, `router = ${server.address}`,
      '',
    ].join('\n'),
  );
  await startDaemon();
});

after(async () => {
  await daemon?.kill();
  teardown();
  if (mounted) execFileSync('umount', [stateDir]);
  rmSync(work, { recursive: true, force: true });
});

const replyOfType = (replies: DhcpReply[], mac: number, type: number) =>
  replies.find((r) => r.msg.chaddr === testMac(mac) && r.msg.options[53] === type);

// Replies on this LAN take milliseconds; the probe's wait bounds each exchange.
const WAIT_MS = 500;

async function discover(mac: number): Promise<string> {
  const offer = replyOfType(await dhcpExchange(client, plainDhcpPacket(DhcpMessageType.DISCOVER, mac), { waitMs: WAIT_MS }), mac, DhcpMessageType.OFFER);
  assert.ok(offer, `an OFFER for client ${mac}`);
  return offer.msg.yiaddr;
}

function request(mac: number, address: string, waitMs = WAIT_MS): Promise<DhcpReply[]> {
  return dhcpExchange(client, plainDhcpPacket(DhcpMessageType.REQUEST, mac, [50, 4, ...ipBytes(address), 54, 4, ...ipBytes(server.address)]), { waitMs });
}

/** Fills the tmpfs to the last byte; returns the filler file to delete later. The lease journal's
 *  last page is filled first with blank lines (which a reader skips), so its next append needs a
 *  page of its own: a full disk then refuses it. */
function fillDisk(): string {
  const journal = `${stateFile}.journal`;
  const size = existsSync(journal) ? statSync(journal).size : 0;
  if (size % 4096 !== 0) appendFileSync(journal, '\n'.repeat(4096 - (size % 4096)));
  const filler = join(stateDir, 'filler');
  try {
    writeFileSync(filler, Buffer.alloc(TMPFS_BYTES));
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  return filler;
}

describe('DHCP lease file on a full disk (tmpfs, netns)', () => {
  it('a binding that cannot be stored is not ACKed, the old file stays whole, and the retry is ACKed once there is room', async (t) => {
    const first = await discover(1);
    assert.ok(replyOfType(await request(1, first), 1, DhcpMessageType.ACK), 'ACK while the disk has room');
    assert.equal(boundTo(1), first);

    const filler = fillDisk();
    const address = await discover(2);
    const started = performance.now();
    const replies = await request(2, address);
    t.diagnostic(`full disk: REQUEST answered with ${replies.map((r) => r.msg.options[53]).join(',') || 'nothing'} in ${Math.round(performance.now() - started)} ms`);
    assert.equal(replyOfType(replies, 2, DhcpMessageType.ACK), undefined, 'no ACK for a binding that is not on disk');
    assert.match(daemon!.outputTail(), /cannot write the lease file; the previous one is kept.*ENOSPC/);
    assert.match(daemon!.outputTail(), /dhcp ack withheld: the lease is not on disk/);
    assert.equal(boundTo(1), first, 'what is on disk is intact and parses');
    assert.equal(boundTo(2), undefined);
    assert.deepEqual(readdirSync(stateDir).filter((f) => f.includes('.tmp-')), [], 'no half-written temporary file holds the space');
    assert.ok(daemon!.isRunning());

    unlinkSync(filler);
    assert.ok(replyOfType(await request(2, address), 2, DhcpMessageType.ACK), 'the retried REQUEST is ACKed');
    assert.equal(boundTo(2), address);
  });
});

describe('DHCP daemon SIGKILLed mid-burst and restarted (netns)', () => {
  it('every ACK that left is on disk after the restart, and no address is handed out twice', async (t) => {
    const burst = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17];
    const offered = new Map<number, string>();
    await Promise.all(burst.map(async (mac) => offered.set(mac, await discover(mac))));
    const leaseLines = () => (daemon!.outputTail().match(/ dhcp lease /g) ?? []).length;
    const linesBefore = leaseLines();
    // All REQUESTs at once; SIGKILL (by PID) once the daemon has bound half of them in memory,
    // a moment later: some ACKs have left by then, some bindings are on their way to disk.
    const inFlight = burst.map((mac) => request(mac, offered.get(mac)!, 2500));
    const deadline = Date.now() + 8000;
    while (leaseLines() < linesBefore + burst.length / 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 15));
    process.kill(daemon!.pid, 'SIGKILL');
    await daemon!.exited;
    const replies = (await Promise.all(inFlight)).flat();
    const acked = burst.filter((mac) => replyOfType(replies, mac, DhcpMessageType.ACK));
    t.diagnostic(`${leaseLines() - linesBefore} bound in memory before the kill, ${acked.length} of ${burst.length} ACKed`);

    await startDaemon();
    for (const mac of acked) assert.equal(boundTo(mac), offered.get(mac), `ACKed client ${mac} is on disk`);

    // New clients after the restart, and the survivors asking again.
    const seen = new Map<string, number>();
    for (const l of storedLeases()) if (l.state === 'bound') seen.set(l.address, Number.parseInt(l.mac.slice(-2), 16));
    for (const mac of [0x20, 0x21, 0x22, 0x23]) {
      const address = await discover(mac);
      assert.ok(!seen.has(address) || seen.get(address) === mac, `${address} offered to ${mac} is bound to ${seen.get(address)}`);
      assert.ok(replyOfType(await request(mac, address), mac, DhcpMessageType.ACK));
      seen.set(address, mac);
    }
    for (const mac of acked) assert.equal(await discover(mac), offered.get(mac), `client ${mac} keeps its address`);
    // The ones that never heard an ACK retry their REQUEST, as clients do: granted or refused, never
    // an address someone else holds.
    for (const mac of burst.filter((m) => !acked.includes(m))) {
      const ack = replyOfType(await request(mac, offered.get(mac)!), mac, DhcpMessageType.ACK);
      if (ack) assert.ok(!seen.has(ack.msg.yiaddr) || seen.get(ack.msg.yiaddr) === mac, `${ack.msg.yiaddr} ACKed twice`);
    }
    const bound = storedLeases().filter((l) => l.state === 'bound');
    assert.equal(new Set(bound.map((l) => l.address)).size, bound.length, 'unique addresses in the lease file');
    assert.equal(new Set(bound.map((l) => l.mac)).size, bound.length, 'one binding per client');
  });
});
