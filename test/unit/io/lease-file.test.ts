// The lease journal on a fake file system that knows what a crash keeps (MemoryDurableFiles):
// group commit, compaction, the crash cases, migration from the single JSON file, and the
// empty/damaged-file rules. NodeDurableFiles, the real adapter, is checked on a temporary directory.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Lease, LeaseChange } from '../../../src/dhcp/leases.js';
import { NodeDurableFiles } from '../../../src/io/durable-files.js';
import { LeaseJournalFile, parseLeaseText, snapshotText } from '../../../src/io/lease-file.js';
import { MemoryDurableFiles } from '../../support/memory-fs.js';

const P = '/var/lib/pxecast/leases.json';
const J = `${P}.journal`;
const NOW = 1_800_000_000_000;
const lease = (n: number, over: Partial<Lease> = {}): Lease => ({
  address: `10.0.0.${n}`, mac: `52:54:00:00:00:${String(n).padStart(2, '0')}`, pool: 'lab', state: 'bound', expiresAt: NOW + 3_600_000, ...over,
});
const set = (l: Lease): LeaseChange => ({ address: l.address, lease: l });
const freed = (address: string): LeaseChange => ({ address, lease: null });
const store = (fs: MemoryDurableFiles, compactMinEntries = 1000) =>
  new LeaseJournalFile(P, { files: fs, now: () => NOW, defer: setImmediate, compactMinEntries });
const byAddress = (leases: readonly Lease[]) => [...leases].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
/** What a restart would read after a crash now. */
const reloaded = async (fs: MemoryDurableFiles) => byAddress((await store(fs.afterCrash()).load()).leases);
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
};

