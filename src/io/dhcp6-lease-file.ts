// The DHCPv6 lease database as a JSON file, with the durability rules of the DHCPv4 one
// (io/lease-file.ts): written to a temporary file beside it, fsynced, renamed over the old one, so a
// crash leaves the old or the new file and never a torn one; saves coalesce while one is in flight;
// a failed write rejects its callers and keeps the previous file. A damaged file is renamed aside
// (never deleted) and every lease still readable in it is kept. Its own file and format
// (`leases6.json`, version 1) behind the narrow Lease6Store port, so the DHCPv4 store can change
// (e.g. to a journal) without touching this one.
import { promises as fsp } from 'node:fs';
import { isIPv6 } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Lease6, Lease6Load, Lease6Store } from './ports.js';

function isLease6(value: unknown): value is Lease6 {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['address'] === 'string' && isIPv6(v['address']) &&
    typeof v['duid'] === 'string' && /^([0-9a-f]{2})+$/.test(v['duid']) &&
    typeof v['iaid'] === 'number' && Number.isInteger(v['iaid']) &&
    (v['mac'] === null || typeof v['mac'] === 'string') &&
    (v['state'] === 'bound' || v['state'] === 'declined') &&
    typeof v['expiresAt'] === 'number' && Number.isFinite(v['expiresAt'])
  );
}

/** The leases in a DHCPv6 lease file's text, and what is wrong with it (null: nothing). Pure. */
export function parseLease6Text(text: string): { leases: Lease6[]; problem: string | null } {
  if (text.trim() === '') return { leases: [], problem: null };
  const salvage = () => [...text.matchAll(/\{[^{}]*\}/g)].flatMap((m) => {
    try {
      const v: unknown = JSON.parse(m[0]);
      return isLease6(v) ? [v] : [];
    } catch {
      return [];
    }
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { leases: salvage(), problem: `not valid JSON (${(e as Error).message})` };
  }
  const file = data as { version?: unknown; leases6?: unknown };
  if (typeof data !== 'object' || data === null || file.version !== 1 || !Array.isArray(file.leases6)) {
    return { leases: salvage(), problem: 'not a pxecast DHCPv6 lease file (version 1)' };
  }
  const leases = file.leases6.filter(isLease6);
  const bad = file.leases6.length - leases.length;
  return { leases, problem: bad > 0 ? `${bad} of ${file.leases6.length} entries are not valid leases` : null };
}

export class JsonLease6File implements Lease6Store {
  private pending: { leases: readonly Lease6[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } | null = null;
  private writing = false;

  constructor(private readonly path: string) {}

  async load(): Promise<Lease6Load> {
    let text: string;
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { leases: [], damage: null };
      throw e;
    }
    const { leases, problem } = parseLease6Text(text);
    if (problem === null) return { leases, damage: null };
    const movedTo = `${this.path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fsp.rename(this.path, movedTo);
    return { leases, damage: { file: this.path, problem, movedTo } };
  }

  save(leases: readonly Lease6[]): Promise<void> {
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

  private async write(leases: readonly Lease6[]): Promise<void> {
    await fsp.mkdir(dirname(this.path), { recursive: true });
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}`);
    const handle = await fsp.open(temp, 'w', 0o640);
    try {
      try {
        await handle.writeFile(JSON.stringify({ version: 1, leases6: leases }, null, 1) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(temp, this.path);
    } catch (e) {
      await fsp.unlink(temp).catch(() => undefined);
      throw e;
    }
  }
}
