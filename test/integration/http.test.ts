// The HTTP server over the served tree, against the real daemon on loopback with curl (a real
// client) for transfers and raw sockets for hostile input. Every body is checked byte for byte.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess, freeUdpPort, writeTempConfig } from '../support/daemon-process.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-http-'));
const root = join(work, 'root');
const outside = join(work, 'outside');
const BIG = randomBytes(4 * 1024 * 1024 + 123);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let daemon: DaemonProcess;
let base = '';
let httpPort = 0;

/** A free TCP port on loopback (bound, read, released). */
async function freeTcpPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function curl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('curl', ['-sS', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Status code and body (as a file) of one curl GET. */
function get(path: string, ...extra: string[]): { code: string; body: Buffer; stderr: string; exit: number | null } {
  const out = join(work, `body-${randomBytes(4).toString('hex')}`);
  const r = curl('-o', out, '-w', '%{http_code}', ...extra, `${base}${path}`);
  let body = Buffer.alloc(0);
  try {
    body = readFileSync(out);
  } catch {
    // no body written
  }
  return { code: r.stdout, body, stderr: r.stderr, exit: r.status };
}

/** Waits (bounded) until `file` holds at least `bytes`: a download is then surely running. */
async function untilSize(file: string, bytes: number, boundMs = 10_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    let size = 0;
    try {
      size = readFileSync(file).length;
    } catch {
      // not created yet
    }
    if (size >= bytes) return;
    assert.ok(Date.now() < deadline, `${file} has ${size} bytes after ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends raw bytes on a fresh connection and returns everything the server sent before closing. */
function raw(bytes: Buffer | string, opts: { keepOpenMs?: number; boundMs?: number } = {}): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(httpPort, '127.0.0.1');
    let text = '';
    const bound = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${opts.boundMs ?? 20_000} ms; got ${JSON.stringify(text.slice(0, 200))}`));
    }, opts.boundMs ?? 20_000);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(bound);
      resolve({ text, ms: performance.now() - started });
    });
    socket.write(bytes);
  });
}

before(async () => {
  mkdirSync(root);
  mkdirSync(outside);
  mkdirSync(join(root, 'grub'));
  writeFileSync(join(root, 'big.img'), BIG);
  writeFileSync(join(root, 'grub', 'grub.cfg'), 'set timeout=1\n');
  writeFileSync(join(root, 'boot.tmpl'), '#!ipxe\necho {{host}} {{mac}} {{ip}} {{arch}} {{image}}\nkernel {{base_url}}/big.img ip=${net0/ip}\n');
  writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET\n');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-to-secret'));
  httpPort = await freeTcpPort();
  base = `http://127.0.0.1:${httpPort}`;
  const config = writeTempConfig(
    [
      '[tftp]',
      'listen = 127.0.0.1',
      `port = ${await freeUdpPort()}`,
      `root = ${root}`,
      'client_request_rate = 1000',
      'client_request_burst = 1000',
      '[mtftp]',
      'enabled = false',
      '[http]',
      'enabled = true',
      'listen = 127.0.0.1',
      `port = ${httpPort}`,
      'max_connections_per_client = 3',
      '[image lab]',
      'file = big.img',
      'ipxe_script = boot.tmpl',
      '[host node07]',
      'mac = 52:54:00:12:34:56',
      '',
    ].join('\n'),
  );
  daemon = await DaemonProcess.start(config);
});

