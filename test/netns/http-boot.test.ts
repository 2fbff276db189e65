// UEFI HTTP Boot's DHCP half and its download, against the real daemon in a test namespace: a
// DISCOVER with option 60 `HTTPClient` (as EDK2's HttpBootDxe sends it, arch 16) gets `HTTPClient`
// and an http:// URL in option 67, in full and in proxy mode, never option 43; curl in the client's
// namespace then fetches that very URL and the bytes must be the image's. With the HTTP server
// off, the proxy stays silent for HTTP Boot clients.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DhcpMessageType } from '../../src/codec/dhcp-message.js';
import { dhcpExchange, plainDhcpPacket } from '../support/dhcp-exchange.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-httpboot-'));
const root = join(work, 'root');
const configFile = join(work, 'pxecast.ini');
const GRUB = randomBytes(3 * 1024 * 1024 + 17);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let server: LinkEnd;
let client: LinkEnd;
let serverNs: Namespace;
let daemon: ProcessHandle | null = null;
let subnet = '';

const VENDOR = Buffer.from('HTTPClient:Arch:00016:UNDI:003001');
/** EDK2 HttpBootDxe's DISCOVER, reduced: option 60 HTTPClient, arch 16 (x64 UEFI HTTP), option 55. */
const httpBootDiscover = (mac: number) =>
  plainDhcpPacket(DhcpMessageType.DISCOVER, mac, [60, VENDOR.length, ...VENDOR, 93, 2, 0, 16, 55, 5, 1, 3, 6, 60, 67]);

async function start(mode: 'full' | 'proxy', http: boolean): Promise<void> {
  await daemon?.kill();
  writeFileSync(
    configFile,
    [
      '[tftp]',
      `listen = ${server.address}`,
      `root = ${root}`,
      '[mtftp]',
      'enabled = false',
      '[http]',
      `enabled = ${http}`,
      'listen = 0.0.0.0',
      'port = 8080',
      '[dhcp]',
      `mode = ${mode}`,
      `interface = ${server.address}`,
      `state_file = ${join(work, 'leases.json')}`,
      '[pool lab]',
      `first = ${subnet}.100`,
      `last = ${subnet}.150`,
      '[image uefi]',
      'file = ipxe.efi',
      'http_file = efi/grubx64.efi',
      'arch = efi-x64',
      '',
    ].join('\n'),
  );
  daemon = await startDaemonIn(serverNs, configFile, /dhcp listening/);
}

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  mkdirSync(join(root, 'efi'), { recursive: true });
  writeFileSync(join(root, 'ipxe.efi'), 'not the HTTP file');
  writeFileSync(join(root, 'efi', 'grubx64.efi'), GRUB);
  serverNs = createNamespace('hsrv');
  const lan = createBridge([serverNs, createNamespace('hcli')]);
  server = lan.members[0]!;
  client = lan.members[1]!;
  subnet = server.address.split('.').slice(0, 3).join('.');
  const r = await runInNamespace(client.namespace, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', client.ifname], { timeoutMs: 5000 });
  assert.equal(r.exitCode, 0, r.stderr);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

/** The URL in the offer, fetched with curl from the client's namespace: the bytes must be GRUB's. */
function assertUrlServesTheImage(url: string): void {
  const out = join(work, `fetched-${randomBytes(4).toString('hex')}`);
  const r = spawnSync('ip', ['netns', 'exec', client.namespace.name, 'curl', '-sS', '-o', out, url], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha(readFileSync(out)), sha(GRUB));
}

describe('UEFI HTTP Boot DHCP (real daemon, bridged netns LAN)', { concurrency: false }, () => {
  for (const mode of ['proxy', 'full'] as const) {
    it(`${mode} mode: HTTPClient and a URL to http_file, no option 43; the URL serves the image`, async () => {
      await start(mode, true);
      const [offer] = await dhcpExchange(client, httpBootDiscover(mode === 'full' ? 0x61 : 0x62));
      assert.ok(offer, 'an offer');
      assert.equal(offer.msg.options[53], DhcpMessageType.OFFER);
      assert.equal(offer.msg.options[60], 'HTTPClient');
      assert.equal(offer.msg.raw.get(43), undefined, 'never option 43 to an HTTP Boot client');
      const url = offer.msg.raw.get(67)?.toString('latin1');
      assert.equal(url, `http://${server.address}:8080/efi/grubx64.efi`);
      assert.equal(offer.msg.yiaddr, mode === 'full' ? `${subnet}.100` : '0.0.0.0');
      assertUrlServesTheImage(url!);
    });
  }

  it('with the HTTP server off, the proxy is silent for HTTP Boot clients', async () => {
    await start('proxy', false);
    assert.deepEqual(await dhcpExchange(client, httpBootDiscover(0x63), { waitMs: 800 }), []);
  });
});
