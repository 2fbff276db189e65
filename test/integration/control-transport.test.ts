// The node-ipc control transport on real Unix sockets: framing, permissions, stale and live socket
// files, hostile or vanishing clients, and the errors the CLI turns into one-line messages.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { LineFramer, MAX_REQUEST_BYTES, nodeIpcTransport } from '../../src/io/node-ipc-transport.js';
import type { ControlRequestHandler } from '../../src/io/ports.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-transport-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const socketPath = () => join(work, `s${n++}.sock`);

const echo: ControlRequestHandler = {
  onRequest: async (text) => `echo ${text}`,
  onOversize: (limit) => `oversize ${limit}`,
};

/** Writes `chunks` on a raw connection and collects everything until the server closes or `lines` arrived. */
function rawExchange(path: string, chunks: readonly (string | Buffer)[], lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    let received = '';
    const done = () => {
      socket.destroy();
      resolve(received.split('\n').filter((l) => l !== ''));
    };
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    socket.on('data', (d) => {
      received += d.toString();
      if (received.split('\n').length - 1 >= lines) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
  });
}

function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (e: NodeJS.ErrnoException) => e.code ?? e.message,
  );
}

describe('LineFramer', () => {
  it('joins split frames, splits joined ones, and refuses to buffer past its limit', () => {
    const framer = new LineFramer(8);
    assert.deepEqual(framer.push('ab'), []);
    assert.deepEqual(framer.push('c\nde\nf'), ['abc', 'de']);
    assert.deepEqual(framer.push('\n'), ['f']);
    assert.equal(framer.push('123456789'), 'oversize');
    assert.equal(new LineFramer(8).push('123456789\n'), 'oversize');
  });
});

describe('node-ipc control transport', () => {
  it('answers a request, creates the socket with the configured mode in a new directory, removes it on close', async () => {
    const path = join(work, 'new-dir', 'control.sock');
    const listener = await nodeIpcTransport.listen(path, 0o640, echo);
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.ok(statSync(path).isSocket());
    assert.equal(await nodeIpcTransport.request(path, '{"a":"ü"}', 2000), 'echo {"a":"ü"}');
    await listener.close();
    assert.equal(existsSync(path), false, 'the socket file is gone');
  });

  it('replaces a stale socket left by a killed process', async () => {
    const path = socketPath();
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(existsSync(path), 'SIGKILL leaves the socket file behind');
    assert.equal(await codeOf(nodeIpcTransport.request(path, 'x', 1000)), 'ECONNREFUSED');
    const listener = await nodeIpcTransport.listen(path, 0o660, echo);
    assert.equal(await nodeIpcTransport.request(path, 'x', 2000), 'echo x');
    await listener.close();
  });

  it('refuses a socket another process answers on, and a path that is not a socket', async () => {
    const path = socketPath();
    const first = await nodeIpcTransport.listen(path, 0o660, echo);
    assert.equal(await codeOf(nodeIpcTransport.listen(path, 0o660, echo)), 'EADDRINUSE');
    assert.equal(await nodeIpcTransport.request(path, 'still', 2000), 'echo still', 'the first listener is untouched');
    await first.close();

    const file = join(work, 'plain-file');
    writeFileSync(file, 'keep me');
    assert.equal(await codeOf(nodeIpcTransport.listen(file, 0o660, echo)), 'EEXIST');
    assert.ok(statSync(file).isFile());
  });

  it('frames raw bytes itself: hostile frames get answers, the listener survives', async () => {
    const path = socketPath();
    const listener = await nodeIpcTransport.listen(path, 0o660, echo);
    // `{"type":5}\f` is what crashes a node-ipc server in its default (JSON message) mode.
    const replies = await rawExchange(path, ['{"type":5,"data":{}}\f\n', '{"type":"close"}\npartial', ' frame\n', Buffer.from([0xff, 0xfe, 0x0a])], 4);
    assert.deepEqual(replies, ['echo {"type":5,"data":{}}\f', 'echo {"type":"close"}', 'echo partial frame', 'echo \ufffd\ufffd']);
    assert.equal(await nodeIpcTransport.request(path, 'after', 2000), 'echo after');
    await listener.close();
  });

  it('answers an oversized frame once and closes that connection only', async () => {
    const path = socketPath();
    const listener = await nodeIpcTransport.listen(path, 0o660, echo);
    const replies = await rawExchange(path, ['x'.repeat(MAX_REQUEST_BYTES + 10)], 1);
    assert.deepEqual(replies, [`oversize ${MAX_REQUEST_BYTES}`]);
    assert.equal(await nodeIpcTransport.request(path, 'next', 2000), 'echo next');
    await listener.close();
  });

  it('is unharmed by a client that leaves before its reply', async () => {
    const path = socketPath();
    let release = () => {};
    const answered: string[] = [];
    const slow: ControlRequestHandler = {
      onRequest: (text) =>
        new Promise((resolve) => {
          if (text !== 'slow') return resolve(`echo ${text}`);
          release = () => {
            answered.push(text);
            resolve('late reply');
          };
        }),
      onOversize: echo.onOversize,
    };
    const listener = await nodeIpcTransport.listen(path, 0o660, slow);
    await new Promise<void>((resolve) => {
      const socket = connect({ path }, () => socket.write('slow\n', () => setTimeout(() => socket.destroy(), 50)));
      socket.on('close', () => resolve());
    });
    release();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(answered, ['slow']);
    assert.equal(await nodeIpcTransport.request(path, 'fine', 2000), 'echo fine');
    await listener.close();
  });

  it('client errors carry the codes the CLI explains', async () => {
    assert.equal(await codeOf(nodeIpcTransport.request(join(work, 'missing.sock'), 'x', 1000)), 'ENOENT');

    const silent = socketPath();
    const mute = await nodeIpcTransport.listen(silent, 0o660, { onRequest: () => new Promise(() => {}), onOversize: echo.onOversize });
    assert.equal(await codeOf(nodeIpcTransport.request(silent, 'x', 200)), 'ETIMEDOUT');
    await mute.close();

    const rude = socketPath();
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(rude, r));
    assert.equal(await codeOf(nodeIpcTransport.request(rude, 'x', 2000)), 'ECONNRESET');
    await new Promise((r) => server.close(r));
  });
});
