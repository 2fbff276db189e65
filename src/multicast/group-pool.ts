// The (group, port) pairs RFC 2090 sessions draw from. No two live sessions share a pair; pairs
// are handed out round-robin so a pair just released is not reused at once (stragglers of the
// old session may still be listening on it).
import { ipv4ToNumber, numberToIpv4 } from '../codec/ipv4.js';

export interface GroupPort {
  readonly group: string;
  readonly port: number;
}

export class GroupPool {
  private readonly first: number;
  private readonly groups: number;
  private readonly ports: number;
  private readonly inUse = new Set<string>();
  private cursor = 0;

  constructor(
    groupFirst: string,
    groupLast: string,
    private readonly portFirst: number,
    portLast: number,
  ) {
    this.first = ipv4ToNumber(groupFirst);
    this.groups = ipv4ToNumber(groupLast) - this.first + 1;
    this.ports = portLast - portFirst + 1;
  }

  get size(): number {
    return this.groups * this.ports;
  }

  get used(): number {
    return this.inUse.size;
  }

  /** A free pair, or null when the pool is exhausted (the caller then serves unicast). */
  allocate(): GroupPort | null {
    for (let tried = 0; tried < this.size; tried++) {
      const slot = (this.cursor + tried) % this.size;
      const pair = { group: numberToIpv4(this.first + (slot % this.groups)), port: this.portFirst + Math.floor(slot / this.groups) };
      const key = `${pair.group}:${pair.port}`;
      if (this.inUse.has(key)) continue;
      this.inUse.add(key);
      this.cursor = (slot + 1) % this.size;
      return pair;
    }
    return null;
  }

  release(pair: GroupPort): void {
    this.inUse.delete(`${pair.group}:${pair.port}`);
  }
}
