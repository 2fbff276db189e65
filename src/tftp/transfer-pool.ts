// The main thread's side of the transfer workers: spawns the pool, hands each negotiated unicast
// read to the least busy worker, and stands in for the transfer there (RemoteTransfer: the session
// table, drops, evictions and duplicate requests keep working on it unchanged). Everything a
// worker reports comes back through the transfer's hooks, so the TFTP server logs and counts it
// exactly as for a transfer it runs itself. A worker that dies is logged, its transfers end as
// failed, and a new one takes its place; the daemon serves on.
import type { Clock, Logger, PeerAddress, TimerHandle, WorkerThread, WorkerThreadFactory } from '../io/ports.js';
import type { PeerDelayMemory } from '../flowcontrol/peer-delay-memory.js';
import type { Transfer, TransferProgress, TransferResult } from './transfer-types.js';
import type { FromWorker, ToWorker, TransferSpec, WorkerStartData } from './worker-protocol.js';

/** How long start() waits for the workers to come up, and drain() for their transfers to end. */
export const WORKER_READY_TIMEOUT_MS = 10_000;
export const DRAIN_TIMEOUT_MS = 2_000;

/** `[tftp] workers` as a thread count: `auto` is one per CPU, none on a single CPU (a worker there
 *  would only add hand-off cost to the one core). */
export function transferPoolSize(setting: number | 'auto', cpus: number): number {
  if (setting !== 'auto') return setting;
  return cpus > 1 ? cpus : 0;
}

export interface TransferPoolSettings {
  readonly threads: WorkerThreadFactory;
  readonly size: number;
  /** Each worker's share of the file chunk cache. */
  readonly cacheBytes: number;
}

export interface TransferPoolDeps extends TransferPoolSettings {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The main thread's memory of proven ACK delays: workers' reports land here too. */
  readonly peerDelay: PeerDelayMemory;
}

/** What the TFTP server hears about one handed-off transfer. */
export interface RemoteHooks {
  /** The peer answered on the TID. */
  onConfirmed(): void;
  /** A datagram from another source reached the TID; `answer` sends it ERROR 5 from there. */
  onStray(from: PeerAddress, answer: () => void): void;
  onDecodeError(code: string, message: string, from: PeerAddress, packetHex: string): void;
  /** The worker could not set the transfer up; nothing was sent to the client. */
  onRefused(tftpCode: number, toClient: string, detail: string): void;
  /** Exactly once, unless refused. */
  onEnd(result: TransferResult, workerId: number): void;
}

class RemoteTransfer implements Transfer {
  readonly filename: string;
  private latest: TransferProgress;
  readonly startedAt: number;

  constructor(
    readonly id: number,
    readonly worker: WorkerSlot,
    private readonly spec: TransferSpec,
    initial: TransferProgress,
    readonly hooks: RemoteHooks,
    now: number,
  ) {
    this.filename = spec.read.filename;
    this.latest = initial;
    this.startedAt = now;
  }

  start(): void {
    this.worker.post({ type: 'start', spec: this.spec });
  }

  onPacket(): void {
    // Its TID socket lives in the worker.
  }

  onDuplicateRequest(): void {
    this.worker.post({ type: 'duplicate-request', id: this.id });
  }

  abort(reason: string): void {
    this.worker.post({ type: 'abort', id: this.id, reason });
  }

  abandon(reason: string): void {
    this.worker.post({ type: 'abandon', id: this.id, reason });
  }

  progress(): TransferProgress {
    return this.latest;
  }

  setProgress(progress: TransferProgress): void {
    this.latest = progress;
  }
}

class WorkerSlot {
  ready = false;
  /** Set when the pool ends the thread itself: its exit is no crash. */
  closing = false;
  readonly transfers = new Map<number, RemoteTransfer>();
  readonly readiness: Promise<boolean>;
  private markReady!: (ok: boolean) => void;

  constructor(
    readonly id: number,
    readonly thread: WorkerThread,
  ) {
    this.readiness = new Promise((resolve) => (this.markReady = resolve));
  }

  post(message: ToWorker): void {
    this.thread.post(message);
  }

  settle(ok: boolean): void {
    this.ready = ok;
    this.markReady(ok);
  }
}

export class TransferPool {
  private readonly slots = new Set<WorkerSlot>();
  private nextWorkerId = 1;
  private nextTransferId = 1;
  private closed = false;
  private drained: Promise<void> | null = null;

  constructor(private readonly deps: TransferPoolDeps) {}

  /** Starts the workers and waits until each is ready (or has failed: the main thread then runs
   *  its share of the transfers). */
  async start(): Promise<void> {
    const slots = Array.from({ length: this.deps.size }, () => this.spawn());
    let timer: TimerHandle | null = null;
    const timeout = new Promise<false>((resolve) => (timer = this.deps.clock.setTimer(WORKER_READY_TIMEOUT_MS, () => resolve(false))));
    const ready = await Promise.all(slots.map((s) => Promise.race([s.readiness, timeout])));
    (timer as TimerHandle | null)?.cancel();
    const up = ready.filter(Boolean).length;
    if (up < slots.length) this.deps.logger.error('transfer workers did not start; their share runs in the main thread', { started: up, wanted: slots.length });
    else if (up > 0) this.deps.logger.info('transfer workers started', { workers: up });
  }

