// Lifecycle: bind every socket first and fail fast, then serve; reload swaps config and catalog
// atomically (a bad new config leaves the old one serving); stop ends transfers with an ERROR.
import { buildCatalog } from './catalog/build-catalog.js';
import { CatalogStore } from './catalog/catalog-store.js';
import type { Catalog } from './catalog/catalog.js';
import { NO_MTFTP } from './catalog/served-mtftp.js';
import { ConfigError, formatIssue } from './config/config-error.js';
import type { Config, LogLevel } from './config/config-types.js';
import type { Clock, FileSystem, HttpServerFactory, LeaseStore, Logger, SocketFactory, UploadStore } from './io/ports.js';
import type { TransferPoolSettings } from './tftp/transfer-pool.js';
import { LossMeter, mbpsToBytesPerMs, TokenBucket } from './flowcontrol/pacing.js';
import { KeyedRateLimiter } from './admission/keyed-rate-limiter.js';
import { MtftpServer } from './multicast/mtftp-server.js';
import { TftpServer } from './tftp/tftp-server.js';
import { DhcpServer } from './dhcp/dhcp-server.js';
import { HttpServer } from './http/http-server.js';
import { Dhcp6Server } from './dhcp6/dhcp6-server.js';
import type { Lease6Store } from './dhcp6/leases6.js';
import type { Served6 } from './dhcp6/decide-reply6.js';

export interface DaemonDeps {
  readonly clock: Clock;
  readonly sockets: SocketFactory;
  readonly httpServers: HttpServerFactory;
  readonly fs: FileSystem;
  readonly logger: Logger;
  readonly setLogLevel: (level: LogLevel) => void;
  /** Reads and validates the ini file; throws ConfigError. */
  readonly readConfig: (path: string) => Promise<Config>;
  readonly uploadStore: (dir: string) => UploadStore;
  readonly loopLagMs: () => number;
  /** Wall-clock milliseconds, for DHCP leases (they outlive the process). */
  readonly wallClock: () => number;
  readonly leaseStore: (path: string) => LeaseStore;
  /** The DHCPv6 lease store (`[dhcp6] mode = stateful`). */
  readonly lease6Store?: (path: string) => Lease6Store;
  /** Transfer worker threads for unicast TFTP reads (`[tftp] workers`); absent: none. */
  readonly transferWorkers?: TransferPoolSettings | null;
}

/** An IPv6 literal as a URL host; a wildcard listen address becomes the DHCPv6 serving address.
 *  `0.0.0.0` and IPv4 addresses are not reachable over IPv6: no URL. */
function ipv6UrlHost(listen: string, serving: string): string | null {
  if (listen === '::') return `[${serving}]`;
  return listen.includes(':') ? `[${listen}]` : null;
}

export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly errors: readonly string[] };

/** Reads the config and builds its catalog: everything `check` validates and `reload` needs. */
export async function loadConfigAndCatalog(
  path: string,
  deps: Pick<DaemonDeps, 'readConfig' | 'fs' | 'clock'>,
): Promise<{ config: Config; catalog: Catalog }> {
  const config = await deps.readConfig(path);
  const catalog = await buildCatalog(config, deps.fs, deps.clock.now());
  return { config, catalog };
}

export class Daemon {
  private config: Config;
  private readonly catalog: CatalogStore;
  readonly tftp: TftpServer | null;
  readonly mtftp: MtftpServer | null;
  readonly dhcp: DhcpServer | null;
  readonly http: HttpServer | null;
  readonly dhcp6: Dhcp6Server | null;
  readonly startedAt: number;

