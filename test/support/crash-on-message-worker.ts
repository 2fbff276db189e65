// The real transfer worker (src/transfer-worker.ts) plus one way to kill it from a test: a
// `{ type: 'test-crash' }` message throws an uncaught exception in the thread, as a bug would.
import { parentPort } from 'node:worker_threads';
import '../../src/transfer-worker.js';

parentPort?.on('message', (message: { type?: string }) => {
  if (message.type === 'test-crash') throw new Error('injected crash');
});
