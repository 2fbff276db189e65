// Hosts found deaf to multicast groups, remembered for `[multicast] deaf_memory` after the last
// finding, so their next request is served by unicast from the start (no gathering, no group
// DATA they would miss). Keyed by address: a host's boot firmware asks again from a new port.
// Bounded: the oldest finding is forgotten first.
import type { Clock } from '../io/ports.js';

/** Hosts remembered at most. */
export const DEAF_HOSTS_CAPACITY = 4096;

export class DeafHosts {
  private readonly foundAt = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly holdMs: () => number,
    private readonly capacity = DEAF_HOSTS_CAPACITY,
  ) {}

  note(address: string): void {
    if (this.holdMs() <= 0) return;
    this.foundAt.delete(address); // re-insert: Map order is finding order
    this.foundAt.set(address, this.clock.now());
    if (this.foundAt.size > this.capacity) this.foundAt.delete(this.foundAt.keys().next().value as string);
  }

  has(address: string): boolean {
    const at = this.foundAt.get(address);
    if (at === undefined) return false;
    if (this.clock.now() - at > this.holdMs()) {
      this.foundAt.delete(address);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.foundAt.size;
  }
}
