// Address leases for `full` mode. Pure: time comes from an injected wall clock (leases outlive the
// process, so monotonic time will not do) and persistence from a LeaseStore port. Rules:
// - a MAC keeps its address: its own binding (offered or bound), else its reservation, else the
//   address it asks for if free, else the lowest free one;
// - an address bound or offered to one MAC is never given to another until it expires; offers
//   expire after `offer_timeout` (so two clients never get the same one), bindings after the lease;
// - a DECLINEd address is quarantined (someone else is using it), reservations are held for their
//   MAC only, and the serving address is never handed out.
import type { DhcpPoolConfig } from '../config/config-types.js';

export type LeaseState = 'offered' | 'bound' | 'declined';

export interface Lease {
  readonly address: string;
  /** The holder; for a declined address, the MAC that declined it. */
  readonly mac: string;
  readonly pool: string;
  readonly state: LeaseState;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number;
}

export interface LeaseStore {
  load(): Promise<Lease[]>;
  save(leases: readonly Lease[]): Promise<void>;
}

/** How long a declined address is kept out of use (RFC 2131 4.3.3 leaves it to the server). */
export const DECLINE_QUARANTINE_MS = 10 * 60_000;

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

export function prefixMask(prefix: number): string {
  return numberToIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export function inSubnet(address: string, pool: DhcpPoolConfig): boolean {
  const mask = ipv4ToNumber(prefixMask(pool.prefix));
  return ((ipv4ToNumber(address) & mask) >>> 0) === ((ipv4ToNumber(pool.first) & mask) >>> 0);
}

function inRange(address: string, pool: DhcpPoolConfig): boolean {
  const n = ipv4ToNumber(address);
  return n >= ipv4ToNumber(pool.first) && n <= ipv4ToNumber(pool.last);
}

export type RequestVerdict = { readonly ack: true; readonly lease: Lease } | { readonly ack: false; readonly reason: string };

export class LeaseTable {
  private readonly byAddress = new Map<string, Lease>();
  /** The address a MAC holds (offered or bound; declined addresses are nobody's). */
  private readonly addressOfMac = new Map<string, string>();
  /** Where each pool's search for a free address resumes: allocation is amortized O(1) instead of
   *  a scan from the pool's first address per DISCOVER (quadratic on a /16 with 20,000 clients). */
  private readonly cursor = new Map<string, number>();
  /** The earliest expiry in the table: expire() scans only once it has passed. */
  private nextExpiryAt = Infinity;

  constructor(
    private readonly pools: readonly DhcpPoolConfig[],
    private readonly settings: { readonly leaseTimeMs: number; readonly offerTimeoutMs: number; readonly serverAddress: string },
    private readonly now: () => number,
  ) {}

  /** Leases read back at start: only unexpired ones matter. */
  restore(leases: readonly Lease[]): void {
    const t = this.now();
    for (const lease of leases) if (lease.expiresAt > t) this.put(lease);
  }

  all(): Lease[] {
    this.expire();
    return [...this.byAddress.values()].sort((a, b) => ipv4ToNumber(a.address) - ipv4ToNumber(b.address));
  }

  /** The pool serving a link: the one whose subnet holds the relay address, or the serving address. */
  poolFor(linkAddress: string): DhcpPoolConfig | null {
    return this.pools.find((p) => inSubnet(linkAddress, p)) ?? null;
  }

  /** DHCPDISCOVER: an address to offer (held for offer_timeout), or null when the pool is full. */
  offer(mac: string, pool: DhcpPoolConfig, requested: string | null): Lease | null {
    this.expire();
    const address = this.choose(mac, pool, requested);
    if (address === null) return null;
    const current = this.byAddress.get(address);
    // An existing binding of this MAC stays bound (a DISCOVER does not shorten a lease).
    if (current && current.mac === mac && current.state === 'bound') return current;
    const lease: Lease = { address, mac, pool: pool.name, state: 'offered', expiresAt: this.now() + this.settings.offerTimeoutMs };
    this.put(lease);
    return lease;
  }

  /** DHCPREQUEST for `address` (selecting, init-reboot, renewing or rebinding). */
  request(mac: string, pool: DhcpPoolConfig, address: string): RequestVerdict {
    this.expire();
    if (!inSubnet(address, pool)) return { ack: false, reason: `${address} is not on this network` };
    const current = this.byAddress.get(address);
    if (current && current.mac !== mac) return { ack: false, reason: `${address} is held by ${current.mac}` };
    if (!current && !this.usableBy(address, mac, pool)) return { ack: false, reason: `${address} cannot be given to ${mac}` };
    // A MAC holds one address: moving to another frees the old one.
    const previous = this.addressOfMac.get(mac);
    if (previous !== undefined && previous !== address) this.drop(previous);
    const lease: Lease = { address, mac, pool: pool.name, state: 'bound', expiresAt: this.now() + this.settings.leaseTimeMs };
    this.put(lease);
    return { ack: true, lease };
  }

  /** The client found the address in use: quarantine it. */
  decline(mac: string, address: string): boolean {
    const current = this.byAddress.get(address);
    if (!current || current.mac !== mac) return false;
    this.put({ ...current, state: 'declined', expiresAt: this.now() + DECLINE_QUARANTINE_MS });
    return true;
  }

  release(mac: string, address: string): boolean {
    const current = this.byAddress.get(address);
    if (!current || current.mac !== mac || current.state === 'declined') return false;
    this.drop(address);
    return true;
  }

  /** The client chose another server's offer: ours is free again. */
  withdrawOffer(mac: string): void {
    const address = this.addressOfMac.get(mac);
    if (address !== undefined && this.byAddress.get(address)?.state === 'offered') this.drop(address);
  }

  private choose(mac: string, pool: DhcpPoolConfig, requested: string | null): string | null {
    const held = this.addressOfMac.get(mac);
    if (held !== undefined && this.byAddress.get(held)?.pool === pool.name) return held;
    const reserved = pool.reservations.find((r) => r.mac === mac);
    if (reserved && this.isFree(reserved.address)) return reserved.address;
    if (requested !== null && inRange(requested, pool) && this.usableBy(requested, mac, pool)) return requested;
    const first = ipv4ToNumber(pool.first);
    const size = ipv4ToNumber(pool.last) - first + 1;
    const start = this.cursor.get(pool.name) ?? 0;
    for (let i = 0; i < size; i++) {
      const offset = (start + i) % size;
      const address = numberToIpv4(first + offset);
      if (this.usableBy(address, mac, pool)) {
        this.cursor.set(pool.name, (offset + 1) % size);
        return address;
      }
    }
    return null;
  }

  private isFree(address: string): boolean {
    return !this.byAddress.has(address) && address !== this.settings.serverAddress;
  }

  /** Free, and not reserved for another MAC. */
  private usableBy(address: string, mac: string, pool: DhcpPoolConfig): boolean {
    if (!this.isFree(address)) return false;
    const reservation = pool.reservations.find((r) => r.address === address);
    return reservation === undefined || reservation.mac === mac;
  }

  private put(lease: Lease): void {
    const replaced = this.byAddress.get(lease.address);
    if (replaced && this.addressOfMac.get(replaced.mac) === lease.address) this.addressOfMac.delete(replaced.mac);
    this.byAddress.set(lease.address, lease);
    if (lease.state !== 'declined') this.addressOfMac.set(lease.mac, lease.address);
    this.nextExpiryAt = Math.min(this.nextExpiryAt, lease.expiresAt);
  }

  private drop(address: string): void {
    const lease = this.byAddress.get(address);
    if (!lease) return;
    this.byAddress.delete(address);
    if (this.addressOfMac.get(lease.mac) === address) this.addressOfMac.delete(lease.mac);
  }

  private expire(): void {
    const t = this.now();
    if (t < this.nextExpiryAt) return;
    let next = Infinity;
    for (const [address, lease] of this.byAddress) {
      if (lease.expiresAt <= t) this.drop(address);
      else next = Math.min(next, lease.expiresAt);
    }
    this.nextExpiryAt = next;
  }
}
