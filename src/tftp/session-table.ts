// Live transfers keyed by the client's IP:port (its TID). A key is reserved while the request is
// still being resolved, so a duplicated RRQ arriving meanwhile cannot open a second session.
//
// An entry is *unconfirmed* until the peer sends anything to the transfer's TID (a multicast
// member: to the session port): before that the source address may be spoofed (a flooder never
// hears our answer, so it never ACKs). The table keeps unconfirmed entries in arrival order so the
// server can cap them and evict the oldest, and counts entries per client address for the
// per-client limit. Unconfirmed multicast members are kept apart and capped on their own: a real
// listener may rightly stay silent while a real unicast client answers within one RTT, and forged
// requests of one kind must not push out real clients of the other.
import { peerKey, type PeerAddress } from '../io/ports.js';
import type { Transfer } from './transfer-types.js';

export interface SessionEntry {
  readonly key: string;
  readonly peer: PeerAddress;
  readonly op: 'RRQ' | 'WRQ';
  readonly filename: string;
  readonly mode: string;
  readonly startedAt: number;
  transfer: Transfer | null;
}

/** Sets keep insertion order: the first entry is the oldest. */
const oldest = (set: Set<SessionEntry>): SessionEntry | null => set.values().next().value ?? null;

export class SessionTable {
  private readonly entries = new Map<string, SessionEntry>();
  /** Entries not yet heard from on their TID, oldest first. */
  private readonly unconfirmed = new Set<SessionEntry>();
  /** The same for multicast members. */
  private readonly unconfirmedMembers = new Set<SessionEntry>();
  private readonly perAddress = new Map<string, number>();

  get size(): number {
    return this.entries.size;
  }

  get unconfirmedCount(): number {
    return this.unconfirmed.size + this.unconfirmedMembers.size;
  }

  get(peer: PeerAddress): SessionEntry | undefined {
    return this.entries.get(peerKey(peer));
  }

  /** Transfers of one client address (all its ports). */
  countFor(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  reserve(entry: Omit<SessionEntry, 'key' | 'transfer'>): SessionEntry {
    const full: SessionEntry = { ...entry, key: peerKey(entry.peer), transfer: null };
    this.entries.set(full.key, full);
    this.unconfirmed.add(full);
    this.perAddress.set(full.peer.address, this.countFor(full.peer.address) + 1);
    return full;
  }

  /** The entry is a multicast member: if unconfirmed, it counts against the members' cap. */
  markMember(entry: SessionEntry): void {
    if (this.unconfirmed.delete(entry)) this.unconfirmedMembers.add(entry);
  }

  /** The peer answered on the TID: its address is real. */
  confirm(entry: SessionEntry): void {
    this.unconfirmed.delete(entry);
    this.unconfirmedMembers.delete(entry);
  }

  holds(entry: SessionEntry): boolean {
    return this.entries.get(entry.key) === entry;
  }

  isUnconfirmed(entry: SessionEntry): boolean {
    return this.unconfirmed.has(entry) || this.unconfirmedMembers.has(entry);
  }

  /** The oldest unconfirmed entry of a kind that has reached `cap` entries, if any. */
  oldestUnconfirmedOverCap(cap: number): SessionEntry | null {
    if (this.unconfirmed.size >= cap) return oldest(this.unconfirmed);
    if (this.unconfirmedMembers.size >= cap) return oldest(this.unconfirmedMembers);
    return null;
  }

  /** The oldest unconfirmed entry, multicast members last. */
  oldestUnconfirmed(): SessionEntry | null {
    return oldest(this.unconfirmed) ?? oldest(this.unconfirmedMembers);
  }

  remove(entry: SessionEntry): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    this.unconfirmed.delete(entry);
    this.unconfirmedMembers.delete(entry);
    const n = this.countFor(entry.peer.address) - 1;
    if (n > 0) this.perAddress.set(entry.peer.address, n);
    else this.perAddress.delete(entry.peer.address);
  }

  all(): SessionEntry[] {
    return [...this.entries.values()];
  }
}
