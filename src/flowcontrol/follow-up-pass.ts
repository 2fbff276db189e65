// Flow-control rule for PXE MTFTP passes that follow one another: a pass that starts soon after
// the previous pass ended is heard by that pass's listeners (they opened once it went silent:
// they missed its head, or lost blocks in it), and they must not lose blocks again, or each loss
// costs one more pass. atftp 0.8 `--mget` shows why they would: a listener that has seen the last
// (short) block scans its whole block bitmap for every packet it receives (tftp_mtftp.c,
// tftp_mtftp_missed_packet, O(blocks) per packet), while the master of the pass does not, so the
// master's ACK clock outruns every listener of a follow-up pass and their socket buffers overflow
// (measured: 5 clients 2 s apart, 31 MiB, listeners of the second pass lost 150-1644 blocks each
// in bursts of ~40, reopened, and the file went out 3-5 times; paced at half, the listeners of 3
// of 4 follow-up passes lost nothing: 2 passes).
// So such a pass runs at no more than half the rate the previous pass achieved (listeners kept
// up with that one before they knew the file's end), never below `min_rate`; a pass after that
// one halves again only if it too was followed at once (its listeners still lost blocks).

export interface EndedPass {
  /** When its last block went out (or it ended otherwise). */
  readonly endedAt: number;
  /** TFTP DATA bytes over the time it sent, in Mbit/s. */
  readonly achievedMbps: number;
}

/** The rate ceiling of a pass starting at `now`: `maxRateMbps` unless it follows `previous`
 *  within `windowMs` (the openers' listen and reopen delays). */
export function passRateCeilingMbps(previous: EndedPass | null, now: number, windowMs: number, minRateMbps: number, maxRateMbps: number): number {
  if (previous === null || now - previous.endedAt > windowMs || !(previous.achievedMbps > 0)) return maxRateMbps;
  return Math.min(maxRateMbps, Math.max(minRateMbps, previous.achievedMbps / 2));
}

/** What a pass achieved: its DATA bytes over the time from its first block to its end. */
export function achievedMbps(bytesSent: number, sendingMs: number): number {
  return sendingMs > 0 ? (bytesSent * 8) / (sendingMs * 1000) : 0;
}
