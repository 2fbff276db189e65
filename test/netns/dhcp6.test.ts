// The DHCPv6 boot responder against ISC dhclient -6 (Debian) on a bridged LAN of namespaces the
// test creates: stateless (`-S`, INFORMATION-REQUEST) and stateful (SOLICIT/ADVERTISE/REQUEST/
// REPLY with an IA_NA from the pool). dhclient passes what it received to its script as
// environment variables (new_dhcp6_bootfile_url, new_ip6_address, ...), which the script writes to
// a file the test reads. The boot URL then downloads over TFTPv6 with curl, byte-checked.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBootFileParams } from '../../src/codec/dhcp6-message.js';
import { cliPath } from '../support/daemon-process.js';
import { dhclient6 as runDhclient6, linkLocalReady } from '../support/dhclient6.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import {
  addIpv6Address,
  canUseNetns,
  createBridge,
  createNamespace,
  runInNamespace,
  teardown,
  type LinkEnd,
  type Namespace,
  type ProcessHandle,
} from '../support/netns.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-dhcp6-'));
const configFile = join(work, 'pxecast.ini');
const SERVER6 = 'fd00:213:6::1';
const IMAGE = randomBytes(200_000);
const HOST_IMAGE = randomBytes(70_000);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let server: LinkEnd;
let clients: LinkEnd[] = [];
let serverNs: Namespace;
let daemon: (ProcessHandle & { readonly socket: string }) | null = null;

/** `hostLines`: the keys of `[host node]`, which boots the `host` image. */
async function startDaemon(mode: 'stateless' | 'stateful', hostLines: readonly string[]): Promise<void> {
  await daemon?.kill();
  writeFileSync(join(work, 'bootx64.efi'), IMAGE);
  writeFileSync(join(work, 'host.efi'), HOST_IMAGE);
  writeFileSync(
    configFile,
    [
      '[log]',
      'level = debug',
      '[tftp]',
      'listen = ::',
      `root = ${work}`,
      '[mtftp]',
      'enabled = false',
      '[dhcp6]',
      `mode = ${mode}`,
      `address = ${SERVER6}`,
      `link = ${server.ifname}`,
      'boot_params = console=ttyS0 ip=dhcp6',
      'pool_first = fd00:213:6::100',
      'pool_last = fd00:213:6::1ff',
      'lease_time = 10m',
      `state_file = ${join(work, 'leases6.json')}`,
      '[image uefi]',
      'file = bootx64.efi',
      'arch = efi-x64',
      'default = true',
      '[image host]',
      'file = host.efi',
      '[host node]',
      ...hostLines,
      'image = host',
      '',
    ].join('\n'),
  );
  daemon = await startDaemonIn(serverNs, configFile, /dhcp6 listening/);
}

async function macOf(end: LinkEnd): Promise<string> {
  const r = await runInNamespace(end.namespace, 'cat', [`/sys/class/net/${end.ifname}/address`], { timeoutMs: 5000 });
  return r.stdout.trim();
}

/** dhclient -6 as a UEFI client of architecture `arch` (support/dhclient6.ts), named `name` in `work`. */
function dhclient6(end: LinkEnd, name: string, args: readonly string[], reason: RegExp, arch: number): Promise<Record<string, string>> {
  return runDhclient6(end, { work, name, args, reason, arch, context: () => `--- pxecast:\n${daemon?.outputTail()}` });
}

/**
 * Makes dhclient -6 use `duid` (its Client Identifier) instead of making one from its MAC: it reads
 * `default-duid` from its lease file, a string with each byte as a 3-digit octal escape.
 */
function fixDuid(name: string, duid: Buffer): void {
  const escaped = [...duid].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  writeFileSync(join(work, `${name}.leases`), `default-duid "${escaped}";\n`);
}

