// The running daemon as the control protocol shows it: servers, counters and catalog translated
// into protocol types, and the two operator actions (reload, drop). Reads only what the servers
// expose, so a fake daemon object is enough to test it.
import type { Catalog, CatalogImage } from '../catalog/catalog.js';
import { hostByDuid, hostByMac, MTFTP_BLKSIZE } from '../catalog/catalog.js';
import { checkRequestedPath } from '../catalog/path-policy.js';
import type { Config } from '../config/config-types.js';
import type { ReloadResult } from '../daemon.js';
import type { DhcpServer } from '../dhcp/dhcp-server.js';
import type { Dhcp6Server } from '../dhcp6/dhcp6-server.js';
import type { Clock } from '../io/ports.js';
import type { MtftpServer } from '../multicast/mtftp-server.js';
import type { HttpServer } from '../http/http-server.js';
import type { TftpServer, TransferInfo } from '../tftp/tftp-server.js';
import type { DaemonView, DropResult, ViewReloadResult } from './control-handler.js';
import type { CatalogInfo, Leases6Info, LeasesInfo, ServiceInfo, SessionInfo, StatusInfo } from './control-protocol.js';

/** The parts of `Daemon` the view reads; `Daemon` itself satisfies it. */
export interface ViewedDaemon {
  readonly startedAt: number;
  readonly tftp: Pick<TftpServer, 'port' | 'transfers' | 'counters' | 'drop'> | null;
  readonly mtftp: Pick<MtftpServer, 'ports' | 'passes' | 'counters'> | null;
  readonly dhcp: Pick<DhcpServer, 'leaseList'> | null;
  readonly dhcp6: Pick<Dhcp6Server, 'leaseList'> | null;
  readonly http: Pick<HttpServer, 'port'> | null;
  currentConfig(): Config;
  currentCatalog(): Catalog;
  reload(): Promise<ReloadResult>;
}

export interface ProcessFacts {
  readonly clock: Clock;
  /** Wall-clock milliseconds: lease expiry times are wall-clock. */
  readonly wallClock: () => number;
  readonly version: string;
  readonly pid: number;
  /** The socket actually served (`serve --socket` may override the config). */
  readonly controlSocket: string;
}

/** The TFTP ERROR text a dropped client receives. */
export const DROP_REASON = 'dropped by the operator';
const MTFTP_ID_PREFIX = 'mtftp:';

export function createDaemonView(daemon: ViewedDaemon, facts: ProcessFacts): DaemonView {
  return {
    status: () => status(daemon, facts),
    sessions: () => sessions(daemon),
    leases: () => leases(daemon, facts.wallClock()),
    catalog: () => catalogInfo(daemon.currentCatalog()),
    reload: async (): Promise<ViewReloadResult> => {
      const result = await daemon.reload();
      if (!result.ok) return result;
      return {
        ok: true,
        configFile: daemon.currentConfig().sourceFile,
        images: daemon.currentCatalog().images.map((i) => i.name),
      };
    },
    drop: (id) => drop(daemon, id),
  };
}

function status(daemon: ViewedDaemon, facts: ProcessFacts): StatusInfo {
  const config = daemon.currentConfig();
  const catalog = daemon.currentCatalog();
  const transfers = daemon.tftp?.transfers() ?? [];
  const tftp = daemon.tftp?.counters;
  const mtftp = daemon.mtftp?.counters;
  return {
    version: facts.version,
    pid: facts.pid,
    uptimeMs: facts.clock.now() - daemon.startedAt,
    configFile: config.sourceFile,
    services: services(daemon, config, catalog, facts.controlSocket),
    counts: {
      images: catalog.images.length,
      activeTransfers: transfers.length,
      activeMulticastSessions: new Set(transfers.flatMap((t) => (t.multicast ? [t.multicast.group] : []))).size,
      activeMtftpPasses: daemon.mtftp?.passes().length ?? 0,
      tftpRequests: tftp?.requests ?? 0,
      tftpRefused: tftp?.refused ?? 0,
      transferOutcomes: { ...tftp?.outcomes },
      bytesSent: tftp?.bytesSent ?? 0,
      retransmits: tftp?.retransmits ?? 0,
      mtftpOpens: mtftp?.opens ?? 0,
      mtftpPasses: { ...mtftp?.passes },
    },
  };
}

