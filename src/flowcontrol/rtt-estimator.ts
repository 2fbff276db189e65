// Adaptive retransmission timeout (RFC 1123 4.2.3.2 asks TFTP for one; the arithmetic is RFC 6298's):
// smoothed RTT and variation from samples of blocks sent once (Karn), doubled on each expiry,
// clamped to [min, max]. On a LAN this settles at the floor, so a lost block costs ~10 ms instead
// of the fixed 1-5 s of tftpd-hpa and atftpd. A timeout found spurious (spurious-timeout.ts) makes
// the estimator adopt the delay that caused it, so a busy peer or a busy server backs the timer off
// instead of resending every block it is slow to ACK.

export interface RtoBounds {
  readonly minMs: number;
  readonly maxMs: number;
  readonly initialMs: number;
}

const CLOCK_GRANULARITY_MS = 1;
/** Round trips sampled before their minimum is trusted as the path's floor: the first ones carry
 *  the client's start-up (tftp-hpa's first ACK took 2 ms on a path whose floor was 0.3 ms). */
export const SAMPLES_FOR_FLOOR = 8;

/** The configured bounds, with a negotiated RFC 2349 `timeout` (seconds) as the ceiling of all. */
export function rtoBounds(
  configured: { readonly rtoMinMs: number; readonly rtoMaxMs: number; readonly rtoInitialMs: number },
  negotiatedTimeoutS: number | null,
): RtoBounds {
  const maxMs = negotiatedTimeoutS === null ? configured.rtoMaxMs : Math.min(configured.rtoMaxMs, negotiatedTimeoutS * 1000);
  return {
    minMs: Math.min(configured.rtoMinMs, maxMs),
    maxMs,
    initialMs: Math.min(configured.rtoInitialMs, maxMs),
  };
}

export class RttEstimator {
  private srtt: number | null = null;
  private rttvar = 0;
  private backoff = 1;
  private minRtt: number | null = null;
  private samples = 0;
  /** Raised by spurious timeouts: this peer (or this server) has shown ACK delays that long. */
  private provenDelayFloor = 0;

  constructor(private readonly bounds: RtoBounds) {}

  /** A round trip measured on a packet that was sent exactly once. */
  sample(rttMs: number): void {
    if (this.minRtt === null || rttMs < this.minRtt) this.minRtt = rttMs;
    this.samples++;
    if (this.srtt === null) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs);
      this.srtt = 0.875 * this.srtt + 0.125 * rttMs;
    }
    this.backoff = 1;
  }

  /** The peer made progress: forget the back-off even without a clean sample. */
  progress(): void {
    this.backoff = 1;
  }

  /** The last expiry was spurious: the original's ACK took `rttMs`. Like RFC 4015's response, start
   *  again from that delay (smoothed RTT at least `rttMs`, variation at least half of it, so the
   *  next RTO is at least three times it) and drop the back-off, which guessed at loss. The RTO
   *  also never again drops below twice that delay for this transfer: a peer that stalls once
   *  (firmware busy, a loaded host) stalls again after the estimate has decayed, and each
   *  spurious expiry costs a resent window. A quiet LAN never gets here and keeps the floor. */
  spuriousTimeout(rttMs: number): void {
    this.srtt = Math.max(this.srtt ?? 0, rttMs);
    this.rttvar = Math.max(this.rttvar, rttMs / 2);
    this.provenDelayFloor = Math.max(this.provenDelayFloor, 2 * rttMs);
    this.backoff = 1;
  }

  /** The timer expired: back off exponentially (at most to the ceiling). */
  expired(): void {
    if (this.rtoMs() < this.bounds.maxMs) this.backoff *= 2;
  }

  rtoMs(): number {
    const base =
      this.srtt === null ? this.bounds.initialMs : this.srtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.rttvar);
    // Back off from the clamped value: doubling a sub-floor estimate would stay at the floor.
    return Math.min(this.bounds.maxMs, Math.max(this.bounds.minMs, this.provenDelayFloor, base) * this.backoff);
  }

  /** The RTO never exceeds this (rto_max, or a negotiated timeout). */
  ceilingMs(): number {
    return this.bounds.maxMs;
  }

  smoothedRttMs(): number | null {
    return this.srtt;
  }

  /** The shortest round trip sampled so far. */
  minRttMs(): number | null {
    return this.minRtt;
  }

  /** The shortest round trip, once enough were sampled to take it for the path's floor. */
  floorRttMs(): number | null {
    return this.samples >= SAMPLES_FOR_FLOOR ? this.minRtt : null;
  }
}
