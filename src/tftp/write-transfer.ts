// RFC 1350 write transfer (upload), only when an upload directory is configured. We are the ACK
// side: ACK each in-order DATA, re-ACK a duplicate of the previous block (our ACK was lost), resend
// the last ACK on our own timer, and dally after the final ACK so a repeated last DATA is answered.
import { encodeTftp, TftpErrorCode, type TftpOption, type TftpPacket } from '../codec/tftp-packet.js';
import type { TimerHandle, UploadSink } from '../io/ports.js';
import { RttEstimator, rtoBounds } from '../flowcontrol/rtt-estimator.js';
import type { Transfer, TransferContext, TransferOutcome, TransferProgress } from './transfer-types.js';

export type WriteState = 'receiving' | 'dallying' | 'done';

export interface WriteTransferOptions {
  readonly filename: string;
  readonly blksize: number;
  readonly timeoutS: number | null;
  readonly oack: readonly TftpOption[] | null;
  readonly maxBytes: number;
}

export class WriteTransfer implements Transfer {
  readonly filename: string;
  private state: WriteState = 'receiving';
  private readonly rtt: RttEstimator;
  private readonly startedAt: number;
  private lastHeardAt: number;
  private timer: TimerHandle | null = null;
  /** Index of the next DATA block we want. */
  private expected = 1;
  private bytes = 0;
  private retransmits = 0;
  private writing = false;
  private lastAnswer: Buffer;
  /** When the current answer was first sent, while it has not been repeated (Karn's rule). */
  private answeredAt: number | null = null;

  constructor(
    private readonly ctx: TransferContext,
    private readonly sink: UploadSink,
    private readonly options: WriteTransferOptions,
  ) {
    this.filename = options.filename;
    this.rtt = new RttEstimator(rtoBounds(ctx.timing, options.timeoutS));
    this.startedAt = ctx.clock.now();
    this.lastHeardAt = this.startedAt;
    this.lastAnswer = options.oack ? encodeTftp({ op: 'OACK', options: options.oack }) : ackPacket(0);
  }

  start(): void {
    this.answer(this.lastAnswer);
  }

  progress(): TransferProgress {
    return {
      state: this.state,
      bytes: this.bytes,
      totalBytes: null,
      retransmits: this.retransmits,
      rtoMs: this.rtt.rtoMs(),
      blksize: this.options.blksize,
    };
  }

  onDuplicateRequest(): void {
    if (this.expected === 1) this.answer(this.lastAnswer, true);
  }

  onPacket(packet: TftpPacket): void {
    if (this.state === 'done') return;
    if (packet.op === 'ERROR') {
      void this.end('aborted-by-client', `client sent ERROR ${packet.code}: ${packet.message}`);
      return;
    }
    if (packet.op !== 'DATA') {
      this.fail('protocol-error', TftpErrorCode.ILLEGAL_OPERATION, `unexpected ${packet.op} during an upload`);
      return;
    }
    this.lastHeardAt = this.ctx.clock.now();
    const previous = (this.expected - 1) & 0xffff;
    if (packet.block === (this.expected & 0xffff) && this.answeredAt !== null) {
      this.rtt.sample(this.lastHeardAt - this.answeredAt);
      this.answeredAt = null;
    }
    if (packet.block === previous) {
      this.answer(this.lastAnswer, true); // our ACK was lost: the peer resent
      return;
    }
    if (this.state !== 'receiving' || this.writing || packet.block !== (this.expected & 0xffff)) return;
    if (packet.data.length > this.options.blksize) {
      this.fail('protocol-error', TftpErrorCode.ILLEGAL_OPERATION, `DATA larger than the block size ${this.options.blksize}`);
      return;
    }
    void this.accept(packet.data);
  }

  abort(reason: string): void {
    // Once dallying, the file is committed and the client has its final ACK: nothing to abort.
    if (this.state === 'dallying') void this.end('complete', '');
    else this.fail('dropped', TftpErrorCode.NOT_DEFINED, reason);
  }

  abandon(reason: string): void {
    void this.end('unconfirmed', reason);
  }

  private async accept(data: Buffer): Promise<void> {
    if (this.bytes + data.length > this.options.maxBytes) {
      this.fail('protocol-error', TftpErrorCode.DISK_FULL, `upload exceeds the limit of ${this.options.maxBytes} bytes`);
      return;
    }
    this.writing = true;
    try {
      await this.sink.write(data);
      if (data.length < this.options.blksize) await this.sink.commit();
    } catch (e) {
      this.writing = false;
      this.fail('io-error', TftpErrorCode.DISK_FULL, `write failed: ${(e as Error).message}`, 'write failed');
      return;
    }
    this.writing = false;
    if (this.state === 'done') return;
    this.bytes += data.length;
    this.lastAnswer = ackPacket(this.expected);
    this.expected++;
    this.rtt.progress();
    this.answer(this.lastAnswer);
    if (data.length < this.options.blksize) {
      // Dally (RFC 1350 6): stay a few RTOs to re-ACK a repeated final DATA, then finish.
      this.state = 'dallying';
      this.cancelTimer();
      this.timer = this.ctx.clock.setTimer(this.rtt.rtoMs() * 4, () => void this.end('complete', ''));
    }
  }

  private answer(packet: Buffer, isRepeat = false): void {
    if (isRepeat) this.retransmits++;
    this.answeredAt = isRepeat ? null : this.ctx.clock.now();
    this.ctx.socket.send(packet, this.ctx.peer);
    if (this.state === 'receiving') {
      this.cancelTimer();
      this.timer = this.ctx.clock.setTimer(this.rtt.rtoMs(), () => this.onTimeout());
    }
  }

  private onTimeout(): void {
    this.timer = null;
    if (this.state !== 'receiving' || this.writing) return;
    const now = this.ctx.clock.now();
    if (now - this.startedAt > this.ctx.timing.maxTransferTimeMs) {
      this.fail('time-limit', TftpErrorCode.NOT_DEFINED, 'transfer time limit exceeded');
    } else if (now - this.lastHeardAt >= this.ctx.timing.idleTimeoutMs) {
      void this.end('timeout', `no DATA from the client for ${Math.round((now - this.lastHeardAt) / 1000)} s`);
    } else {
      this.rtt.expired();
      this.answer(this.lastAnswer, true);
    }
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private fail(outcome: TransferOutcome, code: number, detail: string, toPeer = detail): void {
    if (this.state === 'done') return;
    this.ctx.socket.send(encodeTftp({ op: 'ERROR', code, message: toPeer }), this.ctx.peer);
    void this.end(outcome, detail);
  }

  private async end(outcome: TransferOutcome, detail: string): Promise<void> {
    if (this.state === 'done') return;
    const committed = this.state === 'dallying';
    this.state = 'done';
    this.cancelTimer();
    if (!committed) await this.sink.abort().catch(() => undefined);
    this.ctx.onEnd({
      outcome,
      detail,
      bytes: this.bytes,
      blocks: this.expected - 1,
      retransmits: this.retransmits,
      durationMs: this.ctx.clock.now() - this.startedAt,
    });
  }
}

function ackPacket(index: number): Buffer {
  return encodeTftp({ op: 'ACK', block: index & 0xffff });
}
