// The lease database: a snapshot and a journal beside it, as ISC Kea's memfile keeps its leases.
// - `state_file` is the snapshot: `{"version":1,"leases":[...]}`, one lease per line (the format
//   pxecast always wrote, so a file from an older version is read as a snapshot: the migration).
// - `state_file.journal` gets one line per change, appended; a batch (all the changes recorded in
//   one tick, plus those that arrive while the previous batch is being written) costs one write
//   and one fdatasync, and its callers (the ACKs) are released after that sync.
// - Compaction: once the journal holds more entries than COMPACT_MIN_ENTRIES and than there are
//   leases, the whole table goes into a new snapshot (temporary file, fsync, rename) and then the
//   journal is emptied. A crash between the two replays the journal over the new snapshot, which
//   changes nothing (each entry sets an address to a state the snapshot already has).
// Reading never stops the daemon. A missing or empty file is empty. A damaged snapshot (not JSON,
// not ours, entries that are not leases) or a journal with unreadable lines before its end is
// renamed aside (never deleted) and every entry that can be read is kept. Unreadable bytes at the
// very end of the journal are the normal trace of a crash mid-append (that batch was never
// ACKed): the entries before them are kept and the tail is set aside in a file of its own.
// Whatever was read goes into a fresh snapshot before the daemon serves. A write that fails rejects
// its callers; the next batch then writes a whole snapshot instead of appending after bytes that
// may be half-written.
import type { Lease, LeaseChange, LeaseFileDamage, LeaseLoad, LeaseStore } from './ports.js';
import type { DurableFiles } from './durable-files.js';

const LEASE_STATES = new Set(['offered', 'bound', 'declined']);
/** The journal is compacted after this many entries, or after as many as there are leases if
 *  that is more (so a compaction's cost is spread over at least as many appends). */
export const COMPACT_MIN_ENTRIES = 10_000;

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

/** The leases in a snapshot's text, and what is wrong with it (null: nothing). Pure. */
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

/** A snapshot's text: the version 1 document, one lease per line. Pure. */
export function snapshotText(leases: Iterable<Lease>): string {
  const lines: string[] = [];
  for (const lease of leases) lines.push(JSON.stringify(lease));
  return `{"version":1,"leases":[\n${lines.join(',\n')}\n]}\n`;
}

/** One journal line: the address's lease, or `{"address":A,"removed":true}`. */
export function journalLine(change: LeaseChange): string {
  return `${JSON.stringify(change.lease ?? { address: change.address, removed: true })}\n`;
}

function parseJournalEntry(line: string): LeaseChange | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (isLease(value)) return { address: value.address, lease: value };
  const v = value as Record<string, unknown> | null;
  if (typeof v === 'object' && v !== null && v['removed'] === true && typeof v['address'] === 'string') {
    return { address: v['address'], lease: null };
  }
  return null;
}

export interface ParsedJournal {
  readonly changes: LeaseChange[];
  /** Unreadable lines followed by readable ones: damage. */
  readonly badLines: number;
  readonly lines: number;
  /** Unreadable bytes at the end (an incomplete last line, or lines after the last readable one):
   *  the batch a crash interrupted. Empty when the journal ends cleanly. */
  readonly tornTail: string;
}

/** Reads a journal's text. Pure. */
export function parseJournal(text: string): ParsedJournal {
  const changes: LeaseChange[] = [];
  let badLines = 0;
  let lines = 0;
  let cleanEnd = 0; // just after the last readable line
  let pendingBad = 0; // unreadable lines since the last readable one
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    if (newline < 0) break; // no newline: never completely written
    const line = text.slice(start, newline);
    start = newline + 1;
    if (line.trim() === '') continue;
    lines++;
    const change = parseJournalEntry(line);
    if (change === null) {
      pendingBad++;
      continue;
    }
    badLines += pendingBad;
    pendingBad = 0;
    changes.push(change);
    cleanEnd = start;
  }
  const tornTail = text.slice(cleanEnd);
  return { changes, badLines, lines: lines - pendingBad, tornTail: tornTail.trim() === '' ? '' : tornTail };
}

