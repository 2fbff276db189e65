// RFC 1350 read transfer with RFC 2347 OACK, RFC 2348 blksize, RFC 2349 timeout and RFC 7440
// windowsize, as an explicit state machine driven by packets and one timer (protocols.md 2.10).
//
// Loss recovery: an adaptive RTO (rtt-estimator.ts) with go-back-N from the last ACK on expiry.
// Duplicate ACKs never make us resend the current block by themselves (Sorcerer's Apprentice,
// RFC 1123 4.2.3.1) unless they cannot be explained by our own retransmissions, which proves the
// peer re-ACKed on its own timer; then the window is resent once (protocols.md 10.5 b/d).
import { encodeDataHeader, encodeTftp, TftpErrorCode, type TftpOption, type TftpPacket } from '../codec/tftp-packet.js';
import type { TimerHandle } from '../io/ports.js';
import type { BlockProducer } from './block-producer.js';
import { RttEstimator, rtoBounds } from './rtt-estimator.js';
import type { Transfer, TransferContext, TransferOutcome, TransferProgress } from './transfer-types.js';

export type ReadState = 'awaiting-oack-ack' | 'sending' | 'done';

/** Retransmissions of the final block before a silent peer is taken to have it. */
export const FINAL_BLOCK_RETRIES = 5;

export interface ReadTransferOptions {
  readonly filename: string;
  readonly blksize: number;
  readonly windowsize: number;
  readonly timeoutS: number | null;
  readonly oack: readonly TftpOption[] | null;
}

export class ReadTransfer implements Transfer {
  readonly filename: string;
  private state: ReadState;
  private readonly rtt: RttEstimator;
  private readonly startedAt: number;
  private lastHeardAt: number;
  private timer: TimerHandle | null = null;
  /** When the retransmission timer expires; null when disarmed. The clock timer itself is lazy:
   *  re-arming only moves this deadline, and a timer that fires early re-arms for the rest, so a
   *  lock-step transfer does not create and cancel a timer per block. */
  private deadline: number | null = null;
  private wakeAt = Infinity;

  /** Highest block index the peer has acknowledged (0: nothing yet / the OACK). */
  private acked = 0;
  /** Copies of the ACK for `acked` received so far. */
  private ackCopies = 0;
  /** Next block index the pump will send. */
  private nextToSend = 1;
  /** Highest block index ever sent. */
  private maxSent = 0;
  /** Index of the final (short) block, once it has been produced. */
  private finalIndex: number | null = null;
  /** Sends per block index still of interest (index 0 counts OACK sends). */
  private readonly sends = new Map<number, number>();
  private readonly firstSentAt = new Map<number, number>();
  /** The block that already got its one ACK-triggered resend. */
  private resentOnAckFor = -1;
  private finalRetries = 0;

  private bytes = 0;
  private retransmits = 0;
  private pumping = false;
  private pumpAgain = false;

  constructor(
    private readonly ctx: TransferContext,
    private readonly blocks: BlockProducer,
    private readonly options: ReadTransferOptions,
  ) {
    this.filename = options.filename;
    this.state = options.oack ? 'awaiting-oack-ack' : 'sending';
    this.rtt = new RttEstimator(rtoBounds(ctx.timing, options.timeoutS));
    this.startedAt = ctx.clock.now();
    this.lastHeardAt = this.startedAt;
  }

  start(): void {
    if (this.state === 'awaiting-oack-ack') this.sendOack();
    else void this.pump();
  }

  progress(): TransferProgress {
    return {
      state: this.state,
      bytes: this.bytes,
      totalBytes: this.blocks.knownSize,
      retransmits: this.retransmits,
      rtoMs: this.rtt.rtoMs(),
    };
  }

  onDuplicateRequest(): void {
    // protocols.md 10.5 a: the client missed our first answer; resend it, but only while the
    // transfer has not progressed past it.
    if (this.state === 'awaiting-oack-ack') this.sendOack();
    else if (this.state === 'sending' && this.acked === 0 && this.maxSent >= 1) this.resendFrom(1);
  }

