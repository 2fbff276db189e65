// The pacing toolbox of pxecast's flow control (protocols.md section 10): token buckets that pace
// multicast streams (one per stream under one global `max_rate` bucket) and the loss meter the QoS
// decision reads, as pure objects the sessions consult with an explicit `now`. Nothing here sends
// or schedules anything. The five mechanisms themselves each have a file of their own here.

/** A paced sender waits on a timer of at least 1 ms, which Node fires late, and a busy host stalls
 *  the event loop for a few ms now and then: every bucket holds at least this long of tokens, so
 *  such waits do not lose them and the sender catches up. Multicast streams are lock-step (one DATA
 *  per ACK), so a deeper bucket cannot make a stream burst. */
export const PACER_SLACK_MS = 10;

/** Token bucket in bytes. `delay` answers how long to wait before `bytes` may go (0 = go now) and
 *  takes nothing; `charge` takes the tokens of bytes that really went. Kept apart so a sender
 *  paced by several buckets charges each only once, for a packet all of them let through. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private bytesPerMs: number,
    private readonly depthBytes: number,
    now: number,
  ) {
    this.tokens = depthBytes;
    this.updatedAt = now;
  }

  setRate(bytesPerMs: number, now: number): void {
    this.refill(now);
    this.bytesPerMs = bytesPerMs;
  }

  /** At least PACER_SLACK_MS of tokens: a shallower bucket overflows while its sender waits, and
   *  the sender then runs below the rate (at 100 Mbit/s, 8 blocks of 1468 bytes fill in 0.94 ms). */
  private depth(): number {
    return Math.max(this.depthBytes, this.bytesPerMs * PACER_SLACK_MS);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.depth(), this.tokens + (now - this.updatedAt) * this.bytesPerMs);
    this.updatedAt = now;
  }

  /** Milliseconds until `bytes` can be sent (0: now). Takes nothing. */
  delay(bytes: number, now: number): number {
    this.refill(now);
    if (this.tokens >= bytes || this.tokens >= this.depth()) return 0;
    return Math.max(1, Math.ceil((bytes - this.tokens) / this.bytesPerMs));
  }

  /** `bytes` went out: takes their tokens (the balance may go negative by less than a packet). */
  charge(bytes: number, now: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }
}

export const mbpsToBytesPerMs = (mbps: number): number => (mbps * 1e6) / 8 / 1000;

/** Sent and retransmitted DATA over a sliding window, for the loss ratio the QoS policy reads. */
export class LossMeter {
  private readonly buckets: Array<{ at: number; sent: number; resent: number }> = [];
  constructor(private readonly windowMs = 10_000) {}

  record(now: number, sent: number, resent: number): void {
    const last = this.buckets.at(-1);
    if (last && now - last.at < 1000) {
      last.sent += sent;
      last.resent += resent;
    } else this.buckets.push({ at: now, sent, resent });
    while (this.buckets.length > 0 && now - this.buckets[0]!.at > this.windowMs) this.buckets.shift();
  }

  ratio(now: number): number {
    let sent = 0;
    let resent = 0;
    for (const b of this.buckets) {
      if (now - b.at > this.windowMs) continue;
      sent += b.sent;
      resent += b.resent;
    }
    return sent === 0 ? 0 : resent / sent;
  }
}
