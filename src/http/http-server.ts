// Glue for the HTTP server over the served tree: request head -> admission (method, request rate
// shared with TFTP and MTFTP, connections per client) -> path (the TFTP rules) -> open the shared
// file version -> plan (http-response.ts) -> stream it in bounded pieces with backpressure. A
// transfer serves the version it opened: renamed over, the old one goes on; rewritten in place or
// truncated, the read fails and the connection is cut rather than mixing versions. One summary
// line per transfer, as TFTP logs.
import { createHash } from 'node:crypto';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { resolveInRoot } from '../catalog/served-tree.js';
import type { HttpConfig } from '../config/config-types.js';
import type { Clock, FileSystem, HttpExchange, HttpListener, HttpServerFactory, Logger, OpenedFile, PeerAddress } from '../io/ports.js';
import type { KeyedRateLimiter } from '../admission/keyed-rate-limiter.js';
import { hostByMac } from '../catalog/catalog.js';
import { parseIpxeScriptTarget, renderIpxeScript } from '../catalog/ipxe-script.js';
import { nameFromTarget, planFileResponse } from './http-response.js';
import { countIn } from '../metrics/counters.js';

/** Bytes read from the file and written per step: small enough to keep memory flat per client. */
export const HTTP_CHUNK_BYTES = 64 * 1024;

export interface HttpServerDeps {
  readonly clock: Clock;
  readonly fs: FileSystem;
  readonly catalog: CatalogStore;
  readonly logger: Logger;
  readonly settings: HttpConfig;
  readonly listener: HttpServerFactory;
  /** Per-client request budget, shared with the TFTP and MTFTP ports. */
  readonly requestRate: KeyedRateLimiter;
}

export interface HttpCounters {
  /** Responses by status code. */
  responses: Record<string, number>;
  /** Ended transfers (GET bodies) by outcome. */
  transfers: Record<string, number>;
  bytesSent: number;
  /** Requests the adapter answered itself (malformed, too large, too slow), by status. */
  clientErrors: Record<string, number>;
}

export interface HttpTransferProgress {
  readonly client: string;
  readonly file: string;
  readonly bytes: number;
  readonly total: number;
  readonly startedAt: number;
}

const ALLOWED = 'GET, HEAD';

export class HttpServer {
  private listener: HttpListener | null = null;
  private readonly activeByClient = new Map<string, number>();
  private readonly transfers = new Set<{ progress: HttpTransferProgress & { bytes: number } }>();
  readonly counters: HttpCounters = { responses: {}, transfers: {}, bytesSent: 0, clientErrors: {} };

  constructor(private readonly deps: HttpServerDeps) {}

  async start(): Promise<void> {
    const s = this.deps.settings;
    this.listener = await this.deps.listener.listen(
      { address: s.listen, port: s.port, maxConnections: s.maxConnections },
      (exchange) => void this.onRequest(exchange).catch((e: unknown) => this.onFault(exchange, e)),
      (peer, status, reason) => this.onClientError(peer, status, reason),
    );
    this.deps.logger.info('http listening', { address: s.listen, port: this.listener.port });
  }

  port(): number | null {
    return this.listener?.port ?? null;
  }

