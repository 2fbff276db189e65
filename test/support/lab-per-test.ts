// One emulated lab at a time per e2e file: what a test started is stopped and its namespaces torn
// down after that test, pass or fail; the file's work directory goes after its last test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach } from 'node:test';
import { teardown } from './netns.js';

export interface LabPerTest<L> {
  /** The file's work directory (removed after its last test). */
  readonly work: string;
  /** Keeps `lab` to be stopped after the running test; returns it. */
  hold(lab: L): L;
}

export function labPerTest<L extends { stop(): Promise<void> }>(workPrefix: string): LabPerTest<L> {
  const work = mkdtempSync(join(tmpdir(), workPrefix));
  let current: L | null = null;
  afterEach(async () => {
    const lab = current;
    current = null;
    try {
      await lab?.stop();
    } finally {
      teardown();
    }
  });
  after(() => {
    teardown();
    rmSync(work, { recursive: true, force: true });
  });
  return { work, hold: (lab) => (current = lab) };
}
