// One truth for DHCP and MTFTP, end to end: the real daemon in a test namespace is asked by a BIOS
// PXE client (the captured iPXE DISCOVER) for its boot information; the MTFTP tuple decoded from
// option 43 is then handed to a real MTFTP client (atftp --mget) whose copy must be byte-identical,
// and a tuple that is not advertised must have no socket behind it (`ss` in the server namespace).
// States: enabled, reload that changes the tuple, reload onto a port something else holds (bind
// failure), the same reload once the port is free, reload that removes the channel, and disabled.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeMtftpSubOptions, decodePxeVendorOptions } from '../../src/codec/pxe-options.js';
import { awaitClient, startAtftpMget, type MtftpChannel } from '../support/atftp-multicast.js';
import { cliPath } from '../support/daemon-process.js';
import { dhcpExchange } from '../support/dhcp-exchange.js';
import { capture } from '../support/fixtures.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, spawnInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-served-mtftp-'));
const configFile = join(work, 'pxecast.ini');
const IMAGE = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 131 + (i >> 9)) & 0xff));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let server: LinkEnd;
let client: LinkEnd;
let serverNs: Namespace;
let daemon: (ProcessHandle & { readonly socket: string }) | null = null;
let mac = 0x10;

const A: MtftpChannel = { group: '239.255.2.1', clientPort: 3101, serverPort: 1759 };
const B: MtftpChannel = { group: '239.255.2.2', clientPort: 3102, serverPort: 1801 };

function writeConfig(opts: { enabled?: boolean; channel: MtftpChannel | null }): void {
  const ch = opts.channel;
  writeFileSync(
    configFile,
    [
      '[log]',
      'level = debug',
      '[tftp]',
      `listen = ${server.address}`,
      `root = ${work}`,
      '[mtftp]',
      `enabled = ${opts.enabled ?? true}`,
      '[dhcp]',
      'mode = proxy',
      `interface = ${server.address}`,
      '[image bios]',
      'file = undionly.kpxe',
      'arch = bios',
      'default = true',
      ...(ch
        ? ['mtftp = true', `mtftp_group = ${ch.group}`, `mtftp_client_port = ${ch.clientPort}`, `mtftp_server_port = ${ch.serverPort}`, 'mtftp_open_timeout = 1', 'mtftp_reopen_delay = 2']
        : ['mtftp = false']),
      '',
    ].join('\n'),
  );
}

/** The MTFTP tuple in option 43 of the offer to a BIOS PXE client, or null when it has none. */
async function advertised(): Promise<MtftpChannel | null> {
  const packet = Buffer.from(capture('ipxe-dhcp-discover'));
  packet.writeUInt32BE(0x53000000 + ++mac, 4);
  packet[28 + 5] = mac;
  const [offer] = await dhcpExchange(client, packet);
  assert.ok(offer, 'a proxy offer');
  const vendor = offer.msg.raw.get(43);
  assert.ok(vendor, 'option 43');
  if (!decodePxeVendorOptions(vendor).has(1)) return null;
  const t = decodeMtftpSubOptions(vendor)!;
  return { group: t.group, clientPort: t.clientPort, serverPort: t.serverPort };
}

/** The UDP ports the daemon has bound on the serving address, read with `ss` in its namespace. */
async function boundPorts(): Promise<Set<number>> {
  const r = await runInNamespace(serverNs, 'ss', ['-H', '-u', '-l', '-n'], { timeoutMs: 5000 });
  assert.equal(r.exitCode, 0, r.stderr);
  const ports = r.stdout.split('\n').flatMap((line) => {
    const local = line.trim().split(/\s+/)[3] ?? '';
    return local.startsWith(`${server.address}:`) ? [Number(local.slice(local.lastIndexOf(':') + 1))] : [];
  });
  return new Set(ports);
}

/** atftp --mget on `channel`: the copy must be the image, byte for byte. */
async function assertServedOn(channel: MtftpChannel): Promise<void> {
  const local = join(work, `copy-${channel.serverPort}-${mac}`);
  const run = await awaitClient(startAtftpMget(client.namespace, server.address, channel, 'undionly.kpxe', local), 20_000);
  assert.ok(run.ok, `atftp --mget on ${channel.group}:${channel.clientPort} via ${channel.serverPort}: ${run.stderr}`);
  assert.equal(sha(readFileSync(local)), sha(IMAGE), 'byte-identical copy');
}

async function reload(opts: { enabled?: boolean; channel: MtftpChannel | null }): Promise<void> {
  writeConfig(opts);
  const r = await runInNamespace(serverNs, process.execPath, [cliPath, 'reload', '--socket', daemon!.socket], { timeoutMs: 10_000 });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /configuration reloaded/);
}

async function restart(opts: { enabled?: boolean; channel: MtftpChannel | null }): Promise<void> {
  await daemon?.kill();
  writeConfig(opts);
  daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  serverNs = createNamespace('srv');
  const lan = createBridge([serverNs, createNamespace('cli')]);
  server = lan.members[0]!;
  client = lan.members[1]!;
  // The probe sends to 255.255.255.255 from a 0.0.0.0 socket: it needs a route for it.
  const r = await runInNamespace(client.namespace, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', client.ifname], { timeoutMs: 5000 });
  assert.equal(r.exitCode, 0, r.stderr);
  writeFileSync(join(work, 'undionly.kpxe'), IMAGE);
  await restart({ channel: A });
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

describe('option 43 is what the MTFTP server serves (real daemon, atftp --mget)', { concurrency: false }, () => {
  it('enabled: the advertised tuple serves the image', async () => {
    assert.deepEqual(await advertised(), A);
    await assertServedOn(A);
  });

  it('a reload that changes the tuple: the new one is advertised and served, the old port is closed', async () => {
    await reload({ channel: B });
    assert.deepEqual(await advertised(), B);
    await assertServedOn(B);
    const ports = await boundPorts();
    assert.ok(!ports.has(A.serverPort), `old server port ${A.serverPort} closed: ${[...ports].join(',')}`);
  });

  it('a reload onto a server port something else holds: no sub-options 1-5; once free, a reload serves it', async () => {
    // Another program holds A's server port on the serving address.
    const holder = spawnInNamespace(serverNs, process.execPath, [
      '-e',
      `const s = require('node:dgram').createSocket('udp4'); s.bind(${A.serverPort}, '${server.address}', () => console.log('bound'));`,
    ]);
    try {
      const deadline = Date.now() + 5000;
      while (!/bound/.test(holder.outputTail())) {
        assert.ok(holder.isRunning() && Date.now() < deadline, holder.outputTail());
        await new Promise((r) => setTimeout(r, 20));
      }
      await reload({ channel: A });
      assert.match(daemon!.outputTail(), /cannot bind an MTFTP server port/);
      assert.equal(await advertised(), null, 'nothing of ours listens there: nothing is advertised');
    } finally {
      await holder.kill();
    }
    await reload({ channel: A });
    assert.deepEqual(await advertised(), A);
    await assertServedOn(A);
    assert.ok(!(await boundPorts()).has(B.serverPort), 'the port of the tuple it replaced is closed');
  });

  it('a reload that removes the channel: no sub-options 1-5 and no MTFTP socket', async () => {
    await reload({ channel: null });
    assert.equal(await advertised(), null);
    assert.ok(!(await boundPorts()).has(A.serverPort));
  });

  it('[mtftp] enabled = false: no sub-options 1-5 and no MTFTP socket, though the image names a channel', async () => {
    await restart({ enabled: false, channel: A });
    assert.equal(await advertised(), null);
    assert.ok(!(await boundPorts()).has(A.serverPort));
  });
});
