// fs-backed FileSystem. A hot file is opened once and shared by every transfer (dnsmasq keeps one
// handle per file the same way); reads go through a global chunk cache, so a hundred clients
// fetching the same image read it from disk about once. Identity includes inode, size and mtime:
// a file replaced on disk is a new entry, and transfers already running keep the old handle.
// A file rewritten in place (cp over it, truncate + write) keeps its inode, so the handle would
// serve new bytes after cached old ones: every chunk read is checked against the size and mtime
// seen at open, and a change fails the read (FILE_CHANGED) instead of mixing the two versions.
import { constants, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, basename } from 'node:path';
import type { FileStat, FileSystem, OpenedFile, UploadSink, UploadStore } from './ports.js';

const CHUNK_SIZE = 256 * 1024;
/** The chunk cache of the whole process: with transfer workers, each thread gets an equal share. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

interface SharedFile {
  readonly key: string;
  readonly handle: fsp.FileHandle;
  readonly size: number;
  readonly mtimeMs: number;
  refs: number;
}

/** The file under an open handle was modified in place; what was read may belong to either version. */
export class FileModifiedError extends Error {
  readonly code = 'FILE_CHANGED';
}

export class NodeFileSystem implements FileSystem {
  private readonly open_ = new Map<string, SharedFile>();
  /** Loaded chunks, or the promise of one being loaded. Insertion order is recency order (LRU). */
  private readonly chunks = new Map<string, Buffer | Promise<Buffer>>();
  private cachedBytes = 0;

  constructor(private readonly cacheBytes = DEFAULT_CACHE_BYTES) {}

  realpath(path: string): Promise<string> {
    return fsp.realpath(path);
  }

  async stat(path: string): Promise<FileStat> {
    const st = await fsp.stat(path);
    return { kind: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other', size: st.size };
  }

  openFiles(): number {
    return this.open_.size;
  }

  async open(path: string): Promise<OpenedFile> {
    // O_NONBLOCK: opening a FIFO that slipped past the checks must not hang the daemon.
    // O_NOFOLLOW: callers pass a realpath; a symlink swapped in since then is not followed.
    const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    let st;
    try {
      st = await handle.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    } catch (e) {
      await handle.close();
      throw e;
    }
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let shared = this.open_.get(key);
    if (shared) await handle.close();
    else {
      shared = { key, handle, size: st.size, mtimeMs: st.mtimeMs, refs: 0 };
      this.open_.set(key, shared);
    }
    shared.refs++;
    return this.handleFor(shared);
  }

  private handleFor(shared: SharedFile): OpenedFile {
    let released = false;
    return {
      size: shared.size,
      identity: shared.key,
      mtimeMs: shared.mtimeMs,
      read: (offset, length) => this.read(shared, offset, length),
      release: () => {
        if (released) return;
        released = true;
        if (--shared.refs === 0) {
          this.open_.delete(shared.key);
          for (const k of [...this.chunks.keys()]) if (k.startsWith(shared.key + '#')) this.dropChunk(k);
          void shared.handle.close().catch(() => undefined);
        }
      },
    };
  }

  private read(shared: SharedFile, offset: number, length: number): Buffer | Promise<Buffer> {
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((offset + length - 1) / CHUNK_SIZE);
    if (first === last) {
      const start = offset - first * CHUNK_SIZE;
      const slice = (chunk: Buffer) => chunk.subarray(start, Math.min(chunk.length, start + length));
      const chunk = this.chunk(shared, first);
      return chunk instanceof Promise ? chunk.then(slice) : slice(chunk);
    }
    return this.readAcross(shared, offset, length, first, last);
  }

  private async readAcross(shared: SharedFile, offset: number, length: number, first: number, last: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let c = first; c <= last; c++) {
      const chunk = await this.chunk(shared, c);
      const start = Math.max(0, offset - c * CHUNK_SIZE);
      const end = Math.min(chunk.length, offset + length - c * CHUNK_SIZE);
      parts.push(chunk.subarray(start, end));
      if (chunk.length < CHUNK_SIZE) break;
    }
    return Buffer.concat(parts);
  }

