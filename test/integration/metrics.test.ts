// The Prometheus endpoint of the real daemon: a TFTP download shows up in /metrics next to the
// default process metrics; without `[metrics] listen` nothing listens; a taken port stops the start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { decodeTftp, encodeTftp } from '../../src/codec/tftp-packet.js';
import { cliPath, DaemonProcess, freeUdpPort } from '../support/daemon-process.js';
import { downloadWithCurl, findPeer } from '../support/peers.js';

const FILE_SIZE = 200_000;

const work = mkdtempSync(join(tmpdir(), 'pxecast-metrics-'));
const root = join(work, 'root');
mkdirSync(root);
writeFileSync(join(root, 'demo.img'), Buffer.alloc(FILE_SIZE, 7));
after(() => rmSync(work, { recursive: true, force: true }));

/** A TCP port that was free a moment ago (listen on 0, read, close). */
async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function scrape(port: number, path = '/metrics'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample line, e.g. `pxecast_transfers_total{kind="unicast",outcome="complete"}`. */
function valueOf(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Without curl: a plain lock-step RFC 1350 download by the test itself. */
function rawDownload(port: number, file: string): Promise<number> {
  const socket = dgram.createSocket('udp4');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw download timed out')), 20_000);
    socket.on('message', (msg, from) => {
      const packet = decodeTftp(msg);
      if (packet.op === 'ERROR') reject(new Error(packet.message));
      if (packet.op !== 'DATA') return;
      bytes += packet.data.length;
      socket.send(encodeTftp({ op: 'ACK', block: packet.block }), from.port, from.address);
      if (packet.data.length < 512) {
        clearTimeout(timer);
        setTimeout(() => socket.close(), 50);
        resolve(bytes);
      }
    });
    socket.bind(0, '127.0.0.1', () => socket.send(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: [] }), port, '127.0.0.1'));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function writeConfig(name: string, tftpPort: number, metrics: string): string {
  const file = join(work, name);
  writeFileSync(file, `[tftp]\nlisten = 127.0.0.1\nport = ${tftpPort}\nroot = ${root}\n\n[mtftp]\nenabled = false\n\n[metrics]\n${metrics}\n`);
  return file;
}

describe('metrics endpoint of the running daemon', () => {
  let daemon: DaemonProcess;
  let tftpPort: number;
  let metricsPort: number;

  before(async () => {
    tftpPort = await freeUdpPort();
    metricsPort = await freeTcpPort();
    daemon = await DaemonProcess.start(writeConfig('on.ini', tftpPort, `listen = 127.0.0.1:${metricsPort}`));
  });
  after(async () => {
    await daemon.stop();
  });

  it('logs where it listens', () => {
    assert.match(daemon.output, new RegExp(`metrics endpoint listening address=127\\.0\\.0\\.1 port=${metricsPort} path=/metrics`));
  });

  it('counts a TFTP download: a complete unicast transfer, bytes sent; default process metrics too', async () => {
    const local = join(work, 'demo.out');
    if (findPeer('curl')) {
      const result = await downloadWithCurl({ host: '127.0.0.1', port: tftpPort, remote: 'demo.img', local, timeoutMs: 30_000 });
      assert.ok(result.ok, result.stderr);
      assert.equal(readFileSync(local).length, FILE_SIZE);
    } else {
      assert.equal(await rawDownload(tftpPort, 'demo.img'), FILE_SIZE);
    }
    // The transfer is counted when its final ACK arrives, which may be just after the client exits.
    const body = await until('the transfer in /metrics', async () => {
      const r = await scrape(metricsPort);
      const n = valueOf(r.body, 'pxecast_transfers_total{kind="unicast",outcome="complete"}');
      return n !== undefined && n >= 1 ? r.body : undefined;
    });
    assert.ok(valueOf(body, 'pxecast_bytes_sent_total{service="tftp"}')! >= FILE_SIZE, body);
    assert.equal(valueOf(body, 'pxecast_sessions_active{kind="unicast"}'), 0);
    assert.equal(valueOf(body, 'pxecast_multicast_members_active'), 0);
    assert.equal(valueOf(body, 'pxecast_dhcp_leases_in_use'), 0);
    assert.ok(valueOf(body, 'pxecast_event_loop_lag_seconds')! >= 0);
    assert.match(body, /^# TYPE pxecast_transfers_total counter$/m);
    assert.match(body, /^# HELP pxecast_bytes_sent_total /m);
    // prom-client's default metrics
    assert.match(body, /^process_cpu_user_seconds_total \d/m);
    assert.match(body, /^process_resident_memory_bytes \d/m);
    assert.match(body, /^nodejs_eventloop_lag_p99_seconds \d/m);
    assert.match(body, /^nodejs_heap_size_used_bytes \d/m);
  });

  it('answers with the exposition content type, and 404 off /metrics', async () => {
    const r = await scrape(metricsPort);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4; charset=utf-8$/);
    assert.equal((await scrape(metricsPort, '/')).status, 404);
  });

  it('stops listening when the daemon stops', async () => {
    assert.equal(await daemon.stop(), 0);
    await assert.rejects(scrape(metricsPort), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  });
});

describe('metrics endpoint off or unavailable', () => {
  it('listens nowhere when `listen` is empty (the default)', async () => {
    const metricsPort = await freeTcpPort();
    const daemon = await DaemonProcess.start(writeConfig('off.ini', await freeUdpPort(), 'listen ='));
    try {
      await assert.rejects(scrape(metricsPort), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
      assert.doesNotMatch(daemon.output, /metrics endpoint/);
    } finally {
      await daemon.stop();
    }
  });

  it('a port that is taken stops the start with a message naming it', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const config = writeConfig('taken.ini', await freeUdpPort(), `listen = 127.0.0.1:${port}`);
      const socket = join(mkdtempSync(join(tmpdir(), 'pxecast-ctl-')), 'control.sock');
      const child = spawn(process.execPath, [cliPath, 'serve', '--config', config, '--socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`cannot start error="metrics endpoint \\(\\[metrics\\] listen\\): cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE"`));
      assert.doesNotMatch(output, /control socket listening/);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
