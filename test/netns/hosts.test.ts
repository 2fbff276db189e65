// Known hosts with real DHCP clients on a bridged LAN of test namespaces: ISC dhclient on a host's
// MAC binds the host's fixed address and receives its host name; with `unknown_clients = ignore`
// busybox udhcpc on an unknown MAC gets nothing, then is served once it is a host (after a reload).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliPath } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-hosts-'));
const configFile = join(work, 'pxecast.ini');
const KNOWN = '52:54:00:7e:00:07';
const STRANGER = '52:54:00:7e:00:08';
let server: LinkEnd;
let known: LinkEnd;
let stranger: LinkEnd;
let serverNs: Namespace;
let daemon: (ProcessHandle & { readonly socket: string }) | null = null;
let subnet = '';

function writeConfig(strangerIsHost: boolean): void {
  writeFileSync(join(work, 'undionly.kpxe'), 'bios');
  writeFileSync(
    configFile,
    [
      '[tftp]', `listen = ${server.address}`, `root = ${work}`,
      '[mtftp]', 'enabled = false',
      '[dhcp]', 'mode = full', `interface = ${server.address}`, 'unknown_clients = ignore', `state_file = ${join(work, 'leases.json')}`,
      '[pool lab]', `first = ${subnet}.100`, `last = ${subnet}.150`,
      '[image bios]', 'file = undionly.kpxe', 'default = true',
      '[host node07]', `mac = ${KNOWN}`, `address = ${subnet}.57`, 'hostname = node07',
      ...(strangerIsHost ? ['[host node08]', `mac = ${STRANGER}`] : []),
      '',
    ].join('\n'),
  );
}

async function udhcpc(end: LinkEnd) {
  return runInNamespace(end.namespace, 'busybox', ['udhcpc', '-f', '-q', '-n', '-t', '2', '-T', '1', '-s', '/bin/true', '-i', end.ifname], { timeoutMs: 20_000 });
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  serverNs = createNamespace('hs');
  const lan = createBridge([serverNs, createNamespace('hk'), createNamespace('hu')]);
  [server, known, stranger] = lan.members as [LinkEnd, LinkEnd, LinkEnd];
  for (const [end, mac] of [[known, KNOWN], [stranger, STRANGER]] as const) {
    const r = await runInNamespace(end.namespace, 'ip', ['link', 'set', 'dev', end.ifname, 'address', mac], { timeoutMs: 5000 });
    assert.equal(r.exitCode, 0, r.stderr);
  }
  subnet = server.address.split('.').slice(0, 3).join('.');
  writeConfig(false);
  daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

describe('known hosts with real DHCP clients', { concurrency: false }, () => {
  it("ISC dhclient on a host's MAC binds its fixed address and gets its host name", async () => {
    const leaseFile = join(work, 'dhclient.leases');
    const r = await runInNamespace(known.namespace, 'dhclient', ['-1', '-v', '-lf', leaseFile, '-pf', join(work, 'dhclient.pid'), '-sf', '/bin/true', known.ifname], { timeoutMs: 30_000 });
    assert.match(r.stdout + r.stderr, new RegExp(`bound to ${subnet.replace(/\./g, '\\.')}\\.57`), r.stdout + r.stderr);
    assert.match(readFileSync(leaseFile, 'utf8'), /option host-name "node07";/);
    await runInNamespace(known.namespace, 'dhclient', ['-x', '-pf', join(work, 'dhclient.pid'), '-lf', leaseFile, '-sf', '/bin/true', known.ifname], { timeoutMs: 10_000 });
  });

  it('unknown_clients = ignore: udhcpc on an unknown MAC gets no lease; made a host by a reload, it does', async () => {
    const refused = await udhcpc(stranger);
    assert.notEqual(refused.exitCode, 0, 'no lease for an unknown MAC');
    assert.doesNotMatch(refused.stdout + refused.stderr, /obtained/);
    writeConfig(true);
    const reload = await runInNamespace(serverNs, process.execPath, [cliPath, 'reload', '--socket', daemon!.socket], { timeoutMs: 10_000 });
    assert.equal(reload.exitCode, 0, reload.stdout + reload.stderr);
    const served = await udhcpc(stranger);
    assert.match(served.stdout + served.stderr, new RegExp(`lease of ${subnet.replace(/\./g, '\\.')}\\.1\\d\\d obtained`), served.stdout + served.stderr);
  });
});
