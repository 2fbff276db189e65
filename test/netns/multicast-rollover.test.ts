// RFC 2090 files of more than 65535 blocks (`[multicast] rollover`, wrap-position.ts) against real
// atftp 0.8 clients on a bridged LAN of network namespaces. atftp cannot follow a block-number
// wrap in multicast (tftp_file.c takes the multicast block number with a bare ntohs: as master it
// answers DATA 0 after 65535 with one extra ACK of 65535 and never writes it; as a listener it
// would write DATA 0 at offset -blksize and abort, or DATA 1 over block 1). So the session must
// find that out from each master alone, before any block past 65535 reaches the group, end it
// with an ERROR that says why, leave every copy an intact prefix, and serve the next request of
// that host by unicast, which atftp follows through the wrap. Every copy is checked byte for byte.
// (atftp prints at most blksize - 1 bytes of an ERROR message.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAtftpMulticast } from '../support/atftp-multicast.js';
import { cliPath, writeTempConfig } from '../support/daemon-process.js';
import { startDaemonIn } from '../support/netns-daemon.js';
import { canUseNetns, createBridge, createNamespace, runInNamespace, teardown, type LinkEnd, type Namespace, type ProcessHandle } from '../support/netns.js';
import { findPeer } from '../support/peers.js';
import { logField, logLinesSince } from '../support/transfer-outcome.js';

// 65,601 blocks in 4 MiB. Not 8 (RFC 2348's smallest): atftp receives every packet into a buffer
// of blksize + 4 bytes, so at blksize 8 a later OACK (mc=1, ~42 bytes) is cut short and a listener
// can never become master.
const BLKSIZE = 64;
const BLOCKS = 65_601;
const work = mkdtempSync(join(tmpdir(), 'pxecast-mc-wrap-'));
const root = join(work, 'root');
const image = randomBytes((BLOCKS - 1) * BLKSIZE + 3);
let server: LinkEnd;
let serverNs: Namespace;
let clients: Namespace[] = [];
let daemon: ProcessHandle & { readonly socket: string };
let configFile: string;
const configText = (rollover: boolean) =>
  `[log]\nlevel = info\n[tftp]\nlisten = ${server.address}\nport = 69\nroot = ${root}\n` +
  `[multicast]\nrollover = ${rollover}\nstart_delay = 1s\nmaster_timeout = 1s\n`;

before(async () => {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
  assert.ok(findPeer('atftp'), 'atftp must be installed');
  mkdirSync(root);
  writeFileSync(join(root, 'wrap.img'), image);
  serverNs = createNamespace('srv');
  clients = Array.from({ length: 3 }, (_, i) => createNamespace(`c${i + 1}`));
  server = createBridge([serverNs, ...clients]).members[0]!;
  configFile = writeTempConfig(configText(true));
  daemon = await startDaemonIn(serverNs, configFile, /tftp listening/);
});

after(async () => {
  await daemon?.kill();
  teardown();
  rmSync(work, { recursive: true, force: true });
});

let run = 0;
/** Every client at once, awaited under a hard bound (killed by PID after it). */
async function fetchAll(boundMs: number): Promise<Array<{ code: number | null; output: string; copy: Buffer }>> {
  const jobs = clients.map((ns) => {
    const local = join(work, `out-${run++}`);
    // windowsize: not granted on multicast, but it keeps the unicast answers short (8 blocks per ACK).
    return { local, proc: startAtftpMulticast(ns, server.address, 'wrap.img', local, BLKSIZE, ['windowsize 8']) };
  });
  const timer = setTimeout(() => jobs.forEach((j) => void j.proc.kill()), boundMs);
  const statuses = await Promise.all(jobs.map((j) => j.proc.exited));
  clearTimeout(timer);
  return jobs.map((j, i) => ({ code: statuses[i]!.code, output: j.proc.outputTail(), copy: readFileSync(j.local) }));
}

/** The first daemon line since `since` matching `pattern`, waiting up to `ms` for it. */
async function logLineWithin(pattern: RegExp, since: Date, ms = 5000): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = logLinesSince(daemon.outputTail(), since).find((l) => pattern.test(l));
    if (line !== undefined || Date.now() >= deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('RFC 2090 past 65535 blocks with atftp clients (bridged netns LAN)', () => {
  it('atftp cannot follow the wrap: each master is told so alone, every copy stays an intact prefix, and the retry is served by unicast, byte for byte', async () => {
    const since = new Date();
    const first = await fetchAll(30_000);
    const serverLog = () => `\n--- server ---\n${logLinesSince(daemon.outputTail(), since).join('\n').slice(-3000)}`;
    const prefix = image.subarray(0, 65_535 * BLKSIZE);
    for (const [i, r] of first.entries()) {
      assert.notEqual(r.code, 0, `client ${i + 1} cannot have the whole file by multicast`);
      // Our ERROR, not its own "error writing to file": no block past 65535 ever reached it.
      assert.match(r.output, /error received from server <block numbers wrap past 65535 here; ask again without multicas/, `client ${i + 1}:\n${r.output}${serverLog()}`);
      assert.ok(r.copy.equals(prefix), `client ${i + 1}: its copy is the file's first 65535 blocks exactly (${r.copy.length} bytes)`);
    }
    const lines = logLinesSince(daemon.outputTail(), since);
    const verdicts = lines.filter((l) => /member cannot follow a block-number wrap/.test(l));
    assert.equal(verdicts.length, 3, `one verdict per client:${serverLog()}`);
    for (const v of verdicts) assert.equal(logField(v, 'block'), '65536');
    // The session's summary follows the last member's end; it reaches us through a pipe and can
    // trail that client's exit.
    const session = await logLineWithin(/ multicast session .*bytes_sent=/, since);
    assert.ok(session, `the session ended:${serverLog()}`);
    assert.equal(logField(session, 'members'), '3', 'one session for all three');

    const retrySince = new Date();
    const retry = await fetchAll(30_000);
    for (const [i, r] of retry.entries()) {
      assert.equal(r.code, 0, `client ${i + 1} retry:\n${r.output}${serverLog()}`);
      assert.ok(r.copy.equals(image), `client ${i + 1}: the retry's copy is byte-identical`);
    }
    const retryLines = logLinesSince(daemon.outputTail(), retrySince);
    const fallbacks = retryLines.filter((l) => /multicast request served unicast/.test(l) && /host cannot follow a block-number wrap/.test(l));
    assert.equal(fallbacks.length, 3, `every retry went unicast:\n${retryLines.join('\n').slice(-3000)}`);
  });

  it('rollover off (the default): such a file is served by unicast from the start, and atftp follows the wrap there, byte for byte', async () => {
    writeFileSync(configFile, configText(false));
    const reload = await runInNamespace(serverNs, process.execPath, [cliPath, 'reload', '--socket', daemon.socket], { timeoutMs: 10_000 });
    assert.equal(reload.exitCode, 0, reload.stdout + reload.stderr);
    const since = new Date();
    const results = await fetchAll(30_000);
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `client ${i + 1}:\n${r.output}`);
      assert.ok(r.copy.equals(image), `client ${i + 1}: byte-identical`);
    }
    const lines = logLinesSince(daemon.outputTail(), since);
    // Checked before what the hosts' earlier verdicts would say: the file does not fit 16 bits.
    assert.equal(lines.filter((l) => /multicast request served unicast/.test(l) && /more than 65535 blocks/.test(l)).length, 3, lines.join('\n').slice(-3000));
    assert.equal(lines.filter((l) => /multicast session opened/.test(l)).length, 0, 'no multicast session');
  });
});
