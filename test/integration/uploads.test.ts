// Uploads (WRQ) are refused by default; with upload_dir they land atomically and never overwrite.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess, freeUdpPort, writeTempConfig } from '../support/daemon-process.js';
import { findPeer, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-up-'));
let daemon: DaemonProcess;
let port: number;

before(async () => {
  mkdirSync(join(work, 'root'));
  mkdirSync(join(work, 'uploads'));
  writeFileSync(join(work, 'uploads', 'taken.bin'), 'already here');
  port = await freeUdpPort();
  const config = writeTempConfig(
    `[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${join(work, 'root')}\nupload_dir = ${join(work, 'uploads')}\nmax_upload_size = 2M\n`,
  );
  daemon = await DaemonProcess.start(config);
});

after(async () => {
  await daemon?.stop();
  rmSync(work, { recursive: true, force: true });
});

function atftpPut(localFile: string, remote: string, extra: string[] = []) {
  const atftp = findPeer('atftp');
  assert.ok(atftp);
  return spawnSync(atftp.path, ['-p', '-l', localFile, '-r', remote, ...extra, '127.0.0.1', String(port)], { encoding: 'utf8', timeout: 60_000 });
}

describe('uploads with upload_dir set', () => {
  it('stores an uploaded file byte for byte (atftp -p, blksize 1428)', async () => {
    const src = join(work, 'src.bin');
    writeFileSync(src, randomBytes(700_001));
    const r = atftpPut(src, 'new.bin', ['--option', 'blksize 1428']);
    assert.equal(r.status, 0, r.stderr);
    await daemon.waitFor(/file=new\.bin.*outcome=complete/);
    assert.equal(await sha256File(join(work, 'uploads', 'new.bin')), await sha256File(src));
    assert.deepEqual(readdirSync(join(work, 'uploads')).filter((f) => f.includes('.part-')), [], 'no temporary files left');
  });

  it('never overwrites an existing file (ERROR 6)', () => {
    const src = join(work, 'src2.bin');
    writeFileSync(src, 'x');
    const r = atftpPut(src, 'taken.bin');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /exists/i);
  });

  it('refuses an upload over max_upload_size and leaves nothing behind', async () => {
    const src = join(work, 'big.bin');
    writeFileSync(src, randomBytes(3 << 20));
    const r = atftpPut(src, 'too-big.bin');
    assert.notEqual(r.status, 0);
    await daemon.waitFor(/file=too-big\.bin.*outcome=/);
    assert.equal(existsSync(join(work, 'uploads', 'too-big.bin')), false);
    assert.deepEqual(readdirSync(join(work, 'uploads')).filter((f) => f.includes('.part-')), []);
  });

  it('refuses traversal in upload names', () => {
    const src = join(work, 'src3.bin');
    writeFileSync(src, 'x');
    const r = atftpPut(src, '../escape.bin');
    assert.notEqual(r.status, 0);
    assert.equal(existsSync(join(work, 'escape.bin')), false);
  });
});
