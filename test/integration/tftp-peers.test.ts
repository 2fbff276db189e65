// The real daemon on loopback against real clients (atftp, tftp-hpa, curl); every download is
// compared by sha256 with the served file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeTftp, encodeTftp } from '../../src/codec/tftp-packet.js';
import { DaemonProcess, freeUdpPort, rawExchange, writeTempConfig } from '../support/daemon-process.js';
import { downloadWithAtftp, downloadWithCurl, downloadWithTftpHpa, findPeer, sha256File } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-it-'));
const root = join(work, 'root');
const out = join(work, 'out');
const files: Record<string, string> = {};

function addFile(name: string, data: Buffer): void {
  const path = join(root, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
}

/** 100 MiB of random bytes, written in 1 MiB pieces (never held whole in memory). */
function writeLargeFile(name: string, mib: number): void {
  const fd = openSync(join(root, name), 'w');
  for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(1 << 20));
  closeSync(fd);
}

let daemon: DaemonProcess;
let port: number;

before(async () => {
  for (const peer of ['atftp', 'tftp-hpa', 'curl'] as const) {
    assert.ok(findPeer(peer), `${peer} must be installed (.ci/run installs it)`);
  }
  mkdirSync(root, { recursive: true });
  mkdirSync(out, { recursive: true });
  addFile('small.bin', randomBytes(100_003));
  addFile('exact.bin', randomBytes(1428 * 10));
  addFile('empty.bin', Buffer.alloc(0));
  addFile('pxelinux.cfg/01-52-54-00-12-34-56', Buffer.from('default linux\n'));
  addFile('one-mib.bin', randomBytes(1 << 20));
  writeLargeFile('large.bin', 100);
  writeFileSync(join(work, 'secret.txt'), 'outside the root');
  symlinkSync(join(work, 'secret.txt'), join(root, 'escape-link'));
  for (const name of ['small.bin', 'exact.bin', 'empty.bin', 'pxelinux.cfg/01-52-54-00-12-34-56', 'one-mib.bin', 'large.bin']) {
    files[name] = await sha256File(join(root, name));
  }
  port = await freeUdpPort();
  // Every loopback client is 127.0.0.1: one "client address" runs 100 transfers at once here, so
  // the per-client limits are raised to the whole server's.
  const limits = 'max_transfers_per_client = 200\nclient_request_rate = 1000\nclient_request_burst = 1000\n';
  const config = writeTempConfig(`[log]\nlevel = info\n[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${root}\nmax_blksize = 65464\nmax_transfers = 200\n${limits}`);
  daemon = await DaemonProcess.start(config);
});

