// The worker thread's side of the transfer pool: runs the read transfers the main thread handed
// over (worker-protocol.ts), each on a TID socket of its own, and reports what the main thread
// keeps: the peer confirmed, strays and malformed datagrams on a TID, progress (one message per
// PROGRESS_INTERVAL_MS for all transfers), the end result, proven ACK delays. Nothing here logs or
// counts by itself: every line and counter stays in the main thread.
import { DecodeError } from '../codec/decode-error.js';
import { decodeTftp, TftpErrorCode, encodeTftp } from '../codec/tftp-packet.js';
import { guarded } from '../datagram-guard.js';
import { PeerDelayMemory } from '../flowcontrol/peer-delay-memory.js';
import type { Clock, DatagramSocket, FileSystem, LogFields, Logger, OpenedFile, PeerAddress, SocketFactory, TimerHandle } from '../io/ports.js';
import { NetasciiBlocks, OctetBlocks } from './block-producer.js';
import { ReadTransfer } from './read-transfer.js';
import type { Transfer } from './transfer-types.js';
import { PROGRESS_INTERVAL_MS, type FromWorker, type ProgressItem, type ToWorker, type TransferSpec } from './worker-protocol.js';

export interface WorkerTransfersDeps {
  readonly clock: Clock;
  readonly sockets: SocketFactory;
  readonly fs: FileSystem;
  readonly post: (message: FromWorker) => void;
}

interface Running {
  transfer: Transfer | null;
  socket: DatagramSocket | null;
  /** An abort or abandon that came while the transfer was being set up. */
  pendingEnd: { readonly kind: 'abort' | 'abandon'; readonly reason: string } | null;
  confirmed: boolean;
}