interface Batch {
  text: string;
  entries: number;
  readonly waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export interface LeaseJournalOptions {
  readonly files: DurableFiles;
  /** Wall-clock milliseconds: expired leases are left out of a snapshot. */
  readonly now: () => number;
  /** Runs `fn` after the I/O callbacks already due (Node: setImmediate), so one batch takes every
   *  change of the current tick. */
  readonly defer: (fn: () => void) => void;
  readonly compactMinEntries?: number;
}

export class LeaseJournalFile implements LeaseStore {
  readonly journalPath: string;
  /** The table as the files describe it, by address: what a snapshot is written from. */
  private readonly leases = new Map<string, Lease>();
  private pending: Batch | null = null;
  private scheduled = false;
  private writing = false;
  /** Entries in the journal since the last snapshot. */
  private journalEntries = 0;
  /** A write failed: the journal may end in half a batch, so the next batch is a snapshot. */
  private snapshotNext = false;
  private readonly compactMin: number;

  constructor(
    readonly path: string,
    private readonly options: LeaseJournalOptions,
  ) {
    this.journalPath = `${path}.journal`;
    this.compactMin = options.compactMinEntries ?? COMPACT_MIN_ENTRIES;
  }

  async load(): Promise<LeaseLoad> {
    const { files } = this.options;
    const stamp = new Date(this.options.now()).toISOString().replace(/[:.]/g, '-');
    const damage: LeaseFileDamage[] = [];
    const setAside = async (file: string, problem: string): Promise<void> => {
      const movedTo = `${file}.damaged-${stamp}`;
      await files.rename(file, movedTo);
      damage.push({ file, problem, movedTo });
    };

    const snapshot = await files.read(this.path);
    if (snapshot !== null) {
      const { leases, problem } = parseLeaseText(snapshot);
      for (const lease of leases) this.leases.set(lease.address, lease);
      if (problem !== null) await setAside(this.path, problem);
    }

    let tornTail: LeaseLoad['tornTail'] = null;
    const journal = await files.read(this.journalPath);
    if (journal !== null && journal.trim() !== '') {
      const parsed = parseJournal(journal);
      for (const change of parsed.changes) this.apply(change);
      if (parsed.badLines > 0) {
        await setAside(this.journalPath, `${parsed.badLines} of ${parsed.lines} lines are not valid journal entries`);
      } else if (parsed.tornTail !== '') {
        const movedTo = `${this.journalPath}.torn-${stamp}`;
        await files.replace(movedTo, parsed.tornTail);
        tornTail = { file: this.journalPath, bytes: Buffer.byteLength(parsed.tornTail), movedTo };
      }
    }

    // One sound snapshot and an empty journal before anyone is answered (and the old file format,
    // pretty-printed, rewritten one lease per line).
    if (snapshot !== null || journal !== null) await this.compact();
    return { leases: [...this.leases.values()], damage, tornTail };
  }

  record(changes: readonly LeaseChange[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    let text = '';
    for (const change of changes) {
      this.apply(change);
      text += journalLine(change);
    }
    return new Promise((resolve, reject) => {
      this.pending ??= { text: '', entries: 0, waiters: [] };
      this.pending.text += text;
      this.pending.entries += changes.length;
      this.pending.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private apply(change: LeaseChange): void {
    if (change.lease === null) this.leases.delete(change.address);
    else this.leases.set(change.address, change.lease);
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    this.options.defer(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.writing || this.pending === null) return;
    const batch = this.pending;
    this.pending = null;
    this.writing = true;
    try {
      const due = this.journalEntries + batch.entries >= Math.max(this.compactMin, this.leases.size);
      // The snapshot holds the batch's changes too (they are in the table already).
      if (this.snapshotNext || due) await this.compact();
      else {
        await this.options.files.append(this.journalPath, batch.text);
        this.journalEntries += batch.entries;
      }
      for (const w of batch.waiters) w.resolve();
    } catch (e) {
      this.snapshotNext = true;
      for (const w of batch.waiters) w.reject(e);
    } finally {
      this.writing = false;
      if (this.pending) this.schedule();
    }
  }

  /** The table into a new snapshot, then an empty journal (in this order: see the top). */
  private async compact(): Promise<void> {
    const t = this.options.now();
    for (const [address, lease] of this.leases) if (lease.expiresAt <= t || lease.state === 'offered') this.leases.delete(address);
    await this.options.files.replace(this.path, snapshotText(this.leases.values()));
    await this.options.files.truncate(this.journalPath);
    this.journalEntries = 0;
    this.snapshotNext = false;
  }
}