  /** Workers ready to take a transfer. */
  readyWorkers(): number {
    let n = 0;
    for (const s of this.slots) if (s.ready) n++;
    return n;
  }

  /** Hands a negotiated read transfer to the least busy ready worker; null when none is ready (the
   *  caller runs it in the main thread). The transfer starts on its start(). */
  run(spec: Omit<TransferSpec, 'id'>, initial: TransferProgress, hooks: RemoteHooks): (Transfer & { readonly workerId: number }) | null {
    if (this.closed) return null;
    let best: WorkerSlot | null = null;
    for (const s of this.slots) if (s.ready && (best === null || s.transfers.size < best.transfers.size)) best = s;
    if (best === null) return null;
    const id = this.nextTransferId++;
    const transfer = new RemoteTransfer(id, best, { ...spec, id }, initial, hooks, this.deps.clock.now());
    best.transfers.set(id, transfer);
    return Object.assign(transfer, { workerId: best.id });
  }

  /** Stops taking transfers, waits (at most DRAIN_TIMEOUT_MS) for the running ones to report their
   *  end (the server has aborted them), ends what is left as dropped, and ends the threads. */
  drain(): Promise<void> {
    this.drained ??= this.drainOnce();
    return this.drained;
  }

  private async drainOnce(): Promise<void> {
    this.closed = true;
    const busy = () => [...this.slots].some((s) => s.transfers.size > 0);
    if (busy()) {
      await new Promise<void>((resolve) => {
        const timer = this.deps.clock.setTimer(DRAIN_TIMEOUT_MS, () => resolve());
        this.onIdle = () => {
          if (busy()) return;
          timer.cancel();
          resolve();
        };
      });
    }
    this.onIdle = null;
    for (const slot of this.slots) {
      slot.closing = true;
      this.endAll(slot, 'dropped', 'server shutting down (the worker did not report the end)');
    }
    await Promise.all([...this.slots].map((s) => s.thread.terminate().catch(() => undefined)));
    this.slots.clear();
  }

  private onIdle: (() => void) | null = null;

  private spawn(): WorkerSlot {
    const id = this.nextWorkerId++;
    const data: WorkerStartData = { workerId: id, cacheBytes: this.deps.cacheBytes };
    const slot = new WorkerSlot(id, this.deps.threads.spawn(data));
    this.slots.add(slot);
    slot.thread.onMessage((m) => this.onMessage(slot, m as FromWorker));
    slot.thread.onExit((code, error) => this.onExit(slot, code, error));
    return slot;
  }

  private onMessage(slot: WorkerSlot, m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        slot.settle(true);
        return;
      case 'confirmed':
        slot.transfers.get(m.id)?.hooks.onConfirmed();
        return;
      case 'progress':
        for (const item of m.items) slot.transfers.get(item.id)?.setProgress(item.progress);
        return;
      case 'stray':
        slot.transfers.get(m.id)?.hooks.onStray(m.from, () => slot.post({ type: 'answer-stray', id: m.id, to: m.from }));
        return;
      case 'decode-error':
        slot.transfers.get(m.id)?.hooks.onDecodeError(m.code, m.message, m.from, m.packetHex);
        return;
      case 'refused':
      case 'end': {
        const transfer = slot.transfers.get(m.id);
        if (!transfer) return;
        slot.transfers.delete(m.id);
        if (m.type === 'end') transfer.hooks.onEnd(m.result, slot.id);
        else transfer.hooks.onRefused(m.tftpCode, m.toClient, m.detail);
        this.onIdle?.();
        return;
      }
      case 'peer-delay':
        this.deps.peerDelay.noteSpurious(m.address, m.delayMs);
        for (const other of this.slots) if (other !== slot && other.ready) other.post({ type: 'peer-delay', address: m.address, delayMs: m.delayMs });
        return;
      case 'log':
        this.deps.logger[m.level](m.message, { ...m.fields, worker: slot.id });
        return;
    }
  }

  private onExit(slot: WorkerSlot, code: number, error: Error | null): void {
    this.slots.delete(slot);
    if (slot.closing) return;
    const wasReady = slot.ready;
    slot.settle(false);
    const detail = error ? `${error.name}: ${error.message}` : `exit code ${code}`;
    this.deps.logger.error('transfer worker died', { worker: slot.id, error: error?.stack ?? detail, transfers: slot.transfers.size });
    this.endAll(slot, 'io-error', `transfer worker ${slot.id} died (${detail})`);
    this.onIdle?.();
    if (this.closed) return;
    // A worker that never came up would fail the same way again: its share stays in the main thread.
    if (wasReady) {
      const replacement = this.spawn();
      void replacement.readiness.then((ok) => {
        if (ok) this.deps.logger.info('transfer worker replaced', { worker: replacement.id, replaces: slot.id });
      });
    }
  }

  /** Ends every transfer of `slot` with `outcome` (it can no longer report its own end). */
  private endAll(slot: WorkerSlot, outcome: 'io-error' | 'dropped', detail: string): void {
    const now = this.deps.clock.now();
    for (const transfer of slot.transfers.values()) {
      const p = transfer.progress();
      transfer.hooks.onEnd(
        { outcome, detail, bytes: p.bytes, blocks: p.blksize > 0 ? Math.ceil(p.bytes / p.blksize) : 0, retransmits: p.retransmits, durationMs: now - transfer.startedAt },
        slot.id,
      );
    }
    slot.transfers.clear();
  }
}
