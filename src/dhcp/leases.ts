// Address leases for `full` mode. Pure: time comes from an injected wall clock (leases outlive the
// process, so monotonic time will not do) and persistence from a LeaseStore port. Rules:
// - a MAC keeps its address: its own binding (offered or bound), else its reservation, else the
//   address it asks for if free, else the lowest free one;
// - an address bound or offered to one MAC is never given to another until it expires; offers
//   expire after `offer_timeout` (so two clients never get the same one), bindings after the lease;
// - a DECLINEd address is quarantined (someone else is using it), reservations are held for their
//   MAC only, and the serving address is never handed out;
// - an offer is tentative, a binding is a promise: when a pool has no free address left, the
//   oldest unrequested offer is reclaimed for the new DISCOVER, so a flood of DISCOVERs from made-up
//   MACs (which never REQUEST) cannot hold the pool for `offer_timeout`. The MAC it was reclaimed
//   from keeps a claim: if it REQUESTs that address while it is still only offered, it gets it back
//   (the newer offeree is NAKed when it REQUESTs, and starts over).
// Work per message is bounded: no scan of the pool when it is full (counters), offers expire from
// the head of an oldest-first queue, reservations are looked up in maps.
import { ipv4ToNumber, numberToIpv4, subnetOf } from '../codec/ipv4.js';
import type { DhcpPoolConfig } from '../config/config-types.js';
import type { Lease, LeaseChange } from '../io/ports.js';

export type { Lease, LeaseChange, LeaseFileDamage, LeaseLoad, LeaseState, LeaseStore } from '../io/ports.js';

/** How long a declined address is kept out of use (RFC 2131 4.3.3 leaves it to the server). */
export const DECLINE_QUARANTINE_MS = 10 * 60_000;

export function inSubnet(address: string, pool: DhcpPoolConfig): boolean {
  return subnetOf(address, pool.prefix) === subnetOf(pool.first, pool.prefix);
}

function inRange(address: string, pool: DhcpPoolConfig): boolean {
  const n = ipv4ToNumber(address);
  return n >= ipv4ToNumber(pool.first) && n <= ipv4ToNumber(pool.last);
}

export type RequestVerdict = { readonly ack: true; readonly lease: Lease } | { readonly ack: false; readonly reason: string };

/** Per-pool bookkeeping that keeps every operation O(1) amortised. */
interface PoolIndex {
  readonly pool: DhcpPoolConfig;
  readonly first: number;
  readonly size: number;
  readonly reservedByAddress: ReadonlyMap<string, string>;
  readonly reservedByMac: ReadonlyMap<string, string>;
  /** Addresses any MAC may be given: in range, not reserved, not the server's. */
  readonly openCapacity: number;
  /** Leases on such addresses. */
  openTaken: number;
  /** Live offers of this pool, oldest first (all expire offer_timeout after they were made). */
  readonly offers: Map<string, Lease>;
  /** Where the search for a free address resumes: round-robin, amortised O(1). */
  cursor: number;
}

export class LeaseTable {
  private readonly byAddress = new Map<string, Lease>();
  /** The address a MAC holds (offered or bound; declined addresses are nobody's). */
  private readonly addressOfMac = new Map<string, string>();
  private readonly index = new Map<string, PoolIndex>();
  /** Reclaimed offers: address -> the MAC it was offered to first (bounded by the pools' sizes). */
  private readonly reclaimedFrom = new Map<string, string>();
  private readonly maxReclaimed: number;
  /** Offers reclaimed for another MAC since start (a DISCOVER flood shows here). */
  reclaimedOffers = 0;
  /** The earliest expiry of a binding or quarantine: expire() scans only once it has passed. */
  private nextExpiryAt = Infinity;
  /** Bindings and quarantines made or ended since takeChanges(), by address (offers are not
   *  stored: their clients DISCOVER again after a restart). */
  private changes = new Map<string, Lease | null>();

  constructor(
    private readonly pools: readonly DhcpPoolConfig[],
    private readonly settings: { readonly leaseTimeMs: number; readonly offerTimeoutMs: number; readonly serverAddress: string },
    private readonly now: () => number,
  ) {
    for (const pool of pools) {
      const first = ipv4ToNumber(pool.first);
      const size = ipv4ToNumber(pool.last) - first + 1;
      const reservedByAddress = new Map(pool.reservations.filter((r) => inRange(r.address, pool)).map((r) => [r.address, r.mac]));
      const reservedByMac = new Map(pool.reservations.map((r) => [r.mac, r.address]));
      const serverInRange = inRange(settings.serverAddress, pool) && !reservedByAddress.has(settings.serverAddress);
      this.index.set(pool.name, {
        pool,
        first,
        size,
        reservedByAddress,
        reservedByMac,
        openCapacity: size - reservedByAddress.size - (serverInRange ? 1 : 0),
        openTaken: 0,
        offers: new Map(),
        cursor: 0,
      });
    }
    this.maxReclaimed = Math.max(1, Math.min(65_536, pools.reduce((n, p) => n + ipv4ToNumber(p.last) - ipv4ToNumber(p.first) + 1, 0)));
  }

  /** Leases read back at start: only unexpired bindings and quarantines (offers are not kept:
   *  their clients DISCOVER again). */
  restore(leases: readonly Lease[]): void {
    const t = this.now();
    for (const lease of leases) if (lease.expiresAt > t && lease.state !== 'offered') this.put(lease);
    this.changes.clear(); // they are on disk already
  }

