// ISC dhclient -6 (Debian) as a real DHCPv6 client inside a test namespace: it passes what it
// received to its script as environment variables (new_dhcp6_bootfile_url, new_ip6_address, ...),
// which the script writes to a file this module reads back.
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNamespace, spawnInNamespace, type LinkEnd } from './netns.js';

/** Waits until the interface's link-local address has finished duplicate address detection. */
export async function linkLocalReady(end: LinkEnd): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await runInNamespace(end.namespace, 'ip', ['-6', 'addr', 'show', 'dev', end.ifname, 'scope', 'link'], { timeoutMs: 5000 });
    if (/inet6 fe80::/.test(r.stdout) && !/tentative/.test(r.stdout)) return;
    assert.ok(Date.now() < deadline, `no usable link-local address on ${end.ifname}: ${r.stdout}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export interface Dhclient6Run {
  /** Where its config, lease, pid, script and report files go. */
  readonly work: string;
  /** A name unique within `work`. */
  readonly name: string;
  /** `-S` (INFORMATION-REQUEST), `-N` (SOLICIT with an IA_NA), ... */
  readonly args: readonly string[];
  /** The script `reason` that ends the run (e.g. /INFORM6|RENEW6/, /BOUND6/). */
  readonly reason: RegExp;
  /** Client System Architecture Type sent in option 61 (7 = x64 UEFI). */
  readonly arch: number;
  /** Appended to a failure message (e.g. the daemon's output tail). */
  readonly context?: () => string;
}

/** Runs dhclient -6 in the foreground until its script has reported `reason`; returns that report. */
export async function dhclient6(end: LinkEnd, run: Dhclient6Run): Promise<Record<string, string>> {
  const { work, name } = run;
  const out = join(work, `${name}.env`);
  const script = join(work, `${name}.sh`);
  const conf = join(work, `${name}.conf`);
  writeFileSync(script, `#!/bin/sh\nenv | grep -E '^(reason|new_)' | sort > ${out}.tmp\nmv ${out}.tmp ${out}.$reason\n`);
  chmodSync(script, 0o755);
  // UEFI asks for 59/60 and sends its architecture (option 61), as protocols.md 13.3 says.
  writeFileSync(conf, `also request dhcp6.bootfile-url, dhcp6.bootfile-param;\nsend dhcp6.client-arch-type ${run.arch};\n`);
  const handle = spawnInNamespace(end.namespace, 'dhclient', [
    '-6', '-d', '-v', ...run.args, '-cf', conf, '-lf', join(work, `${name}.leases`), '-pf', join(work, `${name}.pid`), '-sf', script, end.ifname,
  ]);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      // Read before checking the process: `-S` exits right after its script has run.
      const running = handle.isRunning();
      const done = readdirSync(work).filter((f) => f.startsWith(`${name}.env.`) && run.reason.test(f)).map((f) => join(work, f))[0];
      if (done) {
        return Object.fromEntries(readFileSync(done, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      }
      assert.ok(running && Date.now() < deadline, `dhclient -6 got no ${run.reason} (script runs: ${readdirSync(work).filter((f) => f.startsWith(`${name}.env.`)).join(' ')}):\n${handle.outputTail()}\n${run.context?.() ?? ''}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    await handle.kill();
  }
}
