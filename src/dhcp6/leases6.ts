// IPv6 address leases for `[dhcp6] mode = stateful`. Pure: time comes from an injected wall
// clock, persistence from a Lease6Store port. The same rules as the DHCPv4 table (dhcp/leases.ts):
// - a client's IA (DUID + IAID) keeps its address: its own binding or advertisement, else the address
//   it asks for when that is free, else the lowest free one;
// - an address bound or advertised to one IA is never given to another until it expires;
//   advertisements expire after `offer_timeout`, bindings after the lease;
// - a DECLINEd address is quarantined, and the serving address is never handed out;
// - an advertisement is tentative: when the pool is full, the oldest one is reclaimed, so a SOLICIT
//   flood from made-up DUIDs cannot hold the pool.
// Only bindings and quarantines are persisted; advertisements live `offer_timeout` at most.
import { formatIpv6, parseIpv6 } from '../codec/dhcp6-message.js';

export type { Lease6, Lease6Load, Lease6State, Lease6Store } from '../io/ports.js';
import type { Lease6 } from '../io/ports.js';

export const DECLINE6_QUARANTINE_MS = 10 * 60_000;

export interface Lease6Settings {
  readonly first: string;
  readonly last: string;
  readonly leaseTimeMs: number;
  readonly offerTimeoutMs: number;
  readonly serverAddress: string;
}

const iaKey = (duid: string, iaid: number) => `${duid}/${iaid}`;

export class Lease6Table {
  private readonly prefix: Buffer;
  private readonly low: bigint;
  private readonly high: bigint;
  private readonly byAddress = new Map<string, Lease6>();
  private readonly byIa = new Map<string, Lease6>();

  constructor(
    private readonly settings: Lease6Settings,
    private readonly now: () => number,
  ) {
    const first = parseIpv6(settings.first);
    this.prefix = first.subarray(0, 8);
    this.low = first.readBigUInt64BE(8);
    this.high = parseIpv6(settings.last).readBigUInt64BE(8);
  }

  /** True when `address` lies in the pool's /64 (RFC 8415 18.3.3 CONFIRM: on-link). */
  onLink(address: string): boolean {
    try {
      return parseIpv6(address).subarray(0, 8).equals(this.prefix);
    } catch {
      return false;
    }
  }

  restore(leases: readonly Lease6[]): void {
    for (const l of leases) if (l.state !== 'advertised' && this.inPool(l.address)) this.put(l);
  }

  /** Bindings and quarantines, for the store. */
  persistent(): Lease6[] {
    this.expire();
    return [...this.byAddress.values()].filter((l) => l.state !== 'advertised');
  }

  all(): Lease6[] {
    this.expire();
    return [...this.byAddress.values()];
  }

  /** An address to advertise to this IA, held for offer_timeout; null when the pool is full. */
  advertise(duid: string, iaid: number, mac: string | null, hint: string | null): Lease6 | null {
    const own = this.ownOf(duid, iaid);
    if (own?.state === 'bound') return own;
    const address = own?.address ?? this.pick(duid, iaid, hint);
    if (address === null) return null;
    return this.put({ address, duid, iaid, mac, state: 'advertised', expiresAt: this.now() + this.settings.offerTimeoutMs });
  }

  /** Binds (REQUEST, RENEW, REBIND): the IA's own address, else `hint` if free, else a new one. */
  bind(duid: string, iaid: number, mac: string | null, hint: string | null): Lease6 | null {
    const own = this.ownOf(duid, iaid);
    const address = own?.address ?? this.pick(duid, iaid, hint);
    if (address === null) return null;
    return this.put({ address, duid, iaid, mac, state: 'bound', expiresAt: this.now() + this.settings.leaseTimeMs });
  }

  /** The IA's current binding (RENEW without creating one). */
  bindingOf(duid: string, iaid: number): Lease6 | null {
    const own = this.ownOf(duid, iaid);
    return own?.state === 'bound' ? own : null;
  }

  release(duid: string, iaid: number, address: string): boolean {
    const own = this.ownOf(duid, iaid);
    if (own === null || own.address !== address) return false;
    this.remove(own);
    return true;
  }

  decline(duid: string, iaid: number, address: string): boolean {
    const own = this.ownOf(duid, iaid);
    if (own === null || own.address !== address) return false;
    this.remove(own);
    // Quarantined under no IA: the client gets another address next time.
    this.byAddress.set(address, { address, duid, iaid: -1, mac: own.mac, state: 'declined', expiresAt: this.now() + DECLINE6_QUARANTINE_MS });
    return true;
  }

  private ownOf(duid: string, iaid: number): Lease6 | null {
    const l = this.byIa.get(iaKey(duid, iaid));
    if (l === undefined) return null;
    if (l.expiresAt <= this.now()) {
      this.remove(l);
      return null;
    }
    return l;
  }

  private inPool(address: string): boolean {
    try {
      const b = parseIpv6(address);
      const n = b.readBigUInt64BE(8);
      return b.subarray(0, 8).equals(this.prefix) && n >= this.low && n <= this.high;
    } catch {
      return false;
    }
  }

  private isFree(address: string): boolean {
    if (address === this.settings.serverAddress) return false;
    const held = this.byAddress.get(address);
    if (held === undefined) return true;
    if (held.expiresAt <= this.now()) {
      this.remove(held);
      return true;
    }
    return false;
  }

  private pick(duid: string, iaid: number, hint: string | null): string | null {
    if (hint !== null) {
      const canonical = this.canonical(hint);
      if (canonical !== null && this.inPool(canonical) && this.isFree(canonical)) return canonical;
    }
    const size = Number(this.high - this.low + 1n);
    if (this.byAddress.size < size + 1) {
      for (let n = this.low; n <= this.high; n++) {
        const address = this.addressAt(n);
        if (this.isFree(address)) return address;
      }
    }
    // Full: reclaim the oldest advertisement to another IA (flood resistance).
    let oldest: Lease6 | null = null;
    for (const l of this.byAddress.values()) {
      if (l.state === 'advertised' && iaKey(l.duid, l.iaid) !== iaKey(duid, iaid) && (oldest === null || l.expiresAt < oldest.expiresAt)) oldest = l;
    }
    if (oldest === null) return null;
    this.remove(oldest);
    return oldest.address;
  }

  private addressAt(n: bigint): string {
    const b = Buffer.alloc(16);
    this.prefix.copy(b, 0);
    b.writeBigUInt64BE(n, 8);
    return formatIpv6(b);
  }

  private canonical(text: string): string | null {
    try {
      return formatIpv6(parseIpv6(text));
    } catch {
      return null;
    }
  }

  private put(l: Lease6): Lease6 {
    const previous = this.byIa.get(iaKey(l.duid, l.iaid));
    if (previous && previous.address !== l.address) this.byAddress.delete(previous.address);
    this.byAddress.set(l.address, l);
    this.byIa.set(iaKey(l.duid, l.iaid), l);
    return l;
  }

  private remove(l: Lease6): void {
    if (this.byAddress.get(l.address) === l) this.byAddress.delete(l.address);
    const key = iaKey(l.duid, l.iaid);
    if (this.byIa.get(key) === l) this.byIa.delete(key);
  }

  private expire(): void {
    const now = this.now();
    for (const l of [...this.byAddress.values()]) if (l.expiresAt <= now) this.remove(l);
  }
}
