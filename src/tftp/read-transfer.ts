// RFC 1350 read transfer with RFC 2347 OACK, RFC 2348 blksize, RFC 2349 timeout and RFC 7440
// windowsize, as an explicit state machine driven by packets and one timer (protocols.md 2.10).
//
// Loss recovery: an adaptive RTO (rtt-estimator.ts) with go-back-N from the last ACK on expiry.
// Queueing inside pxecast must never look like loss: round trips and the timer start when a block
// really left (the socket's send completion), an expiry waits until the ACKs already received are
// read (lazy-timer.ts), and a resend the ACKs prove needless backs the timer off
// (spurious-timeout.ts).
// Per packet the hot path allocates little: DATA goes out as [header, slice of the cached chunk],
// one send completion is asked for per burst (the socket sends in order, so when the last block
// of a burst left, all did), the clock is read once per ACK, and the pump is synchronous unless a
// block must be read from disk. After a window expired, windows bigger than a receiver's buffer
// can take at once leave in sub-bursts one timer tick apart for a while (window-bursts.ts).
// Duplicate ACKs never make us resend the current block by themselves (Sorcerer's Apprentice,
// RFC 1123 4.2.3.1) unless they cannot be explained by our own retransmissions, which proves the
// peer re-ACKed on its own timer; then the window is resent once (protocols.md 10.5 b/d).
//
// Quiet period (windowed transfers): when the ACK of a whole window is lost, the receiver already
// holds every block we resend. atftp 0.8 answers the first such block with one extra ACK and
// drops the rest, and each dropped block restarts its own 5 s timer: if that extra ACK is lost
// too, nobody ever ACKs again until our idle timeout. So after QUIET_AFTER_EXPIRIES expiries in a
// row we go silent for QUIET_MS between resends, long enough for such a receiver's timer to fire.
// Only 5 s of silence (or the block after the window) makes atftp ACK again, so the stall costs
// our resends before the silence plus 5 s: 4 expiries (150 ms at the floor) instead of 8 (5.1 s)
// cut the 20% loss download's worst case from over 45 s to 28 s in 8 runs each.
import { encodeDataHeader, encodeTftp, TftpErrorCode, type TftpOption, type TftpPacket } from '../codec/tftp-packet.js';
import type { BlockProducer } from './block-producer.js';
import { AckAccounting } from '../flowcontrol/ack-accounting.js';
import { LazyTimer } from './lazy-timer.js';
import { RttEstimator, rtoBounds } from '../flowcontrol/rtt-estimator.js';
import { SpuriousTimeoutCheck } from '../flowcontrol/spurious-timeout.js';
import { SUB_BURST_GAP_MS, WindowBursts } from '../flowcontrol/window-bursts.js';
import type { TimerHandle } from '../io/ports.js';
import type { Transfer, TransferContext, TransferOutcome, TransferProgress } from './transfer-types.js';

export type ReadState = 'awaiting-oack-ack' | 'sending' | 'done';

/** Retransmissions of the final block before a silent peer is taken to have it. */
export const FINAL_BLOCK_RETRIES = 5;
/** Window expiries in a row (no new ACK) after which resends are spaced by QUIET_MS. */
export const QUIET_AFTER_EXPIRIES = 4;
/** Longer than the receive timeouts clients retry on (atftp and tftp-hpa 5 s): waits this long
 *  leave the next retry to the client. */
