import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NodeFileSystem } from '../../../src/io/node-file-system.js';

const dir = mkdtempSync(join(tmpdir(), 'pxecast-nodefs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const CHUNK = 256 * 1024;

/** Two chunks of 0x11 (the old version); its mtime set in the past, so any rewrite moves it. */
function oldFile(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(2 * CHUNK, 0x11));
  utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  return path;
}

describe('NodeFileSystem with a file changing under an open handle', () => {
  it('rewritten in place (truncate, then new bytes of the same size): the next uncached read fails with FILE_CHANGED', async () => {
    const path = oldFile('rewrite.img');
    const fs = new NodeFileSystem();
    const file = await fs.open(path);
    assert.deepEqual(await file.read(0, 4), Buffer.alloc(4, 0x11)); // chunk 0 is cached: old bytes
    truncateSync(path, 0);
    writeFileSync(path, Buffer.alloc(2 * CHUNK, 0x22));
    await assert.rejects(Promise.resolve(file.read(CHUNK, 4)), { code: 'FILE_CHANGED' });
    file.release();
  });

  it('replaced by rename: the open handle keeps reading the old version to the end', async () => {
    const path = oldFile('renamed.img');
    const fs = new NodeFileSystem();
    const file = await fs.open(path);
    writeFileSync(join(dir, 'new.img'), Buffer.alloc(2 * CHUNK, 0x22));
    renameSync(join(dir, 'new.img'), path);
    assert.deepEqual(await file.read(CHUNK, 4), Buffer.alloc(4, 0x11));
    file.release();
    const next = await fs.open(path);
    assert.deepEqual(await next.read(CHUNK, 4), Buffer.alloc(4, 0x22), 'a new open gets the new file');
    next.release();
  });
});
