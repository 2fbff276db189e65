// pxecast's own flow control on top of the RFCs (protocols.md section 10), as pure objects the
// sessions consult with an explicit `now`. Nothing here sends or schedules anything.

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

/** Additive increase, multiplicative decrease of a session's rate (Mbit/s): halve on each
 *  congestion event (a retransmission timeout, a re-requested block, a master passed over), and
 *  after every `CLEAN_BLOCKS` blocks without one, add a sixteenth of the ceiling back. */
export class AimdRate {
  static readonly CLEAN_BLOCKS = 16;
  private clean = 0;
  congestionEvents = 0;

  constructor(
    private rate: number,
    private readonly floor: number,
    private readonly ceiling: number,
  ) {}

  get mbps(): number {
    return this.rate;
  }

  congestion(): void {
    this.congestionEvents++;
    this.clean = 0;
    this.rate = Math.max(this.floor, this.rate / 2);
  }

  progress(blocks = 1): void {
    this.clean += blocks;
    while (this.clean >= AimdRate.CLEAN_BLOCKS) {
      this.clean -= AimdRate.CLEAN_BLOCKS;
      this.rate = Math.min(this.ceiling, this.rate + this.ceiling / 16);
    }
  }
}

/** At most one event per `intervalMs`: bounds "resend on unexpected packet" so it cannot be used
 *  to amplify (protocols.md 10.5). */
export class RateLimiter {
  private last = -Infinity;
  constructor(private readonly intervalMs: () => number) {}
  allow(now: number): boolean {
    if (now - this.last < this.intervalMs()) return false;
    this.last = now;
    return true;
  }
}

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

/** What the server measures when a multicast session is created. */
export interface ResourceConditions {
  readonly activeSessions: number;
  readonly activeMembers: number;
  /** Retransmitted / sent DATA over the last 10 s, all multicast sessions. */
  readonly lossRatio: number;
  /** Event-loop delay (p99 over the last sampling period), ms. */
  readonly loopLagMs: number;
}

export interface SessionParameters {
  readonly blksize: number;
  readonly rtoMinMs: number;
  readonly initialRateMbps: number;
  /** Why the values differ from what was asked or configured; logged with the session. */
  readonly reasons: readonly string[];
}

export const MULTICAST_MAX_BLOCKS = 65535;
/** Sessions beyond this many start at a fair share of the global cap rather than all of it. */
const SHARE_FROM_SESSIONS = 1;

/**
 * Block size, retransmission floor and starting rate for a new multicast session (10.3), or null
 * when the file cannot be multicast within the client's block size (more than 65535 blocks: no
 * rollover in multicast, because "ACK n" would become ambiguous).
 */
export function chooseSessionParameters(
  requestedBlksize: number | undefined,
  fileSize: number,
  limits: { readonly maxBlksize: number; readonly rtoMinMs: number; readonly maxRateMbps: number; readonly minRateMbps: number },
  conditions: ResourceConditions,
): SessionParameters | null {
  const reasons: string[] = [];
  const asked = requestedBlksize ?? 512;
  let cap = Math.min(asked, limits.maxBlksize);
  if (conditions.lossRatio > 0.15) {
    cap = Math.min(cap, 512);
    reasons.push(`blksize <= 512: recent loss ${(conditions.lossRatio * 100).toFixed(1)}% > 15%`);
  } else if (conditions.lossRatio > 0.05) {
    cap = Math.min(cap, 1024);
    reasons.push(`blksize <= 1024: recent loss ${(conditions.lossRatio * 100).toFixed(1)}% > 5%`);
  }
  // Fewest bytes per block that still fits the 16-bit block counter.
  // It must fit both the client's request and our own `max_blksize` (the cap before loss rules).
  const needed = Math.ceil((fileSize + 1) / MULTICAST_MAX_BLOCKS);
  if (needed > Math.min(asked, limits.maxBlksize)) return null;
  let blksize = Math.max(8, cap);
  if (blksize < needed) {
    blksize = needed;
    reasons.push(`blksize raised to ${needed} so the file fits ${MULTICAST_MAX_BLOCKS} blocks`);
  }

  let rtoMinMs = limits.rtoMinMs;
  if (conditions.loopLagMs > 200) {
    rtoMinMs = Math.max(rtoMinMs, 500);
    reasons.push(`rto floor 500 ms: event-loop lag ${Math.round(conditions.loopLagMs)} ms > 200 ms`);
  } else if (conditions.loopLagMs > 50) {
    rtoMinMs = Math.max(rtoMinMs, 100);
    reasons.push(`rto floor 100 ms: event-loop lag ${Math.round(conditions.loopLagMs)} ms > 50 ms`);
  }

  let rate = limits.maxRateMbps;
  if (conditions.activeSessions >= SHARE_FROM_SESSIONS) {
    rate = Math.max(limits.minRateMbps, limits.maxRateMbps / (conditions.activeSessions + 1));
    reasons.push(`starts at ${Math.round(rate)} Mbit/s: a share of max_rate with ${conditions.activeSessions} other session(s)`);
  }
  if (conditions.lossRatio > 0.05) {
    rate = Math.max(limits.minRateMbps, rate / 2);
    reasons.push('starting rate halved for recent loss');
  }
  return { blksize, rtoMinMs, initialRateMbps: rate, reasons };
}
