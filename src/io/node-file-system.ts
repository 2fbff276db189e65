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
import { ByteLru, LruEntry } from './byte-lru.js';
import type { FileStat, FileSystem, OpenedFile, UploadSink, UploadStore } from './ports.js';

const CHUNK_SIZE = 256 * 1024;
/** The chunk cache of the whole process: with transfer workers, each thread gets an equal share. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

interface SharedFile {
  readonly key: string;
  readonly handle: fsp.FileHandle;
  readonly size: number;
  readonly mtimeMs: number;
  refs: number;
  /** Its cached chunks by chunk number. */
  readonly chunks: Map<number, CachedChunk>;
}

/** One CHUNK_SIZE piece of a file: loading (data null), loaded, or evicted (no longer listed). */
class CachedChunk extends LruEntry {
  data: Buffer | null = null;

  constructor(
    readonly file: SharedFile,
    readonly index: number,
    bytes: number,
    public loading: Promise<Buffer> | null = null,
  ) {
    super(bytes);
  }
}

/** The file under an open handle was modified in place; what was read may belong to either version. */
export class FileModifiedError extends Error {
  readonly code = 'FILE_CHANGED';
}

export class NodeFileSystem implements FileSystem {
  private readonly open_ = new Map<string, SharedFile>();
  /** Loaded chunks and chunks being loaded, least recently used first. */
  private readonly cache: ByteLru<CachedChunk>;

  constructor(cacheBytes = DEFAULT_CACHE_BYTES) {
    this.cache = new ByteLru<CachedChunk>(cacheBytes, (chunk) => chunk.file.chunks.delete(chunk.index));
  }

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

  /** Bytes of file content held by the chunk cache (loaded or being loaded). */
  cachedBytes(): number {
    return this.cache.bytes;
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
      shared = { key, handle, size: st.size, mtimeMs: st.mtimeMs, refs: 0, chunks: new Map() };
      this.open_.set(key, shared);
    }
    shared.refs++;
    return new FileReader(this, shared);
  }

  /** Called by the last reader of `shared`: forget its chunks, close the handle. */
  closeShared(shared: SharedFile): void {
    this.open_.delete(shared.key);
    for (const chunk of shared.chunks.values()) this.cache.remove(chunk);
    shared.chunks.clear();
    void shared.handle.close().catch(() => undefined);
  }

  /** Marks a chunk a reader is still using as recently used. */
  touch(chunk: CachedChunk): void {
    this.cache.touch(chunk);
  }

  /** Chunk `index` of `shared`, from the cache or loading (the load is cached too). */
  chunk(shared: SharedFile, index: number): CachedChunk {
    const hit = shared.chunks.get(index);
    if (hit) {
      this.cache.touch(hit);
      return hit;
    }
    const length = Math.max(0, Math.min(CHUNK_SIZE, shared.size - index * CHUNK_SIZE));
    const chunk = new CachedChunk(shared, index, length);
    chunk.loading = this.load(chunk, length);
    chunk.loading.catch(() => this.drop(chunk));
    shared.chunks.set(index, chunk);
    this.cache.add(chunk);
    return chunk;
  }

  private async load(chunk: CachedChunk, length: number): Promise<Buffer> {
    const shared = chunk.file;
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await shared.handle.read(buf, got, length - got, chunk.index * CHUNK_SIZE + got);
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
    // From now on reads of this chunk are synchronous.
    chunk.data = got === length ? buf : buf.subarray(0, got);
    chunk.loading = null;
    return chunk.data;
  }

  private drop(chunk: CachedChunk): void {
    this.cache.remove(chunk);
    if (chunk.file.chunks.get(chunk.index) === chunk) chunk.file.chunks.delete(chunk.index);
  }

  async readAcross(shared: SharedFile, offset: number, length: number): Promise<Buffer> {
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((offset + length - 1) / CHUNK_SIZE);
    const parts: Buffer[] = [];
    for (let c = first; c <= last; c++) {
      const chunk = this.chunk(shared, c);
      const data = chunk.data ?? (await chunk.loading!);
      const start = Math.max(0, offset - c * CHUNK_SIZE);
      const end = Math.min(data.length, offset + length - c * CHUNK_SIZE);
      parts.push(data.subarray(start, end));
      if (data.length < CHUNK_SIZE) break;
    }
    return Buffer.concat(parts);
  }
}

/**
 * One holder's view of a shared file. It remembers the chunk it read last: a transfer reads its
 * blocks in order, so nearly every read is a slice of that chunk, found without a lookup.
 */
class FileReader implements OpenedFile {
  readonly size: number;
  readonly identity: string;
  readonly mtimeMs: number;
  private last: CachedChunk | null = null;
  private released = false;

  constructor(
    private readonly fs: NodeFileSystem,
    private readonly shared: SharedFile,
  ) {
    this.size = shared.size;
    this.identity = shared.key;
    this.mtimeMs = shared.mtimeMs;
  }

  read(offset: number, length: number): Buffer | Promise<Buffer> {
    if (length <= 0) return EMPTY;
    const index = Math.floor(offset / CHUNK_SIZE);
    const start = offset - index * CHUNK_SIZE;
    if (start + length > CHUNK_SIZE) return this.fs.readAcross(this.shared, offset, length);
    let chunk = this.last;
    // An evicted chunk is looked up again (and reloaded): the cache's byte bound stays true.
    if (chunk !== null && chunk.index === index && chunk.listed) this.fs.touch(chunk);
    else chunk = this.last = this.fs.chunk(this.shared, index);
    const data = chunk.data;
    if (data !== null) return data.subarray(start, start + length > data.length ? data.length : start + length);
    return chunk.loading!.then((d) => d.subarray(start, Math.min(d.length, start + length)));
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.last = null;
    if (--this.shared.refs === 0) this.fs.closeShared(this.shared);
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
