// Issue 12 item 11: ERRORs with the standard codes carry RFC 1350's wording, which clients print
// and scripts grep for ("File not found", "Access violation"); pxecast's own reason goes to the
// log. Checked with real clients that print the server's message: tftp-hpa ("Error code N: TEXT")
// and atftp ("error received from server <TEXT>").
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess, freeUdpPort, writeTempConfig } from '../support/daemon-process.js';
import { downloadWithAtftp, downloadWithTftpHpa, findPeer } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-errtext-'));
const root = join(work, 'root');
const host = '127.0.0.1';
let daemon: DaemonProcess;
let port: number;
let n = 0;
const local = () => join(work, `dl-${n++}`);

before(async () => {
  for (const peer of ['atftp', 'tftp-hpa'] as const) assert.ok(findPeer(peer), `${peer} must be installed (.ci/run installs it)`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'present.bin'), 'x');
  writeFileSync(join(work, 'secret.txt'), 'outside the root');
  port = await freeUdpPort();
  daemon = await DaemonProcess.start(writeTempConfig(`[log]\nlevel = info\n[tftp]\nlisten = ${host}\nport = ${port}\nroot = ${root}\n`));
});

after(async () => {
  await daemon?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('RFC 1350 error texts, as real clients print them', () => {
  it('a missing file: tftp-hpa prints "Error code 1: File not found"', async () => {
    const r = await downloadWithTftpHpa({ host, port, remote: 'no-such-file.bin', local: local() });
    assert.equal(r.ok, false);
    assert.match(r.stderr, /^Error code 1: File not found$/m, r.stderr);
  });

  it('a path outside the root: tftp-hpa prints "Error code 2: Access violation"', async () => {
    const r = await downloadWithTftpHpa({ host, port, remote: '../secret.txt', local: local() });
    assert.equal(r.ok, false);
    assert.match(r.stderr, /^Error code 2: Access violation$/m, r.stderr);
  });

  it('atftp prints the same texts', async () => {
    const missing = await downloadWithAtftp({ host, port, remote: 'no-such-file.bin', local: local() });
    assert.equal(missing.ok, false);
    assert.match(missing.stderr, /<File not found>/, missing.stderr);
    const outside = await downloadWithAtftp({ host, port, remote: '../secret.txt', local: local() });
    assert.equal(outside.ok, false);
    assert.match(outside.stderr, /<Access violation>/, outside.stderr);
  });

  it('keeps the reason in the log', async () => {
    await downloadWithTftpHpa({ host, port, remote: 'gone-too.bin', local: local() });
    const deadline = Date.now() + 10_000;
    let refusals: string[] = [];
    while (Date.now() < deadline) {
      refusals = daemon.output.split('\n').filter((l) => l.includes('request refused') && l.includes('gone-too.bin'));
      if (refusals.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(refusals.length, 1, daemon.output.slice(-3000));
    assert.match(refusals[0]!, /tftp_error=1 /);
    assert.match(refusals[0]!, /reason=\S/, 'our own reason, not only the RFC text');
  });
});
