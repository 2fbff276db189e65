// Runs the real `pxecast serve` as a child process on a temporary config, for integration tests.
// Started and stopped by PID; stdout is kept so tests can assert on log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

export const cliPath = join(repoRoot, 'build/src/cli.js');

/** A UDP port that was free a moment ago (bind to 0, read, close). */
export async function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

export function writeTempConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pxecast-conf-'));
  const file = join(dir, 'pxecast.ini');
  writeFileSync(file, text);
  return file;
}

export class DaemonProcess {
  output = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    /** This daemon's own control socket, for `pxecast --socket` (tests never share one). */
    readonly socket: string,
  ) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts `pxecast serve --config FILE` on a control socket of its own and waits until it has
   *  bound everything (the control socket comes last). */
  static async start(
    configFile: string,
    readyPattern = /control socket listening/,
    timeoutMs = 10_000,
    socket = join(mkdtempSync(join(tmpdir(), 'pxecast-ctl-')), 'control.sock'),
  ): Promise<DaemonProcess> {
    const child = spawn(process.execPath, [cliPath, 'serve', '--config', configFile, '--socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = new DaemonProcess(child, socket);
    const deadline = Date.now() + timeoutMs;
    while (!readyPattern.test(d.output)) {
      if (child.exitCode !== null) throw new Error(`pxecast exited with ${child.exitCode}:\n${d.output}`);
      if (Date.now() > deadline) {
        d.kill();
        throw new Error(`pxecast not ready after ${timeoutMs} ms:\n${d.output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return d;
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} in output after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(this.child.pid, sig);
  }

  /** SIGTERM, then the exit code; SIGKILL if it does not exit within the bound. */
  async stop(timeoutMs = 5000): Promise<number | null> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    this.signal('SIGKILL');
  }
}

/** One raw TFTP exchange from the test itself: send `request`, return the first reply datagram. */
export async function rawExchange(request: Buffer, port: number, address = '127.0.0.1', timeoutMs = 2000): Promise<Buffer | null> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      s.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      s.send(request, port, address);
    });
  } finally {
    s.close();
  }
}
