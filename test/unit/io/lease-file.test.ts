import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Lease } from '../../../src/dhcp/leases.js';
import { JsonLeaseFile } from '../../../src/io/lease-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pxecast-leasefile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const lease = (n: number): Lease => ({ address: `10.0.0.${n}`, mac: `52:54:00:00:00:${String(n).padStart(2, '0')}`, pool: 'lab', state: 'bound', expiresAt: 1e13 });

describe('JsonLeaseFile', () => {
  it('round-trips, and a missing file is an empty table', async () => {
    const file = new JsonLeaseFile(join(dir, 'a', 'leases.json'));
    assert.deepEqual(await file.load(), []);
    await file.save([lease(1)]);
    assert.deepEqual(await file.load(), [lease(1)]);
  });

  it('coalesces a burst of saves: every caller resolves, the file holds the newest snapshot', async () => {
    const path = join(dir, 'burst.json');
    const file = new JsonLeaseFile(path);
    const snapshots = Array.from({ length: 50 }, (_, i) => Array.from({ length: i + 1 }, (_, j) => lease(j + 1)));
    await Promise.all(snapshots.map((s) => file.save(s)));
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { leases: Lease[] }).leases.length, 50);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
  });

  it('a failed write rejects and leaves the previous file intact', async () => {
    const path = join(dir, 'keep.json');
    const file = new JsonLeaseFile(path);
    await file.save([lease(1)]);
    // A directory where the temporary file must go makes the next write fail (even for root).
    mkdirSync(join(dir, `.keep.json.tmp-${process.pid}`));
    await assert.rejects(file.save([lease(1), lease(2)]));
    assert.deepEqual(await file.load(), [lease(1)]);
  });

  it('refuses a file that is not a pxecast lease file', async () => {
    const path = join(dir, 'foreign.json');
    writeFileSync(path, '{"something":"else"}');
    await assert.rejects(new JsonLeaseFile(path).load(), /not a pxecast lease file/);
  });
});