  /**
   * `http://HOST:PORT` as clients reach this server, or null while it is not listening: the only
   * source of the boot URLs DHCP hands out. A wildcard listen address is replaced by `wildcardHost`
   * (the address DHCP names as the boot server).
   */
  urlBase(wildcardHost: string): string | null {
    const port = this.port();
    if (port === null) return null;
    const listen = this.deps.settings.listen;
    const host = listen === '0.0.0.0' || listen === '::' ? wildcardHost : listen;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Bodies being sent now. */
  progress(): HttpTransferProgress[] {
    return [...this.transfers].map((t) => ({ ...t.progress }));
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    await listener?.close();
  }

  /** Nothing a request does may crash the daemon: an unexpected fault cuts that connection only. */
  private onFault(exchange: HttpExchange, e: unknown): void {
    const { peer } = exchange.request;
    this.deps.logger.error('http request failed', { client: `${peer.address}:${peer.port}`, target: exchange.request.target.slice(0, 200), error: (e as Error).message });
    exchange.abort();
  }

  private onClientError(peer: PeerAddress, status: number, reason: string): void {
    countIn(this.counters.clientErrors, status);
    this.deps.logger.debug('http request rejected by the parser', { client: `${peer.address}:${peer.port}`, status, reason });
  }

  /**
   * A refusal, with no body, ending the connection: shim's HTTP fetches through OVMF's HttpDxe
   * stalled about 6 s after each kept-alive 404 (three optional files on every boot).
   */
  private reply(exchange: HttpExchange, status: number, headers: Readonly<Record<string, string>>, reason: string, file: string | null): void {
    countIn(this.counters.responses, status);
    const { peer, method } = exchange.request;
    this.deps.logger.info('http request refused', { client: `${peer.address}:${peer.port}`, method, file: file ?? exchange.request.target.slice(0, 200), status, reason });
    exchange.start(status, { ...headers, 'Content-Length': '0', Connection: 'close' });
    exchange.finish();
  }

  private async onRequest(exchange: HttpExchange): Promise<void> {
    const { method, peer, headers } = exchange.request;
    if (method !== 'GET' && method !== 'HEAD') return this.reply(exchange, 405, { Allow: ALLOWED }, `method ${method.slice(0, 20)}`, null);
    if (!this.deps.requestRate.take(peer.address)) return this.reply(exchange, 429, { 'Retry-After': '1' }, 'request rate over the per-client limit', null);
    const active = this.activeByClient.get(peer.address) ?? 0;
    if (active >= this.deps.settings.maxConnectionsPerClient) {
      return this.reply(exchange, 503, { 'Retry-After': '1' }, `${active} transfers already running for this client`, null);
    }
    const script = parseIpxeScriptTarget(exchange.request.target);
    if (script !== null) return this.serveIpxeScript(exchange, script, method === 'HEAD');
    const target = nameFromTarget(exchange.request.target);
    if (!target.ok) return this.reply(exchange, target.status, {}, target.reason, null);
    this.activeByClient.set(peer.address, active + 1);
    try {
      await this.serveFile(exchange, target.name, method === 'HEAD', headers);
    } finally {
      const left = (this.activeByClient.get(peer.address) ?? 1) - 1;
      if (left > 0) this.activeByClient.set(peer.address, left);
      else this.activeByClient.delete(peer.address);
    }
  }

  /** An image's iPXE script, rendered for the client that asks (catalog/ipxe-script.ts). */
  private serveIpxeScript(exchange: HttpExchange, script: { image: string; mac: string; arch: string }, headOnly: boolean): void {
    const catalog = this.deps.catalog.current();
    const image = catalog.images.find((i) => i.name === script.image);
    const name = exchange.request.target.split('?', 1)[0]!;
    if (!image?.ipxeScript) return this.reply(exchange, 404, {}, `no image ${script.image.slice(0, 64)} with an ipxe_script`, name);
    const { peer, headers } = exchange.request;
    const host = script.mac === 'unknown' ? undefined : hostByMac(catalog, script.mac);
    // The client reached us by its Host header; anything odd in it falls back to the listen address.
    const hostHeader = headers['host'];
    const base = hostHeader !== undefined && /^[A-Za-z0-9.:[\]-]{1,300}$/.test(hostHeader) ? `http://${hostHeader}` : this.urlBase(this.deps.settings.listen);
    const body = Buffer.from(
      renderIpxeScript(image.ipxeScript.template, {
        mac: script.mac,
        ip: peer.address,
        arch: script.arch,
        image: image.name,
        base_url: base ?? '',
        host: host?.name ?? '',
        hostname: host?.hostname ?? '',
      }),
    );
    countIn(this.counters.responses, 200);
    exchange.start(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store' });
    if (!headOnly) {
      void exchange.write(body);
      this.counters.bytesSent += body.length;
    }
    exchange.finish();
    countIn(this.counters.transfers, 'complete');
    this.deps.logger.info('transfer', {
      client: `${peer.address}:${peer.port}`,
      file: name,
      method: exchange.request.method,
      status: 200,
      script: image.ipxeScript.file,
      mac: script.mac,
      arch: script.arch,
      bytes: headOnly ? 0 : body.length,
      outcome: 'complete',
    });
  }

  private async serveFile(exchange: HttpExchange, name: string, headOnly: boolean, headers: HttpExchange['request']['headers']): Promise<void> {
    const resolution = await resolveInRoot(this.deps.fs, this.deps.catalog.current().root, name);
    if (resolution.kind === 'not-found') return this.reply(exchange, 404, {}, resolution.reason, name);
    if (resolution.kind === 'denied') return this.reply(exchange, 403, {}, resolution.reason, name);
    let file: OpenedFile;
    try {
      file = await this.deps.fs.open(resolution.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? this.reply(exchange, 404, {}, 'vanished before open', name) : this.reply(exchange, 403, {}, `cannot open (${code ?? 'error'})`, name);
    }
    try {
      const etag = `"${createHash('sha256').update(file.identity).digest('hex').slice(0, 20)}"`;
      const plan = planFileResponse(
        { size: file.size, etag, mtimeMs: file.mtimeMs },
        { range: headers['range'], ifRange: headers['if-range'], ifNoneMatch: headers['if-none-match'], ifModifiedSince: headers['if-modified-since'] },
      );
      countIn(this.counters.responses, plan.status);
      exchange.start(plan.status, { ...plan.headers, 'Content-Type': 'application/octet-stream' });
      if (headOnly || plan.status === 304 || plan.status === 416) {
        exchange.finish();
        return;
      }
      await this.stream(exchange, file, name, plan.start, plan.end, plan.status);
    } finally {
      file.release();
    }
  }

  private async stream(exchange: HttpExchange, file: OpenedFile, name: string, start: number, end: number, status: number): Promise<void> {
    const { peer } = exchange.request;
    const startedAt = this.deps.clock.now();
    const entry = { progress: { client: `${peer.address}:${peer.port}`, file: name, bytes: 0, total: end - start + 1, startedAt } };
    this.transfers.add(entry);
    let outcome = 'complete';
    let detail: string | undefined;
    try {
      for (let offset = start; offset <= end; ) {
        const length = Math.min(HTTP_CHUNK_BYTES, end - offset + 1);
        const chunk = await file.read(offset, length);
        if (chunk.length < length) throw new Error('the file is shorter than when it was opened');
        if (!(await exchange.write(chunk))) {
          outcome = 'client-gone';
          break;
        }
        offset += length;
        entry.progress.bytes += length;
        this.counters.bytesSent += length;
      }
      if (outcome === 'complete') exchange.finish();
    } catch (e) {
      // The file changed under the transfer: cut the connection so the client sees a short body.
      outcome = 'file-changed';
      detail = (e as Error).message;
      exchange.abort();
    } finally {
      this.transfers.delete(entry);
    }
    countIn(this.counters.transfers, outcome);
    const ms = this.deps.clock.now() - startedAt;
    this.deps.logger.info('transfer', {
      client: entry.progress.client,
      file: name,
      method: 'GET',
      status,
      range: `${start}-${end}`,
      bytes: entry.progress.bytes,
      duration_ms: Math.round(ms),
      rate_mbps: ms > 0 ? Math.round(((entry.progress.bytes * 8) / (ms / 1000) / 1e6) * 100) / 100 : 0,
      outcome,
      ...(detail ? { detail } : {}),
    });
  }
}
