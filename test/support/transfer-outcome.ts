// The reliability contract for one transfer under faults: it completes byte-identical, or it fails
// cleanly; it never hangs past its bound. A clean failure is one the client can name (it received
// a TFTP ERROR, or it timed out and gave up), that left no file passing for a complete copy, and
// that the daemon logged as ended with a reason. Also reads the daemon's summary lines back.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { sha256File } from './peers.js';

export interface ClientRun {
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly ms: number;
  /** What the client said; must name the problem when it failed. */
  readonly stderr: string;
}

export type Outcome = 'complete' | 'clean-failure';

/** How a failed client ended, as its own output says. */
export type ClientFailure = 'error-received' | 'client-timeout' | 'client-abort';

// What each peer prints (atftp 0.8, tftp-hpa 5.2, curl 7.88, as on Debian 12):
// - atftp: "tftp: error received from server <TEXT>", its MTFTP client "mtftp: error received from
//   serverTEXT>" (no space, no "<"; not its listener's "unexpected error ..., ignoring"), or on silence
//   "tftp: timeout: retrying..." / "mtftp: timeout: retrying..." and then "...: aborting" (it
//   counts packets it discards as timeouts too);
// - tftp-hpa: "Error code N: TEXT", or "Transfer timed out.";
// - curl: exit codes 68-74 carry a TFTP ERROR ("curl: (68) TFTP: File Not Found"), 28 a timeout.
// Two atftp aborts of its own, seen under 20% loss, count as well (the daemon's record of the end
// is required for them like for any other): "tftp: unexpected OACK", when its ACK of our OACK and
// its own retry of it were lost and our OACK came again (it sends ERROR and quits; the daemon logs aborted-by-client), and
// "tftp: unknown error.", its socket error from the ICMP port unreachable it gets when it ACKs a
// transfer or multicast session the server has already ended (timed out, or its ERROR lost).
const ERROR_RECEIVED = /^m?tftp: error received from server|^Error code \d+:|^curl: \((?:6[89]|7[0-4])\)/m;
const CLIENT_TIMEOUT = /(?:timeout: retrying|packet discard)[\s\S]*aborting|^Transfer timed out|^curl: \(28\)/m;
const CLIENT_ABORT = /^tftp: unexpected OACK$|^m?tftp: unknown error\./m;

/** Which clean way the client reports failing in, or null when its output names neither. */
export function clientFailure(said: string): ClientFailure | null {
  if (ERROR_RECEIVED.test(said)) return 'error-received';
  if (CLIENT_TIMEOUT.test(said)) return 'client-timeout';
  if (CLIENT_ABORT.test(said)) return 'client-abort';
  return null;
}

export interface FailureEvidence {
  /** Bytes in a complete copy: a failed client that writes in order (unicast TFTP) must not
   *  leave a file that long behind. Null for multicast clients: atftp writes each block at its
   *  offset as it hears it, so an aborted copy can have full length with holes. */
  readonly size: number | null;
  /** The daemon's log line saying how this client's transfer ended and why (null: none logged). */
  readonly serverEnd: () => Promise<string | null> | string | null;
}

/**
 * Asserts the contract and returns which way it went. `accepted` lists the digests a complete copy
 * may have (several when the file was replaced during the transfer: old or new, never a mix).
 */
export async function expectCompleteOrCleanFailure(
  run: ClientRun,
  local: string,
  accepted: readonly string[],
  boundMs: number,
  failure: FailureEvidence,
): Promise<Outcome> {
  assert.ok(!run.timedOut, `the client hung until it was killed after ${Math.round(run.ms)} ms`);
  assert.ok(run.ms < boundMs, `took ${Math.round(run.ms)} ms, bound ${boundMs} ms`);
  if (!run.ok) {
    const kind = clientFailure(run.stderr);
    assert.ok(kind !== null, `a failed client names a TFTP ERROR, its own timeout or a known abort; it said:\n${run.stderr.trim().split('\n').slice(-5).join('\n')}`);
    const left = fileSize(local);
    if (failure.size !== null) assert.ok(left === null || left < failure.size, `${local}: a failed transfer (${kind}) left ${left} bytes, as many as a complete copy`);
    const end = await serverEndWithin(failure, SERVER_LOG_GRACE_MS);
    assert.ok(end !== null, `the client failed (${kind}) but the daemon logged no end of its transfer with a reason within ${SERVER_LOG_GRACE_MS} ms`);
    return 'clean-failure';
  }
  const digest = await sha256File(local);
  assert.ok(accepted.includes(digest), `${local}: completed with a copy matching none of the expected contents (${digest}, ${statSync(local).size} bytes)`);
  return 'complete';
}

/** The daemon logs a transfer's end just after sending the ERROR that ends the client, and the line
 *  reaches the test through a pipe: it can trail the client's exit (seen in CI: a tftp-hpa that got
 *  the "file modified" ERROR exited before the daemon's line was read). */
const SERVER_LOG_GRACE_MS = 5000;

async function serverEndWithin(failure: FailureEvidence, graceMs: number): Promise<string | null> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const end = await failure.serverEnd();
    if (end !== null || Date.now() >= deadline) return end;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/** key=value fields of the last daemon log line matching `pattern` (winston logfmt-ish output). */
export function lastLogFields(output: string, pattern: RegExp): Record<string, string> | null {
  const line = output.split('\n').filter((l) => pattern.test(l)).at(-1);
  if (line === undefined) return null;
  return logFields(line);
}

/** One key's value in a daemon log line (quotes removed), or undefined. */
export function logField(line: string, key: string): string | undefined {
  return new RegExp(`(?:^| )${key}=("[^"]*"|\\S+)`).exec(line)?.[1]?.replace(/"/g, '');
}

/** key=value fields of one daemon log line. */
export function logFields(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
}

/** A failed transfer's summary line names its outcome and why (`detail`); a complete one is no end "with a reason". */
export function endedWithReason(fields: Record<string, string> | null): boolean {
  return fields !== null && fields['outcome'] !== undefined && !/^complete/.test(fields['outcome']) && (fields['detail'] ?? '').length > 0;
}

/** The daemon's log lines stamped at or after `since` (each line starts with its ISO timestamp),
 *  so a test reads only what happened after it started, whatever earlier tests logged. */
export function logLinesSince(output: string, since: Date): string[] {
  const from = since.toISOString();
  return output.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT/.test(l) && l.slice(0, 24) >= from);
}

/** The daemon's summary of a transfer of the client at `address` that ended with a reason (its
 *  outcome other than complete, and a detail), among `lines`; null when there is none. */
export function failedTransferLine(lines: readonly string[], address: string): string | null {
  const client = new RegExp(` transfer .*client=${address.replace(/\./g, '\\.')}:`);
  return lines.filter((l) => client.test(l) && endedWithReason(logFields(l))).at(-1) ?? null;
}
