// Worker threads without threads, for unit tests of the transfer pool. FakeThreads records what the
// pool posts and lets a test speak for the worker; InlineThreads runs the real worker side
// (tftp/worker-transfers.ts) in this thread on fake sockets, files and clock. Messages are
// structured-cloned and delivered on a later microtask, as between real threads.
import type { Clock, FileSystem, SocketFactory, WorkerThread, WorkerThreadFactory } from '../../src/io/ports.js';
import type { FromWorker, ToWorker, WorkerStartData } from '../../src/tftp/worker-protocol.js';
import { WorkerTransfers } from '../../src/tftp/worker-transfers.js';

class ThreadBase implements WorkerThread {
  private messageHandler: ((m: unknown) => void) | null = null;
  private exitHandler: ((code: number, error: Error | null) => void) | null = null;
  alive = true;
  terminated = false;

  constructor(readonly data: WorkerStartData) {}

  post(message: unknown): void {
    if (this.alive) this.receive(structuredClone(message) as ToWorker);
  }

  protected receive(_message: ToWorker): void {}

  onMessage(handler: (m: unknown) => void): void {
    this.messageHandler = handler;
  }

  onExit(handler: (code: number, error: Error | null) => void): void {
    this.exitHandler = handler;
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    this.die(1, null);
  }

  /** The worker sends `message` to the main thread (delivered on a later microtask). */
  say(message: FromWorker): void {
    const copy = structuredClone(message);
    queueMicrotask(() => {
      if (this.alive) this.messageHandler?.(copy);
    });
  }

  /** The thread dies of an uncaught exception. */
  crash(error = new Error('boom')): void {
    this.die(1, error);
  }

  private die(code: number, error: Error | null): void {
    if (!this.alive) return;
    this.alive = false;
    this.exitHandler?.(code, error);
  }
}

export class FakeThread extends ThreadBase {
  readonly received: ToWorker[] = [];

  protected override receive(message: ToWorker): void {
    this.received.push(message);
  }

  /** Received messages of one type. */
  of<T extends ToWorker['type']>(type: T): Extract<ToWorker, { type: T }>[] {
    return this.received.filter((m): m is Extract<ToWorker, { type: T }> => m.type === type);
  }
}

export class FakeThreads implements WorkerThreadFactory {
  readonly spawned: FakeThread[] = [];
  /** Threads say 'ready' on their own once spawned. */
  autoReady = true;

  constructor(readonly cpus = 2) {}

  spawn(data: unknown): FakeThread {
    const thread = new FakeThread(data as WorkerStartData);
    this.spawned.push(thread);
    if (this.autoReady) thread.say({ type: 'ready' });
    return thread;
  }
}

export class InlineThread extends ThreadBase {
  readonly worker: WorkerTransfers;

  constructor(data: WorkerStartData, deps: { clock: Clock; sockets: SocketFactory; fs: FileSystem }) {
    super(data);
    this.worker = new WorkerTransfers({ ...deps, post: (m) => this.say(m) });
  }

  protected override receive(message: ToWorker): void {
    queueMicrotask(() => {
      if (this.alive) this.worker.onMessage(message);
    });
  }
}

/** Runs each "thread" as a WorkerTransfers on the given fakes (one socket factory for all, so a
 *  test sees every TID socket). */
export class InlineThreads implements WorkerThreadFactory {
  readonly spawned: InlineThread[] = [];
  readonly cpus = 2;

  constructor(private readonly deps: { clock: Clock; sockets: SocketFactory; fs: FileSystem }) {}

  spawn(data: unknown): InlineThread {
    const thread = new InlineThread(data as WorkerStartData, this.deps);
    this.spawned.push(thread);
    thread.say({ type: 'ready' });
    return thread;
  }
}