  onPacket(packet: TftpPacket): void {
    if (this.state === 'done') return;
    switch (packet.op) {
      case 'ACK':
        this.lastHeardAt = this.ctx.clock.now();
        this.onAck(packet.block);
        return;
      case 'ERROR':
        this.finish('aborted-by-client', `client sent ERROR ${packet.code}: ${packet.message}`);
        return;
      default:
        // DATA, OACK or a request on a read session's TID cannot be explained by delay or
        // duplication (protocols.md 10.5 j).
        this.fail('protocol-error', TftpErrorCode.ILLEGAL_OPERATION, `unexpected ${packet.op} during a read`);
    }
  }

  abort(reason: string): void {
    this.fail('dropped', TftpErrorCode.NOT_DEFINED, reason);
  }

  private onAck(wire: number): void {
    if (this.checkTimeLimit()) return;
    if (this.state === 'awaiting-oack-ack') {
      if (wire !== 0) return; // nothing sent yet that this could acknowledge
      this.sampleRtt(0);
      this.rtt.progress();
      this.state = 'sending';
      this.cancelTimer();
      void this.pump();
      return;
    }
    const index = this.indexOfAck(wire);
    if (index < this.acked) return; // stale (10.5 c)
    if (index === this.acked) {
      this.onDuplicateAck();
      return;
    }
    // New progress.
    this.sampleRtt(index);
    this.rtt.progress();
    this.acked = index;
    this.ackCopies = 1;
    this.finalRetries = 0;
    for (const k of this.sends.keys()) if (k < index) this.sends.delete(k);
    for (const k of this.firstSentAt.keys()) if (k <= index) this.firstSentAt.delete(k);
    this.blocks.forgetBefore(index + 1);
    if (this.finalIndex !== null && index >= this.finalIndex) {
      this.finish('complete', '');
      return;
    }
    if (index < this.maxSent) {
      // RFC 7440 4: an ACK inside the window reports a gap after it; restart the window there.
      // This restart is the one ACK-triggered resend the next block gets (EDK2 repeats the ACK
      // for every out-of-order block of the window: protocols.md 3.5).
      this.resentOnAckFor = index + 1;
      this.nextToSend = index + 1;
    }
    this.cancelTimer();
    void this.pump();
  }

  private onDuplicateAck(): void {
    this.ackCopies++;
    const explained = this.sends.get(this.acked) ?? (this.acked === 0 ? 0 : 1);
    if (this.ackCopies <= explained) return; // answers to our own retransmissions
    const next = this.acked + 1;
    if (this.resentOnAckFor === next || this.maxSent < next) return;
    // The peer re-ACKed on its own timer: what followed `acked` was lost. Resend it once.
    this.resentOnAckFor = next;
    this.resendFrom(next);
  }

  /** The block index an ACK's 16-bit number refers to: the latest sent index with those low bits. */
  private indexOfAck(wire: number): number {
    return this.maxSent - (((this.maxSent & 0xffff) - wire + 0x10000) & 0xffff);
  }

  private sampleRtt(index: number): void {
    const sentAt = this.firstSentAt.get(index);
    if (sentAt !== undefined && this.sends.get(index) === 1) this.rtt.sample(this.ctx.clock.now() - sentAt);
  }

  private resendFrom(index: number): void {
    this.nextToSend = index;
    this.cancelTimer();
    void this.pump();
  }

