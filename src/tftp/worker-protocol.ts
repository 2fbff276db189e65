// The messages between the main thread and a transfer worker (transfer-pool.ts, worker-transfers.ts).
// The main thread keeps the request port, admission, the session table and every log line and
// counter; a worker runs negotiated unicast read transfers on TID sockets of its own and reports
// what the main thread needs to keep those consistent. Plain data only (structured clone).
import type { TftpOption } from '../codec/tftp-packet.js';
import type { LogFields, PeerAddress } from '../io/ports.js';
import type { ReadTransferOptions } from './read-transfer.js';
import type { TransferProgress, TransferResult, TransferTiming } from './transfer-types.js';

/** What a worker is started with (`workerData`). */
export interface WorkerStartData {
  readonly workerId: number;
  /** This worker's share of the file chunk cache. */
  readonly cacheBytes: number;
}

/** A negotiated read transfer handed to a worker: the file was resolved (path policy, catalog) and
 *  sized in the main thread; the worker opens exactly `path` and serves it only if it is still the
 *  same version (`identity`), so the size promised in the OACK holds. */
export interface TransferSpec {
  readonly id: number;
  readonly path: string;
  readonly identity: string;
  readonly peer: PeerAddress;
  /** The address the TID socket binds to (`[tftp] listen`). */
  readonly listen: string;
  readonly mode: 'octet' | 'netascii';
  readonly read: ReadTransferOptions & { readonly oack: readonly TftpOption[] | null };
  readonly timing: TransferTiming;
}

export type ToWorker =
  | { readonly type: 'start'; readonly spec: TransferSpec }
  | { readonly type: 'duplicate-request'; readonly id: number }
  | { readonly type: 'abort'; readonly id: number; readonly reason: string }
  | { readonly type: 'abandon'; readonly id: number; readonly reason: string }
  /** The main thread's unsolicited-answer budget allows the ERROR 5 to a stray source. */
  | { readonly type: 'answer-stray'; readonly id: number; readonly to: PeerAddress }
  /** Another thread's transfer to `address` proved an ACK delay (peer-delay-memory.ts). */
  | { readonly type: 'peer-delay'; readonly address: string; readonly delayMs: number };

export interface ProgressItem {
  readonly id: number;
  readonly progress: TransferProgress;
}

export type FromWorker =
  | { readonly type: 'ready' }
  /** Set-up failed before anything was sent (the file vanished or changed, no socket): the main
   *  thread refuses the request as it would have itself. */
  | { readonly type: 'refused'; readonly id: number; readonly tftpCode: number; readonly toClient: string; readonly detail: string }
  /** The peer answered on the TID: its address is real. */
  | { readonly type: 'confirmed'; readonly id: number }
  | { readonly type: 'progress'; readonly items: readonly ProgressItem[] }
  | { readonly type: 'end'; readonly id: number; readonly result: TransferResult }
  /** A datagram from another source reached a transfer's TID. */
  | { readonly type: 'stray'; readonly id: number; readonly from: PeerAddress }
  | { readonly type: 'decode-error'; readonly id: number; readonly code: string; readonly message: string; readonly from: PeerAddress; readonly packetHex: string }
  /** One of this worker's transfers proved an ACK delay: every thread's transfers to the address learn it. */
  | { readonly type: 'peer-delay'; readonly address: string; readonly delayMs: number }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string; readonly fields: LogFields };

/** How often a busy worker reports the progress of its transfers (one message for all of them). */
export const PROGRESS_INTERVAL_MS = 500;
