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

describe('NodeFileSystem chunk cache', () => {
  /** `chunks` chunks, each filled with its own number. */
  function numberedFile(name: string, chunks: number): string {
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat(Array.from({ length: chunks }, (_, i) => Buffer.alloc(CHUNK, i + 1))));
    return path;
  }

  it('holds at most its byte budget while readers walk a file larger than it, and every read is right', async () => {
    const path = numberedFile('walk.img', 6);
    const fs = new NodeFileSystem(2 * CHUNK);
    const readers = [await fs.open(path), await fs.open(path), await fs.open(path)];
    for (let c = 0; c < 6; c++) {
      for (const [i, reader] of readers.entries()) {
        // Readers at different chunks: each read may evict another reader's current chunk.
        const chunk = (c + 2 * i) % 6;
        for (const offset of [0, 1000, CHUNK - 512]) {
          assert.deepEqual(await reader.read(chunk * CHUNK + offset, 512), Buffer.alloc(512, chunk + 1));
        }
        assert.ok(fs.cachedBytes() <= 2 * CHUNK, `cached ${fs.cachedBytes()} bytes`);
      }
    }
    // A read across a chunk boundary.
    assert.deepEqual(await readers[0]!.read(CHUNK - 2, 4), Buffer.from([1, 1, 2, 2]));
    for (const reader of readers) reader.release();
    assert.equal(fs.cachedBytes(), 0, 'the last release forgets the file');
    assert.equal(fs.openFiles(), 0);
  });

  it('answers a read of a cached chunk synchronously', async () => {
    const path = numberedFile('sync.img', 2);
    const fs = new NodeFileSystem();
    const file = await fs.open(path);
    assert.ok(file.read(0, 512) instanceof Promise, 'the first read loads the chunk');
    await file.read(0, 512);
    const again = file.read(512, 512);
    assert.ok(Buffer.isBuffer(again));
    assert.deepEqual(again, Buffer.alloc(512, 1));
    file.release();
  });
});
