// Flow-control mechanism 5, resend the most recent packet on an unexpected packet (protocols.md
// 10.5): a packet that shows a peer is waiting (a stray ACK, an ACK from a listener, a repeated
// open, a packet from a non-member) is a hint that our last packet to it was lost, so the most
// recent packet goes again: the current DATA block to the master or group, the OACK to a listener.
// Rate-limited so that it cannot be used to amplify: at most one resend per interval (half an RTO
// for DATA, one RTO for a listener's OACK), and a listener that keeps ACKing after MAX_STRAY_ACKS
// repeated OACKs is dropped.

/** OACK mc=0 answers to a member's stray ACKs before it is dropped (protocols.md 10.5 g, S5). */
export const MAX_STRAY_ACKS = 5;

/** Whether a resend may go now: the last one went at `lastAt` (-Infinity: never). */
export function decideResend(now: number, lastAt: number, minIntervalMs: number): boolean {
  return now - lastAt >= minIntervalMs;
}

export type ListenerAckDecision = 'resend-oack' | 'drop-member' | 'rate-limited';

/** A listener (not the master) ACKs after it has been heard from: its most recent packet from us
 *  was an OACK mc=0. `strayAcks` counts the repeats it already drew. */
export function decideListenerAck(mayResend: boolean, strayAcks: number): ListenerAckDecision {
  if (!mayResend) return 'rate-limited';
  return strayAcks + 1 > MAX_STRAY_ACKS ? 'drop-member' : 'resend-oack';
}

/** At most one resend per `intervalMs` (read at each event: it follows the RTO). */
export class ResendLimiter {
  private last = -Infinity;
  constructor(private readonly intervalMs: () => number) {}
  allow(now: number): boolean {
    if (!decideResend(now, this.last, this.intervalMs())) return false;
    this.last = now;
    return true;
  }
}
