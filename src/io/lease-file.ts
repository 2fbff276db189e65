// The lease database as a JSON file, replaced atomically: write a temporary file beside it, fsync,
// rename over the old one. A crash leaves either the old or the new file, never a torn one.
// Saves coalesce: while one write is in flight, later snapshots replace each other and go out in
// one write after it, so a burst of ACKs costs two fsyncs, not one each. A write that fails (disk
// full, unwritable directory) rejects its callers and the previous file stays intact.
import { promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { Lease, LeaseStore } from '../dhcp/leases.js';

interface PendingSave {
  leases: readonly Lease[];
  readonly waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export class JsonLeaseFile implements LeaseStore {
  private pending: PendingSave | null = null;
  private writing = false;

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
    return new Promise((resolve, reject) => {
      if (this.pending) this.pending.leases = leases; // the newer snapshot includes the older
      else this.pending = { leases, waiters: [] };
      this.pending.waiters.push({ resolve, reject });
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.writing || this.pending === null) return;
    const batch = this.pending;
    this.pending = null;
    this.writing = true;
    try {
      await this.write(batch.leases);
      for (const w of batch.waiters) w.resolve();
    } catch (e) {
      for (const w of batch.waiters) w.reject(e);
    } finally {
      this.writing = false;
      void this.flush();
    }
  }

  private async write(leases: readonly Lease[]): Promise<void> {
    await fsp.mkdir(dirname(this.path), { recursive: true });
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}`);
    const handle = await fsp.open(temp, 'w', 0o640);
    try {
      try {
        await handle.writeFile(JSON.stringify({ version: 1, leases }, null, 1) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(temp, this.path);
    } catch (e) {
      // A half-written temporary file (disk full) would only hold on to the space that ran out.
      await fsp.unlink(temp).catch(() => undefined);
      throw e;
    }
  }
}
