// atftp as an RFC 2090 (`--option multicast`) or PXE MTFTP (`--mget`) client inside a test
// namespace, started by PID and awaited under a hard bound.
import { findPeer } from './peers.js';
import { spawnInNamespace, type Namespace, type ProcessHandle } from './netns.js';
import type { ClientRun } from './transfer-outcome.js';

export interface MtftpChannel {
  readonly group: string;
  readonly clientPort: number;
  readonly serverPort: number;
}

function atftp(): string {
  const program = findPeer('atftp');
  if (!program) throw new Error('atftp is not installed');
  return program.path;
}

/** `atftp --option multicast --option "blksize 1428" -g -r FILE -l LOCAL SERVER 69` (or another
 *  block size, and more options such as "windowsize 8" for when the server answers unicast). */
export function startAtftpMulticast(ns: Namespace, server: string, file: string, local: string, blksize = 1428, moreOptions: readonly string[] = []): ProcessHandle {
  const options = moreOptions.flatMap((o) => ['--option', o]);
  return spawnInNamespace(ns, atftp(), ['--option', 'multicast', '--option', `blksize ${blksize}`, ...options, '-g', '-r', file, '-l', local, server, '69']);
}

/** `atftp --mget` with the channel the catalog advertises and 1 s listen/timeout delays. */
export function startAtftpMget(ns: Namespace, server: string, channel: MtftpChannel, file: string, local: string): ProcessHandle {
  return spawnInNamespace(ns, atftp(), [
    '--mget',
    '--mtftp', `client-port ${channel.clientPort}`,
    '--mtftp', `mcast-ip ${channel.group}`,
    '--mtftp', 'listen-delay 1',
    '--mtftp', 'timeout-delay 1',
    '-r', file, '-l', local,
    server, String(channel.serverPort),
  ]);
}

/** Waits for the client; kills it (SIGKILL by PID, via kill()) once `boundMs` has passed. */
export async function awaitClient(proc: ProcessHandle, boundMs: number): Promise<ClientRun> {
  const started = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill(500);
  }, boundMs);
  const status = await proc.exited;
  clearTimeout(timer);
  return { ok: !timedOut && status.code === 0, timedOut, ms: performance.now() - started, stderr: proc.outputTail() };
}