function services(daemon: ViewedDaemon, config: Config, catalog: Catalog, controlSocket: string): ServiceInfo[] {
  const mc = config.multicast;
  const multicastRunning = daemon.tftp !== null && mc.enabled;
  const channels = catalog.images.filter((i) => i.mtftp !== null).length;
  return [
    daemon.tftp
      ? { name: 'tftp', running: true, address: config.tftp.listen, ports: [daemon.tftp.port()], detail: `root ${catalog.root}` }
      : { name: 'tftp', running: false, address: null, ports: [], detail: 'off ([tftp] enabled = false)' },
    {
      name: 'multicast',
      running: multicastRunning,
      address: null,
      ports: [],
      detail: multicastRunning
        ? `RFC 2090 sessions on ${mc.groupFirst}-${mc.groupLast}, ports ${mc.portFirst}-${mc.portLast}`
        : daemon.tftp === null
          ? 'off (needs the TFTP server)'
          : 'off ([multicast] enabled = false)',
    },
    daemon.mtftp
      ? {
          name: 'mtftp',
          running: true,
          address: config.tftp.listen,
          ports: daemon.mtftp.ports(),
          detail: `${channels} image channel${channels === 1 ? '' : 's'}`,
        }
      : { name: 'mtftp', running: false, address: null, ports: [], detail: 'off ([mtftp] enabled = false)' },
    daemon.http
      ? { name: 'http', running: true, address: config.http.listen, ports: [daemon.http.port() ?? config.http.port], detail: `root ${catalog.root}` }
      : { name: 'http', running: false, address: null, ports: [], detail: 'off ([http] enabled = false)' },
    dhcpService(daemon, config),
    dhcp6Service(daemon, config),
    { name: 'control', running: true, address: null, ports: [], detail: controlSocket },
  ];
}

function dhcp6Service(daemon: ViewedDaemon, config: Config): ServiceInfo {
  const d6 = config.dhcp6;
  if (daemon.dhcp6 === null || d6.mode === 'off') return { name: 'dhcp6', running: false, address: null, ports: [], detail: 'off ([dhcp6] mode = off)' };
  const pool = d6.mode === 'stateful' ? `, pool ${d6.poolFirst}-${d6.poolLast}` : '';
  return { name: 'dhcp6', running: true, address: d6.address, ports: [d6.port], detail: `${d6.mode} DHCPv6 on ${d6.link ?? 'the default link'}${pool}` };
}

function dhcpService(daemon: ViewedDaemon, config: Config): ServiceInfo {
  const dhcp = config.dhcp;
  if (daemon.dhcp === null) return { name: 'dhcp', running: false, address: null, ports: [], detail: 'off ([dhcp] mode = off)' };
  return {
    name: 'dhcp',
    running: true,
    address: dhcp.interface,
    ports: [dhcp.port, dhcp.proxyPort],
    detail: dhcp.mode === 'full' ? `full DHCP, pools ${dhcp.pools.map((p) => p.name).join(', ')}` : 'proxyDHCP (boot answers only)',
  };
}

function leases(daemon: ViewedDaemon, now: number): LeasesInfo {
  const mode = daemon.currentConfig().dhcp.mode;
  const v6 = leases6(daemon, now);
  if (daemon.dhcp === null) return { responder: 'off', note: 'DHCP responder is off ([dhcp] mode = off)', leases: [], v6 };
  const catalog = daemon.currentCatalog();
  const leases = daemon.dhcp.leaseList().map((l) => ({
    mac: l.mac,
    host: hostByMac(catalog, l.mac)?.name ?? null,
    address: l.address,
    pool: l.pool,
    state: l.state,
    expiresInMs: l.expiresAt - now,
  }));
  const note = mode === 'proxy' ? 'proxyDHCP hands out no addresses: your DHCP server keeps the leases' : null;
  return { responder: mode, note, leases, v6 };
}

