import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.deepEqual(await file.load(), { leases: [], damage: null });
    await file.save([lease(1)]);
    assert.deepEqual(await file.load(), { leases: [lease(1)], damage: null });
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
    assert.deepEqual((await file.load()).leases, [lease(1)]);
  });

  it('an empty file (touch, or a crash on some file systems) is an empty table, not an error', async () => {
    for (const text of ['', '\n', '  \n\t']) {
      const path = join(dir, 'empty.json');
      writeFileSync(path, text);
      assert.deepEqual(await new JsonLeaseFile(path).load(), { leases: [], damage: null });
      assert.ok(existsSync(path), 'an empty file is left where it is');
    }
  });

  const replaceLast = (text: string, what: string, by: string) => {
    const at = text.lastIndexOf(what);
    assert.ok(at >= 0);
    return text.slice(0, at) + by + text.slice(at + what.length);
  };
  const damaged: Array<[string, (good: string) => string, number, RegExp]> = [
    ['truncated JSON', (good) => good.slice(0, good.lastIndexOf('"mac"')), 2, /not valid JSON/],
    ['garbage in the last lease', (good) => replaceLast(good, '"state": "bound"', '\u0000\u0001 garbage'), 2, /not valid JSON/],
    ['someone else\'s JSON', () => '{"something":"else"}', 0, /not a pxecast lease file/],
    ['an entry that is not a lease', (good) => replaceLast(good, '"expiresAt": 10000000000000', '"expiresAt": "soon"'), 2, /1 of 3 entries are not valid leases/],
  ];
  for (const [what, damage, kept, problem] of damaged) {
    it(`a damaged file (${what}) is set aside, never deleted, and every lease that can be read is kept`, async () => {
      const sub = mkdtempSync(join(dir, 'damaged-'));
      const path = join(sub, 'leases.json');
      await new JsonLeaseFile(path).save([lease(1), lease(2), lease(3)]);
      const text = damage(readFileSync(path, 'utf8'));
      writeFileSync(path, text);
      const loaded = await new JsonLeaseFile(path).load();
      assert.deepEqual(loaded.leases, [lease(1), lease(2), lease(3)].slice(0, kept));
      assert.ok(loaded.damage, 'damage reported');
      assert.equal(loaded.damage.file, path);
      assert.match(loaded.damage.problem, problem);
      assert.ok(!existsSync(path), 'moved away from the live name');
      assert.equal(readFileSync(loaded.damage.movedTo, 'utf8'), text, 'the damaged file is kept as it was');
      assert.match(loaded.damage.movedTo, /leases\.json\.damaged-/);
    });
  }
});