describe('LeaseJournalFile', () => {
  it('missing files are an empty table; every recorded change survives a crash, removals too', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs);
    assert.deepEqual(await s.load(), { leases: [], damage: [], tornTail: null });
    await s.record([set(lease(1))]);
    await s.record([set(lease(2)), set(lease(3))]);
    await s.record([freed('10.0.0.1'), set(lease(3, { mac: 'aa:bb:cc:dd:ee:ff' }))]);
    assert.deepEqual(await reloaded(fs), [lease(2), lease(3, { mac: 'aa:bb:cc:dd:ee:ff' })]);
    assert.equal(fs.ops.filter((op) => op.startsWith('append')).length, 3, 'appended, no snapshot per change');
  });

  it('group commit: the changes of one tick share one append and one sync, and nobody is released before it', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs);
    await s.load();
    fs.holdSyncs();
    let released = 0;
    const all = Array.from({ length: 50 }, (_, i) => s.record([set(lease(i + 1))]).then(() => released++));
    await until(() => fs.ops.some((op) => op.startsWith('append')));
    assert.equal(released, 0, 'no caller (ACK) released before the sync');
    assert.deepEqual(await reloaded(fs), [], 'not synced yet: a crash now keeps none of them, and none was ACKed');
    fs.releaseSyncs();
    await Promise.all(all);
    assert.equal(fs.ops.filter((op) => op.startsWith('append')).length, 1);
    assert.equal((await reloaded(fs)).length, 50);
  });

  it('changes recorded while a batch is being synced go out together in the next batch', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs);
    await s.load();
    fs.holdSyncs();
    const first = s.record([set(lease(1))]);
    await until(() => fs.ops.some((op) => op.startsWith('append')));
    const later = [2, 3, 4].map((n) => s.record([set(lease(n))]));
    fs.releaseSyncs();
    await Promise.all([first, ...later]);
    assert.equal(fs.ops.filter((op) => op.startsWith('append')).length, 2);
    assert.equal((await reloaded(fs)).length, 4);
  });

  it('compaction: the table goes into a new snapshot first, then the journal is emptied', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs, 4);
    await s.load();
    fs.ops.length = 0;
    for (const n of [1, 2, 3]) await s.record([set(lease(n))]);
    await s.record([freed('10.0.0.2')]);
    assert.deepEqual(fs.ops.slice(-2), [`replace ${P}`, `truncate ${J}`]);
    assert.equal(fs.files.get(J), '');
    assert.deepEqual(byAddress(parseLeaseText(fs.files.get(P)!).leases), [lease(1), lease(3)]);
    await s.record([set(lease(5))]);
    assert.deepEqual(await reloaded(fs), [lease(1), lease(3), lease(5)]);
  });

  it('a crash between the new snapshot and the emptied journal loses and revives nothing (the replay changes nothing)', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs, 6);
    await s.load();
    // One address through several owners, one freed: the journal has entries older than the snapshot.
    const steps: LeaseChange[][] = [[set(lease(1))], [set(lease(2))], [freed('10.0.0.1')], [set(lease(1, { mac: 'aa:aa:aa:aa:aa:aa' }))], [freed('10.0.0.2')]];
    for (const step of steps) await s.record(step);
    fs.failNext.set('truncate', new Error('EIO')); // the crash point: snapshot renamed, journal untouched
    await assert.rejects(s.record([set(lease(3))]));
    assert.match(fs.durable.get(J)!, /"removed":true/, 'the journal still holds its entries');
    assert.deepEqual(await reloaded(fs), [lease(1, { mac: 'aa:aa:aa:aa:aa:aa' }), lease(3)]);
  });

  it('a failed append rejects its callers; the next batch writes a whole snapshot, so nothing recorded is lost', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs);
    await s.load();
    await s.record([set(lease(1))]);
    fs.failNext.set('append', Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
    await assert.rejects(s.record([set(lease(2))]), /ENOSPC/);
    fs.ops.length = 0;
    await s.record([set(lease(3))]);
    assert.deepEqual(fs.ops, [`replace ${P}`, `truncate ${J}`]);
    assert.deepEqual(await reloaded(fs), [lease(1), lease(2), lease(3)]);
  });

  it('expired leases and offers are left out of a snapshot', async () => {
    const fs = new MemoryDurableFiles();
    const s = store(fs, 3);
    await s.load();
    await s.record([set(lease(1, { expiresAt: NOW - 1 })), set(lease(2, { state: 'offered' })), set(lease(3))]);
    assert.deepEqual(parseLeaseText(fs.files.get(P)!).leases, [lease(3)]);
  });

  it('migration: a lease file of an older pxecast is read once and rewritten one lease per line', async () => {
    const old = [lease(1), lease(2, { state: 'declined' })];
    const fs = new MemoryDurableFiles().put(P, JSON.stringify({ version: 1, leases: old }, null, 1) + '\n');
    const s = store(fs);
    assert.deepEqual(await s.load(), { leases: old, damage: [], tornTail: null });
    assert.equal(fs.files.get(P), snapshotText(old));
    await s.record([set(lease(3))]);
    assert.equal(fs.files.get(P), snapshotText(old), 'later changes go to the journal');
    assert.deepEqual(await reloaded(fs), [...old, lease(3)]);
  });

  it('empty files (touch, or a crash on some file systems) are an empty table, not an error', async () => {
    for (const text of ['', '\n', '  \n\t']) {
      const fs = new MemoryDurableFiles().put(P, text).put(J, text);
      assert.deepEqual(await store(fs).load(), { leases: [], damage: [], tornTail: null });
      assert.ok(fs.files.has(P), 'nothing set aside');
    }
  });

  describe('a journal that ends in an incomplete entry (the normal trace of a crash mid-append)', () => {
    const good = [lease(1), lease(2)].map((l) => `${JSON.stringify(l)}\n`).join('') + `${JSON.stringify({ address: '10.0.0.1', removed: true })}\n`;
    const tails: Array<[string, string]> = [
      ['a line cut short', JSON.stringify(lease(3)).slice(0, 25)],
      ['a cut line then zeros', `${JSON.stringify(lease(3)).slice(0, 25)}\u0000\u0000\n\u0000\u0000`],
      ['whole lines of zeros', '\u0000\u0000\u0000\n\u0000\u0000\u0000\n'],
    ];
    for (const [what, tail] of tails) {
      it(`${what}: everything before it is kept, the tail set aside, the journal compacted`, async () => {
        const fs = new MemoryDurableFiles().put(P, snapshotText([lease(9)])).put(J, good + tail);
        const loaded = await store(fs).load();
        assert.deepEqual(byAddress(loaded.leases), [lease(2), lease(9)]);
        assert.deepEqual(loaded.damage, [], 'not damage');
        assert.ok(loaded.tornTail);
        assert.equal(loaded.tornTail.file, J);
        assert.equal(loaded.tornTail.bytes, Buffer.byteLength(tail));
        assert.match(loaded.tornTail.movedTo, /leases\.json\.journal\.torn-/);
        assert.equal(fs.durable.get(loaded.tornTail.movedTo), tail, 'the torn bytes are kept as they were');
        assert.equal(fs.durable.get(J), '');
        assert.deepEqual(byAddress(parseLeaseText(fs.durable.get(P)!).leases), [lease(2), lease(9)]);
      });
    }
  });

  it('a journal with unreadable lines before readable ones is damaged: set aside, every readable entry kept', async () => {
    const text = `${JSON.stringify(lease(1))}\nnot json at all\n${JSON.stringify({ address: '10.0.0.4', mac: 5 })}\n${JSON.stringify(lease(2))}\n`;
    const fs = new MemoryDurableFiles().put(J, text);
    const loaded = await store(fs).load();
    assert.deepEqual(byAddress(loaded.leases), [lease(1), lease(2)]);
    assert.equal(loaded.damage.length, 1);
    assert.equal(loaded.damage[0]!.file, J);
    assert.match(loaded.damage[0]!.problem, /2 of 4 lines are not valid journal entries/);
    assert.match(loaded.damage[0]!.movedTo, /leases\.json\.journal\.damaged-/);
    assert.equal(fs.durable.get(loaded.damage[0]!.movedTo), text, 'kept byte for byte, never deleted');
    assert.deepEqual(byAddress(parseLeaseText(fs.durable.get(P)!).leases), [lease(1), lease(2)], 'recovered into a sound snapshot');
  });

  const replaceLast = (text: string, what: string, by: string) => {
    const at = text.lastIndexOf(what);
    assert.ok(at >= 0);
    return text.slice(0, at) + by + text.slice(at + what.length);
  };
  const damaged: Array<[string, (good: string) => string, number, RegExp]> = [
    ['truncated JSON', (good) => good.slice(0, good.lastIndexOf('"mac"')), 2, /not valid JSON/],
    ['garbage in the last lease', (good) => replaceLast(good, '"state":"bound"', '\u0000\u0001 garbage'), 2, /not valid JSON/],
    ['someone else\'s JSON', () => '{"something":"else"}', 0, /not a pxecast lease file/],
    ['an entry that is not a lease', (good) => replaceLast(good, `"expiresAt":${NOW + 3_600_000}`, '"expiresAt":"soon"'), 2, /1 of 3 entries are not valid leases/],
  ];
  for (const [what, damage, kept, problem] of damaged) {
    it(`a damaged snapshot (${what}) is set aside, never deleted, and every lease that can be read is kept`, async () => {
      const text = damage(snapshotText([lease(1), lease(2), lease(3)]));
      const fs = new MemoryDurableFiles().put(P, text).put(J, `${JSON.stringify(lease(7))}\n`);
      const loaded = await store(fs).load();
      assert.deepEqual(byAddress(loaded.leases), [...[lease(1), lease(2), lease(3)].slice(0, kept), lease(7)]);
      assert.equal(loaded.damage.length, 1);
      assert.equal(loaded.damage[0]!.file, P);
      assert.match(loaded.damage[0]!.problem, problem);
      assert.match(loaded.damage[0]!.movedTo, /leases\.json\.damaged-/);
      assert.equal(fs.durable.get(loaded.damage[0]!.movedTo), text, 'the damaged file is kept as it was');
      assert.deepEqual(byAddress(parseLeaseText(fs.durable.get(P)!).leases), byAddress(loaded.leases), 'a sound snapshot in its place');
    });
  }
});

