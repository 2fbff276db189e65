// The DHCPv6 lease file: the durability rules of the DHCPv4 one (atomic replace, coalesced saves,
// a failed write keeps the previous file, a damaged file set aside with its readable leases kept).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Lease6 } from '../../../src/dhcp6/leases6.js';
import { JsonLease6File } from '../../../src/io/dhcp6-lease-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pxecast-lease6file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const lease = (n: number): Lease6 => ({ address: `fd00::${n.toString(16)}`, duid: `000300015254000000${String(n).padStart(2, '0')}`, iaid: n, mac: null, state: 'bound', expiresAt: 1e13 });

describe('JsonLease6File', () => {
  it('round-trips; a missing file is an empty table', async () => {
    const file = new JsonLease6File(join(dir, 'a', 'leases6.json'));
    assert.deepEqual(await file.load(), { leases: [], damage: null });
    await file.save([lease(1), lease(2)]);
    assert.deepEqual(await file.load(), { leases: [lease(1), lease(2)], damage: null });
  });

  it('coalesces a burst of saves; no temporary file is left', async () => {
    const path = join(dir, 'burst.json');
    const file = new JsonLease6File(path);
    await Promise.all(Array.from({ length: 30 }, (_, i) => file.save(Array.from({ length: i + 1 }, (_, j) => lease(j + 1)))));
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { leases6: Lease6[] }).leases6.length, 30);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });

  it('a failed write rejects and leaves the previous file intact', async () => {
    const path = join(dir, 'keep.json');
    const file = new JsonLease6File(path);
    await file.save([lease(1)]);
    mkdirSync(join(dir, `.keep.json.tmp-${process.pid}`));
    await assert.rejects(file.save([lease(1), lease(2)]));
    assert.deepEqual((await file.load()).leases, [lease(1)]);
  });

  it('a damaged file is renamed aside, never deleted, and its readable leases are kept', async () => {
    const path = join(dir, 'damaged.json');
    const good = JSON.stringify({ version: 1, leases6: [lease(1), lease(2)] }, null, 1);
    writeFileSync(path, good.slice(0, good.lastIndexOf('"mac"')));
    const loaded = await new JsonLease6File(path).load();
    assert.deepEqual(loaded.leases, [lease(1)]);
    assert.match(loaded.damage?.problem ?? '', /not valid JSON/);
    assert.ok(!existsSync(path) && existsSync(loaded.damage!.movedTo));
  });
});
