// Glue for DHCP: datagram -> codec -> policy (client class, boot policy, leases) -> reply.
// Sockets (protocols.md 6.4): one wildcard socket on the server port receives broadcasts; one
// bound to the serving address receives unicasts (renewals, relays) and sends every reply, so
// replies leave through the serving interface even on a multi-homed host (Node cannot report the
// receiving interface). The PXE port (4011) is bound on the serving address.
//
// full:  DISCOVER/OFFER, REQUEST (selecting, init-reboot, renewing, rebinding)/ACK/NAK, DECLINE,
//        RELEASE, INFORM; boot information in OFFER/ACK (protocols.md 7.3 A2), a known host's
//        name as option 12. With `unknown_clients = ignore` only `[host NAME]` MACs are answered.
// proxy: only PXE and UEFI HTTP Boot clients (option 60 `PXEClient`, `HTTPClient`) the catalog
//        has an image for; OFFER with yiaddr 0 and the boot information; REQUESTs on port 67 belong to the site DHCP server; requests
//        on 4011 get an ACK with the boot information, sent to their source port (iPXE uses 68,
//        UEFI 4011). A client with no image gets silence, so another boot server can answer.
import { hostByMac } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { ServedMtftp } from '../catalog/served-mtftp.js';
import { guarded } from '../datagram-guard.js';
import { decodeDhcp, DhcpMessageType, encodeDhcp, type DhcpMessage } from '../codec/dhcp-message.js';
import type { DhcpConfig } from '../config/config-types.js';
import type { DatagramHandler, DatagramSocket, Logger, PeerAddress, SocketFactory } from '../io/ports.js';
import { decideBoot, type BootDecision, type ServedHttp } from './boot-policy.js';
import { classifyClient, type ClientInfo } from './client-class.js';
import { LimitEpisodes } from '../limits/limit-episodes.js';
import { LeaseTable, prefixMask, type Lease, type LeaseStore } from './leases.js';
import { BROADCAST, replyDestination } from './reply-destination.js';

/** A pool-pressure episode ends after this long without another full-pool DISCOVER. */
const POOL_EPISODE_QUIET_MS = 60_000;

const MESSAGE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DhcpMessageType).map(([k, v]) => [v, k]));

export interface DhcpServerDeps {
  readonly sockets: SocketFactory;
  readonly catalog: CatalogStore;
  readonly logger: Logger;
  readonly settings: DhcpConfig;
  /** Wall-clock milliseconds (leases outlive the process). */
  readonly wallClock: () => number;
  readonly leaseStore: LeaseStore;
  /** The TFTP server's address as clients must reach it (siaddr). */
  readonly nextServer: string;
  /** What the MTFTP server serves now: the only source of option 43 sub-options 1-5. */
  readonly mtftp: ServedMtftp;
  /** Where the HTTP server is now: the only source of UEFI HTTP Boot URLs. */
  readonly http: ServedHttp;
}

export interface DhcpCounters {
  received: Record<string, number>;
  sent: Record<string, number>;
  ignored: Record<string, number>;
  decodeErrors: Record<string, number>;
  leaseWriteErrors: number;
  /** Pool pressure: 'offer-reclaimed' (an unrequested offer given to another MAC), 'pool-exhausted'. */
  limited: Record<string, number>;
}

export class DhcpServer {
  private readonly leases: LeaseTable | null;
  private wildcard: DatagramSocket | null = null;
  private serving: DatagramSocket | null = null;
  private pxePort: DatagramSocket | null = null;
  readonly counters: DhcpCounters = { received: {}, sent: {}, ignored: {}, decodeErrors: {}, leaseWriteErrors: 0, limited: {} };
  private readonly serverId: string;
  /** Pool-pressure warnings are logged once per episode, not once per DISCOVER of a flood. */
  private readonly episodes: LimitEpisodes;

  constructor(private readonly deps: DhcpServerDeps) {
    const s = deps.settings;
    if (s.interface === null) throw new Error('DHCP needs a serving address');
    this.serverId = s.interface;
    this.episodes = new LimitEpisodes(deps.wallClock, POOL_EPISODE_QUIET_MS);
    this.leases =
      s.mode === 'full'
        ? new LeaseTable(s.pools, { leaseTimeMs: s.leaseTimeMs, offerTimeoutMs: s.offerTimeoutMs, serverAddress: s.interface }, deps.wallClock)
        : null;
  }

