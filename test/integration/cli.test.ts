// The `pxecast` command as an operator meets it: check, bad configs, missing images, reload.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DaemonProcess, cliPath, freeUdpPort, writeTempConfig } from '../support/daemon-process.js';
import { repoRoot } from '../support/fixtures.js';
import { downloadWithCurl, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function pxecast(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('pxecast check', () => {
  it('accepts the bundled default configuration (npm start uses it)', () => {
    const r = pxecast('check', '--config', join(repoRoot, 'conf/pxecast.ini'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok \(root .*demo-root, 1 image\)/);
  });

  it('names file, line and key for every error at once and exits non-zero', () => {
    const file = writeTempConfig('[tftp]\nroot = /tmp\nprot = 69\nmax_blksize = 70000\n\n[imagee x]\n');
    const r = pxecast('check', '--config', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${file}:3: \\[tftp\\] prot: .*did you mean \`port\``));
    assert.match(r.stderr, new RegExp(`${file}:4: \\[tftp\\] max_blksize: .*70000`));
    assert.match(r.stderr, new RegExp(`${file}:6: .*imagee`));
  });

  it('reports a missing image file at load time with the line of its `file` key', () => {
    mkdirSync(join(work, 'root1'));
    const file = writeTempConfig(`[tftp]\nroot = ${join(work, 'root1')}\n\n[image gone]\nfile = missing.img\n`);
    const r = pxecast('check', '--config', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${file}:5: \\[image gone\\] file: missing\\.img: no such file`));
  });

  it('refuses an MTFTP image over the 65535-block limit', () => {
    mkdirSync(join(work, 'root2'));
    writeFileSync(join(work, 'root2', 'big.img'), Buffer.alloc(65535 * 512));
    const file = writeTempConfig(`[tftp]\nroot = ${join(work, 'root2')}\n[image big]\nfile = big.img\nmtftp = true\nmtftp_group = 239.1.1.1\nmtftp_client_port = 3001\n`);
    const r = pxecast('check', '--config', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\[image big\] mtftp: .*at most 33553919/);
  });

  it('serve refuses to start on a bad config, non-zero, without binding', () => {
    const file = writeTempConfig('[tftp]\nroot = /nonexistent-pxecast-root\n');
    const r = pxecast('serve', '--config', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\[tftp\] root/);
  });

  it('rejects unknown commands and options with usage, exit 2', () => {
    assert.equal(pxecast('frobnicate').status, 2);
    assert.equal(pxecast('check', '--nope').status, 2);
    assert.equal(pxecast('--help').status, 0);
  });
});

describe('reload (SIGHUP)', () => {
  it('swaps the catalog on a good config and keeps the old one on a bad config', async () => {
    const rootA = join(work, 'rootA');
    const rootB = join(work, 'rootB');
    mkdirSync(rootA);
    mkdirSync(rootB);
    writeFileSync(join(rootA, 'which.txt'), 'A');
    writeFileSync(join(rootB, 'which.txt'), 'B');
    const port = await freeUdpPort();
    const config = join(work, 'reload.ini');
    const write = (root: string, extra = '') => writeFileSync(config, `[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${root}\n${extra}`);
    write(rootA);
    const daemon = await DaemonProcess.start(config);
    try {
      const fetch = async () => {
        const dest = join(work, `which-${Date.now()}-${Math.random()}`);
        const r = await downloadWithCurl({ host: '127.0.0.1', port, remote: 'which.txt', local: dest });
        assert.ok(r.ok, r.stderr);
        return sha256File(dest);
      };
      const a = await fetch();
      write(rootB, 'bogus_key = 1\n');
      daemon.signal('SIGHUP');
      await daemon.waitFor(/reload rejected/);
      assert.match(daemon.output, /bogus_key/);
      assert.equal(await fetch(), a, 'the old catalog keeps serving');
      write(rootB);
      daemon.signal('SIGHUP');
      await daemon.waitFor(/configuration reloaded/);
      assert.notEqual(await fetch(), a, 'the new root is served');
    } finally {
      assert.equal(await daemon.stop(), 0, 'SIGTERM exits 0');
    }
  });
});
