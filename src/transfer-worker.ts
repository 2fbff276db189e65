// Composition root of a transfer worker thread (tftp/transfer-pool.ts starts it): the same
// adapters as the main thread (node:dgram, node:fs with this worker's share of the chunk cache, the
// system clock) around tftp/worker-transfers.ts, which talks to the main thread by message only.
import { parentPort, workerData } from 'node:worker_threads';
import { NodeFileSystem } from './io/node-file-system.js';
import { nodeUdp } from './io/node-udp.js';
import { systemClock } from './io/system-clock.js';
import type { ToWorker, WorkerStartData } from './tftp/worker-protocol.js';
import { WorkerTransfers } from './tftp/worker-transfers.js';

const port = parentPort;
if (port === null) throw new Error('transfer-worker.js runs only as a worker thread');
const data = workerData as WorkerStartData;
const transfers = new WorkerTransfers({
  clock: systemClock,
  sockets: nodeUdp,
  fs: new NodeFileSystem(data.cacheBytes),
  post: (message) => port.postMessage(message),
});
port.on('message', (message: ToWorker) => transfers.onMessage(message));
port.postMessage({ type: 'ready' });
