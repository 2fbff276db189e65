import type { TftpPacket } from '../codec/tftp-packet.js';
import type { Clock, DatagramSocket, PeerAddress } from '../io/ports.js';
import type { PeerDelayMemory } from '../flowcontrol/peer-delay-memory.js';

export type TransferOutcome =
  | 'complete'
  /** Every block was sent and the peer went quiet before ACKing the last one (dnsmasq also stops
   *  worrying here: some clients never send the final ACK). */
  | 'complete-unconfirmed'
  | 'aborted-by-client'
  | 'timeout'
  | 'time-limit'
  | 'protocol-error'
  | 'io-error'
  | 'dropped'
  /** The peer never answered our first packet (a spoofed source, or gone): ended without an ERROR
   *  after `unconfirmed_timeout`, or evicted to make room under `max_unconfirmed`. */
  | 'unconfirmed';

export interface TransferResult {
  readonly outcome: TransferOutcome;
  readonly detail: string;
  /** Payload bytes transferred once (retransmissions not counted). */
  readonly bytes: number;
  readonly blocks: number;
  readonly retransmits: number;
  /** Timer resends the ACKs later proved needless (the original was not lost, only late). */
  readonly spuriousTimeouts?: number;
  readonly durationMs: number;
}

export interface TransferTiming {
  readonly rtoMinMs: number;
  readonly rtoMaxMs: number;
  readonly rtoInitialMs: number;
  readonly idleTimeoutMs: number;
  readonly maxTransferTimeMs: number;
}

/** What every transfer gets from the server glue: one TID socket talking to one peer. */
export interface TransferContext {
  readonly clock: Clock;
  readonly socket: DatagramSocket;
  readonly peer: PeerAddress;
  readonly timing: TransferTiming;
  /** ACK delays other transfers to the same peer address proved (read transfers only). */
  readonly peerDelay?: PeerDelayMemory;
  readonly onEnd: (result: TransferResult) => void;
}

export interface TransferProgress {
  readonly state: string;
  readonly bytes: number;
  readonly totalBytes: number | null;
  readonly retransmits: number;
  readonly rtoMs: number;
  readonly blksize: number;
}

/** The surface the server glue and the session table use, for reads and writes alike. */
export interface Transfer {
  readonly filename: string;
  start(): void;
  onPacket(packet: TftpPacket): void;
  /** The same request came again (the client did not hear our first answer). */
  onDuplicateRequest(): void;
  /** Ends the transfer with a TFTP ERROR to the peer (operator drop, shutdown). */
  abort(reason: string): void;
  /** Ends the transfer without a word to the peer, which never answered (it may not exist). */
  abandon(reason: string): void;
  progress(): TransferProgress;
}