function leases6(daemon: ViewedDaemon, now: number): Leases6Info {
  const mode = daemon.currentConfig().dhcp6.mode;
  if (daemon.dhcp6 === null || mode === 'off') return { responder: 'off', note: null, leases: [] };
  if (mode === 'stateless') return { responder: mode, note: 'stateless DHCPv6 hands out no addresses (boot answers only)', leases: [] };
  const catalog = daemon.currentCatalog();
  const leases = daemon.dhcp6.leaseList().map((l) => ({
    address: l.address,
    duid: l.duid,
    iaid: l.iaid,
    mac: l.mac,
    // As the responder matches hosts: DUID first, then the MAC the client or its relay revealed.
    host: (hostByDuid(catalog, l.duid) ?? (l.mac === null ? undefined : hostByMac(catalog, l.mac)))?.name ?? null,
    state: l.state,
    expiresInMs: l.expiresAt - now,
  }));
  return { responder: mode, note: null, leases };
}

function sessions(daemon: ViewedDaemon): SessionInfo[] {
  const catalog = daemon.currentCatalog();
  const transfers = daemon.tftp?.transfers() ?? [];
  // Listeners of a multicast session report no position of their own; the stream's is theirs.
  const streamPosition = new Map<string, number>();
  for (const t of transfers) {
    if (t.multicast) streamPosition.set(t.multicast.group, Math.max(streamPosition.get(t.multicast.group) ?? 0, t.bytes));
  }
  const tftp = transfers.map((t) => transferSession(t, catalog, t.multicast ? streamPosition.get(t.multicast.group)! : t.bytes));
  const mtftp = (daemon.mtftp?.passes() ?? []).map((p): SessionInfo => {
    const master = `${p.master.address}:${p.master.port}`;
    return {
      id: `${MTFTP_ID_PREFIX}${p.image}`,
      kind: 'mtftp',
      droppable: false,
      clients: [master],
      file: catalog.images.find((i) => i.name === p.image)?.file ?? p.image,
      image: p.image,
      direction: 'read',
      blksize: MTFTP_BLKSIZE,
      ...progress(p.bytes, p.totalBytes, p.ageMs),
      retransmits: p.retransmits,
      master,
      group: p.group,
      state: p.waiting > 0 ? `${p.state} (${p.waiting} waiting)` : p.state,
      ageMs: Math.round(p.ageMs),
    };
  });
  return [...tftp, ...mtftp];
}

function transferSession(t: TransferInfo, catalog: Catalog, bytes: number): SessionInfo {
  return {
    id: t.client,
    kind: t.multicast ? 'multicast' : 'unicast',
    droppable: true,
    clients: [t.client],
    file: t.file,
    image: imageOf(t.file, catalog)?.name ?? null,
    direction: t.direction,
    blksize: t.blksize,
    ...progress(bytes, t.totalBytes, t.ageMs),
    retransmits: t.retransmits,
    master: t.multicast?.master ?? null,
    group: t.multicast?.group ?? null,
    state: t.state,
    ageMs: Math.round(t.ageMs),
  };
}

function progress(bytes: number, totalBytes: number | null, ageMs: number) {
  return {
    bytes,
    totalBytes,
    percent: totalBytes === null ? null : totalBytes === 0 ? 100 : Math.round((bytes / totalBytes) * 1000) / 10,
    bytesPerSecond: ageMs > 0 ? Math.round((bytes * 1000) / ageMs) : 0,
  };
}

function imageOf(requested: string, catalog: Catalog): CatalogImage | undefined {
  const check = checkRequestedPath(requested);
  if (!check.ok) return undefined;
  const path = check.segments.join('/');
  return catalog.images.find((i) => i.file === path || i.ipxeFile === path);
}

function catalogInfo(catalog: Catalog): CatalogInfo {
  return {
    root: catalog.root,
    images: catalog.images.map((i) => ({
      name: i.name,
      file: i.file,
      size: i.size,
      description: i.description,
      arch: i.arch,
      ipxeFile: i.ipxeFile,
      isDefault: i.isDefault,
      mtftp: i.mtftp,
    })),
    hosts: catalog.hosts.map((h) => ({ name: h.name, mac: h.mac, duid: h.duid, image: h.image, address: h.address, hostname: h.hostname })),
  };
}

function drop(daemon: ViewedDaemon, id: string): DropResult {
  if (id.startsWith(MTFTP_ID_PREFIX)) {
    const image = id.slice(MTFTP_ID_PREFIX.length);
    return daemon.mtftp?.passes().some((p) => p.image === image) ? 'not-droppable' : 'no-such-session';
  }
  return daemon.tftp?.drop(id, DROP_REASON) ? 'dropped' : 'no-such-session';
}