after(async () => {
  await daemon?.stop();
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
const local = () => join(out, `dl-${n++}`);
const host = '127.0.0.1';

async function assertSame(path: string, name: string): Promise<void> {
  assert.equal(await sha256File(path), files[name], `${name}: sha256 of the download`);
}

describe('unicast TFTP against real clients (loopback)', () => {
  const atftpCases: Array<[string, { blksize?: number; windowsize?: number; tsize?: boolean }]> = [
    ['default options', {}],
    ['blksize 1428 + tsize', { blksize: 1428, tsize: true }],
    ['blksize 8192 + windowsize 16', { blksize: 8192, windowsize: 16 }],
    ['blksize 512 + windowsize 4', { blksize: 512, windowsize: 4 }],
    ['blksize 65464', { blksize: 65464 }],
  ];
  for (const [name, options] of atftpCases) {
    for (const file of ['small.bin', 'exact.bin', 'empty.bin']) {
      it(`atftp ${name}: ${file}`, async () => {
        const dest = local();
        const r = await downloadWithAtftp({ host, port, remote: file, local: dest, ...options });
        assert.ok(r.ok, r.stderr);
        await assertSame(dest, file);
      });
    }
  }

  for (const file of ['small.bin', 'exact.bin', 'pxelinux.cfg/01-52-54-00-12-34-56']) {
    it(`tftp-hpa: ${file}`, async () => {
      const dest = local();
      const r = await downloadWithTftpHpa({ host, port, remote: file, local: dest });
      assert.ok(r.ok, r.stderr);
      await assertSame(dest, file);
    });
  }

  const curlCases: Array<[string, { blksize?: number; noOptions?: boolean }]> = [
    ['default', {}],
    ['blksize 1428', { blksize: 1428 }],
    ['no options (plain RFC 1350)', { noOptions: true }],
  ];
  for (const [name, options] of curlCases) {
    it(`curl ${name}: small.bin`, async () => {
      const dest = local();
      const r = await downloadWithCurl({ host, port, remote: 'small.bin', local: dest, ...options });
      assert.ok(r.ok, r.stderr);
      await assertSame(dest, 'small.bin');
    });
  }

  it('100 MiB at blksize 512 (block numbers roll over) with atftp', async () => {
    const dest = local();
    const r = await downloadWithAtftp({ host, port, remote: 'large.bin', local: dest, blksize: 512, timeoutMs: 240_000 });
    assert.ok(r.ok, r.stderr);
    await assertSame(dest, 'large.bin');
    rmSync(dest);
  });

  it('100 MiB at blksize 8192 and windowsize 16 with atftp (128 KiB windows, more than its receive buffer takes at once), byte for byte', async () => {
    const dest = local();
    const r = await downloadWithAtftp({ host, port, remote: 'large.bin', local: dest, blksize: 8192, windowsize: 16, timeoutMs: 120_000 });
    assert.ok(r.ok, r.stderr);
    await assertSame(dest, 'large.bin');
    rmSync(dest);
  });

  it('100 MiB at blksize 512 (block numbers roll over) with curl', async () => {
    const dest = local();
    const r = await downloadWithCurl({ host, port, remote: 'large.bin', local: dest, blksize: 512, timeoutMs: 240_000 });
    assert.ok(r.ok, r.stderr);
    await assertSame(dest, 'large.bin');
    rmSync(dest);
  });

  it('100 concurrent clients all get identical copies', async () => {
    const jobs = Array.from({ length: 100 }, (_, i) => {
      const dest = local();
      const run =
        i % 2 === 0
          ? downloadWithAtftp({ host, port, remote: 'one-mib.bin', local: dest, blksize: 1428, timeoutMs: 120_000 })
          : downloadWithCurl({ host, port, remote: 'one-mib.bin', local: dest, blksize: 1428, timeoutMs: 120_000 });
      return run.then(async (r) => ({ r, hash: r.ok ? await sha256File(dest) : '' }));
    });
    const results = await Promise.all(jobs);
    const failed = results.filter(({ r, hash }) => !r.ok || hash !== files['one-mib.bin']);
    assert.equal(failed.length, 0, `${failed.length} of 100 failed: ${failed[0]?.r.stderr}`);
  });

  it('writes one summary line per transfer with the fields operators need', () => {
    const line = daemon.output.split('\n').find((l) => l.includes(' transfer ') && l.includes('file=small.bin'));
    assert.ok(line, 'a summary line for small.bin');
    for (const field of ['client=', 'mode=octet', 'options=', 'bytes=100003', 'duration_ms=', 'rate_mbps=', 'retransmits=', 'outcome=complete']) {
      assert.ok(line.includes(field), `${field} in: ${line}`);
    }
  });
});

describe('refusals (loopback)', () => {
  const rrq = (filename: string, mode = 'octet') => encodeTftp({ op: 'RRQ', filename, mode, options: [] });
  async function errorFor(request: Buffer): Promise<{ code: number; message: string }> {
    const reply = await rawExchange(request, port);
    assert.ok(reply, 'the server answers');
    const p = decodeTftp(reply);
    assert.equal(p.op, 'ERROR', `expected ERROR, got ${p.op}`);
    return p.op === 'ERROR' ? { code: p.code, message: p.message } : { code: -1, message: '' };
  }

  const traversal: string[] = [
    '../secret.txt',
    '../../../../etc/passwd',
    '/../etc/passwd',
    'pxelinux.cfg/../../secret.txt',
    '..\\secret.txt',
    'escape-link',
    'C:/boot.ini',
    'pxelinux.cfg',
  ];
  for (const name of traversal) {
    it(`refuses ${JSON.stringify(name)} with ERROR 2`, async () => {
      assert.equal((await errorFor(rrq(name))).code, 2);
    });
  }

  it('refuses traversal from real clients too (atftp, curl)', async () => {
    const a = await downloadWithAtftp({ host, port, remote: '../secret.txt', local: local() });
    assert.equal(a.ok, false);
    const c = await downloadWithCurl({ host, port, remote: 'escape-link', local: local() });
    assert.equal(c.ok, false);
  });

  it('answers a missing file with ERROR 1', async () => {
    assert.equal((await errorFor(rrq('no-such-file'))).code, 1);
    const r = await downloadWithTftpHpa({ host, port, remote: 'no-such-file', local: local() });
    assert.equal(r.ok, false);
  });

  it('refuses uploads with ERROR 2 when upload_dir is not set', async () => {
    const e = await errorFor(encodeTftp({ op: 'WRQ', filename: 'new.bin', mode: 'octet', options: [] }));
    assert.equal(e.code, 2);
  });

  it('answers a malformed request with ERROR 4 and keeps serving', async () => {
    assert.equal((await errorFor(Buffer.from('\x00\x01name-without-terminators', 'latin1'))).code, 4);
    assert.equal((await errorFor(Buffer.from([0, 9, 0, 0]))).code, 4);
    const dest = local();
    const r = await downloadWithCurl({ host, port, remote: 'small.bin', local: dest });
    assert.ok(r.ok, r.stderr);
    await assertSame(dest, 'small.bin');
  });
});
