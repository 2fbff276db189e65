// Token buckets keyed by client address: `ratePerS` requests per second sustained, `burst` at once.
// The table is bounded whatever the number of source addresses (a spoofed flood has many): keys
// are kept in least-recently-seen order, a key whose bucket has refilled is forgotten (it holds no
// information), and past `maxKeys` the stalest key is dropped, which can only make the limiter
// more lenient to that key. Work per call is O(1) amortised.

export interface RateLimit {
  readonly ratePerS: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyedRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    /** Milliseconds on any monotonic scale (Clock.now, or the DHCP wall clock). */
    private readonly now: () => number,
    /** Read per call, so a reload changes the limit at once. */
    private readonly limit: () => RateLimit,
    private readonly maxKeys = 65_536,
  ) {}

  /** Takes one token for `key`; false when the key is over its rate. */
  take(key: string): boolean {
    const now = this.now();
    const { ratePerS, burst } = this.limit();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    this.buckets.delete(key); // re-inserted below: the Map's order is least-recently-seen first
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * ratePerS) / 1000);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    this.forgetStale(now, ratePerS, burst);
    return allowed;
  }

  get trackedKeys(): number {
    return this.buckets.size;
  }

  private forgetStale(now: number, ratePerS: number, burst: number): void {
    // At most two keys per call: enough to keep pace with one insertion, never a scan.
    for (let i = 0; i < 2; i++) {
      const oldest = this.buckets.entries().next();
      if (oldest.done) return;
      const [key, b] = oldest.value;
      const refilled = b.tokens + ((now - b.at) * ratePerS) / 1000 >= burst;
      if (!refilled && this.buckets.size <= this.maxKeys) return;
      this.buckets.delete(key);
    }
  }
}
