// A least-recently-used set bounded in bytes, for the file chunk cache. Entries are linked into the
// list themselves, so marking one used (every block a transfer sends) is a few pointer moves: no
// key to build or hash, nothing allocated.

export class LruEntry {
  /** Toward the least recently used end. */
  older: LruEntry | null = null;
  newer: LruEntry | null = null;
  /** In the list (false once evicted or removed). */
  listed = false;

  constructor(readonly bytes: number) {}
}

export class ByteLru<E extends LruEntry> {
  private oldest: E | null = null;
  private newest: E | null = null;
  private total = 0;
  private count = 0;

  /** `evict` hears of each entry pushed out by add(); it is no longer listed then. */
  constructor(
    private readonly capacityBytes: number,
    private readonly evict: (entry: E) => void,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.count;
  }

  /** Lists `entry` as the most recently used, then evicts the least recently used ones while the
   *  total is over capacity (never `entry` itself: one entry larger than the cache still stays). */
  add(entry: E): void {
    if (entry.listed) this.unlink(entry);
    this.append(entry);
    while (this.total > this.capacityBytes && this.oldest !== entry) {
      const victim = this.oldest!;
      this.unlink(victim);
      this.evict(victim);
    }
  }

  /** Marks a listed entry as the most recently used; an unlisted one is left alone. */
  touch(entry: E): void {
    if (!entry.listed || entry === this.newest) return;
    this.unlink(entry);
    this.append(entry);
  }

  remove(entry: E): void {
    if (entry.listed) this.unlink(entry);
  }

  /** Least recently used first. */
  *entries(): IterableIterator<E> {
    for (let e = this.oldest; e !== null; e = e.newer as E | null) yield e;
  }

  private append(entry: E): void {
    entry.older = this.newest;
    entry.newer = null;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
    entry.listed = true;
    this.total += entry.bytes;
    this.count++;
  }

  private unlink(entry: E): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer as E | null;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older as E | null;
    entry.older = null;
    entry.newer = null;
    entry.listed = false;
    this.total -= entry.bytes;
    this.count--;
  }
}
