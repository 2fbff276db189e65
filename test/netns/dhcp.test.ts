// The DHCP responder on a bridged LAN of network namespaces made by the test, against real clients
// (busybox udhcpc, ISC dhclient), a real dnsmasq (proxy mode), and crafted PXE packets built from
// the captured iPXE DISCOVER/REQUEST (sent by test/support/dhcp-probe.ts inside a namespace).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeDhcp, DhcpMessageType } from '../../src/codec/dhcp-message.js';
import { decodeMtftpSubOptions, decodePxeVendorOptions } from '../../src/codec/pxe-options.js';
import { dhcpExchange, ipBytes, plainDhcpPacket } from '../support/dhcp-exchange.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { storedLeases } from '../support/stored-leases.js';
import { capture } from '../support/fixtures.js';
import {
  canUseNetns,
  createBridge,
  createNamespace,
  runInNamespace,
  spawnInNamespace,
  teardown,
  type LinkEnd,
  type Namespace,
  type ProcessHandle,
} from '../support/netns.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-dhcp-'));
const stateFile = join(work, 'leases.json');
const configFile = join(work, 'pxecast.ini');
let server: LinkEnd;
let serverNs: Namespace;
let clientEnds: LinkEnd[] = [];
let subnet = '';
let daemon: ProcessHandle | null = null;

const TUPLE = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 3 };

function writeConfig(mode: 'full' | 'proxy', reopenDelay = TUPLE.reopenDelayS): void {
  writeFileSync(join(work, 'undionly.kpxe'), 'bios');
  writeFileSync(join(work, 'boot.ipxe'), '#!ipxe\n');
  writeFileSync(
    configFile,
    [
      '[log]',
      'level = debug',
      '[tftp]',
      `listen = ${server.address}`,
      `root = ${work}`,
      '[dhcp]',
      `mode = ${mode}`,
      `interface = ${server.address}`,
      'lease_time = 1h',
      `state_file = ${stateFile}`,
      '[pool lab]',
      `first = ${subnet}.100`,
      `last = ${subnet}.150`,
      `router = ${server.address}`,
      '[image bios]',
      'file = undionly.kpxe',
      'ipxe_file = boot.ipxe',
      'arch = bios',
      'default = true',
      'mtftp = true',
      `mtftp_open_timeout = ${TUPLE.openTimeoutS}`,
      `mtftp_reopen_delay = ${reopenDelay}`,
      '',
    ].join('\n'),
  );
}

async function startDaemon(): Promise<void> {
  daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
}

async function stopDaemon(): Promise<void> {
  await daemon?.kill();
  daemon = null;
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  serverNs = createNamespace('dsrv');
  const clients = [createNamespace('d1'), createNamespace('d2'), createNamespace('d3')];
  const lan = createBridge([serverNs, ...clients]);
  server = lan.members[0]!;
  clientEnds = lan.members.slice(1);
  // A host without a default route cannot send to 255.255.255.255 from a 0.0.0.0 socket
  // (ENETUNREACH); real DHCP clients use raw sockets, the probe needs the route.
  for (const end of clientEnds) {
    const r = await runInNamespace(end.namespace, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', end.ifname], { timeoutMs: 5000 });
    assert.equal(r.exitCode, 0, r.stderr);
  }
  subnet = server.address.split('.').slice(0, 3).join('.');
  writeConfig('full');
  await startDaemon();
});