  private constructor(
    private readonly configPath: string,
    private readonly deps: DaemonDeps,
    initial: { config: Config; catalog: Catalog },
  ) {
    this.config = initial.config;
    this.catalog = new CatalogStore(initial.catalog);
    this.startedAt = deps.clock.now();
    const tftpConfig = initial.config.tftp;
    // One budget for all multicast (RFC 2090 and MTFTP): the global `max_rate` cap allows a 64 KiB
    // burst, a few blocks per timer tick at any block size.
    const globalBucket = new TokenBucket(mbpsToBytesPerMs(initial.config.multicast.maxRateMbps), 64 * 1024, deps.clock.now());
    const lossMeter = new LossMeter();
    // One request budget per client address for the TFTP and MTFTP ports together.
    const requestRate = new KeyedRateLimiter(() => deps.clock.now(), () => ({ ratePerS: this.config.tftp.clientRequestRate, burst: this.config.tftp.clientRequestBurst }));
    this.tftp = tftpConfig.enabled
      ? new TftpServer({
          clock: deps.clock,
          sockets: deps.sockets,
          fs: deps.fs,
          uploads: tftpConfig.uploadDir === null ? null : deps.uploadStore(tftpConfig.uploadDir),
          catalog: this.catalog,
          logger: deps.logger.child({ service: 'tftp' }),
          settings: () => this.config.tftp,
          multicastSettings: () => this.config.multicast,
          loopLagMs: deps.loopLagMs,
          globalBucket,
          lossMeter,
          requestRate,
          workers: deps.transferWorkers ?? null,
        })
      : null;
    this.mtftp = initial.config.mtftp.enabled
      ? new MtftpServer({
          clock: deps.clock,
          sockets: deps.sockets,
          fs: deps.fs,
          catalog: this.catalog,
          logger: deps.logger.child({ service: 'mtftp' }),
          tftp: () => this.config.tftp,
          multicast: () => this.config.multicast,
          mtftp: () => this.config.mtftp,
          globalBucket,
          lossMeter,
          requestRate,
        })
      : null;
    this.http = initial.config.http.enabled
      ? new HttpServer({
          clock: deps.clock,
          fs: deps.fs,
          catalog: this.catalog,
          logger: deps.logger.child({ service: 'http' }),
          settings: initial.config.http,
          listener: deps.httpServers,
          requestRate,
        })
      : null;
    const dhcp = initial.config.dhcp;
    this.dhcp =
      dhcp.mode !== 'off' && dhcp.interface !== null
        ? new DhcpServer({
            sockets: deps.sockets,
            catalog: this.catalog,
            logger: deps.logger.child({ service: 'dhcp' }),
            settings: dhcp,
            wallClock: deps.wallClock,
            leaseStore: deps.leaseStore(dhcp.stateFile),
            nextServer: dhcp.nextServer ?? dhcp.interface,
            mtftp: this.mtftp ?? NO_MTFTP,
            http: { urlBase: () => this.http?.urlBase(dhcp.nextServer ?? dhcp.interface!) ?? null },
          })
        : null;
    const dhcp6 = initial.config.dhcp6;
    const served6: Served6 = {
      tftpUrlBase: () => {
        const host = this.tftp && dhcp6.address ? ipv6UrlHost(this.config.tftp.listen, dhcp6.address) : null;
        const port = this.tftp?.port() ?? 0;
        return host === null || port === 0 ? null : `tftp://${host}${port === 69 ? '' : `:${port}`}`;
      },
      httpUrlBase: () => {
        const host = this.http && dhcp6.address ? ipv6UrlHost(initial.config.http.listen, dhcp6.address) : null;
        const port = this.http?.port() ?? null;
        return host === null || port === null ? null : `http://${host}${port === 80 ? '' : `:${port}`}`;
      },
    };
    if (dhcp6.mode === 'stateful' && deps.lease6Store === undefined) throw new Error('internal: [dhcp6] mode = stateful needs a lease store');
    this.dhcp6 =
      dhcp6.mode !== 'off' && dhcp6.address !== null
        ? new Dhcp6Server({
            sockets: deps.sockets,
            catalog: this.catalog,
            logger: deps.logger.child({ service: 'dhcp6' }),
            settings: dhcp6,
            wallClock: deps.wallClock,
            leaseStore: deps.lease6Store?.(dhcp6.stateFile) ?? { load: async () => ({ leases: [], damage: null }), save: async () => undefined },
            served: served6,
          })
        : null;
  }

