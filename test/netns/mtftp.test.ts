// PXE MTFTP against real atftp clients (`--mget` with `--mtftp` settings matching the catalog) on a
// bridged LAN of network namespaces made by the test. Every copy is checked by sha256.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAtftpMget } from '../support/atftp-multicast.js';
import { writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import {
  addRandomDrop,
  canUseNetns,
  createBridge,
  createNamespace,
  teardown,
  txBytes,
  type LinkEnd,
  type Namespace,
  type ProcessHandle,
} from '../support/netns.js';
import { findPeer, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-mtftp-'));
const root = join(work, 'root');
const SIZE = 4 << 20;
// The catalog's default image gets iPXE's fixed channel: 239.255.1.1, client 3001, server 1759.
const GROUP = '239.255.1.1';
const CLIENT_PORT = 3001;
const SERVER_PORT = 1759;
let expected = '';
let server: LinkEnd;
let clients: Namespace[] = [];
let daemon: ProcessHandle;

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'image.img'), randomBytes(SIZE));
  expected = await sha256File(join(root, 'image.img'));
  const serverNs = createNamespace('srv');
  clients = Array.from({ length: 4 }, (_, i) => createNamespace(`m${i + 1}`));
  server = createBridge([serverNs, ...clients]).members[0]!;
  const config = writeTempConfig(
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      `[mtftp]\nopen_hold = 500ms\n[multicast]\nmaster_timeout = 1s\n` +
      `[image demo]\nfile = image.img\ndefault = true\nmtftp = true\n`,
  );
  daemon = await startDaemonIn(serverNs, config, /mtftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

let run = 0;
function mget(ns: Namespace): { local: string; proc: ProcessHandle } {
  const local = join(work, `out-${run++}`);
  const proc = startAtftpMget(ns, server.address, { group: GROUP, clientPort: CLIENT_PORT, serverPort: SERVER_PORT }, 'image.img', local);
  return { local, proc };
}

const passLines = () => daemon.outputTail().split('\n').filter((l) => / mtftp pass service=/.test(l));

async function expectAll(jobs: Array<{ local: string; proc: ProcessHandle }>, timeoutMs = 120_000): Promise<void> {
  const timer = setTimeout(() => jobs.forEach((j) => void j.proc.kill()), timeoutMs);
  const statuses = await Promise.all(jobs.map((j) => j.proc.exited));
  clearTimeout(timer);
  for (const [i, status] of statuses.entries()) {
    assert.equal(status.code, 0, `client ${i + 1} failed:\n${jobs[i]!.proc.outputTail()}\n--- server ---\n${daemon.outputTail().slice(-3000)}`);
    assert.equal(await sha256File(jobs[i]!.local), expected, `client ${i + 1}: sha256`);
  }
}

describe('PXE MTFTP with atftp --mget (bridged netns LAN)', () => {
  it('one client', async () => {
    await expectAll([mget(clients[0]!)]);
  });

  it('three started together share the stream', async () => {
    const before = txBytes(server);
    await expectAll(clients.slice(0, 3).map(mget));
    const sent = txBytes(server) - before;
    // One pass when they all listen before block 1 leaves; a client whose start lags past it
    // (process start-up jitter on a loaded machine) reopens for its missed head: a second pass.
    // Three separate downloads would cost three files.
    assert.ok(sent < SIZE * 2.6, `server sent ${sent} bytes for three clients of a ${SIZE}-byte file`);
  });

  it('three started 1 s apart: late clients pick up the running stream and complete', async (t) => {
    const passesBefore = passLines().length;
    const bytesBefore = txBytes(server);
    const jobs: Array<{ local: string; proc: ProcessHandle }> = [];
    for (const ns of clients.slice(0, 3)) {
      jobs.push(mget(ns));
      await new Promise((r) => setTimeout(r, 1000));
    }
    await expectAll(jobs);
    const passes = passLines().slice(passesBefore);
    for (const line of passes) t.diagnostic(line.replace(/^.*? info /, ''));
    // atftp listens before it opens (as PXE intends): a late client collects the running pass and
    // reopens for what it missed; as master it ACKs every block from 1 (EFI 1.10 style, it cannot
    // skip), so its reopen costs a full pass. What must hold: no client costs more than one pass
    // (no retransmission storm, no pass restarted by an open), whatever the timing.
    const sent = txBytes(server) - bytesBefore;
    assert.ok(passes.length <= 3, `${passes.length} passes for three clients`);
    assert.ok(sent < SIZE * 3.5, `server sent ${sent} bytes for three staggered clients of a ${SIZE}-byte file`);
  });

  it('a client behind 5% random loss completes', async () => {
    addRandomDrop(clients[3]!, { probability: 0.05, chain: 'INPUT', protocol: 'udp' });
    await expectAll([mget(clients[3]!)]);
  });
});