  /** What to store: the bindings and quarantines made or ended since the last call. Expiries are
   *  not changes (an expired lease is dropped when it is read back). */
  takeChanges(): LeaseChange[] {
    const taken = [...this.changes].map(([address, lease]) => ({ address, lease }));
    this.changes.clear();
    return taken;
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
    const address = this.choose(mac, pool, requested) ?? this.reclaimOldestOffer(mac, pool);
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
    // RFC 2131 4.3.2: an authoritative server NAKs an address it would not give. Only the pool's
    // range is given, plus a MAC's own reservation (which may lie outside the range).
    if (!inRange(address, pool) && this.index.get(pool.name)?.reservedByMac.get(mac) !== address) {
      return { ack: false, reason: `${address} is outside the pool ${pool.first}-${pool.last}` };
    }
    let current = this.byAddress.get(address);
    if (current && current.mac !== mac && current.state === 'offered' && this.reclaimedFrom.get(address) === mac) {
      // Its offer was reclaimed for a newer DISCOVER that has not REQUESTed yet: the first
      // offeree has the better claim.
      this.drop(address);
      current = undefined;
    }
    if (current && current.mac !== mac) return { ack: false, reason: `${address} is held by ${current.mac}` };
    if (!current && !this.usableBy(address, mac, pool)) return { ack: false, reason: `${address} cannot be given to ${mac}` };
    // A MAC holds one address: moving to another frees the old one.
    const previous = this.addressOfMac.get(mac);
    if (previous !== undefined && previous !== address) this.drop(previous);
    this.reclaimedFrom.delete(address);
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
    const idx = this.index.get(pool.name);
    if (!idx) return null;
    const reserved = idx.reservedByMac.get(mac);
    if (reserved !== undefined && this.isFree(reserved)) return reserved;
    if (requested !== null && inRange(requested, pool) && this.usableBy(requested, mac, pool)) return requested;
    if (idx.openTaken >= idx.openCapacity) return null; // full: no scan
    for (let i = 0; i < idx.size; i++) {
      const offset = (idx.cursor + i) % idx.size;
      const address = numberToIpv4(idx.first + offset);
      if (this.usableBy(address, mac, pool)) {
        idx.cursor = (offset + 1) % idx.size;
        return address;
      }
    }
    return null;
  }

  /** The pool is full: the oldest offer nobody REQUESTed yet goes to `mac` instead. */
  private reclaimOldestOffer(mac: string, pool: DhcpPoolConfig): string | null {
    const idx = this.index.get(pool.name);
    if (!idx) return null;
    for (const [address, lease] of idx.offers) {
      if (lease.mac === mac) continue; // (its own offer would have been chosen already)
      this.drop(address);
      this.reclaimedFrom.delete(address);
      this.reclaimedFrom.set(address, lease.mac);
      if (this.reclaimedFrom.size > this.maxReclaimed) this.reclaimedFrom.delete(this.reclaimedFrom.keys().next().value!);
      this.reclaimedOffers++;
      return address;
    }
    return null;
  }

  private isFree(address: string): boolean {
    return !this.byAddress.has(address) && address !== this.settings.serverAddress;
  }

  /** Free, and not reserved for another MAC. */
  private usableBy(address: string, mac: string, pool: DhcpPoolConfig): boolean {
    if (!this.isFree(address)) return false;
    const holder = this.index.get(pool.name)?.reservedByAddress.get(address);
    return holder === undefined || holder === mac;
  }

  /** The pool index a lease counts in, and whether its address is an open one. */
  private indexOf(lease: Lease): { idx: PoolIndex; open: boolean } | null {
    const idx = this.index.get(lease.pool);
    if (!idx) return null;
    const open = inRange(lease.address, idx.pool) && !idx.reservedByAddress.has(lease.address) && lease.address !== this.settings.serverAddress;
    return { idx, open };
  }

  private put(lease: Lease): void {
    if (this.byAddress.has(lease.address)) this.drop(lease.address);
    if (lease.state !== 'offered') this.changes.set(lease.address, lease);
    this.byAddress.set(lease.address, lease);
    if (lease.state !== 'declined') this.addressOfMac.set(lease.mac, lease.address);
    const at = this.indexOf(lease);
    if (at?.open) at.idx.openTaken++;
    if (lease.state === 'offered') at?.idx.offers.set(lease.address, lease);
    else this.nextExpiryAt = Math.min(this.nextExpiryAt, lease.expiresAt);
  }

  private drop(address: string, expired = false): void {
    const lease = this.byAddress.get(address);
    if (!lease) return;
    if (lease.state !== 'offered' && !expired) this.changes.set(address, null);
    this.byAddress.delete(address);
    if (this.addressOfMac.get(lease.mac) === address) this.addressOfMac.delete(lease.mac);
    const at = this.indexOf(lease);
    if (at?.open) at.idx.openTaken--;
    at?.idx.offers.delete(address);
  }

  private expire(): void {
    const t = this.now();
    // Offers: oldest first, so only the expired head is touched.
    for (const idx of this.index.values()) {
      for (const [address, lease] of idx.offers) {
        if (lease.expiresAt > t) break;
        this.drop(address);
      }
    }
    if (t < this.nextExpiryAt) return;
    let next = Infinity;
    for (const [address, lease] of this.byAddress) {
      if (lease.state === 'offered') continue;
      if (lease.expiresAt <= t) this.drop(address, true);
      else next = Math.min(next, lease.expiresAt);
    }
    this.nextExpiryAt = next;
  }
}
