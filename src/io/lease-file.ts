// The lease database as a JSON file, replaced atomically: write a temporary file beside it, fsync,
// rename over the old one. A crash leaves either the old or the new file, never a torn one.
// Reading never stops the daemon: a missing or empty file is an empty table; a damaged one (not
// JSON, not ours, entries that are not leases) is renamed aside (never deleted), every lease that
// can still be read from it is kept, and the caller is told what was wrong and where the file went.
// Saves coalesce: while one write is in flight, later snapshots replace each other and go out in
// one write after it, so a burst of ACKs costs two fsyncs, not one each. A write that fails (disk
// full, unwritable directory) rejects its callers and the previous file stays intact.
import { promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { Lease, LeaseLoad, LeaseStore } from './ports.js';

const LEASE_STATES = new Set(['offered', 'bound', 'declined']);

function isLease(value: unknown): value is Lease {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['address'] === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(v['address']) &&
    typeof v['mac'] === 'string' && typeof v['pool'] === 'string' &&
    typeof v['state'] === 'string' && LEASE_STATES.has(v['state']) &&
    typeof v['expiresAt'] === 'number' && Number.isFinite(v['expiresAt'])
  );
}

/** Lease objects are flat, so each complete `{...}` left in a damaged file is a candidate. */
function salvage(text: string): Lease[] {
  const found: Lease[] = [];
  for (const match of text.matchAll(/\{[^{}]*\}/g)) {
    try {
      const value: unknown = JSON.parse(match[0]);
      if (isLease(value)) found.push(value);
    } catch {
      // a torn object: nothing to keep
    }
  }
  return found;
}

/** The leases in a lease file's text, and what is wrong with it (null: nothing). Pure. */
export function parseLeaseText(text: string): { leases: Lease[]; problem: string | null } {
  if (text.trim() === '') return { leases: [], problem: null };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { leases: salvage(text), problem: `not valid JSON (${(e as Error).message})` };
  }
  const file = data as { version?: unknown; leases?: unknown };
  if (typeof data !== 'object' || data === null || file.version !== 1 || !Array.isArray(file.leases)) {
    return { leases: salvage(text), problem: 'not a pxecast lease file (version 1)' };
  }
  const leases = file.leases.filter(isLease);
  const bad = file.leases.length - leases.length;
  return { leases, problem: bad > 0 ? `${bad} of ${file.leases.length} entries are not valid leases` : null };
}

interface PendingSave {
  leases: readonly Lease[];
  readonly waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export class JsonLeaseFile implements LeaseStore {
  private pending: PendingSave | null = null;
  private writing = false;

  constructor(private readonly path: string) {}

  async load(): Promise<LeaseLoad> {
    let text: string;
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { leases: [], damage: null };
      throw e;
    }
    const { leases, problem } = parseLeaseText(text);
    if (problem === null) return { leases, damage: null };
    const movedTo = `${this.path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fsp.rename(this.path, movedTo);
    return { leases, damage: { file: this.path, problem, movedTo } };
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