  /** Sends every block the window allows, in order; re-entrant calls are folded into one loop. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.state === 'sending' && this.windowHasRoom()) {
          const index = this.nextToSend;
          const pending = this.blocks.block(index);
          let data: Buffer;
          if (pending instanceof Promise) {
            data = await pending;
            if (this.state !== 'sending') return;
            if (index !== this.nextToSend) break; // window restarted meanwhile: re-evaluate
          } else data = pending;
          if (data.length < this.options.blksize) this.finalIndex = index;
          this.sendBlock(index, data);
          this.nextToSend = index + 1;
        }
      } while (this.pumpAgain);
      if (this.state === 'sending' && this.deadline === null) this.armTimer();
    } catch (e) {
      this.fail('io-error', TftpErrorCode.NOT_DEFINED, `read failed: ${(e as Error).message}`, 'read error');
    } finally {
      this.pumping = false;
    }
  }

  private windowHasRoom(): boolean {
    if (this.finalIndex !== null && this.nextToSend > this.finalIndex) return false;
    return this.nextToSend <= this.acked + this.options.windowsize;
  }

  private sendBlock(index: number, data: Buffer): void {
    const count = (this.sends.get(index) ?? 0) + 1;
    this.sends.set(index, count);
    if (index > this.maxSent) {
      this.maxSent = index;
      this.bytes += data.length;
      this.firstSentAt.set(index, this.ctx.clock.now());
    } else {
      this.retransmits++;
    }
    this.ctx.socket.send([encodeDataHeader(index), data], this.ctx.peer);
  }

  private sendOack(): void {
    const count = (this.sends.get(0) ?? 0) + 1;
    this.sends.set(0, count);
    if (count === 1) this.firstSentAt.set(0, this.ctx.clock.now());
    else this.retransmits++;
    this.ctx.socket.send(encodeTftp({ op: 'OACK', options: this.options.oack ?? [] }), this.ctx.peer);
    this.cancelTimer();
    this.armTimer();
  }

  private armTimer(): void {
    const rto = this.rtt.rtoMs();
    this.deadline = this.ctx.clock.now() + rto;
    if (this.deadline < this.wakeAt) this.scheduleWake(rto);
  }

  private scheduleWake(ms: number): void {
    this.timer?.cancel();
    this.wakeAt = this.ctx.clock.now() + ms;
    this.timer = this.ctx.clock.setTimer(ms, () => {
      this.timer = null;
      this.wakeAt = Infinity;
      if (this.deadline === null) return;
      const left = this.deadline - this.ctx.clock.now();
      if (left > 0) this.scheduleWake(left);
      else {
        this.deadline = null;
        this.onTimeout();
      }
    });
  }

  private cancelTimer(): void {
    this.deadline = null;
  }

  private stopTimer(): void {
    this.deadline = null;
    this.wakeAt = Infinity;
    this.timer?.cancel();
    this.timer = null;
  }

  private onTimeout(): void {
    if (this.state === 'done' || this.checkTimeLimit()) return;
    const silentMs = this.ctx.clock.now() - this.lastHeardAt;
    if (silentMs >= this.ctx.timing.idleTimeoutMs) {
      this.finish('timeout', `no answer from the client for ${Math.round(silentMs / 1000)} s`);
      return;
    }
    if (this.finalIndex !== null && this.maxSent >= this.finalIndex && this.acked + 1 === this.finalIndex) {
      if (++this.finalRetries > FINAL_BLOCK_RETRIES) {
        this.finish('complete-unconfirmed', 'the client never acknowledged the last block');
        return;
      }
    }
    this.rtt.expired();
    if (this.state === 'awaiting-oack-ack') this.sendOack();
    else this.resendFrom(this.acked + 1); // RFC 7440 4: the next window starts after the last ACK
  }

  private checkTimeLimit(): boolean {
    if (this.ctx.clock.now() - this.startedAt <= this.ctx.timing.maxTransferTimeMs) return false;
    this.fail('time-limit', TftpErrorCode.NOT_DEFINED, 'transfer time limit exceeded');
    return true;
  }

  private fail(outcome: TransferOutcome, code: number, detail: string, toPeer = detail): void {
    if (this.state === 'done') return;
    this.ctx.socket.send(encodeTftp({ op: 'ERROR', code, message: toPeer }), this.ctx.peer);
    this.finish(outcome, detail);
  }

  private finish(outcome: TransferOutcome, detail: string): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.stopTimer();
    this.blocks.close();
    this.ctx.onEnd({
      outcome,
      detail,
      bytes: this.bytes,
      blocks: this.maxSent,
      retransmits: this.retransmits,
      durationMs: this.ctx.clock.now() - this.startedAt,
    });
  }
}
