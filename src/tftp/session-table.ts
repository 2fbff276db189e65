// Live transfers keyed by the client's IP:port (its TID). A key is reserved while the request is
// still being resolved, so a duplicated RRQ arriving meanwhile cannot open a second session.
//
// An entry is *unconfirmed* until the peer sends anything to the transfer's TID: before that the
// source address may be spoofed (a flooder never hears our answer, so it never ACKs). The table
// keeps unconfirmed entries in arrival order so the server can cap them and evict the oldest, and
// counts entries per client address for the per-client limit.
import type { PeerAddress } from '../io/ports.js';
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

export function peerKey(peer: PeerAddress): string {
  return `${peer.address}|${peer.port}`;
}

export class SessionTable {
  private readonly entries = new Map<string, SessionEntry>();
  /** Entries not yet heard from on their TID, oldest first. */
  private readonly unconfirmed = new Set<SessionEntry>();
  private readonly perAddress = new Map<string, number>();

  get size(): number {
    return this.entries.size;
  }

  get unconfirmedCount(): number {
    return this.unconfirmed.size;
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

  /** The peer answered on the TID: its address is real. */
  confirm(entry: SessionEntry): void {
    this.unconfirmed.delete(entry);
  }

  holds(entry: SessionEntry): boolean {
    return this.entries.get(entry.key) === entry;
  }

  isUnconfirmed(entry: SessionEntry): boolean {
    return this.unconfirmed.has(entry);
  }

  /** The oldest unconfirmed entry, preferring one that `last` does not pick out (those go only
   *  when nothing else is left). */
  oldestUnconfirmed(last: (entry: SessionEntry) => boolean = () => false): SessionEntry | null {
    let fallback: SessionEntry | null = null;
    for (const entry of this.unconfirmed) {
      if (!last(entry)) return entry;
      fallback ??= entry;
    }
    return fallback;
  }

  remove(entry: SessionEntry): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    this.unconfirmed.delete(entry);
    const n = this.countFor(entry.peer.address) - 1;
    if (n > 0) this.perAddress.set(entry.peer.address, n);
    else this.perAddress.delete(entry.peer.address);
  }

  all(): SessionEntry[] {
    return [...this.entries.values()];
  }
}