  static async start(configPath: string, deps: DaemonDeps, initial: { config: Config; catalog: Catalog }): Promise<Daemon> {
    const daemon = new Daemon(configPath, deps, initial);
    try {
      await daemon.tftp?.start();
      await daemon.mtftp?.start();
      await daemon.http?.start();
      await daemon.dhcp?.start();
      await daemon.dhcp6?.start();
    } catch (e) {
      daemon.tftp?.stop();
      void daemon.tftp?.drain();
      daemon.mtftp?.stop();
      void daemon.http?.stop();
      daemon.dhcp?.stop();
      daemon.dhcp6?.stop();
      throw e;
    }
    deps.logger.info('pxecast started', {
      config: configPath,
      root: initial.catalog.root,
      images: initial.catalog.images.map((i) => i.name).join(',') || 'none',
    });
    return daemon;
  }

  currentConfig(): Config {
    return this.config;
  }

  currentCatalog(): Catalog {
    return this.catalog.current();
  }

  async reload(): Promise<ReloadResult> {
    let next;
    try {
      next = await loadConfigAndCatalog(this.configPath, this.deps);
    } catch (e) {
      const errors = e instanceof ConfigError ? e.issues.map(formatIssue) : [(e as Error).message];
      this.deps.logger.error('reload rejected; the previous configuration stays in force', { errors });
      return { ok: false, errors };
    }
    const before = this.config.tftp;
    const after = next.config.tftp;
    if (before.enabled !== after.enabled || before.listen !== after.listen || before.port !== after.port || before.uploadDir !== after.uploadDir || before.workers !== after.workers) {
      this.deps.logger.warn('[tftp] enabled, listen, port, upload_dir and workers take effect only after a restart');
    }
    const m0 = this.config.multicast;
    const m1 = next.config.multicast;
    if (m0.groupFirst !== m1.groupFirst || m0.groupLast !== m1.groupLast || m0.portFirst !== m1.portFirst || m0.portLast !== m1.portLast || m0.maxRateMbps !== m1.maxRateMbps) {
      this.deps.logger.warn('[multicast] group_*, port_* and max_rate take effect only after a restart');
    }
    const h0 = this.config.http;
    const h1 = next.config.http;
    if (h0.enabled !== h1.enabled || h0.listen !== h1.listen || h0.port !== h1.port || h0.maxConnections !== h1.maxConnections || h0.maxConnectionsPerClient !== h1.maxConnectionsPerClient) {
      this.deps.logger.warn('[http] settings take effect only after a restart');
    }
    // Pools, reservations (host addresses among them) and the responder's mode live in the lease
    // table built at start; hosts' images, names and known-ness follow the catalog at once.
    if (JSON.stringify(this.config.dhcp) !== JSON.stringify(next.config.dhcp)) {
      this.deps.logger.warn('[dhcp], [pool NAME] and host addresses take effect only after a restart');
    }
    if (JSON.stringify(this.config.dhcp6) !== JSON.stringify(next.config.dhcp6)) {
      this.deps.logger.warn('[dhcp6] takes effect only after a restart');
    }
    if (this.config.mtftp.enabled !== next.config.mtftp.enabled) {
      this.deps.logger.warn('[mtftp] enabled takes effect only after a restart');
    }
    // New MTFTP ports are bound before the catalog that names them is published, so DHCP never
    // advertises a channel nobody listens on; ports the new catalog drops are released after it.
    await this.mtftp?.prepareCatalog(next.catalog);
    this.config = next.config;
    this.catalog.replace(next.catalog);
    this.mtftp?.releaseUnused();
    this.deps.setLogLevel(next.config.log.level);
    this.deps.logger.info('configuration reloaded', { images: next.catalog.images.map((i) => i.name).join(',') || 'none' });
    return { ok: true };
  }

  /** After stop(): resolves once the transfer workers have reported their transfers' ends. */
  async drained(): Promise<void> {
    await this.tftp?.drain();
  }

  stop(): void {
    this.tftp?.stop();
    this.mtftp?.stop();
    void this.http?.stop();
    this.dhcp?.stop();
    this.dhcp6?.stop();
    this.deps.logger.info('pxecast stopped');
  }
}