  private chunk(shared: SharedFile, index: number): Buffer | Promise<Buffer> {
    const key = `${shared.key}#${index}`;
    const hit = this.chunks.get(key);
    if (hit) {
      this.chunks.delete(key);
      this.chunks.set(key, hit);
      return hit;
    }
    const length = Math.max(0, Math.min(CHUNK_SIZE, shared.size - index * CHUNK_SIZE));
    const loading = (async () => {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await shared.handle.read(buf, got, length - got, index * CHUNK_SIZE + got);
        if (bytesRead === 0) break; // truncated under us: callers see a short chunk
        got += bytesRead;
      }
      // Checked after the read: a write or truncate that began before or during it has already
      // moved mtime (the kernel stamps it before copying data), so an unchanged stat proves these
      // bytes are the version opened. A rename over the file leaves this inode's mtime alone.
      const now = await shared.handle.stat();
      if (now.size !== shared.size || now.mtimeMs !== shared.mtimeMs) {
        throw new FileModifiedError(`file modified in place while being served (size ${shared.size} -> ${now.size})`);
      }
      const chunk = got === length ? buf : buf.subarray(0, got);
      // Swap the promise for the buffer so later reads are synchronous (unless evicted meanwhile).
      if (this.chunks.get(key) instanceof Promise) this.chunks.set(key, chunk);
      return chunk;
    })();
    loading.catch(() => this.dropChunk(key));
    this.chunks.set(key, loading);
    this.cachedBytes += length;
    while (this.cachedBytes > this.cacheBytes && this.chunks.size > 1) {
      const oldest = this.chunks.keys().next().value as string;
      this.dropChunk(oldest);
    }
    return loading;
  }

  private dropChunk(key: string): void {
    if (!this.chunks.delete(key)) return;
    const [fileKey, index] = key.split('#') as [string, string];
    const size = Number(fileKey.split(':')[2]);
    this.cachedBytes -= Math.max(0, Math.min(CHUNK_SIZE, size - Number(index) * CHUNK_SIZE));
  }
}

/** Uploads land under a temporary name and are linked into place only when complete, so a
 *  half-received file is never visible and an existing file is never overwritten. */
export class NodeUploadStore implements UploadStore {
  constructor(private readonly dir: string) {}

  async create(relativePath: string): Promise<UploadSink> {
    const target = join(this.dir, relativePath);
    // The name is checked (no `..`), but a symlinked directory inside upload_dir would still lead
    // out of it: the directory the file lands in must resolve inside upload_dir's own realpath.
    // (The file itself is created with O_EXCL and linked into place, neither of which follows a
    // symlink at the final component.)
    const [dirReal, parentReal] = await Promise.all([fsp.realpath(this.dir), fsp.realpath(dirname(target))]);
    if (parentReal !== dirReal && !parentReal.startsWith(`${dirReal}/`)) {
      throw Object.assign(new Error('upload directory resolves outside upload_dir'), { code: 'EACCES' });
    }
    await fsp.access(target).then(
      () => {
        throw Object.assign(new Error('file exists'), { code: 'EEXIST' });
      },
      () => undefined,
    );
    const temp = join(dirname(target), `.${basename(target)}.part-${randomBytes(4).toString('hex')}`);
    const handle = await fsp.open(temp, 'wx', 0o644);
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    return {
      write: async (data) => {
        await handle.write(data);
      },
      commit: async () => {
        await handle.sync();
        await close();
        try {
          await fsp.link(temp, target); // fails with EEXIST instead of overwriting
        } finally {
          await fsp.unlink(temp).catch(() => undefined);
        }
      },
      abort: async () => {
        await close().catch(() => undefined);
        await fsp.unlink(temp).catch(() => undefined);
      },
    };
  }
}
