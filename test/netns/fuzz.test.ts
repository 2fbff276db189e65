// The network fuzz harness (scripts/fuzz/run.mjs) in its bounded --quick form, so every test run
// throws 30,000 fuzzed datagrams and 600 control frames at a real daemon and then proves it still
// serves: alive, a sha256-checked TFTP download, a DHCP DORA, flat RSS, no error or stack trace in
// its log. It lives with the netns tests because the daemon must run in a lab namespace (fuzzed
// DHCP makes it broadcast and unicast to arbitrary addresses). The 1,000,000-datagram run is the
// same script without --quick; its numbers are in the README.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/fixtures.js';
import { canUseNetns, runInNamespace } from '../support/netns.js';

interface FuzzSummary {
  readonly ok: boolean;
  readonly datagrams: { readonly sent: number; readonly received: number; readonly rcvbufErrors: number };
  readonly control: { readonly frames: number; readonly replies: number };
  readonly checks: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>;
}

describe('network fuzzing (scripts/fuzz/run.mjs --quick)', () => {
  it('a daemon that took 30,000 fuzzed datagrams and 600 control frames still serves, with flat RSS and a clean log', async () => {
    const support = canUseNetns();
    assert.ok(support.ok, support.ok ? '' : support.reason); // CI runs as root: fail, never skip
    const run = await runInNamespace(null, process.execPath, [join(repoRoot, 'scripts/fuzz/run.mjs'), '--quick', '--json', '--seed', '8'], { timeoutMs: 180_000 });
    const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null') as FuzzSummary | null;
    assert.ok(summary, `no summary (exit ${run.exitCode}):\n${run.stderr.slice(-3000)}`);
    const failed = summary.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    assert.deepEqual(failed, [], 'every after-check passes');
    assert.equal(summary.datagrams.sent, 30_000);
    // Most datagrams must really reach the daemon, or the run tested the kernel's drop path.
    assert.ok(summary.datagrams.received >= 0.8 * summary.datagrams.sent, `received ${summary.datagrams.received}`);
    assert.ok(summary.control.replies >= summary.control.frames * 0.9, `control replies ${summary.control.replies}`);
    assert.equal(run.exitCode, 0, run.stderr.slice(-3000));
  });
});
