// The Prometheus endpoint: HTTP `GET /metrics` with prom-client's exposition format; the only module
// that uses prom-client or node:http. The pxecast families are registered once, and their values
// are read from `read()` once per scrape (collect callbacks), so serving traffic never touches a
// metric. prom-client's default process metrics (CPU, memory, heap, event loop, handles) come along.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

import type { Logger, MetricFamily, MetricSample, MetricsListener, MetricValues } from './ports.js';

export interface MetricsEndpointOptions {
  /** An IP literal; the endpoint binds exactly there. */
  readonly address: string;
  /** 0 lets the system choose (tests). */
  readonly port: number;
  readonly families: readonly MetricFamily[];
  /** The current values of `families`, called once per scrape. */
  readonly read: () => MetricValues;
  readonly logger: Logger;
}

/** A scraper is a handful of connections; anything beyond this is not one. */
const MAX_CONNECTIONS = 16;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Listens on `address:port`. Rejects with an error naming the address when the bind fails
 * (EADDRINUSE, EADDRNOTAVAIL, EACCES, ...).
 */
export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsListener> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let current: MetricValues = {};
  for (const family of options.families) register(registry, family, () => current[family.name] ?? []);

  const scrape = async (res: ServerResponse, head: boolean): Promise<void> => {
    current = options.read();
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return plain(res, 404, 'not found; the metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return plain(res, 405, 'method not allowed\n');
    }
    scrape(res, req.method === 'HEAD').catch((e: unknown) => {
      options.logger.error('bug: metrics scrape failed', { error: (e as Error).stack ?? String(e) });
      if (!res.headersSent) plain(res, 500, 'metrics collection failed\n');
      else res.destroy();
    });
  };

  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, handle);
  server.maxConnections = MAX_CONNECTIONS;
  const where = options.address.includes(':') ? `[${options.address}]:${options.port}` : `${options.address}:${options.port}`;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => reject(Object.assign(new Error(`cannot listen on ${where}: ${e.code ?? e.message}`), { code: e.code }));
    server.once('error', onError);
    server.listen({ host: options.address, port: options.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // After a successful bind, a socket-level error is not fatal: log it and keep serving.
  server.on('error', (e) => options.logger.warn('metrics endpoint error', { error: e.message }));
  server.on('clientError', (_e, socket) => socket.destroy());

  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function register(registry: Registry, family: MetricFamily, samples: () => readonly MetricSample[]): void {
  const config = { name: family.name, help: family.help, labelNames: [...family.labelNames], registers: [registry] };
  if (family.type === 'counter') {
    new Counter({
      ...config,
      collect() {
        this.reset();
        for (const s of samples()) this.inc(s.labels, s.value);
      },
    });
  } else {
    new Gauge({
      ...config,
      collect() {
        this.reset();
        for (const s of samples()) this.set(s.labels, s.value);
      },
    });
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
