// A sample of the broken-ini corpus through the real CLI, as an operator meets it: each case is
// written to a file, then `pxecast check --config FILE` and `pxecast serve --config FILE` must
// both exit non-zero and print exactly the case's issues (file, line, section, key), nothing else.
// One process per case and command, two at a time: 64 short-lived processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BROKEN_CONFIGS, CORPUS_FILE, type BrokenCase } from '../support/config-corpus.js';
import { cliPath } from '../support/daemon-process.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-corpus-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Evenly spaced over the corpus, so the sample spans every kind of mistake. */
const SAMPLE_SIZE = 32;
const SAMPLE: readonly BrokenCase[] = Array.from({ length: SAMPLE_SIZE }, (_, k) => BROKEN_CONFIGS[Math.floor((k * BROKEN_CONFIGS.length) / SAMPLE_SIZE)]!);
const PARALLEL = 2;
const PROCESS_TIMEOUT_MS = 15_000;

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

function pxecast(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A config that was wrongly accepted would make `serve` run: bounded, killed by its own PID.
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The issue lines of a run (the ones naming the file), in order. */
function issueLines(run: Run, file: string): string[] {
  return run.stderr
    .split('\n')
    .map((l) => l.trim().replace(/^pxecast: /, ''))
    .filter((l) => l.startsWith(file));
}

async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

describe('broken configurations through the real CLI', () => {
  it(`check and serve refuse ${SAMPLE.length} sampled corpus cases with their exact messages`, async () => {
    assert.ok(SAMPLE.length >= 30, `sample of ${SAMPLE.length}`);
    const started = Date.now();
    const failures = await inParallel(SAMPLE, PARALLEL, async (c, i) => {
      const file = join(work, `case-${i}.ini`);
      writeFileSync(file, c.ini.join('\n') + '\n');
      const expected = c.issues.map((issue) => issue.split(CORPUS_FILE).join(file));
      const problems: string[] = [];
      const commands = [
        ['check', '--config', file],
        // Its own control socket, should the config be (wrongly) accepted.
        ['serve', '--config', file, '--socket', join(work, `case-${i}.sock`)],
      ];
      for (const args of commands) {
        const command = args[0];
        const run = await pxecast(args);
        if (run.status === 0 || run.status === null) problems.push(`${command}: exit ${run.status}`);
        const got = issueLines(run, file);
        try {
          assert.deepEqual(got, expected);
        } catch {
          problems.push(`${command}: got ${JSON.stringify(got)}\n    want ${JSON.stringify(expected)}\n    stderr ${JSON.stringify(run.stderr.slice(0, 400))}`);
        }
      }
      return problems.length === 0 ? null : `${c.name}:\n  ${problems.join('\n  ')}`;
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(`${SAMPLE.length} cases x 2 commands in ${seconds.toFixed(1)} s`);
    assert.deepEqual(failures.filter((f) => f !== null), []);
  });
});
