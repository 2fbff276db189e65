#!/usr/bin/env node
// Makes sure the Debian packages of scripts/test-packages.txt are installed before any test that
// needs them runs. As root, missing packages are installed with apt-get; otherwise the run stops
// here, in one line, naming what is missing. Used by scripts/run-tests.mjs (`npm test`).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const listFile = fileURLToPath(new URL('./test-packages.txt', import.meta.url));

/** Each line's alternatives, comments and blank lines dropped. */
export function readPackageList(text = readFileSync(listFile, 'utf8')) {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => line.split('|').map((name) => name.trim()));
}

function installed(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

/** The first alternative of every line none of whose alternatives is installed. */
export function missingPackages(list = readPackageList()) {
  if (spawnSync('dpkg-query', ['--version']).error) throw new Error('dpkg-query not found: the tests need Debian (12)');
  return list.filter((alts) => !alts.some(installed)).map((alts) => alts[0]);
}

/**
 * Installs what is missing, or returns a one-line reason why the tests cannot run. Root is needed
 * either way: the tests beyond the unit group create network namespaces and QEMU tap devices.
 */
export function ensureTestPackages() {
  let missing;
  try {
    missing = missingPackages();
  } catch (err) {
    return err.message;
  }
  if (process.getuid?.() !== 0) {
    const packages = missing.length ? `, and these missing Debian packages: ${missing.join(' ')}` : '';
    return `these tests need root (network namespaces, tap devices)${packages}; run npm test as root (it installs the packages), or npm run test:unit`;
  }
  if (missing.length === 0) return null;
  console.log(`installing the Debian packages the tests need: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (!apt(['update', '-qq'])) return 'apt-get update failed (see above)';
  if (!apt(['install', '-y', '-qq', '--no-install-recommends', ...missing])) {
    return `apt-get install failed for: ${missing.join(' ')} (see above)`;
  }
  const still = missingPackages();
  return still.length ? `still missing after apt-get install: ${still.join(' ')}` : null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = ensureTestPackages();
  if (problem) {
    console.error(`pxecast tests: ${problem}`);
    process.exit(1);
  }
  console.log('test packages: all installed');
}
