import type { FileStat, FileSystem, OpenedFile } from '../../src/io/ports.js';

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