after(async () => {
  await stopDaemon();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

/** The captured iPXE packet with this client's MAC and a fresh xid (and optional tweaks). */
function ipxePacket(name: 'ipxe-dhcp-discover' | 'ipxe-dhcp-request', mac: number, tweak?: (b: Buffer) => void): Buffer {
  const b = Buffer.from(capture(name));
  b.writeUInt32BE(0x51000000 + mac, 4);
  b[28 + 5] = mac;
  tweak?.(b);
  return b;
}


describe('DHCP full mode (bridged netns LAN)', () => {
  it('busybox udhcpc obtains a lease from the pool', async () => {
    const r = await runInNamespace(clientEnds[0]!.namespace, 'busybox', ['udhcpc', '-f', '-q', '-n', '-t', '4', '-T', '1', '-s', '/bin/true', '-i', clientEnds[0]!.ifname], { timeoutMs: 20_000 });
    const out = r.stdout + r.stderr;
    assert.match(out, new RegExp(`lease of ${subnet.replace(/\./g, '\\.')}\\.1\\d\\d obtained`), out);
  });

  it('ISC dhclient obtains a lease, and gets the same address again on its init-reboot REQUEST', async () => {
    const end = clientEnds[1]!;
    const leaseFile = join(work, 'dhclient.leases');
    const args = ['-1', '-v', '-lf', leaseFile, '-pf', join(work, 'dhclient.pid'), '-sf', '/bin/true', end.ifname];
    const first = await runInNamespace(end.namespace, 'dhclient', args, { timeoutMs: 30_000 });
    const bound = /bound to (\d+\.\d+\.\d+\.\d+)/.exec(first.stdout + first.stderr);
    assert.ok(bound, first.stdout + first.stderr);
    await runInNamespace(end.namespace, 'dhclient', ['-x', '-pf', join(work, 'dhclient.pid'), '-lf', leaseFile, '-sf', '/bin/true', end.ifname], { timeoutMs: 10_000 });
    const again = await runInNamespace(end.namespace, 'dhclient', args, { timeoutMs: 30_000 });
    assert.match(again.stdout + again.stderr, new RegExp(`bound to ${bound[1]!.replace(/\./g, '\\.')}`), again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, /DHCPREQUEST/);
  });

  it('a PXE client (captured iPXE DISCOVER) gets its boot file and option 43 equal to the catalog tuple, byte for byte', async () => {
    const [offer] = await dhcpExchange(clientEnds[2]!, ipxePacket('ipxe-dhcp-discover', 0x21));
    assert.ok(offer, 'an OFFER');
    assert.equal(offer.msg.options[53], DhcpMessageType.OFFER);
    assert.equal(offer.msg.file, 'boot.ipxe', 'iPXE gets the ipxe_file, so the chainload does not loop');
    assert.equal(offer.msg.siaddr, server.address);
    assert.equal(offer.msg.options[60], 'PXEClient');
    assert.deepEqual(decodeMtftpSubOptions(offer.msg.raw.get(43)!), TUPLE);
    assert.deepEqual(offer.msg.raw.get(97), decodeDhcp(capture('ipxe-dhcp-discover')).raw.get(97), 'option 97 echoed');
    // Firmware (no iPXE user class) gets the image file itself.
    const firmware = ipxePacket('ipxe-dhcp-discover', 0x22, (b) => {
      const at = b.indexOf(Buffer.from([77, 4, 0x69, 0x50, 0x58, 0x45]));
      b[at] = 200; // rename option 77 to an unused tag
      const ipxe175 = b.indexOf(Buffer.from([175, 48]));
      b[ipxe175] = 201;
    });
    const [fwOffer] = await dhcpExchange(clientEnds[2]!, firmware);
    assert.equal(fwOffer?.msg.file, 'undionly.kpxe');
  });

  it('two clients never share an address; the pool never hands out the same one twice', async () => {
    const seen = new Set<string>();
    for (const mac of [0x31, 0x32]) {
      const [offer] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DISCOVER, mac));
      assert.ok(offer);
      assert.ok(!seen.has(offer.msg.yiaddr), `${offer.msg.yiaddr} offered twice`);
      seen.add(offer.msg.yiaddr);
    }
  });

  it('renew (unicast REQUEST with ciaddr) is ACKed; DECLINE quarantines; RELEASE frees', async () => {
    const mac = 0x41;
    const [offer] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DISCOVER, mac));
    assert.ok(offer);
    const address = offer.msg.yiaddr;
    const [ack] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.REQUEST, mac, [50, 4, ...ipBytes(address), 54, 4, ...ipBytes(server.address)]));
    assert.equal(ack?.msg.options[53], DhcpMessageType.ACK);
    assert.equal(ack.msg.options[58], 1800, 'T1 = half the lease');
    // Renewing: the client holds the address on its interface and unicasts from it (ciaddr).
    const end = clientEnds[2]!;
    const added = await runInNamespace(end.namespace, 'ip', ['addr', 'add', `${address}/24`, 'dev', end.ifname], { timeoutMs: 5000 });
    assert.equal(added.exitCode, 0, added.stderr);
    const [renew] = await dhcpExchange(end, plainDhcpPacket(DhcpMessageType.REQUEST, mac, [], { ciaddr: address }), { from: `${address}:68`, to: `${server.address}:67` });
    await runInNamespace(end.namespace, 'ip', ['addr', 'del', `${address}/24`, 'dev', end.ifname], { timeoutMs: 5000 });
    assert.equal(renew?.msg.options[53], DhcpMessageType.ACK);
    assert.equal(renew.from, server.address);
    await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DECLINE, mac, [50, 4, ...ipBytes(address)]), { waitMs: 300 });
    const [other] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DISCOVER, 0x42, [50, 4, ...ipBytes(address)]));
    assert.notEqual(other?.msg.yiaddr, address, 'a declined address is quarantined');
    assert.equal(storedLeases(stateFile).find((l) => l.address === address)?.state, 'declined');
  });

  it('a request through a relay (giaddr) is answered to the relay on port 67', async () => {
    const relay = clientEnds[2]!;
    const packet = plainDhcpPacket(DhcpMessageType.DISCOVER, 0x51, [], { giaddr: relay.address });
    const replies = await dhcpExchange(relay, packet, { from: `${relay.address}:67`, to: `${server.address}:67` });
    assert.equal(replies[0]?.port, 67);
    assert.equal(replies[0]?.msg.giaddr, relay.address);
  });

  it('malformed packets (truncated, bad cookie, overlong options) never crash or stall it', async () => {
    const good = ipxePacket('ipxe-dhcp-discover', 0x61);
    const bad = [good.subarray(0, 100), Buffer.concat([good.subarray(0, 236), Buffer.from([0, 0, 0, 0])]), Buffer.concat([good.subarray(0, 240), Buffer.from([60, 250, 1])])];
    for (const b of bad) await dhcpExchange(clientEnds[2]!, b, { waitMs: 200 });
    const [offer] = await dhcpExchange(clientEnds[2]!, good);
    assert.equal(offer?.msg.options[53], DhcpMessageType.OFFER, 'still serving');
    assert.ok(daemon?.isRunning());
  });

  it('a restart keeps the leases: the address stays with its MAC and is never handed to another', async () => {
    const mac = 0x71;
    const [offer] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DISCOVER, mac));
    const address = offer!.msg.yiaddr;
    await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.REQUEST, mac, [50, 4, ...ipBytes(address), 54, 4, ...ipBytes(server.address)]));
    await stopDaemon();
    await startDaemon();
    const [nak] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.REQUEST, 0x72, [50, 4, ...ipBytes(address)]));
    assert.equal(nak?.msg.options[53], DhcpMessageType.NAK);
    const [same] = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DISCOVER, mac));
    assert.equal(same?.msg.yiaddr, address);
  });

  it('a reload that changes the MTFTP tuple changes option 43 with it', async () => {
    writeConfig('full', 9);
    if (daemon) process.kill(daemon.pid, 'SIGHUP');
    const deadline = Date.now() + 5000;
    while (!/configuration reloaded/.test(daemon!.outputTail()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const [offer] = await dhcpExchange(clientEnds[2]!, ipxePacket('ipxe-dhcp-discover', 0x81));
    assert.equal(decodeMtftpSubOptions(offer!.msg.raw.get(43)!)?.reopenDelayS, 9);
    writeConfig('full');
  });
});

