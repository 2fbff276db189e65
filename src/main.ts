// Composition root: the only place that picks concrete adapters (node:dgram, node:fs, winston,
// node-ipc, the system clock) and wires process signals to the daemon.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from './config/config-error.js';
import type { Config, ControlConfig, MetricsConfig } from './config/config-types.js';
import { formatFileMode } from './config/field-values.js';
import { controlRequestHandler } from './control/control-server.js';
import { createDaemonView } from './control/daemon-view.js';
import { parseConfig } from './config/load-config.js';
import { Daemon, loadConfigAndCatalog, type DaemonDeps } from './daemon.js';
import { DEFAULT_CACHE_BYTES, NodeFileSystem, NodeUploadStore } from './io/node-file-system.js';
import { nodeWorkerThreads } from './io/node-worker.js';
import { transferPoolSize } from './tftp/transfer-pool.js';
import { nodeUdp } from './io/node-udp.js';
import { systemClock } from './io/system-clock.js';
import { JsonLease6File } from './io/dhcp6-lease-file.js';
import { NodeDurableFiles } from './io/durable-files.js';
import { LeaseJournalFile } from './io/lease-file.js';
import { startLoopLagSampler } from './io/loop-lag.js';
import { startMetricsEndpoint } from './io/metrics-http.js';
import { createWinstonLogger } from './io/winston-logger.js';
import { nodeIpcTransport } from './io/node-ipc-transport.js';
import type { ControlListener, Logger, MetricsListener } from './io/ports.js';
import { NodeHttpServerFactory } from './io/node-http.js';
import { metricsSnapshot, PXECAST_METRICS } from './metrics/metrics-snapshot.js';
import { pxecastVersion } from './version.js';

export const DEFAULT_CONFIG_PATH = '/etc/pxecast/pxecast.ini';

async function readConfig(path: string): Promise<Config> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, line: 0, section: null, key: null, message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseConfig(text, file);
}

function baseDeps() {
  return { readConfig, fs: new NodeFileSystem(), clock: systemClock };
}

function reportConfigError(e: unknown): number {
  if (e instanceof ConfigError) {
    process.stderr.write(`pxecast: ${e.message}\n`);
    return 1;
  }
  throw e;
}

/** `pxecast check`: validate config and catalog without binding anything. */
export async function runCheck(configPath: string): Promise<number> {
  try {
    const { config, catalog } = await loadConfigAndCatalog(configPath, baseDeps());
    process.stdout.write(
      `${config.sourceFile}: ok (root ${catalog.root}, ${catalog.images.length} image${catalog.images.length === 1 ? '' : 's'})\n`,
    );
    return 0;
  } catch (e) {
    return reportConfigError(e);
  }
}

/** Serves the control socket unless `[control] enabled = false`; `--socket` overrides the path. */
async function startControl(daemon: Daemon, config: ControlConfig, socketOverride: string | undefined, logger: Logger): Promise<ControlListener | null> {
  if (!config.enabled && socketOverride === undefined) return null;
  const socket = resolve(socketOverride ?? config.socket);
  const view = createDaemonView(daemon, {
    clock: systemClock,
    wallClock: () => Date.now(),
    version: pxecastVersion(),
    pid: process.pid,
    controlSocket: socket,
  });
  const listener = await nodeIpcTransport.listen(socket, config.mode, controlRequestHandler(view, logger.child({ service: 'control' })));
  logger.info('control socket listening', { path: socket, mode: formatFileMode(config.mode) });
  return listener;
}

/** Serves the Prometheus endpoint when `[metrics] listen` is set. */
async function startMetrics(daemon: Daemon, config: MetricsConfig, loopLagMs: () => number, logger: Logger): Promise<MetricsListener | null> {
  if (config.listen === null) return null;
  const listener = await startMetricsEndpoint({
    ...config.listen,
    families: PXECAST_METRICS,
    read: () => metricsSnapshot(daemon, loopLagMs()),
    logger: logger.child({ service: 'metrics' }),
  });
  logger.info('metrics endpoint listening', { address: config.listen.address, port: listener.port, path: '/metrics' });
  return listener;
}

export interface ServeOptions {
  /** Control socket path instead of the config's `[control] socket`. */
  readonly socket?: string;
}

/** `pxecast serve`: run the daemon until SIGTERM/SIGINT. Resolves with the exit code. */
export async function runServe(configPath: string, options: ServeOptions = {}): Promise<number> {
  const base = baseDeps();
  let initial;
  try {
    initial = await loadConfigAndCatalog(configPath, base);
  } catch (e) {
    return reportConfigError(e);
  }
  const log = createWinstonLogger(initial.config.log.level, initial.config.log.format);
  const lag = startLoopLagSampler();
  const threads = nodeWorkerThreads(new URL('./transfer-worker.js', import.meta.url));
  const workers = initial.config.tftp.enabled ? transferPoolSize(initial.config.tftp.workers, threads.cpus) : 0;
  // One chunk-cache budget for the process: the main thread (multicast, MTFTP, HTTP, uploads) and
  // each transfer worker get an equal share.
  const cacheShare = Math.floor(DEFAULT_CACHE_BYTES / (workers + 1));
  const deps: DaemonDeps = {
    loopLagMs: lag.lagMs,
    wallClock: () => Date.now(),
    leaseStore: (path) => new LeaseJournalFile(path, { files: new NodeDurableFiles(), now: () => Date.now(), defer: setImmediate }),
    lease6Store: (path) => new JsonLease6File(path),
    ...base,
    sockets: nodeUdp,
    httpServers: new NodeHttpServerFactory(),
    logger: log.logger,
    setLogLevel: log.setLevel,
    uploadStore: (dir) => new NodeUploadStore(dir),
    fs: new NodeFileSystem(cacheShare),
    transferWorkers: workers > 0 ? { threads, size: workers, cacheBytes: cacheShare } : null,
  };
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(resolve(configPath), deps, initial);
  } catch (e) {
    log.logger.error('cannot start', { error: (e as Error).message });
    return 1;
  }
  // Before the control socket, which comes last: once it answers, everything is serving.
  let metrics: MetricsListener | null;
  try {
    metrics = await startMetrics(daemon, initial.config.metrics, lag.lagMs, log.logger);
  } catch (e) {
    log.logger.error('cannot start', { error: `metrics endpoint ([metrics] listen): ${(e as Error).message}` });
    daemon.stop();
    return 1;
  }
  let control: ControlListener | null;
  try {
    control = await startControl(daemon, initial.config.control, options.socket, log.logger);
  } catch (e) {
    log.logger.error('cannot start', { error: `control socket: ${(e as Error).message}` });
    daemon.stop();
    await metrics?.close();
    return 1;
  }
  return new Promise<number>((done) => {
    process.on('SIGHUP', () => void daemon.reload());
    const stop = (signal: string) => {
      log.logger.info('stopping', { signal });
      daemon.stop();
      // Give the final ERROR datagrams and log lines a moment to leave; closing the control
      // listener removes its socket file.
      const linger = new Promise((r) => setTimeout(r, 100).unref());
      // Transfer workers report the ends of their aborted transfers first (one summary line each).
      void Promise.all([control?.close(), metrics?.close(), daemon.drained(), linger]).then(() => done(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