describe('NodeDurableFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pxecast-durable-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('appends (creating the file and its directory), replaces, truncates and renames', async () => {
    const files = new NodeDurableFiles();
    const path = join(dir, 'sub', 'journal');
    assert.equal(await files.read(path), null);
    await files.append(path, 'a\n');
    await files.append(path, 'b\n');
    assert.equal(readFileSync(path, 'utf8'), 'a\nb\n');
    await files.truncate(path);
    await files.append(path, 'c\n');
    assert.equal(await files.read(path), 'c\n', 'an append after a truncation starts at 0');
    await files.replace(join(dir, 'snap'), 'x');
    assert.equal(await files.read(join(dir, 'snap')), 'x');
    await files.rename(path, join(dir, 'aside'));
    assert.equal(await files.read(path), null);
    await files.append(path, 'd\n');
    assert.equal(await files.read(join(dir, 'aside')), 'c\n', 'a renamed file is not appended to any more');
    assert.equal(await files.read(path), 'd\n');
    await files.truncate(join(dir, 'missing'));
  });

  it('a failed replace rejects and leaves the previous file intact, with no temporary file left', async () => {
    const files = new NodeDurableFiles();
    const path = join(dir, 'keep.json');
    await files.replace(path, 'old');
    const { mkdirSync, readdirSync } = await import('node:fs');
    mkdirSync(join(dir, `.keep.json.tmp-${process.pid}`)); // where the temporary file must go
    await assert.rejects(files.replace(path, 'new'));
    assert.equal(await files.read(path), 'old');
    rmSync(join(dir, `.keep.json.tmp-${process.pid}`), { recursive: true });
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});