describe('DHCP proxy mode beside a real dnsmasq (bridged netns LAN)', () => {
  let dnsmasq: ProcessHandle | null = null;

  before(async () => {
    await stopDaemon();
    writeConfig('proxy');
    await startDaemon();
    // The site's DHCP server lives on another host of the LAN (client namespace 1 plays it).
    const site = clientEnds[0]!;
    dnsmasq = spawnInNamespace(site.namespace, 'dnsmasq', [
      '--no-daemon',
      '--user=root', // dnsmasq-base has no `dnsmasq` user to drop to
      '--log-facility=-',
      '--log-dhcp',
      '--no-ping', // it would first ping the candidate address for up to 3 s
      '--port=0',
      `--interface=${site.ifname}`,
      '--bind-interfaces',
      `--dhcp-range=${subnet}.150,${subnet}.160,255.255.255.0,1h`,
      `--dhcp-leasefile=${join(work, 'dnsmasq.leases')}`,
      `--pid-file=${join(work, 'dnsmasq.pid')}`,
    ]);
    // Ready when its DHCP socket is bound inside the namespace (ss, as the system sees it).
    const deadline = Date.now() + 5000;
    for (;;) {
      const bound = await runInNamespace(site.namespace, 'ss', ['-Hulnp', 'sport = :67'], { timeoutMs: 5000 });
      if (/"dnsmasq"/.test(bound.stdout)) break;
      assert.ok(dnsmasq.isRunning() && Date.now() < deadline, `dnsmasq did not bind port 67:\n${bound.stdout}${bound.stderr}\n${dnsmasq.outputTail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  after(async () => {
    await dnsmasq?.kill();
  });

  it('the client gets its address from dnsmasq and boot information from pxecast, which never sets yiaddr', async () => {
    // Broadcast flag set (as UEFI does): dnsmasq would otherwise unicast its offer to the crafted
    // packet's MAC, which is not this namespace's interface.
    const discover = ipxePacket('ipxe-dhcp-discover', 0x91, (b) => b.writeUInt16BE(0x8000, 10));
    const replies = await dhcpExchange(clientEnds[2]!, discover, { waitMs: 2500 });
    const fromDnsmasq = replies.find((r) => r.msg.yiaddr !== '0.0.0.0');
    const fromProxy = replies.find((r) => r.msg.options[60] === 'PXEClient');
    assert.ok(fromDnsmasq, `an address offer from dnsmasq: ${JSON.stringify(replies.map((r) => r.from))}\n${dnsmasq?.outputTail()}`);
    assert.ok(fromProxy, 'a proxy offer from pxecast');
    assert.equal(fromProxy.msg.yiaddr, '0.0.0.0');
    assert.equal(fromProxy.msg.options[54], server.address);
    assert.equal(fromProxy.msg.file, 'boot.ipxe');
    assert.ok(decodePxeVendorOptions(fromProxy.msg.raw.get(43)!).has(6));
  });

  it('answers a PXE REQUEST on port 4011 to its source port (iPXE: 68)', async () => {
    const end = clientEnds[2]!;
    const request = ipxePacket('ipxe-dhcp-request', 0x92, (b) => end.address.split('.').forEach((o, i) => (b[12 + i] = Number(o))));
    const [ack] = await dhcpExchange(end, request, { from: `${end.address}:68`, to: `${server.address}:4011` });
    assert.equal(ack?.msg.options[53], DhcpMessageType.ACK);
    assert.equal(ack.port, 4011, 'from the PXE port');
    assert.equal(ack.msg.file, 'boot.ipxe');
    assert.equal(ack.msg.yiaddr, '0.0.0.0');
  });

  it('ignores non-PXE clients entirely', async () => {
    const replies = await dhcpExchange(clientEnds[2]!, plainDhcpPacket(DhcpMessageType.DISCOVER, 0x93), { waitMs: 1500 });
    assert.ok(replies.every((r) => r.msg.options[60] !== 'PXEClient' && r.from !== server.address));
  });
});
