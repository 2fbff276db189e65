// Flow-control mechanism 3, QoS (protocols.md 10.3): a new multicast session's block size, timeout
// floor and starting rate follow the resource conditions the server measures when it is created:
// recent loss caps the block size (and halves the starting rate), event-loop lag raises the
// retransmission-timeout floor, and sessions already running share `max_rate`. A file that does
// not fit 65535 blocks at the client's block size is multicast with block numbers wrapping past
// 65535 only when `[multicast] rollover` allows it; otherwise it is not multicast at all.

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
 * when the file needs more than 65535 blocks within the client's block size and `rollover` is
 * off. A block size that makes the file fit is still preferred: a wrap costs every member a check
 * (wrap-position.ts), and clients that cannot follow one (atftp 0.8) lose the transfer.
 */
export function chooseSessionParameters(
  requestedBlksize: number | undefined,
  fileSize: number,
  limits: { readonly maxBlksize: number; readonly rtoMinMs: number; readonly maxRateMbps: number; readonly minRateMbps: number; readonly rollover?: boolean },
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
  const fits = needed <= Math.min(asked, limits.maxBlksize);
  if (!fits && limits.rollover !== true) return null;
  let blksize = Math.max(8, cap);
  if (!fits) {
    reasons.push(`block numbers wrap past ${MULTICAST_MAX_BLOCKS}: ${Math.floor(fileSize / blksize) + 1} blocks`);
  } else if (blksize < needed) {
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
