// The lease database as a JSON file, replaced atomically: write a temporary file beside it, fsync,
// rename over the old one. A crash leaves either the old or the new file, never a torn one.
// Writes are serialized; a write that fails (disk full, unwritable directory) is reported and the
// previous file stays intact.
import { promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { Lease, LeaseStore } from '../dhcp/leases.js';

export class JsonLeaseFile implements LeaseStore {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async load(): Promise<Lease[]> {
    let text: string;
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const data = JSON.parse(text) as { version?: number; leases?: Lease[] };
    if (data.version !== 1 || !Array.isArray(data.leases)) throw new Error(`${this.path}: not a pxecast lease file (version 1)`);
    return data.leases;
  }

  save(leases: readonly Lease[]): Promise<void> {
    const next = this.queue.then(() => this.write(leases));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(leases: readonly Lease[]): Promise<void> {
    await fsp.mkdir(dirname(this.path), { recursive: true });
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}`);
    const handle = await fsp.open(temp, 'w', 0o640);
    try {
      await handle.writeFile(JSON.stringify({ version: 1, leases }, null, 1) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fsp.rename(temp, this.path);
    } catch (e) {
      await fsp.unlink(temp).catch(() => undefined);
      throw e;
    }
  }
}