after(async () => {
  await daemon?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('HTTP over the served tree (curl)', () => {
  it('GET serves the file byte for byte, with one summary line', async () => {
    const r = get('/big.img');
    assert.equal(r.code, '200', r.stderr);
    assert.equal(sha(r.body), sha(BIG));
    await daemon.waitFor(new RegExp(`transfer service=http .*file=/big\\.img .*status=200 .*bytes=${BIG.length} .*outcome=complete`));
  });

  it('HEAD gives the length and validators and no body', () => {
    const r = curl('-I', `${base}/big.img`);
    assert.match(r.stdout, /^HTTP\/1\.1 200/);
    assert.match(r.stdout, new RegExp(`Content-Length: ${BIG.length}\\r\\n`, 'i'));
    assert.match(r.stdout, /ETag: "[0-9a-f]+"/i);
    assert.match(r.stdout, /Last-Modified: \w{3}, \d\d \w{3} \d{4}/i);
    assert.match(r.stdout, /Accept-Ranges: bytes/i);
  });

  it('Range: 206 with the exact slice, suffix ranges, and 416 past the end', () => {
    const part = get('/big.img', '-r', '1000-99999');
    assert.equal(part.code, '206');
    assert.ok(part.body.equals(BIG.subarray(1000, 100_000)));
    const tail = get('/big.img', '-r', '-5000');
    assert.equal(tail.code, '206');
    assert.ok(tail.body.equals(BIG.subarray(BIG.length - 5000)));
    const past = curl('-D', '-', '-o', '/dev/null', '-r', `${BIG.length}-`, `${base}/big.img`);
    assert.match(past.stdout, /^HTTP\/1\.1 416/);
    assert.match(past.stdout, new RegExp(`Content-Range: bytes \\*/${BIG.length}`, 'i'));
  });

  it('a resumed download (curl -C -) completes byte for byte', () => {
    const out = join(work, 'resumed');
    writeFileSync(out, BIG.subarray(0, 1_234_567));
    const r = curl('-C', '-', '-o', out, `${base}/big.img`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha(readFileSync(out)), sha(BIG));
  });

  it('If-None-Match with the current ETag is 304', () => {
    const etag = /ETag: ("[0-9a-f]+")/i.exec(curl('-I', `${base}/big.img`).stdout)![1]!;
    const r = get('/big.img', '-H', `If-None-Match: ${etag}`);
    assert.equal(r.code, '304');
    assert.equal(r.body.length, 0);
  });

  it('keep-alive: two files over one connection', () => {
    const a = join(work, 'ka-a');
    const b = join(work, 'ka-b');
    const r = spawnSync('curl', ['-sS', '-v', '-o', a, `${base}/big.img`, '-o', b, `${base}/grub/grub.cfg`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Re-using existing connection/);
    assert.equal(sha(readFileSync(a)), sha(BIG));
    assert.equal(readFileSync(b, 'utf8'), 'set timeout=1\n');
  });

  it('the TFTP path rules: 403 for ".." and symlink escapes, 404 for a missing file, 405 for other methods', () => {
    assert.equal(get('/../outside/secret.txt', '--path-as-is').code, '403');
    assert.equal(get('/%2e%2e/outside/secret.txt', '--path-as-is').code, '403');
    const link = get('/link-to-secret');
    assert.equal(link.code, '403');
    assert.ok(!link.body.includes('SECRET'));
    assert.equal(get('/grub').code, '403', 'a directory is not a file');
    assert.equal(get('/missing.img').code, '404');
    assert.equal(get('//grub/grub.cfg', '--path-as-is').code, '200', 'a leading "/" is the root, as over TFTP');
    const post = curl('-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `${base}/big.img`);
    assert.equal(post.stdout, '405');
  });

  it('a refusal closes the connection (shim through OVMF\'s HTTP stack stalled about 6 s after each kept-alive 404)', () => {
    const r = spawnSync('curl', ['-sS', '-v', '-o', '/dev/null', `${base}/missing.img`, '-o', '/dev/null', `${base}/grub/grub.cfg`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /< HTTP\/1\.1 404[^]*< Connection: close/i);
    assert.doesNotMatch(r.stderr, /Re-using existing connection/, 'the 404 ended its connection');
    assert.match(r.stderr, /< HTTP\/1\.1 200/);
  });

  it("an image's iPXE script is rendered for the client that asks, and what it names is served", () => {
    const r = curl(`${base}/_pxecast/ipxe/lab?mac=52%3A54%3A00%3A12%3A34%3A56&arch=bios`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `#!ipxe\necho node07 52:54:00:12:34:56 127.0.0.1 bios lab\nkernel ${base}/big.img ip=\${net0/ip}\n`);
    const named = /kernel (\S+)/.exec(r.stdout)![1]!;
    assert.equal(sha(get(named.slice(base.length)).body), sha(BIG), 'the URL in the script serves the file');
    assert.equal(get('/_pxecast/ipxe/nope?mac=x').code, '404');
  });

  it('a transfer keeps the version it opened when the file is renamed over', async () => {
    const path = join(root, 'swap.img');
    // Larger than loopback's socket buffers can hold at once, read at 8 MB/s: the rename lands
    // while most of the file is still to be read from disk.
    const before = randomBytes(24 * 1024 * 1024);
    writeFileSync(path, before);
    const out = join(work, 'swap-copy');
    const child = spawn('curl', ['-sS', '--limit-rate', '8M', '-o', out, `${base}/swap.img`]);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await untilSize(out, 256 * 1024);
    const replacement = join(root, 'swap.new');
    writeFileSync(replacement, randomBytes(before.length));
    renameSync(replacement, path);
    assert.equal(await exited, 0);
    assert.equal(sha(readFileSync(out)), sha(before), 'the old version, whole');
  });

  it('a file rewritten in place mid-transfer cuts the connection rather than mixing versions', async () => {
    const path = join(root, 'rewrite.img');
    const before = randomBytes(24 * 1024 * 1024);
    writeFileSync(path, before);
    const out = join(work, 'rewrite-copy');
    const child = spawn('curl', ['-sS', '--limit-rate', '8M', '-o', out, `${base}/rewrite.img`]);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await untilSize(out, 256 * 1024);
    writeFileSync(path, randomBytes(before.length)); // same size, new mtime, same inode
    const code = await exited;
    assert.notEqual(code, 0, 'curl sees a short body');
    await daemon.waitFor(/file=\/rewrite\.img .*outcome=file-changed/);
    const copy = readFileSync(out);
    assert.ok(copy.length < before.length && copy.equals(before.subarray(0, copy.length)), 'only old bytes, never new ones');
  });

  it('more than max_connections_per_client transfers at once: 503', async () => {
    // Far larger than loopback's socket buffers, read slowly: the server is still sending each.
    writeFileSync(join(root, 'huge.img'), Buffer.alloc(48 * 1024 * 1024, 7));
    const outs = [0, 1, 2].map((i) => join(work, `busy-${i}`));
    const children = outs.map((out) => spawn('curl', ['-sS', '--limit-rate', '1M', '-o', out, `${base}/huge.img`]));
    try {
      for (const out of outs) await untilSize(out, 1);
      const r = curl('-o', '/dev/null', '-w', '%{http_code}', '-D', join(work, 'h503'), `${base}/grub/grub.cfg`);
      assert.equal(r.stdout, '503');
      assert.match(readFileSync(join(work, 'h503'), 'utf8'), /Retry-After: 1/i);
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  });
});

describe('HTTP bad input never crashes or stalls the daemon', () => {
  it('a malformed request line is 400', async () => {
    const r = await raw('GARBAGE\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400/);
  });

  it('a header flood is 431', async () => {
    const r = await raw(`GET /big.img HTTP/1.1\r\nHost: x\r\nX-Flood: ${'a'.repeat(100_000)}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431/);
  });

  it('a GET with a large declared body is 413', async () => {
    const r = await raw('GET /grub/grub.cfg HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 413/);
  });

  it('a head that trickles in (slowloris) is cut with 408 within the header timeout', async () => {
    const r = await raw('GET /big.img HTTP/1.1\r\nHost: x\r\n', { boundMs: 20_000 });
    assert.match(r.text, /^HTTP\/1\.1 408/);
    assert.ok(r.ms < 15_000, `${Math.round(r.ms)} ms`);
  });

  it('after all of it, a normal GET is served byte for byte', () => {
    const r = get('/big.img');
    assert.equal(r.code, '200');
    assert.equal(sha(r.body), sha(BIG));
  });
});
