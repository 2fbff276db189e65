// worker_threads adapter: one Worker per spawn, running the given entry module. Its own threads
// of the same process: sockets and files opened in a thread are closed when the thread ends.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerThread, WorkerThreadFactory } from './ports.js';

class NodeWorkerThread implements WorkerThread {
  private error: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('error', (e) => (this.error = e));
  }

  post(message: unknown): void {
    this.worker.postMessage(message);
  }

  onMessage(handler: (message: unknown) => void): void {
    this.worker.on('message', handler);
  }

  onExit(handler: (code: number, error: Error | null) => void): void {
    // 'error' (an uncaught exception) comes before 'exit'.
    this.worker.on('exit', (code) => handler(code, this.error));
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Threads running `entry` (the transfer worker's built module). */
export function nodeWorkerThreads(entry: URL): WorkerThreadFactory {
  return {
    cpus: availableParallelism(),
    spawn: (data) => new NodeWorkerThread(new Worker(entry, { workerData: data })),
  };
}
