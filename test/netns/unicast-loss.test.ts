// Unicast TFTP across a veth link with random loss made by iptables `statistic` inside the client
// namespace (this kernel has no netem). Every copy is checked by sha256, and the adaptive RTO has
// to keep a lossy transfer well inside its time bound.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { addRandomDrop, canUseNetns, connectVeth, createNamespace, teardown, type Namespace, type ProcessHandle } from '../support/netns.js';
import { downloadWithAtftp, downloadWithCurl, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-loss-'));
const FILE_SIZE = 8 << 20;
let server: Namespace;
let client: Namespace;
let serverAddress: string;
let daemon: ProcessHandle;
let expected: string;

before(async () => {
  const support = canUseNetns();
  // CI runs as root: a namespace test that cannot run there must fail, not skip.
  assert.ok(support.ok, support.ok ? '' : support.reason);
  mkdirSync(join(work, 'root'));
  writeFileSync(join(work, 'root', 'image.bin'), randomBytes(FILE_SIZE));
  expected = await sha256File(join(work, 'root', 'image.bin'));
  server = createNamespace('srv');
  client = createNamespace('cli');
  const link = connectVeth(server, client);
  serverAddress = link.a.address;
  addRandomDrop(client, { probability: 0.05, chain: 'INPUT', protocol: 'udp' });
  const config = writeTempConfig(`[tftp]\nlisten = ${serverAddress}\nport = 69\nroot = ${join(work, 'root')}\n`);
  daemon = await startDaemonIn(server, config, /tftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

describe('unicast under 5% random loss toward the client (netns)', () => {
  const cases: Array<[string, () => ReturnType<typeof downloadWithAtftp>]> = [
    ['atftp blksize 1428', () => downloadWithAtftp({ host: serverAddress, port: 69, remote: 'image.bin', local: join(work, 'a1428'), blksize: 1428, netns: client, timeoutMs: 90_000 })],
    ['atftp blksize 1428 windowsize 16', () => downloadWithAtftp({ host: serverAddress, port: 69, remote: 'image.bin', local: join(work, 'a1428w'), blksize: 1428, windowsize: 16, netns: client, timeoutMs: 90_000 })],
    ['curl blksize 1428', () => downloadWithCurl({ host: serverAddress, port: 69, remote: 'image.bin', local: join(work, 'c1428'), blksize: 1428, netns: client, timeoutMs: 90_000 })],
  ];
  for (const [name, run] of cases) {
    it(`${name}: 8 MiB arrives byte-identical`, async () => {
      const r = await run();
      assert.ok(r.ok, `${r.stderr}\n--- server ---\n${daemon.outputTail()}`);
      const local = name.startsWith('curl') ? join(work, 'c1428') : name.includes('windowsize') ? join(work, 'a1428w') : join(work, 'a1428');
      assert.equal(await sha256File(local), expected);
    });
  }

  it('reports the retransmissions in the transfer summary', () => {
    const lines = daemon.outputTail().split('\n').filter((l) => / transfer /.test(l) && /outcome=complete/.test(l));
    assert.ok(lines.length >= 3, daemon.outputTail());
    for (const line of lines) assert.match(line, /retransmits=[1-9]\d*/);
  });
});
