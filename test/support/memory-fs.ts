import type { FileStat, FileSystem, OpenedFile } from '../../src/io/ports.js';
import type { DurableFiles } from '../../src/io/durable-files.js';

export function memoryFile(data: Buffer, onRelease: () => void = () => undefined, identity = 'memory'): OpenedFile & { released: boolean } {
  const file = {
    size: data.length,
    identity,
    mtimeMs: 0,
    released: false,
    read: async (offset: number, length: number) => data.subarray(offset, offset + length),
    release: () => {
      file.released = true;
      onRelease();
    },
  };
  return file;
}

/** In-memory tree: files, directories and symlinks (absolute targets), for catalog and server tests. */
export class MemoryFileSystem implements FileSystem {
  readonly files = new Map<string, Buffer>();
  readonly dirs = new Set<string>(['/']);
  readonly links = new Map<string, string>();
  readonly devices = new Set<string>();
  openCount = 0;

  addFile(path: string, data: Buffer): this {
    this.files.set(path, data);
    let dir = path;
    while ((dir = dir.slice(0, dir.lastIndexOf('/')) || '/') !== '/') this.dirs.add(dir);
    return this;
  }

  async realpath(path: string): Promise<string> {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (let i = 0; i < parts.length; i++) {
      current = `${current}/${parts[i]}`;
      const target = this.links.get(current);
      if (target !== undefined) current = target;
      const exists = this.files.has(current) || this.dirs.has(current) || this.devices.has(current);
      if (!exists) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    }
    return current || '/';
  }

  async stat(path: string): Promise<FileStat> {
    const file = this.files.get(path);
    if (file) return { kind: 'file', size: file.length };
    if (this.dirs.has(path)) return { kind: 'directory', size: 0 };
    if (this.devices.has(path)) return { kind: 'other', size: 0 };
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  }

  async open(path: string): Promise<OpenedFile> {
    const data = this.files.get(path);
    if (!data) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    this.openCount++;
    return memoryFile(data, () => this.openCount--, `${path}:${data.length}`);
  }
}

type DurableOp = 'read' | 'append' | 'replace' | 'truncate' | 'rename';

/**
 * In-memory DurableFiles that knows what a crash keeps: `files` is what the process sees, `durable`
 * what would be read back after a crash (an append counts once its sync is done). `holdSyncs()`
 * stops appends before their sync, so a test can look at the moment between write and sync;
 * `failNext` makes the next call of an operation reject; `ops` lists every call in order.
 */
export class MemoryDurableFiles implements DurableFiles {
  readonly files = new Map<string, string>();
  readonly durable = new Map<string, string>();
  readonly ops: string[] = [];
  readonly failNext = new Map<DurableOp, Error>();
  private held: Array<() => void> | null = null;

  /** A file the process and a crash both see (test setup). */
  put(path: string, text: string): this {
    this.files.set(path, text);
    this.durable.set(path, text);
    return this;
  }

  /** The files as a restart after a crash (or SIGKILL) right now would find them. */
  afterCrash(): MemoryDurableFiles {
    const fs = new MemoryDurableFiles();
    for (const [path, text] of this.durable) fs.put(path, text);
    return fs;
  }

  holdSyncs(): void {
    this.held ??= [];
  }

  releaseSyncs(): void {
    const waiting = this.held ?? [];
    this.held = null;
    for (const go of waiting) go();
  }

  private begin(op: DurableOp, path: string): void {
    this.ops.push(`${op} ${path}`);
    const failure = this.failNext.get(op);
    if (failure) {
      this.failNext.delete(op);
      throw failure;
    }
  }

  async read(path: string): Promise<string | null> {
    this.begin('read', path);
    return this.files.get(path) ?? null;
  }

  async append(path: string, text: string): Promise<void> {
    this.begin('append', path);
    this.files.set(path, (this.files.get(path) ?? '') + text);
    if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
    this.durable.set(path, this.files.get(path)!);
  }

  async replace(path: string, text: string): Promise<void> {
    this.begin('replace', path);
    this.files.set(path, text);
    this.durable.set(path, text);
  }

  async truncate(path: string): Promise<void> {
    this.begin('truncate', path);
    if (!this.files.has(path)) return;
    this.files.set(path, '');
    this.durable.set(path, '');
  }

  async rename(from: string, to: string): Promise<void> {
    this.begin('rename', `${from} ${to}`);
    const text = this.files.get(from);
    if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    this.files.delete(from);
    this.durable.delete(from);
    this.put(to, text);
  }
}
