// PXE MTFTP: during a pass only the master's ACKs drive the stream. A real atftp --mget client
// masters a pass while another host sends a burst of ACKs to the MTFTP server port (a stale master,
// a listener that misbehaves, or a forged source). pxecast must neither answer them nor push any
// block because of them: the pass's retransmissions stay those of a lossless LAN, the other host
// receives nothing, and the client's copy is byte-identical.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { awaitClient, startAtftpMget } from '../support/atftp-multicast.js';
import { writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, teardown, type LinkEnd, type ProcessHandle } from '../support/netns.js';
import { findPeer, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-mtftp-stray-'));
const root = join(work, 'root');
const SIZE = 4 << 20;
const CHANNEL = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759 };
// 20 Mbit/s: the pass lasts about 1.7 s, longer than the burst of stray ACKs.
const MAX_RATE = 20;
const STRAY = { count: 2000, durationMs: 1000 };
// What a lossless LAN costs at most (timeouts on a loaded 2-core host); a push per stray ACK
// (rate-limited to one per rto/2) would add hundreds.
const MAX_RETRANSMITS = 20;

let expected = '';
let server: LinkEnd;
let master: LinkEnd;
let stranger: LinkEnd;
let daemon: ProcessHandle;

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'image.img'), randomBytes(SIZE));
  expected = await sha256File(join(root, 'image.img'));
  [server, master, stranger] = createBridge([createNamespace('srv'), createNamespace('m1'), createNamespace('s1')]).members as [LinkEnd, LinkEnd, LinkEnd];
  const config = writeTempConfig(
    `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
      `[mtftp]\nopen_hold = 0\n[multicast]\nmax_rate = ${MAX_RATE}\n` +
      `[image demo]\nfile = image.img\ndefault = true\nmtftp = true\n`,
  );
  daemon = await startDaemonIn(server.namespace, config, /mtftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

/** `key=value` fields of one log line. */
function parseLogFields(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** Sends `count` ACKs (block numbers 1, 2, ...) to the MTFTP port over `durationMs` from one
 *  socket, then listens 300 ms more; prints how many were sent and how many packets came back. */
const STRAY_SCRIPT = `
const dgram = require('node:dgram');
const [host, port, count, durationMs] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let received = 0;
s.on('message', () => received++);
s.bind(0, () => {
  let sent = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    const due = Math.min(+count, Math.ceil(((Date.now() - started) / +durationMs) * +count));
    for (; sent < due; sent++) s.send(Buffer.from([0, 4, (sent + 1) >> 8 & 255, (sent + 1) & 255]), +port, host);
    if (sent >= +count || Date.now() - started > +durationMs * 2) {
      clearInterval(timer);
      setTimeout(() => { s.close(); console.log(JSON.stringify({ sent, received })); }, 300);
    }
  }, 5);
});
`;

describe('PXE MTFTP: ACKs from anyone but the master (bridged netns LAN)', () => {
  it('are neither answered nor a reason to send: the pass is unchanged and the copy intact', async () => {
    const passesBefore = daemon.outputTail().split('\n').filter((l) => / mtftp pass service=/.test(l)).length;
    const local = join(work, 'out.img');
    const client = startAtftpMget(master.namespace, server.address, CHANNEL, 'image.img', local);
    // The burst starts when the pass is sending (the daemon says so), not after a guessed delay.
    const deadline = Date.now() + 15_000;
    while (!/mtftp pass sending/.test(daemon.outputTail())) {
      assert.ok(Date.now() < deadline && client.isRunning(), `no pass started:\n${client.outputTail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const stray = await runInNamespace(
      stranger.namespace,
      process.execPath,
      ['-e', STRAY_SCRIPT, server.address, String(CHANNEL.serverPort), String(STRAY.count), String(STRAY.durationMs)],
      { timeoutMs: 10_000 },
    );
    const strays = JSON.parse(stray.stdout.trim() || '{}') as { sent?: number; received?: number };
    const run = await awaitClient(client, 60_000);
    assert.ok(run.ok, `atftp --mget failed:\n${run.stderr}\n--- server ---\n${daemon.outputTail().slice(-2000)}`);
    assert.equal(await sha256File(local), expected, 'sha256 of the copy');
    // The summary line follows the master's last ACK.
    let passes: string[] = [];
    for (const until = Date.now() + 5000; passes.length === 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      passes = daemon.outputTail().split('\n').filter((l) => / mtftp pass service=/.test(l)).slice(passesBefore);
    }
    assert.equal(passes.length, 1, 'one pass');
    const pass = parseLogFields(passes[0]!);
    console.log(`stray ACKs sent ${strays.sent}, packets back to the stranger ${strays.received}; pass: ${passes[0]!.replace(/^.*? info /, '')}`);
    assert.equal(strays.sent, STRAY.count, 'the burst ran');
    assert.equal(pass['outcome'], 'complete');
    assert.equal(strays.received, 0, 'nothing is sent to the source of stray ACKs');
    assert.ok(Number(pass['retransmits']) <= MAX_RETRANSMITS, `${pass['retransmits']} retransmissions during ${strays.sent} stray ACKs`);
  });
});
