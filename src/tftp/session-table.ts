// Live transfers keyed by the client's IP:port (its TID). A key is reserved while the request is
// still being resolved, so a duplicated RRQ arriving meanwhile cannot open a second session.
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

  get size(): number {
    return this.entries.size;
  }

  get(peer: PeerAddress): SessionEntry | undefined {
    return this.entries.get(peerKey(peer));
  }

  reserve(entry: Omit<SessionEntry, 'key' | 'transfer'>): SessionEntry {
    const full: SessionEntry = { ...entry, key: peerKey(entry.peer), transfer: null };
    this.entries.set(full.key, full);
    return full;
  }

  remove(entry: SessionEntry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  all(): SessionEntry[] {
    return [...this.entries.values()];
  }
}
