// The lease file as an operator meets it, with the real `pxecast serve` (full DHCP on loopback,
// unprivileged ports): an empty file (`touch`) is an empty table; a damaged one is named with what
// is wrong, set aside (never deleted), every readable lease is kept, and the daemon serves. A
// journal whose last entry was cut by a crash keeps everything before it, with a warning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DaemonProcess, cliPath, freeUdpPort } from '../support/daemon-process.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-leases-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const lease = (n: number) => ({ address: `127.0.0.${100 + n}`, mac: `52:54:00:00:00:0${n}`, pool: 'lo', state: 'bound', expiresAt: Date.now() + 3_600_000 });

async function configIn(dir: string): Promise<{ config: string; stateFile: string }> {
  const stateFile = join(dir, 'leases.json');
  const config = join(dir, 'pxecast.ini');
  writeFileSync(join(dir, 'boot.img'), 'x');
  writeFileSync(
    config,
    [
      '[tftp]',
      'listen = 127.0.0.1',
      `port = ${await freeUdpPort()}`,
      `root = ${dir}`,
      '[mtftp]',
      'enabled = false',
      '[dhcp]',
      'mode = full',
      'interface = 127.0.0.1',
      `port = ${await freeUdpPort()}`,
      `proxy_port = ${await freeUdpPort()}`,
      `state_file = ${stateFile}`,
      '[pool lo]',
      'first = 127.0.0.100',
      'last = 127.0.0.150',
      '[image boot]',
      'file = boot.img',
      'default = true',
      '',
    ].join('\n'),
  );
  return { config, stateFile };
}

describe('pxecast serve with a damaged or empty lease file', () => {
  it('an empty lease file (touch) means no leases: the daemon starts and serves', async () => {
    const dir = mkdtempSync(join(work, 'empty-'));
    const { config, stateFile } = await configIn(dir);
    writeFileSync(stateFile, '');
    const daemon = await DaemonProcess.start(config);
    try {
      assert.match(daemon.output, /dhcp listening/);
      assert.doesNotMatch(daemon.output, /\berror\b/);
    } finally {
      await daemon.stop();
    }
  });

  it('a truncated lease file is named and set aside, its readable leases kept, and the daemon serves', async () => {
    const dir = mkdtempSync(join(work, 'torn-'));
    const { config, stateFile } = await configIn(dir);
    const whole = JSON.stringify({ version: 1, leases: [lease(1), lease(2), lease(3)] }, null, 1);
    const torn = whole.slice(0, whole.lastIndexOf('"state"')); // the third lease is cut in half
    writeFileSync(stateFile, torn);
    const daemon = await DaemonProcess.start(config);
    try {
      assert.match(daemon.output, /dhcp listening/);
      const line = daemon.output.split('\n').find((l) => /damaged lease file/.test(l));
      assert.ok(line, daemon.output);
      assert.match(line, /\berror\b/, 'logged at error level');
      assert.ok(line.includes(stateFile), 'names the file');
      assert.match(line, /not valid JSON/, 'says what is wrong');
      assert.match(line, /leases_recovered=2/);
      const aside = readdirSync(dir).filter((f) => f.startsWith('leases.json.damaged-'));
      assert.equal(aside.length, 1, 'moved aside');
      assert.equal(readFileSync(join(dir, aside[0]!), 'utf8'), torn, 'kept byte for byte, never deleted');
      assert.ok(line.includes(aside[0]!), 'says where it went');
      // The recovered leases are on disk again, in a sound file.
      assert.ok(existsSync(stateFile));
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { leases: Array<{ address: string }> };
      assert.deepEqual(saved.leases.map((l) => l.address), [lease(1).address, lease(2).address]);
      const leases = spawnSync(process.execPath, [cliPath, 'leases', '--socket', daemon.socket], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(leases.status, 0, leases.stderr);
      assert.match(leases.stdout, /127\.0\.0\.101/);
      assert.match(leases.stdout, /127\.0\.0\.102/);
    } finally {
      await daemon.stop();
    }
  });

  it('a journal cut in its last entry (a crash mid-write) keeps every entry before it, sets the tail aside and warns', async () => {
    const dir = mkdtempSync(join(work, 'journal-'));
    const { config, stateFile } = await configIn(dir);
    writeFileSync(stateFile, JSON.stringify({ version: 1, leases: [lease(1)] }, null, 1));
    const tail = JSON.stringify(lease(3)).slice(0, 30);
    writeFileSync(`${stateFile}.journal`, `${JSON.stringify(lease(2))}\n${JSON.stringify({ address: lease(1).address, removed: true })}\n${tail}`);
    const daemon = await DaemonProcess.start(config);
    try {
      assert.match(daemon.output, /dhcp listening/);
      assert.doesNotMatch(daemon.output, /\berror\b/, 'the normal crash case is no error');
      const line = daemon.output.split('\n').find((l) => /lease journal ended in an incomplete entry/.test(l));
      assert.ok(line, daemon.output);
      assert.match(line, /\bwarn\b/);
      assert.ok(line.includes(`${stateFile}.journal`), 'names the file');
      const aside = readdirSync(dir).filter((f) => f.startsWith('leases.json.journal.torn-'));
      assert.equal(aside.length, 1);
      assert.ok(line.includes(aside[0]!), 'says where the tail went');
      assert.equal(readFileSync(join(dir, aside[0]!), 'utf8'), tail, 'the torn bytes are kept');
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { leases: Array<{ address: string }> };
      assert.deepEqual(saved.leases.map((l) => l.address), [lease(2).address], 'journal folded into the snapshot');
      assert.equal(readFileSync(`${stateFile}.journal`, 'utf8'), '');
    } finally {
      await daemon.stop();
    }
  });
});