  async start(): Promise<void> {
    const s = this.deps.settings;
    if (this.leases) {
      // The store has written what it could read back into sound files before this resolves.
      const loaded = await this.deps.leaseStore.load();
      this.leases.restore(loaded.leases);
      for (const damage of loaded.damage) {
        this.deps.logger.error('damaged lease file set aside; serving with the leases that could be read from it', {
          file: damage.file,
          problem: damage.problem,
          moved_to: damage.movedTo,
          leases_recovered: loaded.leases.length,
        });
      }
      if (loaded.tornTail) {
        this.deps.logger.warn('lease journal ended in an incomplete entry (a crash while writing; never acknowledged): set aside', {
          file: loaded.tornTail.file,
          bytes: loaded.tornTail.bytes,
          moved_to: loaded.tornTail.movedTo,
        });
      }
    }
    this.wildcard = await this.deps.sockets.bind({ address: '0.0.0.0', port: s.port, reuseAddr: true });
    this.serving = await this.deps.sockets.bind({ address: this.serverId, port: s.port, reuseAddr: true, broadcast: true });
    this.pxePort = await this.deps.sockets.bind({ address: this.serverId, port: s.proxyPort, reuseAddr: true });
    this.wildcard.onMessage(this.guard((d, from) => this.onDatagram(d, from, 'dhcp')));
    this.serving.onMessage(this.guard((d, from) => this.onDatagram(d, from, 'dhcp')));
    this.pxePort.onMessage(this.guard((d, from) => this.onDatagram(d, from, 'pxe')));
    this.deps.logger.info('dhcp listening', { mode: s.mode, address: this.serverId, port: s.port, pxe_port: s.proxyPort });
  }

  stop(): void {
    for (const s of [this.wildcard, this.serving, this.pxePort]) s?.close();
    this.wildcard = this.serving = this.pxePort = null;
  }

  leaseList(): Lease[] {
    return this.leases?.all() ?? [];
  }

  /** A socket handler that cannot throw: decode errors are counted by reason, the rest logged. */
  private guard(handle: DatagramHandler): DatagramHandler {
    return guarded(this.deps.logger, 'DHCP', handle, (e, _data, from) => {
      this.counters.decodeErrors[e.code] = (this.counters.decodeErrors[e.code] ?? 0) + 1;
      this.deps.logger.debug('malformed DHCP datagram dropped', { peer: `${from.address}:${from.port}`, reason: e.message });
    });
  }

  private ignore(reason: string, msg?: DhcpMessage): void {
    this.counters.ignored[reason] = (this.counters.ignored[reason] ?? 0) + 1;
    this.deps.logger.debug('dhcp request ignored', { reason, mac: msg?.chaddr });
  }

  private onDatagram(data: Buffer, from: PeerAddress, port: 'dhcp' | 'pxe'): void {
    const msg = decodeDhcp(data);
    if (msg.op !== 1) return this.ignore('not a BOOTREQUEST', msg);
    const type = msg.options[53];
    if (typeof type !== 'number') return this.ignore('no message type (BOOTP)', msg);
    const name = MESSAGE_NAMES[type] ?? `type-${type}`;
    this.counters.received[name] = (this.counters.received[name] ?? 0) + 1;
    const client = classifyClient(msg);
    if (this.deps.settings.unknownClients === 'ignore' && hostByMac(this.deps.catalog.current(), client.mac) === undefined) {
      return this.ignore('unknown client ([dhcp] unknown_clients = ignore)', msg);
    }
    if (port === 'pxe') return this.onPxeRequest(msg, client, from, type);
    if (this.deps.settings.mode === 'proxy') return this.onProxyRequest(msg, client, type);
    return this.onFullRequest(msg, client, type);
  }

  // ----------------------------------------------------------------------------------------------
  // full mode