class SetUpRefused extends Error {
  constructor(
    readonly tftpCode: number,
    readonly toClient: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** The main thread's logger, reached by message. */
class PostingLogger implements Logger {
  constructor(
    private readonly post: (message: FromWorker) => void,
    private readonly fields: LogFields = {},
  ) {}
  child(fields: LogFields): Logger {
    return new PostingLogger(this.post, { ...this.fields, ...fields });
  }
  debug(message: string, fields?: LogFields): void {
    this.post({ type: 'log', level: 'debug', message, fields: { ...this.fields, ...fields } });
  }
  info(message: string, fields?: LogFields): void {
    this.post({ type: 'log', level: 'info', message, fields: { ...this.fields, ...fields } });
  }
  warn(message: string, fields?: LogFields): void {
    this.post({ type: 'log', level: 'warn', message, fields: { ...this.fields, ...fields } });
  }
  error(message: string, fields?: LogFields): void {
    this.post({ type: 'log', level: 'error', message, fields: { ...this.fields, ...fields } });
  }
}

/** This thread's memory of proven ACK delays, kept in step with the other threads' by message. */
class SharedPeerDelay extends PeerDelayMemory {
  constructor(
    clock: Clock,
    private readonly report: (address: string, delayMs: number) => void,
  ) {
    super(clock);
  }

  override noteSpurious(address: string, delayMs: number): void {
    super.noteSpurious(address, delayMs);
    this.report(address, delayMs);
  }

  /** What another thread proved. */
  learn(address: string, delayMs: number): void {
    super.noteSpurious(address, delayMs);
  }
}

export class WorkerTransfers {
  private readonly running = new Map<number, Running>();
  private readonly peerDelay: SharedPeerDelay;
  private readonly logger: Logger;
  private progressTimer: TimerHandle | null = null;

  constructor(private readonly deps: WorkerTransfersDeps) {
    this.peerDelay = new SharedPeerDelay(deps.clock, (address, delayMs) => deps.post({ type: 'peer-delay', address, delayMs }));
    this.logger = new PostingLogger(deps.post, { service: 'tftp' });
  }

  get size(): number {
    return this.running.size;
  }

  onMessage(message: ToWorker): void {
    switch (message.type) {
      case 'start':
        void this.start(message.spec).catch((e: unknown) => this.logger.error('bug: transfer set-up failed in a worker', { error: (e as Error).stack ?? String(e) }));
        return;
      case 'duplicate-request':
        this.running.get(message.id)?.transfer?.onDuplicateRequest();
        return;
      case 'abort':
      case 'abandon': {
        const slot = this.running.get(message.id);
        if (!slot) return; // ended meanwhile: its end message is on its way
        if (slot.transfer === null) slot.pendingEnd = { kind: message.type, reason: message.reason };
        else if (message.type === 'abort') slot.transfer.abort(message.reason);
        else slot.transfer.abandon(message.reason);
        return;
      }
      case 'answer-stray':
        this.running.get(message.id)?.socket?.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.UNKNOWN_TID, message: 'unknown transfer ID' }), message.to);
        return;
      case 'peer-delay':
        this.peerDelay.learn(message.address, message.delayMs);
        return;
    }
  }

  private async start(spec: TransferSpec): Promise<void> {
    const slot: Running = { transfer: null, socket: null, pendingEnd: null, confirmed: false };
    this.running.set(spec.id, slot);
    let opened: OpenedFile | null = null;
    try {
      opened = await this.open(spec);
      const socket = await this.deps.sockets.bind({ address: spec.listen, port: 0 }).catch((e: unknown) => {
        throw new SetUpRefused(TftpErrorCode.NOT_DEFINED, 'internal error', `set-up failed: ${(e as Error).message}`);
      });
      slot.socket = socket;
      const blocks = spec.mode === 'netascii' ? new NetasciiBlocks(opened, spec.read.blksize) : new OctetBlocks(opened, spec.read.blksize);
      opened = null; // owned (and released) by the producer from here on
      const transfer = new ReadTransfer(
        {
          clock: this.deps.clock,
          socket,
          peer: spec.peer,
          timing: spec.timing,
          peerDelay: this.peerDelay,
          onEnd: (result) => {
            this.running.delete(spec.id);
            socket.close();
            this.deps.post({ type: 'end', id: spec.id, result });
          },
        },
        blocks,
        spec.read,
      );
      socket.onMessage(
        guarded(this.logger, 'TFTP', (data, from) => this.onTidDatagram(spec, slot, data, from), (e, data, from) => this.postDecodeError(spec.id, e, data, from)),
      );
      slot.transfer = transfer;
      this.armProgress();
      const pending = slot.pendingEnd;
      if (pending?.kind === 'abort') transfer.abort(pending.reason);
      else if (pending?.kind === 'abandon') transfer.abandon(pending.reason);
      else transfer.start();
    } catch (e) {
      opened?.release();
      slot.socket?.close();
      this.running.delete(spec.id);
      const r = e instanceof SetUpRefused ? e : new SetUpRefused(TftpErrorCode.NOT_DEFINED, 'internal error', `set-up failed: ${(e as Error).message}`);
      this.deps.post({ type: 'refused', id: spec.id, tftpCode: r.tftpCode, toClient: r.toClient, detail: r.detail });
    }
  }

  /** The resolved path, and only the version the main thread sized the OACK from. */
  private async open(spec: TransferSpec): Promise<OpenedFile> {
    let opened: OpenedFile;
    try {
      opened = await this.deps.fs.open(spec.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SetUpRefused(TftpErrorCode.FILE_NOT_FOUND, 'file not found', 'vanished before open');
      throw new SetUpRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', `cannot open (${code ?? 'error'})`);
    }
    if (opened.identity !== spec.identity) {
      opened.release();
      throw new SetUpRefused(TftpErrorCode.NOT_DEFINED, 'file changed, try again', 'file replaced between request and transfer start');
    }
    return opened;
  }

  private onTidDatagram(spec: TransferSpec, slot: Running, data: Buffer, from: PeerAddress): void {
    if (from.address !== spec.peer.address || from.port !== spec.peer.port) {
      this.deps.post({ type: 'stray', id: spec.id, from });
      return;
    }
    if (!slot.confirmed) {
      slot.confirmed = true;
      this.deps.post({ type: 'confirmed', id: spec.id });
    }
    slot.transfer?.onPacket(decodeTftp(data));
  }

  private postDecodeError(id: number, e: DecodeError, data: Buffer, from: PeerAddress): void {
    this.deps.post({ type: 'decode-error', id, code: e.code, message: e.message, from, packetHex: data.subarray(0, 64).toString('hex') });
  }

  /** One progress message for every running transfer, while there are any. */
  private armProgress(): void {
    if (this.progressTimer !== null) return;
    this.progressTimer = this.deps.clock.setTimer(PROGRESS_INTERVAL_MS, () => {
      this.progressTimer = null;
      const items: ProgressItem[] = [];
      for (const [id, slot] of this.running) if (slot.transfer) items.push({ id, progress: slot.transfer.progress() });
      if (items.length > 0) this.deps.post({ type: 'progress', items });
      if (this.running.size > 0) this.armProgress();
    });
  }
}
