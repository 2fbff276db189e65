// The reliability contract for one transfer under faults: it completes byte-identical, or it fails
// with a clear error; it never hangs past its bound. Also reads the daemon's summary lines back.
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

/**
 * Asserts the contract and returns which way it went. `accepted` lists the digests a complete copy
 * may have (several when the file was replaced during the transfer: old or new, never a mix).
 */
export async function expectCompleteOrCleanFailure(run: ClientRun, local: string, accepted: readonly string[], boundMs: number): Promise<Outcome> {
  assert.ok(!run.timedOut, `the client hung until it was killed after ${Math.round(run.ms)} ms`);
  assert.ok(run.ms < boundMs, `took ${Math.round(run.ms)} ms, bound ${boundMs} ms`);
  if (!run.ok) {
    assert.ok(run.stderr.trim().length > 0, 'a failed transfer says why');
    return 'clean-failure';
  }
  const digest = await sha256File(local);
  assert.ok(accepted.includes(digest), `${local}: completed with a copy matching none of the expected contents (${digest}, ${statSync(local).size} bytes)`);
  return 'complete';
}

/** key=value fields of the last daemon log line matching `pattern` (winston logfmt-ish output). */
export function lastLogFields(output: string, pattern: RegExp): Record<string, string> | null {
  const line = output.split('\n').filter((l) => pattern.test(l)).at(-1);
  if (line === undefined) return null;
  return Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
}