/** Downloads `url` with curl inside the client's namespace; the bytes. */
async function curlGet(end: LinkEnd, url: string): Promise<Buffer> {
  const file = join(work, `curl-${Date.now()}.bin`);
  const r = await runInNamespace(end.namespace, 'curl', ['-sS', '--max-time', '20', '-o', file, url], { timeoutMs: 30_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  return readFileSync(file);
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  serverNs = createNamespace('d6srv');
  const lan = createBridge([serverNs, createNamespace('d6c1'), createNamespace('d6c2')]);
  server = lan.members[0]!;
  clients = lan.members.slice(1);
  addIpv6Address(server, `${SERVER6}/64`);
  // The client reaches the server's ULA through an on-link route (no router advertisements here).
  for (const end of clients) {
    const r = await runInNamespace(end.namespace, 'ip', ['-6', 'route', 'add', 'fd00:213:6::/64', 'dev', end.ifname], { timeoutMs: 5000 });
    assert.equal(r.exitCode, 0, r.stderr);
  }
  await Promise.all([server, ...clients].map(linkLocalReady));
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

describe('DHCPv6 boot options to dhclient -6 (bridged netns LAN)', () => {
  it('stateless (-S, INFORMATION-REQUEST): the boot URL for arch 7 and option 60; the URL downloads over TFTPv6 byte for byte', async () => {
    await startDaemon('stateless', ['mac = 02:00:00:00:00:99']);
    // Debian's dhclient 4.4 reports an answered Information-request to its script as RENEW6.
    const env = await dhclient6(clients[0]!, 'stateless', ['-S'], /INFORM6|RENEW6/, 7);
    assert.equal(env['new_dhcp6_bootfile_url'], `tftp://[${SERVER6}]/bootx64.efi`, JSON.stringify(env));
    // dhclient prints option 60 as its bytes (colon-separated hex): RFC 5970 length-prefixed strings.
    const params = Buffer.from((env['new_dhcp6_bootfile_param'] ?? '').split(':').map((x) => parseInt(x, 16)));
    assert.deepEqual(decodeBootFileParams(params), ['console=ttyS0', 'ip=dhcp6']);
    assert.ok(env['new_dhcp6_server_id'], 'option 2 received');
    const bytes = await curlGet(clients[0]!, env['new_dhcp6_bootfile_url']!);
    assert.equal(sha(bytes), sha(IMAGE));
  });

  it('stateful: an address from the pool (IA_NA) and the boot URL of the host assigned by MAC (DUID-LL/LLT); the lease is on disk', async () => {
    const mac = await macOf(clients[1]!);
    await startDaemon('stateful', [`mac = ${mac}`]);
    const env = await dhclient6(clients[1]!, 'stateful', ['-N'], /BOUND6/, 7);
    assert.match(env['new_ip6_address'] ?? '', /^fd00:213:6::1[0-9a-f]{2}$/, JSON.stringify(env));
    assert.equal(env['new_dhcp6_bootfile_url'], `tftp://[${SERVER6}]/host.efi`);
    const stored = JSON.parse(readFileSync(join(work, 'leases6.json'), 'utf8')) as { leases6: Array<{ address: string; mac: string | null; state: string }> };
    assert.deepEqual(stored.leases6.map((l) => [l.address, l.mac, l.state]), [[env['new_ip6_address'], mac, 'bound']]);
    // The operator sees the binding, and whose it is, with `pxecast leases`.
    const listed = await runInNamespace(serverNs, process.execPath, [cliPath, 'leases', '--json', '--socket', daemon!.socket], { timeoutMs: 10_000 });
    assert.equal(listed.exitCode, 0, listed.stderr);
    const v6 = (JSON.parse(listed.stdout) as { leases: { v6: { responder: string; leases: Array<{ address: string; mac: string | null; host: string | null; state: string }> } } }).leases.v6;
    assert.equal(v6.responder, 'stateful');
    assert.deepEqual(v6.leases.map((l) => [l.address, l.mac, l.host, l.state]), [[env['new_ip6_address'], mac, 'node', 'bound']]);
    // Give the client its address, and fetch through it: the download is checked byte for byte.
    const add = await runInNamespace(clients[1]!.namespace, 'ip', ['-6', 'addr', 'add', `${env['new_ip6_address']}/128`, 'dev', clients[1]!.ifname, 'nodad'], { timeoutMs: 5000 });
    assert.equal(add.exitCode, 0, add.stderr);
    assert.equal(sha(await curlGet(clients[1]!, env['new_dhcp6_bootfile_url']!)), sha(HOST_IMAGE));
  });

  it('a host known by DUID only: the client sending that DUID gets its image, the other client the default; both download byte for byte', async () => {
    // DUID-UUID (type 4, as UEFI firmware sends it): no MAC inside, so only the DUID can match.
    const duid = Buffer.from('0004' + 'a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex');
    await startDaemon('stateless', [`duid = ${[...duid].map((b) => b.toString(16).padStart(2, '0')).join(':')}`]);
    fixDuid('known-duid', duid);
    const known = await dhclient6(clients[0]!, 'known-duid', ['-S'], /INFORM6|RENEW6/, 7);
    const other = await dhclient6(clients[1]!, 'other-duid', ['-S'], /INFORM6|RENEW6/, 7);
    assert.equal(known['new_dhcp6_bootfile_url'], `tftp://[${SERVER6}]/host.efi`, JSON.stringify(known));
    assert.equal(other['new_dhcp6_bootfile_url'], `tftp://[${SERVER6}]/bootx64.efi`, JSON.stringify(other));
    // The daemon saw the fixed DUID from the first client, its own DUID-LLT/LL from the second.
    assert.match(daemon!.outputTail(), new RegExp(`duid=${duid.toString('hex')} .*host=node host_by=duid`));
    assert.equal(sha(await curlGet(clients[0]!, known['new_dhcp6_bootfile_url']!)), sha(HOST_IMAGE));
    assert.equal(sha(await curlGet(clients[1]!, other['new_dhcp6_bootfile_url']!)), sha(IMAGE));
  });
});
