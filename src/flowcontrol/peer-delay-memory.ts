// ACK delays proven by spurious timeouts, shared by every transfer to the same peer address for a
// while (RFC 2140 "ensemble sharing": TCP caches path metrics per destination the same way). A host
// whose clients stalled past the RTO (a firmware busy, 200 clients on one machine) is slow for all
// its transfers: without this, each of them pays its own first spurious timeout (one duplicate
// block, or a window) before its estimator learns. A quiet LAN never reports anything here and
// keeps `rto_min`.
import type { Clock } from '../io/ports.js';

/** How long a proven delay is remembered after the last report. */
export const PEER_DELAY_HOLD_MS = 30_000;
/** Addresses remembered at most (the oldest report is forgotten first). */
export const PEER_DELAY_CAPACITY = 4096;

export class PeerDelayMemory {
  private readonly floors = new Map<string, { floorMs: number; at: number }>();

  constructor(private readonly clock: Clock) {}

  /** A transfer to `address` proved that an ACK took `delayMs`: timeouts below twice that are spurious. */
  noteSpurious(address: string, delayMs: number): void {
    const now = this.clock.now();
    const floorMs = Math.max(2 * delayMs, this.floorMs(address));
    this.floors.delete(address); // re-insert: Map order is report order
    this.floors.set(address, { floorMs, at: now });
    if (this.floors.size > PEER_DELAY_CAPACITY) this.floors.delete(this.floors.keys().next().value as string);
  }

  /** The lowest RTO worth using toward `address` now (0: nothing known). */
  floorMs(address: string): number {
    const entry = this.floors.get(address);
    if (!entry) return 0;
    if (this.clock.now() - entry.at > PEER_DELAY_HOLD_MS) {
      this.floors.delete(address);
      return 0;
    }
    return entry.floorMs;
  }
}
