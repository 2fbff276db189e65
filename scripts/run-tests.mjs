#!/usr/bin/env node
// Compiles with tsc, checks import layers, then runs node:test over an explicit list of compiled
// *.test.js files. Node 20 has no TypeScript stripping, and when it searches a directory it treats
// every .js under a folder named "test" as a test file, hence the explicit list.
//
// Usage: node scripts/run-tests.mjs [unit|integration|netns|e2e ...]   (default: all groups)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestPackages } from './test-prereqs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const groups = ['unit', 'integration', 'netns', 'e2e'];
const wanted = process.argv.slice(2);
for (const g of wanted) {
  if (!groups.includes(g)) {
    console.error(`unknown test group '${g}' (expected one of: ${groups.join(', ')})`);
    process.exit(2);
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// Every group but unit talks to real peers from Debian packages inside network namespaces: check
// (and as root install) them before anything runs, so a missing peer is one line, not 88 failures.
if ((wanted.length ? wanted : groups).some((g) => g !== 'unit')) {
  const problem = ensureTestPackages();
  if (problem) {
    console.error(`pxecast tests: ${problem}`);
    process.exit(1);
  }
}

run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
run(process.execPath, [join(root, 'scripts/check-layers.mjs')]);

function collect(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = (wanted.length ? wanted : groups).flatMap((g) => collect(join(root, 'build/test', g)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
console.log(`running ${files.length} test files`);
// Integration and netns tests bind real sockets and spawn real peers; one file at a time keeps
// them from competing for the two cores and keeps timings meaningful.
run(process.execPath, [
  '--test',
  '--test-concurrency=1',
  '--test-reporter=spec',
  ...files.map((f) => relative(root, f)),
]);
