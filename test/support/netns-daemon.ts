// The real `pxecast serve` inside a test namespace, started by PID and waited for.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './daemon-process.js';
import { spawnInNamespace, type Namespace, type ProcessHandle } from './netns.js';

let started = 0;

/**
 * Starts the daemon in `ns` on `configFile` and resolves once its output matches `ready`; `onOutput`
 * sees all of its output (the handle keeps only the tail).
 */
export async function startDaemonIn(
  ns: Namespace,
  configFile: string,
  ready: RegExp,
  timeoutMs = 10_000,
  onOutput?: (chunk: Buffer) => void,
): Promise<ProcessHandle & { readonly socket: string }> {
  // Its own control socket: namespaces share the file system, so the default path would collide.
  const socket = join(tmpdir(), `pxecast-netns-${process.pid}-${++started}.sock`);
  const daemon = spawnInNamespace(ns, process.execPath, [cliPath, 'serve', '--config', configFile, '--socket', socket], onOutput ? { onOutput } : {});
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(daemon.outputTail())) {
    assert.ok(daemon.isRunning() && Date.now() < deadline, `pxecast did not start:\n${daemon.outputTail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...daemon, socket };
}
