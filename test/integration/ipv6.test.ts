// TFTP and HTTP over IPv6 and dual-stack, against the real daemon listening on `::` (loopback
// only: ::1 and 127.0.0.1) with real clients: curl (tftp:// and http:// to [::1] and to
// 127.0.0.1 on the same dual-stack socket), atftp over IPv6 with blksize 8 and windowsize 8
// (past 65535 blocks: rollover inside windows), the same path policy over both families, and an
// IPv6 client's multicast option left unacknowledged (RFC 2090 defines IPv4 groups only).
// Every download is compared by sha256 with the served file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeTftp, encodeTftp } from '../../src/codec/tftp-packet.js';
import { DaemonProcess, freeUdpPort, writeTempConfig } from '../support/daemon-process.js';
import { downloadWithAtftp, downloadWithCurl, findPeer, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-ipv6-'));
const root = join(work, 'root');
const out = join(work, 'out');
const hashes: Record<string, string> = {};
let daemon: DaemonProcess;
let port = 0;
let httpPort = 0;
let n = 0;
const local = () => join(out, `dl-${n++}`);

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '::1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** One RRQ from an IPv6 socket; the first reply. */
async function rawExchange6(request: Buffer): Promise<Buffer | null> {
  const s = dgram.createSocket('udp6');
  await new Promise<void>((resolve) => s.bind(0, '::1', resolve));
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 2000);
      s.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      s.send(request, port, '::1');
    });
  } finally {
    s.close();
  }
}

before(async () => {
  for (const peer of ['atftp', 'curl'] as const) assert.ok(findPeer(peer), `${peer} must be installed`);
  mkdirSync(join(root, 'grub'), { recursive: true });
  mkdirSync(out, { recursive: true });
  const files: Record<string, Buffer> = {
    'small.bin': randomBytes(100_003),
    // 8-byte blocks: 65,552 blocks, so the block number wraps past 65535.
    'rollover.bin': randomBytes(8 * 65_551 + 5),
    'grub/grub.cfg': Buffer.from('set timeout=1\n'),
  };
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(root, name), data);
    hashes[name] = await sha256File(join(root, name));
  }
  writeFileSync(join(work, 'secret.txt'), 'outside the root');
  symlinkSync(join(work, 'secret.txt'), join(root, 'escape-link'));
  port = await freeUdpPort();
  httpPort = await freeTcpPort();
  const config = writeTempConfig(
    [
      '[log]', 'level = debug',
      '[tftp]', 'listen = ::', `port = ${port}`, `root = ${root}`, 'max_blksize = 65464',
      '[multicast]', 'enabled = true',
      '[mtftp]', 'enabled = false',
      '[http]', 'enabled = true', 'listen = ::', `port = ${httpPort}`,
      '',
    ].join('\n'),
  );
  daemon = await DaemonProcess.start(config);
});

after(async () => {
  await daemon?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('TFTP over IPv6 and dual-stack (listen = ::)', () => {
  it('curl tftp://[::1] and tftp://127.0.0.1 on the same socket: both byte for byte; the IPv4 peer is logged as plain IPv4', async () => {
    for (const host of ['::1', '127.0.0.1']) {
      const file = local();
      const r = await downloadWithCurl({ host, port, remote: 'small.bin', local: file, blksize: 1428 });
      assert.ok(r.ok, `${host}: ${r.stderr}`);
      assert.equal(await sha256File(file), hashes['small.bin'], host);
    }
    assert.match(daemon.output, /peer=127\.0\.0\.1:\d+/, 'a mapped ::ffff:127.0.0.1 would split one client into two keys');
    assert.doesNotMatch(daemon.output, /::ffff:/);
  });

  it('atftp over IPv6, blksize 8 and windowsize 8: 65,552 blocks (rollover inside windows), byte for byte', async () => {
    const file = local();
    const r = await downloadWithAtftp({ host: '::1', port, remote: 'rollover.bin', local: file, blksize: 8, windowsize: 8, timeoutMs: 120_000 });
    assert.ok(r.ok, r.stderr);
    assert.equal(await sha256File(file), hashes['rollover.bin']);
  });

  it('the same path policy over IPv6: a leading / is from the root, .. and a symlink out of the root are refused', async () => {
    const grub = local();
    const ok = await downloadWithCurl({ host: '::1', port, remote: '/grub/grub.cfg', local: grub });
    assert.ok(ok.ok, ok.stderr);
    assert.equal(await sha256File(grub), hashes['grub/grub.cfg']);
    for (const remote of ['../secret.txt', 'escape-link']) {
      const r = await downloadWithCurl({ host: '::1', port, remote, local: local() });
      assert.equal(r.ok, false, `${remote} must be refused`);
    }
  });

  it("an IPv6 client's multicast option is not acknowledged: it reads by unicast (RFC 2090 groups are IPv4)", async () => {
    const reply = await rawExchange6(encodeTftp({ op: 'RRQ', filename: 'small.bin', mode: 'octet', options: [{ name: 'multicast', value: '' }, { name: 'blksize', value: '1024' }] }));
    assert.ok(reply, 'an answer');
    const packet = decodeTftp(reply);
    assert.equal(packet.op, 'OACK');
    if (packet.op !== 'OACK') return;
    assert.deepEqual(packet.options.map((o) => o.name.toLowerCase()), ['blksize']);
  });
});

describe('HTTP over IPv6 and dual-stack (listen = ::)', () => {
  it('curl http://[::1] and http://127.0.0.1: byte for byte; .. refused', async () => {
    for (const host of ['[::1]', '127.0.0.1']) {
      const file = local();
      const r = spawnSync('curl', ['-sS', '-g', '-o', file, '-w', '%{http_code}', `http://${host}:${httpPort}/small.bin`], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.stdout, '200', r.stderr);
      assert.equal(await sha256File(file), hashes['small.bin'], host);
    }
    const refused = spawnSync('curl', ['-sS', '-g', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `http://[::1]:${httpPort}/../secret.txt`], { encoding: 'utf8', timeout: 30_000 });
    assert.match(refused.stdout, /^4\d\d$/);
  });
});
