// The few file operations the lease journal needs, each durable when it resolves: what an append
// or a replace wrote survives a crash, a SIGKILL or a power loss. The Node adapter keeps one
// append handle per file (O_APPEND: a truncation by path is followed, the next append lands at 0).
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface DurableFiles {
  /** The file's text, or null when it does not exist. */
  read(path: string): Promise<string | null>;
  /** Appends `text` and resolves once it is on stable storage (fdatasync; on the file's creation
   *  the directory entry too). */
  append(path: string, text: string): Promise<void>;
  /** Replaces the file atomically: a temporary file beside it, fsync, rename, directory fsync. A
   *  crash leaves the old file or the new one, never a torn one. */
  replace(path: string, text: string): Promise<void>;
  /** Empties the file durably (nothing to do when it does not exist). */
  truncate(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class NodeDurableFiles implements DurableFiles {
  private readonly appenders = new Map<string, fsp.FileHandle>();

  async read(path: string): Promise<string | null> {
    try {
      return await fsp.readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async append(path: string, text: string): Promise<void> {
    let handle = this.appenders.get(path);
    if (!handle) {
      await fsp.mkdir(dirname(path), { recursive: true });
      const existed = await fsp.access(path).then(() => true, () => false);
      handle = await fsp.open(path, 'a', 0o640);
      this.appenders.set(path, handle);
      if (!existed) await syncDirectory(dirname(path));
    }
    await handle.write(text);
    await handle.datasync();
  }

  async replace(path: string, text: string): Promise<void> {
    const dir = dirname(path);
    await fsp.mkdir(dir, { recursive: true });
    const temp = join(dir, `.${basename(path)}.tmp-${process.pid}`);
    try {
      const handle = await fsp.open(temp, 'w', 0o640);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(temp, path);
    } catch (e) {
      // A half-written temporary file (disk full) would only hold on to the space that ran out.
      await fsp.unlink(temp).catch(() => undefined);
      throw e;
    }
    await syncDirectory(dir);
  }

  async truncate(path: string): Promise<void> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      await handle.truncate(0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    // The append handle would follow the file to its new name.
    await this.appenders.get(from)?.close();
    this.appenders.delete(from);
    await fsp.rename(from, to);
    await syncDirectory(dirname(to));
  }
}
