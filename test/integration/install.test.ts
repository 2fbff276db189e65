// scripts/install.sh into a staging root (never the machine's own /etc or /opt: CI runs as root),
// and the installed unit checked by `systemd-analyze verify`. The real install uses the build the
// test run just made (--no-build): rebuilding the tree in the middle of a test run is no test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot } from '../support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-install-'));
after(() => rmSync(work, { recursive: true, force: true }));

const installer = join(repoRoot, 'scripts/install.sh');
const prefix = `/opt/pxecast-test-${process.pid}`;

function install(...args: string[]) {
  return spawnSync('bash', [installer, '--prefix', prefix, ...args], { encoding: 'utf8', timeout: 120_000 });
}

/** One staged installation, shared by the install and the unit checks. */
const stage = join(work, 'stage');
let firstRun: ReturnType<typeof install>;
before(() => {
  firstRun = install('--root', stage, '--no-build');
});

function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('scripts/install.sh', () => {
  it('--dry-run prints every step and changes nothing', () => {
    const stage = join(work, 'dry');
    const r = install('--root', stage, '--dry-run');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\(dry run\)/);
    for (const step of [
      /^\+ npm --prefix \S+ run build$/m,
      new RegExp(`^\\+ cp -R \\S+/build/src ${stage}${prefix}/build/src$`, 'm'),
      new RegExp(`^\\+ npm --prefix ${stage}${prefix} prune --omit=dev`, 'm'),
      new RegExp(`^\\+ ln -sfn ${prefix}/build/src/cli\\.js ${stage}/usr/local/bin/pxecast$`, 'm'),
      new RegExp(`^\\+ install -m 0640 \\S+/conf/pxecast\\.example\\.ini ${stage}/etc/pxecast/pxecast\\.ini$`, 'm'),
      new RegExp(`^\\+ render \\S+/systemd/pxecast\\.service > ${stage}/etc/systemd/system/pxecast\\.service`, 'm'),
      /^- staging root: create the pxecast user on the target/m,
    ]) {
      assert.match(r.stdout, step);
    }
    assert.deepEqual(listTree(stage), [], 'nothing was written');
  });

  it('installs into a staging root: program, command, config, unit; a second run keeps the config', () => {
    assert.equal(firstRun.status, 0, firstRun.stdout + firstRun.stderr);
    const dest = join(stage, prefix);
    assert.ok(statSync(join(dest, 'build/src/cli.js')).mode & 0o100, 'cli.js is executable');
    assert.ok(existsSync(join(dest, 'node_modules/node-ipc/package.json')), 'runtime dependencies are there');
    assert.equal(existsSync(join(dest, 'node_modules/typescript')), false, 'dev dependencies are pruned');
    assert.equal(existsSync(join(dest, 'build/test')), false, 'tests are not installed');
    assert.ok(existsSync(join(dest, 'docs/configuration.md')), 'the docs the README links to are installed beside it');
    assert.equal(readlinkSync(join(stage, 'usr/local/bin/pxecast')), `${prefix}/build/src/cli.js`);
    const config = join(stage, 'etc/pxecast/pxecast.ini');
    assert.equal(readFileSync(config, 'utf8'), readFileSync(join(repoRoot, 'conf/pxecast.example.ini'), 'utf8'));
    assert.equal(statSync(config).mode & 0o777, 0o640);
    const unit = readFileSync(join(stage, 'etc/systemd/system/pxecast.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath.replace(/[/.]/g, '\\$&')} ${prefix}/build/src/cli\\.js serve --config /etc/pxecast/pxecast\\.ini$`, 'm'));
    assert.doesNotMatch(unit, new RegExp(stage), 'the unit names final paths, not the staging root');

    // The installed program runs on its pruned dependencies.
    const version = spawnSync(process.execPath, [join(dest, 'build/src/cli.js'), 'status', '--socket', join(work, 'none.sock')], { encoding: 'utf8' });
    assert.equal(version.stderr, `pxecast: pxecast is not running (no control socket at ${join(work, 'none.sock')})\n`);

    writeFileSync(config, '; edited by the operator\n');
    const second = install('--root', stage, '--no-build');
    assert.equal(second.status, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /pxecast\.ini exists: kept/);
    assert.equal(readFileSync(config, 'utf8'), '; edited by the operator\n');
  });

  it('refuses a relative or root prefix and unknown arguments', () => {
    for (const args of [['--prefix', 'opt/pxecast'], ['--prefix', '/'], ['--root', 'stage'], ['--frobnicate']]) {
      const r = spawnSync('bash', [installer, ...args, '--dry-run'], { encoding: 'utf8' });
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /^install\.sh: /m);
    }
  });
});

describe('systemd/pxecast.service', () => {
  it('as installed, passes `systemd-analyze verify` without a warning', () => {
    const unit = join(stage, 'etc/systemd/system/pxecast.service');
    assert.ok(existsSync(unit), firstRun.stdout + firstRun.stderr);
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'systemd-analyze is missing (.ci/run installs the systemd package)');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr + r.stdout, '', 'no warnings');
  });

  it('gives the control socket its runtime directory and keeps the daemon unprivileged', () => {
    const unit = readFileSync(join(repoRoot, 'systemd/pxecast.service'), 'utf8');
    for (const line of [
      'User=pxecast',
      'RuntimeDirectory=pxecast',
      'RuntimeDirectoryMode=0750',
      'StateDirectory=pxecast',
      'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
      'ExecReload=/bin/kill -HUP $MAINPID',
    ]) {
      assert.ok(unit.split('\n').includes(line), line);
    }
    // The default control socket lives in that runtime directory.
    const example = readFileSync(join(repoRoot, 'conf/pxecast.example.ini'), 'utf8');
    assert.match(example, /^socket = \/run\/pxecast\/control\.sock$/m);
  });
});