export const QUIET_MS = 6000;

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
  private readonly timer: LazyTimer;

  /** Highest block index the peer has acknowledged (0: nothing yet / the OACK). */
  private acked = 0;
  /** Next block index the pump will send. */
  private nextToSend = 1;
  /** Highest block index ever sent. */
  private maxSent = 0;
  /** Index of the final (short) block, once it has been produced. */
  private finalIndex: number | null = null;
  private readonly acks = new AckAccounting();
  /** When each unacknowledged block (0: the OACK) first left the process. */
  private readonly firstSentAt = new Map<number, number>();
  /** Blocks handed to the socket whose send completion is still to come, in order (0: the OACK). */
  private readonly leaving: number[] = [];
  /** Per completion still to come, how many of `leaving` it covers (a burst, in order). */
  private readonly bursts: number[] = [];
  /** Sent since the last send that asked for a completion. */
  private burstLength = 0;
  private readonly onLeft = (): void => this.burstLeft();
  /** The block the pump took last, sent when the next one is taken or the burst ends. */
  private heldIndex = 0;
  private heldData: Buffer | null = null;
  private readonly onBlockRead = (data: Buffer): void => this.resumePump(data);
  private readonly onReadFailed = (e: unknown): void => this.readFailed(e);
  /** The block an asynchronous read is fetching for the pump. */
  private awaitedIndex = 0;
  private readonly windowBursts = new WindowBursts();
  /** The wait between two sub-bursts of a window, while the pump is paused on it. */
  private gap: TimerHandle | null = null;
  private readonly onGapOver = (): void => this.resumeAfterGap();
  private readonly spurious = new SpuriousTimeoutCheck();
  private spuriousTimeouts = 0;
  private finalRetries = 0;
  /** Timer expiries since the last new ACK. */
  private expiriesInARow = 0;
  /** The first ACK below `acked` since the peer last ACKed where it is: a late copy, or a client
   *  that went back (see onTimeout). */
  private wentBack: { readonly block: number; readonly at: number } | null = null;

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
    this.timer = new LazyTimer(ctx.clock, () => this.onTimeout());
  }

  start(): void {
    if (this.state === 'awaiting-oack-ack') this.sendOack();
    else this.pump();
  }

  progress(): TransferProgress {
    return {
      state: this.state,
      bytes: this.bytes,
      totalBytes: this.blocks.knownSize,
      retransmits: this.retransmits,
      rtoMs: this.rtt.rtoMs(),
      blksize: this.options.blksize,
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
      case 'ACK': {
        const now = this.ctx.clock.now();
        this.lastHeardAt = now;
        this.onAck(packet.block, now);
        return;
      }
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

  abandon(reason: string): void {
    this.finish('unconfirmed', reason);
  }

  private onAck(wire: number, now: number): void {
    if (this.checkTimeLimit(now)) return;
    if (this.state === 'awaiting-oack-ack') {
      if (wire !== 0) return; // nothing sent yet that this could acknowledge
      // Karn's rule as if we had resent: the OACK waits past its RTO for the client's own retry,
      // so an ACK 0 later than that may answer the client's retransmission (atftp re-sends ACK 0
      // 5 s after losing the first). Taken as a round trip, those 5 s held the RTO at rto_max
      // for the whole transfer: at 20% loss every lost window then cost 3 s.
      if (now - (this.firstSentAt.get(0) ?? now) <= this.rtt.rtoMs()) this.sampleRtt(0, now);
      this.rtt.progress();
      this.acks.advance(0);
      this.state = 'sending';
      this.cancelTimer();
      this.pump();
      return;
    }
    const index = this.indexOfAck(wire);
    this.checkSpurious(index, now); // late copies count too
    if (index < this.acked) {
      this.wentBack ??= { block: index, at: now }; // stale (10.5 c), or see onTimeout
      return;
    }
    this.wentBack = null;
    if (index === this.acked) {
      this.onDuplicateAck();
      return;
    }
    // New progress.
    this.sampleRtt(index, now);
    this.rtt.progress();
    this.acked = index;
    this.acks.advance(index);
    this.finalRetries = 0;
    this.expiriesInARow = 0;
    this.windowBursts.acknowledged();
    // Keys go in in increasing order (a block is recorded once, when it first left): stop at the
    // first one still unacknowledged.
    for (const k of this.firstSentAt.keys()) {
      if (k > index) break;
      this.firstSentAt.delete(k);
    }
    this.blocks.forgetBefore(index + 1);
    if (this.finalIndex !== null && index >= this.finalIndex) {
      this.finish('complete', '');
      return;
    }
    if (index < this.maxSent && !this.mayAnswerDuplicate(index)) {
      // RFC 7440 4: an ACK inside the window reports a gap after it; restart the window there.
      // This restart is the one ACK-triggered resend the next block gets (EDK2 repeats the ACK
      // for every out-of-order block of the window: protocols.md 3.5).
      this.acks.resentOnAck(index + 1);
      this.nextToSend = index + 1;
    }
    this.cancelTimer();
    this.pump();
  }

  /**
   * An ACK of a block we resent, while the block after it has gone out only once (just now, after
   * that resend): the ACK may answer the duplicate (EDK2 re-ACKs its highest block for each one)
   * with the next block still on its way, and EDK2 counts its next window from that ACK.
   * Restarting would resend blocks it is about to get, shift its window again, and repeat for
   * every later window (573 resends for 2,618 blocks at 1% loss). The window slides instead; a
   * real gap shows as ACK copies the resends cannot explain, or a timeout. A block after it that
   * was itself resent (atftp's one extra ACK for a gap) still restarts at once.
   */
  private mayAnswerDuplicate(index: number): boolean {
    return this.acks.sendsOf(index) > 1 && this.acks.sendsOf(index + 1) === 1;
  }

  private onDuplicateAck(): void {
    if (this.maxSent <= this.acked) return; // nothing after it sent yet: the pump is on its way
    // The peer re-ACKed on its own timer: what followed `acked` was lost. Resend it once.
    if (this.acks.duplicateProvesLoss(this.acked)) this.resendFrom(this.acked + 1);
  }

  /** The block index an ACK's 16-bit number refers to: the latest sent index with those low bits. */
  private indexOfAck(wire: number): number {
    return this.maxSent - (((this.maxSent & 0xffff) - wire + 0x10000) & 0xffff);
  }

  /** Did the ACK show that the last timer resend was not needed? Then back the timer off. */
  private checkSpurious(index: number, now: number): void {
    const verdict = this.spurious.ack(index, now, this.firstSentAt.get(index), this.rtt.floorRttMs());
    if (verdict === null) return;
    this.spuriousTimeouts++;
    if (verdict === true) return;
    this.rtt.spuriousTimeout(verdict);
    this.ctx.peerDelay?.noteSpurious(this.ctx.peer.address, verdict);
    if (this.timer.armed) this.armTimer(); // what is in flight now gets the longer wait too
  }

  private sampleRtt(index: number, now: number): void {
    const sentAt = this.firstSentAt.get(index);
    if (sentAt !== undefined && this.acks.sendsOf(index) === 1) this.rtt.sample(now - sentAt);
  }

  private resendFrom(index: number): void {
    this.nextToSend = index;
    this.cancelTimer();
    this.pump();
  }

  /** Sends every block the window allows, in order; re-entrant calls are folded into one loop. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.pumpLoop();
  }

  /** The pump's loop, entered with `pumping` set. It stays set while a block read is awaited
   *  (resumePump continues then); otherwise it is cleared on the way out. */
  private pumpLoop(): void {
    try {
      do {
        this.pumpAgain = false;
        while (this.state === 'sending' && this.windowHasRoom()) {
          if (this.windowBursts.full) {
            // The rest of the window follows once the receiver had time to drain this part.
            this.sendHeld();
            this.windowBursts.reset();
            this.gap = this.ctx.clock.setTimer(SUB_BURST_GAP_MS, this.onGapOver);
            return;
          }
          const index = this.nextToSend;
          const block = this.blocks.block(index);
          if (block instanceof Promise) {
            this.sendHeld();
            this.awaitedIndex = index;
            block.then(this.onBlockRead, this.onReadFailed);
            return;
          }
          this.take(index, block);
        }
      } while (this.pumpAgain);
      this.sendHeld();
      this.windowBursts.reset();
      if (this.state === 'sending' && !this.timer.armed) this.armTimer();
    } catch (e) {
      this.readFailed(e);
      return;
    }
    this.pumping = false;
  }

  private resumeAfterGap(): void {
    this.gap = null;
    if (this.state !== 'sending') {
      this.pumping = false;
      return;
    }
    this.pumpLoop();
  }

  private resumePump(data: Buffer): void {
    if (this.state !== 'sending') {
      this.pumping = false;
      return;
    }
    // Unless the window restarted meanwhile: then the loop starts from the new place.
    if (this.awaitedIndex === this.nextToSend) this.take(this.awaitedIndex, data);
    this.pumpLoop();
  }

  private readFailed(e: unknown): void {
    this.pumping = false;
    this.heldData = null;
    this.fail('io-error', TftpErrorCode.NOT_DEFINED, `read failed: ${(e as Error).message}`, 'read error');
  }

  /** Block `index` goes out next: the one taken before it is sent now (the burst goes on). */
  private take(index: number, data: Buffer): void {
    if (data.length < this.options.blksize) this.finalIndex = index;
    if (this.heldData !== null) this.sendBlock(this.heldIndex, this.heldData, false);
    this.heldIndex = index;
    this.heldData = data;
    this.nextToSend = index + 1;
    this.windowBursts.add(data.length);
  }

  /** Sends the block taken last, as the end of a burst: its completion covers the whole burst. */
  private sendHeld(): void {
    const data = this.heldData;
    if (data === null) return;
    this.heldData = null;
    this.sendBlock(this.heldIndex, data, true);
  }

  private windowHasRoom(): boolean {
    if (this.finalIndex !== null && this.nextToSend > this.finalIndex) return false;
    // Always the negotiated window: RFC 7440 receivers ACK only after a full window, so sending
    // fewer blocks (a TCP-style congestion window) would stall them until their own timeout.
    return this.nextToSend <= this.acked + this.options.windowsize;
  }

  private sendBlock(index: number, data: Buffer, endsBurst: boolean): void {
    this.acks.sent(index);
    this.spurious.sending(index, this.ctx.clock);
    if (index > this.maxSent) {
      this.maxSent = index;
      this.bytes += data.length;
    } else {
      this.retransmits++;
    }
    // A fresh header per datagram: reusing one after its burst's completion (a pool) made atftp
    // at 8192 x 16 see wrong block numbers (a datagram still held below us); see docs/benchmarks.md.
    const header = encodeDataHeader(index);
    this.leaving.push(index);
    this.burstLength++;
    if (!endsBurst) this.ctx.socket.send([header, data], this.ctx.peer);
    else {
      this.bursts.push(this.burstLength);
      this.burstLength = 0;
      this.ctx.socket.send([header, data], this.ctx.peer, this.onLeft);
    }
  }

  private sendOack(): void {
    if (this.acks.sent(0) > 1) this.retransmits++;
    this.leaving.push(0);
    this.bursts.push(this.burstLength + 1);
    this.burstLength = 0;
    this.ctx.socket.send(encodeTftp({ op: 'OACK', options: this.options.oack ?? [] }), this.ctx.peer, this.onLeft);
    this.cancelTimer();
    this.armTimer();
  }

  /** A burst of blocks (0: the OACK) really left: their round trips, and the wait for their ACK,
   *  start now. */
  private burstLeft(): void {
    const count = this.bursts.shift();
    if (count === undefined) return;
    const now = this.ctx.clock.now();
    for (let i = 0; i < count; i++) {
      const index = this.leaving.shift()!;
      if (this.state === 'done') continue;
      if (this.acks.sendsOf(index) === 1 && index >= this.acked && !this.firstSentAt.has(index)) this.firstSentAt.set(index, now);
    }
    if (this.state !== 'done' && this.timer.armed) this.armTimer(now);
  }

  private armTimer(now?: number): void {
    this.timer.arm(this.leaveRetryToClient() ? Math.max(this.rtoMs(), Math.min(QUIET_MS, this.ctx.timing.idleTimeoutMs / 2)) : this.rtoMs(), now);
  }

  /** Our own estimate, or what other transfers to this peer proved if that is longer (never
   *  beyond a negotiated RFC 2349 timeout or `rto_max`). */
  private rtoMs(): number {
    const shared = this.ctx.peerDelay?.floorMs(this.ctx.peer.address) ?? 0;
    return shared > 0 ? Math.max(this.rtt.rtoMs(), Math.min(shared, this.rtt.ceilingMs())) : this.rtt.rtoMs();
  }

  /**
   * When our resend would come before the client's own retry, and does harm:
   * - an unanswered OACK: the client re-sends its ACK 0 (or its RRQ, if the OACK was lost, which
   *   onDuplicateRequest answers), while atftp aborts the transfer on a second OACK ("unexpected
   *   OACK": resent after one RTO, every lost ACK 0 cost it its transfer);
   * - a window that expired many times in a row: resending it sooner only feeds the loss.
   * Never against a negotiated RFC 2349 timeout, which caps every wait.
   */
  private leaveRetryToClient(): boolean {
    if (this.options.timeoutS !== null) return false;
    if (this.state === 'awaiting-oack-ack') return true;
    return this.options.windowsize > 1 && this.expiriesInARow >= QUIET_AFTER_EXPIRIES;
  }

  private cancelTimer(): void {
    this.timer.disarm();
  }

  private onTimeout(): void {
    const now = this.ctx.clock.now();
    if (this.state === 'done' || this.checkTimeLimit(now)) return;
    const silentMs = now - this.lastHeardAt;
    if (silentMs >= this.ctx.timing.idleTimeoutMs) {
      const detail = `no answer from the client for ${Math.round(silentMs / 1000)} s`;
      // A client that answered before may still be listening, its ACKs lost (atftp would run five
      // more 5 s retries): tell it. One that never answered gets nothing (a forged source, maybe).
      if (this.lastHeardAt > this.startedAt) this.fail('timeout', TftpErrorCode.NOT_DEFINED, detail, 'timed out');
      else this.finish('timeout', detail);
      return;
    }
    if (this.finalIndex !== null && this.maxSent >= this.finalIndex && this.acked + 1 === this.finalIndex) {
      if (++this.finalRetries > FINAL_BLOCK_RETRIES) {
        this.finish('complete-unconfirmed', 'the client never acknowledged the last block');
        return;
      }
    }
    if (this.wentBack !== null && now - this.wentBack.at >= QUIET_MS) {
      // A late copy of an old ACK is followed by ACKs of where the client is, at the latest on its
      // own retry timer. Nothing but the old ACK for that long: the client went back. curl does,
      // to block 0, when a duplicated OACK reaches it late, then ignores every later block and
      // would append anything earlier to what it already wrote: no resend can help it.
      const detail = `the client went back to block ${this.wentBack.block} after acknowledging block ${this.acked}, and acknowledged nothing since`;
      this.fail('protocol-error', TftpErrorCode.ILLEGAL_OPERATION, detail, 'went back to an earlier block');
      return;
    }
    this.rtt.expired();
    this.expiriesInARow++;
    if (this.state === 'awaiting-oack-ack') {
      this.sendOack();
      return;
    }
    if (this.options.windowsize > 1) this.windowBursts.windowExpired();
    // RFC 7440 4: the next window starts after the last ACK. Only the first expiry is judged: after
    // several in a row the original was most likely lost, and its age is no round trip.
    if (this.expiriesInARow === 1) this.spurious.timerResent(this.acked + 1, Math.min(this.maxSent, this.acked + this.options.windowsize));
    else this.spurious.timerResent(0, -1); // nothing to judge
    this.resendFrom(this.acked + 1);
  }

  private checkTimeLimit(now: number): boolean {
    if (now - this.startedAt <= this.ctx.timing.maxTransferTimeMs) return false;
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
    this.timer.stop();
    this.gap?.cancel();
    this.gap = null;
    this.blocks.close();
    this.ctx.onEnd({
      outcome,
      detail,
      bytes: this.bytes,
      blocks: this.maxSent,
      retransmits: this.retransmits,
      spuriousTimeouts: this.spuriousTimeouts,
      durationMs: this.ctx.clock.now() - this.startedAt,
    });
  }
}