  private onFullRequest(msg: DhcpMessage, client: ClientInfo, type: number): void {
    const leases = this.leases!;
    const pool = leases.poolFor(msg.giaddr !== '0.0.0.0' ? msg.giaddr : this.serverId);
    if (pool === null) return this.ignore('no pool for this link', msg);
    const requested = typeof msg.options[50] === 'string' ? (msg.options[50] as string) : null;
    const serverId = typeof msg.options[54] === 'string' ? (msg.options[54] as string) : null;
    switch (type) {
      case DhcpMessageType.DISCOVER: {
        const reclaimedBefore = leases.reclaimedOffers;
        const lease = leases.offer(client.mac, pool, requested);
        if (lease === null) {
          this.counters.limited['pool-exhausted'] = (this.counters.limited['pool-exhausted'] ?? 0) + 1;
          if (this.episodes.hit(`exhausted|${pool.name}`).first) this.deps.logger.warn('dhcp pool exhausted (bound leases only); logged once per episode', { pool: pool.name, mac: client.mac });
          return;
        }
        if (leases.reclaimedOffers !== reclaimedBefore) {
          this.counters.limited['offer-reclaimed'] = (this.counters.limited['offer-reclaimed'] ?? 0) + 1;
          if (this.episodes.hit(`reclaim|${pool.name}`).first) {
            this.deps.logger.warn('dhcp pool full of unrequested offers: reclaiming the oldest (a DISCOVER flood?); logged once per episode', { pool: pool.name, mac: client.mac });
          }
        }
        // Offers are not persisted: they expire within offer_timeout anyway.
        this.reply(msg, client, DhcpMessageType.OFFER, lease.address, this.addressOptions(pool, true));
        return;
      }
      case DhcpMessageType.REQUEST: {
        if (serverId !== null && serverId !== this.serverId) {
          leases.withdrawOffer(client.mac); // it took another server's offer
          return this.ignore('request for another server', msg);
        }
        // Selecting/init-reboot name the address in option 50; renewing/rebinding in ciaddr.
        const address = requested ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : null);
        if (address === null) return this.ignore('request without an address', msg);
        const verdict = leases.request(client.mac, pool, address);
        if (!verdict.ack) {
          this.deps.logger.info('dhcp nak', { mac: client.mac, address, reason: verdict.reason });
          this.reply(msg, client, DhcpMessageType.NAK, '0.0.0.0', { 56: verdict.reason });
          return;
        }
        this.deps.logger.info('dhcp lease', { mac: client.mac, address, pool: pool.name, pxe: client.isPxe, arch: client.arch ?? 'none' });
        // The binding is on disk before the client hears of it: a crash or SIGKILL right after the
        // ACK cannot give the address to someone else after the restart. A binding that could not
        // be stored gets no ACK at all: the client retries its REQUEST, and is ACKed once the disk
        // takes the write again.
        void this.persist().then((stored) => {
          if (stored) this.reply(msg, client, DhcpMessageType.ACK, address, this.addressOptions(pool, true));
          else this.deps.logger.warn('dhcp ack withheld: the lease is not on disk', { mac: client.mac, address });
        });
        return;
      }
      case DhcpMessageType.DECLINE:
        if (requested !== null && leases.decline(client.mac, requested)) {
          this.deps.logger.warn('dhcp address declined: quarantined', { mac: client.mac, address: requested });
          void this.persist();
        }
        return;
      case DhcpMessageType.RELEASE:
        if (leases.release(client.mac, msg.ciaddr)) {
          this.deps.logger.info('dhcp release', { mac: client.mac, address: msg.ciaddr });
          void this.persist();
        }
        return;
      case DhcpMessageType.INFORM:
        // RFC 2131 3.4: configuration only, no yiaddr, no lease time.
        this.reply(msg, client, DhcpMessageType.ACK, '0.0.0.0', this.addressOptions(pool, false));
        return;
      default:
        this.ignore(`unexpected message type ${type}`, msg);
    }
  }

  private addressOptions(pool: { prefix: number; router: string | null; dns: string | null }, withLease: boolean): Record<number, unknown> {
    const s = this.deps.settings;
    const seconds = Math.floor(s.leaseTimeMs / 1000);
    const options: Record<number, unknown> = { 1: prefixMask(pool.prefix) };
    if (pool.router) options[3] = [pool.router];
    if (pool.dns) options[6] = [pool.dns];
    if (withLease) {
      options[51] = seconds;
      options[58] = Math.floor(seconds / 2);
      options[59] = Math.floor((seconds * 7) / 8);
    }
    return options;
  }

  /** Stores the lease changes; true once they are on disk. A failed write is logged and counted and
   *  serving goes on (what is on disk stays intact; only new bindings wait for the disk). */
  private persist(): Promise<boolean> {
    if (!this.leases) return Promise.resolve(true);
    return this.deps.leaseStore.record(this.leases.takeChanges()).then(
      () => true,
      (e: unknown) => {
        this.counters.leaseWriteErrors++;
        this.deps.logger.error('cannot write the lease file; the previous one is kept', { error: (e as Error).message });
        return false;
      },
    );
  }

  // ----------------------------------------------------------------------------------------------
  // proxy mode and port 4011

  private onProxyRequest(msg: DhcpMessage, client: ClientInfo, type: number): void {
    if (!client.isPxe && !client.isHttpClient) return this.ignore('proxy: not a PXE or HTTP Boot client', msg);
    if (type !== DhcpMessageType.DISCOVER) return this.ignore('proxy: only DISCOVER is answered on the DHCP port', msg);
    if (this.bootFor(client) === null) return this.ignore('proxy: no image for this client', msg);
    this.reply(msg, client, DhcpMessageType.OFFER, '0.0.0.0', {}, true);
  }

  private onPxeRequest(msg: DhcpMessage, client: ClientInfo, from: PeerAddress, type: number): void {
    if (!client.isPxe) return this.ignore('pxe port: not a PXE client', msg);
    if (type !== DhcpMessageType.REQUEST && type !== DhcpMessageType.INFORM) return this.ignore('pxe port: not a REQUEST', msg);
    if (this.bootFor(client) === null) return this.ignore('pxe port: no image for this client', msg);
    // Unicast back to where it came from (ciaddr when set): iPXE sends from 68, UEFI from 4011.
    const to = { address: msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : from.address, port: from.port };
    this.reply(msg, client, DhcpMessageType.ACK, '0.0.0.0', {}, true, to);
  }

  // ----------------------------------------------------------------------------------------------

  private bootFor(client: ClientInfo): BootDecision | null {
    return decideBoot(client, this.deps.catalog.current(), this.deps.mtftp, this.deps.http);
  }

  private reply(
    msg: DhcpMessage,
    client: ClientInfo,
    type: number,
    yiaddr: string,
    extra: Record<number, unknown>,
    proxy = false,
    to?: PeerAddress,
  ): void {
    const boot: BootDecision | null = type === DhcpMessageType.NAK ? null : this.bootFor(client);
    const options: Record<number, unknown> = { 53: type, 54: this.serverId, ...extra };
    // PXE and HTTP Boot require their class echoed, exactly (protocols.md 7.1, 13).
    if (boot?.vendorClass) options[60] = boot.vendorClass;
    if (boot?.vendorOptions) options[43] = [...boot.vendorOptions];
    if (boot?.vendorClass && client.machineId) options[97] = [...client.machineId];
    const hostname = proxy || type === DhcpMessageType.NAK ? null : hostByMac(this.deps.catalog.current(), client.mac)?.hostname;
    if (hostname) options[12] = hostname;
    const isHttpBoot = boot?.vendorClass === 'HTTPClient';
    const bootFile = boot !== null && type !== DhcpMessageType.NAK ? boot.file : '';
    if (bootFile) {
      const asked = Array.isArray(msg.options[55]) ? (msg.options[55] as number[]) : [];
      if (asked.includes(66) && !isHttpBoot) options[66] = this.deps.nextServer;
      // An HTTP Boot client reads its URL from option 67 whether or not it listed it.
      if (asked.includes(67) || isHttpBoot) options[67] = bootFile;
    }
    const isNak = type === DhcpMessageType.NAK;
    const reply = encodeDhcp({
      xid: msg.xid,
      // Proxy offers have no yiaddr to unicast to: force broadcast (dnsmasq does the same).
      flags: proxy && !to ? 0x8000 : msg.flags & 0x8000,
      ciaddr: isNak || proxy ? '0.0.0.0' : msg.ciaddr,
      yiaddr,
      siaddr: bootFile && !isHttpBoot ? this.deps.nextServer : '0.0.0.0',
      giaddr: msg.giaddr,
      chaddr: msg.chaddr,
      // The header's field holds 127 bytes and a NUL: a longer URL travels in option 67 only.
      file: Buffer.byteLength(bootFile) <= 127 ? bootFile : '',
      options,
    });
    const s = this.deps.settings;
    const destination =
      to ??
      replyDestination({
        giaddr: msg.giaddr,
        ciaddr: type === DhcpMessageType.OFFER || proxy ? '0.0.0.0' : msg.ciaddr,
        isNak,
        clientPort: s.port + 1,
        serverPort: s.port,
      });
    const socket = to ? this.pxePort : this.serving;
    socket?.send(reply, destination);
    const name = MESSAGE_NAMES[type] ?? String(type);
    this.counters.sent[name] = (this.counters.sent[name] ?? 0) + 1;
    this.deps.logger.debug('dhcp reply', {
      type: name,
      mac: client.mac,
      yiaddr,
      file: bootFile || 'none',
      to: destination.address === BROADCAST ? 'broadcast' : `${destination.address}:${destination.port}`,
    });
  }
}
