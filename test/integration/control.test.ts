// The operator commands against the real daemon: a curl download watched and dropped through
// `pxecast sessions` / `drop`, reload with a good and a bad config, hostile and vanishing control
// clients, SIGTERM in the middle of a transfer, and the CLI with no daemon behind the socket.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { decodeTftp, encodeTftp } from '../../src/codec/tftp-packet.js';
import type { SessionInfo } from '../../src/control/control-protocol.js';
import { DaemonProcess, cliPath, freeUdpPort } from '../support/daemon-process.js';
import { downloadWithCurl, findPeer } from '../support/peers.js';

const BIG = 128 * 1024 * 1024; // sparse: at blksize 512 a download takes well over 10 s on loopback

const work = mkdtempSync(join(tmpdir(), 'pxecast-control-'));
const root = join(work, 'root');
mkdirSync(root);
writeFileSync(join(root, 'big.bin'), '');
truncateSync(join(root, 'big.bin'), BIG);
writeFileSync(join(root, 'small.txt'), 'small\n');
after(() => rmSync(work, { recursive: true, force: true }));

function pxecast(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 20_000 });
}

function json<T>(args: string[]): T {
  const r = pxecast(...args, '--json');
  assert.equal(r.status, 0, `pxecast ${args.join(' ')} --json: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A TFTP reader that ACKs every block at once; resolves with the first ERROR message it gets. */
function tftpReaderUntilError(port: number, file: string, onFirstData: () => void): Promise<string> {
  const socket = dgram.createSocket('udp4');
  let started = false;
  return new Promise((resolve, reject) => {
    socket.on('message', (msg, from) => {
      const packet = decodeTftp(msg);
      if (packet.op === 'OACK') socket.send(encodeTftp({ op: 'ACK', block: 0 }), from.port, from.address);
      else if (packet.op === 'DATA') {
        if (!started) onFirstData();
        started = true;
        socket.send(encodeTftp({ op: 'ACK', block: packet.block }), from.port, from.address);
      } else if (packet.op === 'ERROR') {
        socket.close();
        resolve(packet.message);
      }
    });
    socket.on('error', reject);
    socket.bind(0, '127.0.0.1', () =>
      socket.send(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: [{ name: 'blksize', value: '512' }] }), port, '127.0.0.1'),
    );
  });
}

/** Raw frames on the control socket, as a confused or hostile local program would send them. */
function rawControl(path: string, frame: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path }, () => socket.write(frame));
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('\n')) {
        socket.destroy();
        resolve(JSON.parse(text.slice(0, text.indexOf('\n'))));
      }
    });
    socket.on('error', reject);
  });
}

describe('pxecast operator commands against a running daemon', () => {
  let daemon: DaemonProcess;
  let port: number;
  const config = join(work, 'pxecast.ini');
  /** The CLI finds the daemon through [control] when given --config (the daemon has --socket). */
  let control = '';
  const writeConfig = (extra = '') =>
    writeFileSync(config, `[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${root}\n\n[image big]\nfile = big.bin\n${extra}${control}`);

  before(async () => {
    port = await freeUdpPort();
    writeConfig();
    daemon = await DaemonProcess.start(config);
    control = `\n[control]\nsocket = ${daemon.socket}\n`;
    writeConfig();
  });
  after(async () => {
    await daemon.stop();
  });

  it('status: uptime, config file, services with their ports, counts', () => {
    const r = pxecast('status', '--config', config);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^pxecast \d+\.\d+\.\d+, pid \d+, up \d+s$/m);
    assert.match(r.stdout, new RegExp(`^config: ${config}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^tftp\\s+running\\s+127\\.0\\.0\\.1:${port}\\s+root ${root}$`, 'm'));
    assert.match(r.stdout, /^dhcp\s+off\s+off \(\[dhcp\] mode = off\)$/m);
    assert.match(r.stdout, new RegExp(`^control\\s+running\\s+${daemon.socket}$`, 'm'));
    const status = json<{ status: { configFile: string; pid: number; services: { name: string; ports: number[] }[]; counts: { images: number } } }>([
      'status',
      '--socket',
      daemon.socket,
    ]).status;
    assert.equal(status.configFile, config);
    assert.equal(status.pid, daemon.child.pid);
    assert.deepEqual(status.services.find((s) => s.name === 'tftp')?.ports, [port]);
    assert.equal(status.counts.images, 1);
  });

  it('sessions shows a running curl download (blksize, progress, rate); drop ends it with an ERROR', async () => {
    assert.ok(findPeer('curl'), 'curl must be installed (.ci/run installs it)');
    const download = downloadWithCurl({ host: '127.0.0.1', port, remote: 'big.bin', local: join(work, 'big.out'), blksize: 512, timeoutMs: 60_000 });
    const session = await until('the transfer in `pxecast sessions`', () => {
      const sessions = json<{ sessions: SessionInfo[] }>(['sessions', '--socket', daemon.socket]).sessions;
      return sessions.find((s) => s.file === 'big.bin' && s.bytes > 0);
    });
    assert.match(session.id, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(
      [session.kind, session.image, session.blksize, session.totalBytes, session.direction, session.master, session.droppable],
      ['unicast', 'big', 512, BIG, 'read', null, true],
    );
    assert.ok(session.percent !== null && session.percent > 0 && session.percent < 100, `percent ${session.percent}`);
    assert.ok(session.bytesPerSecond > 0);

    const text = pxecast('sessions', '--socket', daemon.socket);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${session.id}\\s+unicast\\s+big\\.bin \\[big\\]\\s+512\\s+\\d+\\.\\d% of 128 MiB`, 'm'));

    const status = json<{ status: { counts: { activeTransfers: number } } }>(['status', '--socket', daemon.socket]).status;
    assert.equal(status.counts.activeTransfers, 1);

    // Off a terminal --watch prints timestamped lines, and --count bounds it.
    const watch = pxecast('sessions', '--watch', '--count', '2', '--interval', '0.2', '--socket', daemon.socket);
    assert.equal(watch.status, 0, watch.stderr);
    const lines = watch.stdout.trim().split('\n');
    assert.equal(lines.length, 2, watch.stdout);
    for (const line of lines) assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z ${session.id} unicast file=big\\.bin blksize=512 progress=`));

    const drop = pxecast('drop', session.id, '--socket', daemon.socket);
    assert.equal(drop.status, 0, drop.stderr);
    assert.equal(drop.stdout, `dropped ${session.id}: the client got a TFTP ERROR\n`);
    const result = await download;
    assert.equal(result.ok, false, 'curl did not get the whole file');
    assert.ok(result.ms < 30_000);
    await daemon.waitFor(new RegExp(`client=${session.id.replace(/\./g, '\\.')} .*outcome=dropped detail="dropped by the operator"`));
    assert.match(daemon.output, /session dropped by the operator/);

    const again = pxecast('drop', session.id, '--socket', daemon.socket);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^pxecast: no session 127\.0\.0\.1:\d+ \(it may have just ended/);
  });

  it('sessions --watch runs until Ctrl-C, then exits 0', async () => {
    const watch = spawn(process.execPath, [cliPath, 'sessions', '--watch', '--interval', '0.2', '--socket', daemon.socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => watch.once('exit', (code) => r(code)));
    await until('two updates', () => (out.split('\n').length > 2 ? true : undefined));
    watch.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(out, /^\S+Z no transfers running$/m);
  });

  it('catalog and leases', () => {
    const catalog = pxecast('catalog', '--socket', daemon.socket);
    assert.equal(catalog.status, 0, catalog.stderr);
    assert.match(catalog.stdout, new RegExp(`^root: ${root}$`, 'm'));
    assert.match(catalog.stdout, /^big\s+big\.bin\s+128 MiB\s+any\s+-/m);
    const leases = pxecast('leases', '--socket', daemon.socket);
    assert.equal(leases.status, 0, leases.stderr);
    assert.equal(leases.stdout, 'DHCP responder is off ([dhcp] mode = off)\nno leases\n');
    assert.deepEqual(json<{ leases: unknown }>(['leases', '--socket', daemon.socket]).leases, {
      responder: 'off',
      note: 'DHCP responder is off ([dhcp] mode = off)',
      leases: [],
      v6: { responder: 'off', note: null, leases: [] },
    });
  });

  it('reload: a good config is applied; a bad one is reported, non-zero, and the old one keeps serving', () => {
    writeConfig('\n[image small]\nfile = small.txt\n');
    const good = pxecast('reload', '--config', config);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(good.stdout, `configuration reloaded from ${config}: 2 image(s) (big, small)\n`);

    // The CLI still finds the socket in a file whose other sections are broken.
    writeConfig('bogus_key = 1\n\n[image gone]\ndescription = no file key\n');
    const bad = pxecast('reload', '--config', config);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^pxecast: the new configuration was rejected; the previous one keeps serving$/m);
    assert.match(bad.stderr, new RegExp(`^  ${config}:8: \\[image big\\] bogus_key: unknown key`, 'm'));
    assert.match(bad.stderr, /\[image gone\] file: required key is missing/);
    const rejected = pxecast('reload', '--config', config, '--json');
    assert.equal(rejected.status, 1);
    assert.equal(JSON.parse(rejected.stdout).error.code, 'config-rejected');

    const catalog = json<{ catalog: { images: { name: string }[] } }>(['catalog', '--socket', daemon.socket]).catalog;
    assert.deepEqual(
      catalog.images.map((i) => i.name),
      ['big', 'small'],
    );
    writeConfig();
  });

  it('answers malformed requests with errors and shrugs off a client that leaves mid-request', async () => {
    assert.deepEqual(await rawControl(daemon.socket, 'hello\n'), {
      version: 1,
      ok: false,
      error: { code: 'malformed-request', message: 'the request is not JSON', details: [] },
    });
    const unknown = (await rawControl(daemon.socket, '{"version":1,"command":"frobnicate"}\n')) as { error: { code: string } };
    assert.equal(unknown.error.code, 'unknown-command');
    const future = (await rawControl(daemon.socket, '{"version":7,"command":"status"}\n')) as { error: { code: string } };
    assert.equal(future.error.code, 'unsupported-version');

    await new Promise<void>((resolve) => {
      const socket = connect({ path: daemon.socket }, () =>
        socket.write('{"version":1,"command":"reload"}\n', () => {
          socket.destroy();
          resolve();
        }),
      );
    });
    await daemon.waitFor(/control request .*command=reload outcome=ok/);
    assert.equal(pxecast('status', '--socket', daemon.socket).status, 0);
    assert.doesNotMatch(daemon.output, /bug:|Error:/);
  });

  it('a second daemon on the same control socket refuses to start', async () => {
    const otherPort = await freeUdpPort();
    const other = join(work, 'other.ini');
    writeFileSync(other, `[tftp]\nlisten = 127.0.0.1\nport = ${otherPort}\nroot = ${root}\n`);
    const r = pxecast('serve', '--config', other, '--socket', daemon.socket);
    assert.equal(r.status, 1);
    assert.match(r.stdout + r.stderr, /cannot start .*control socket: another process answers on/);
    assert.equal(pxecast('status', '--socket', daemon.socket).status, 0, 'the first daemon still answers');
  });
});

describe('daemon lifecycle and the control socket', () => {
  it('SIGTERM mid-transfer: the client gets a TFTP ERROR, exit 0, the socket file is removed', async () => {
    const port = await freeUdpPort();
    const config = join(work, 'sigterm.ini');
    writeFileSync(config, `[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${root}\n`);
    const daemon = await DaemonProcess.start(config);
    assert.ok(existsSync(daemon.socket));
    let transferring!: () => void;
    const started = new Promise<void>((r) => (transferring = r));
    const error = tftpReaderUntilError(port, 'big.bin', () => transferring());
    await started;
    assert.equal(json<{ sessions: SessionInfo[] }>(['sessions', '--socket', daemon.socket]).sessions.length, 1);
    assert.equal(await daemon.stop(), 0);
    assert.equal(await error, 'server shutting down');
    assert.match(daemon.output, /outcome=dropped detail="server shutting down"/);
    assert.equal(existsSync(daemon.socket), false, 'the control socket is removed on stop');
  });

  it('the CLI without a daemon: one line on stderr, exit 1, for every command', async () => {
    const gone = join(work, 'no-daemon', 'control.sock');
    for (const args of [['status'], ['sessions'], ['sessions', '--watch', '--count', '1'], ['leases'], ['catalog'], ['reload'], ['drop', '1.2.3.4:5'], ['status', '--json']]) {
      const r = pxecast(...args, '--socket', gone);
      assert.equal(r.status, 1, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.equal(r.stderr, `pxecast: pxecast is not running (no control socket at ${gone})\n`, args.join(' '));
    }
    const noConfig = pxecast('status', '--config', join(work, 'nope.ini'));
    assert.equal(noConfig.status, 1);
    assert.match(noConfig.stderr, /^pxecast: cannot read .*nope\.ini to find the control socket \(ENOENT\); or pass --socket PATH\n$/);
    const off = join(work, 'off.ini');
    writeFileSync(off, '[control]\nenabled = false\n');
    assert.equal(pxecast('status', '--config', off).stderr, `pxecast: ${off} turns the control socket off ([control] enabled = false)\n`);
  });

  it('a socket left by a killed daemon: the CLI says nothing answers; the next daemon starts anyway', async () => {
    const port = await freeUdpPort();
    const config = join(work, 'killed.ini');
    writeFileSync(config, `[tftp]\nlisten = 127.0.0.1\nport = ${port}\nroot = ${root}\n`);
    const first = await DaemonProcess.start(config);
    first.kill();
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r(null) : first.child.once('exit', r)));
    assert.ok(existsSync(first.socket), 'SIGKILL leaves the socket file');
    const stale = pxecast('status', '--socket', first.socket);
    assert.equal(stale.status, 1);
    assert.equal(stale.stderr, `pxecast: pxecast is not running (nothing answers on ${first.socket})\n`);

    const second = await DaemonProcess.start(config, undefined, undefined, first.socket);
    try {
      assert.equal(pxecast('status', '--socket', first.socket).status, 0);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });

  it('usage errors exit 2', () => {
    for (const args of [['drop'], ['drop', 'a', 'b'], ['status', '--watch'], ['sessions', '--count', '2'], ['check', '--json'], ['sessions', '--watch', '--count', '0']]) {
      assert.equal(pxecast(...args).status, 2, args.join(' '));
    }
  });
});
