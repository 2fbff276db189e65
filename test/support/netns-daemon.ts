// The real `pxecast serve` inside a test namespace, started by PID and waited for.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './daemon-process.js';
import { spawnInNamespace, type Namespace, type ProcessHandle } from './netns.js';

let started = 0;

/** A control socket path no other daemon of this process uses. */
export function controlSocketPath(): string {
  return join(tmpdir(), `pxecast-netns-${process.pid}-${++started}.sock`);
}

export interface DaemonStartOptions {
  /** Its control socket (default: a fresh path; the file system is shared, so the default path
   *  would collide), reachable from the test process with `pxecast --socket`. */
  readonly socket?: string;
  /** Sees all of its output (the handle keeps only the tail). */
  readonly onOutput?: (chunk: Buffer) => void;
}

/** Starts the daemon in `ns` on `configFile` and resolves once its output matches `ready`. */
export async function startDaemonIn(
  ns: Namespace,
  configFile: string,
  ready: RegExp,
  timeoutMs = 10_000,
  options: DaemonStartOptions = {},
): Promise<ProcessHandle & { readonly socket: string }> {
  const socket = options.socket ?? controlSocketPath();
  const onOutput = options.onOutput;
  const daemon = spawnInNamespace(ns, process.execPath, [cliPath, 'serve', '--config', configFile, '--socket', socket], onOutput ? { onOutput } : {});
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(daemon.outputTail())) {
    assert.ok(daemon.isRunning() && Date.now() < deadline, `pxecast did not start:\n${daemon.outputTail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...daemon, socket };
}
