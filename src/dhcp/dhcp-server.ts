// Glue for DHCP: datagram -> codec -> decision (decide-reply.ts: client class, boot policy,
// leases) -> lease file -> reply. Sockets (protocols.md 6.4): one wildcard socket on the server
// port receives broadcasts; one bound to the serving address receives unicasts (renewals, relays)
// and sends every reply, so replies leave through the serving interface even on a multi-homed host
// (Node cannot report the receiving interface). The PXE port (4011) is bound on the serving address.
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { ServedMtftp } from '../catalog/served-mtftp.js';
import { guarded } from '../datagram-guard.js';
import { decodeDhcp, DhcpMessageType, encodeDhcp, type DhcpMessage } from '../codec/dhcp-message.js';
import type { DhcpConfig } from '../config/config-types.js';
import type { DatagramHandler, DatagramSocket, LeaseStore, Logger, PeerAddress, SocketFactory } from '../io/ports.js';
import type { ServedHttp } from './boot-policy.js';
import { classifyClient, type ClientInfo } from './client-class.js';
import { decideReply, type LeaseEvent, type PlannedReply } from './decide-reply.js';
import { LimitEpisodes } from '../admission/limit-episodes.js';
import { LeaseTable, type Lease } from './leases.js';
import { BROADCAST } from './reply-destination.js';
import { countIn } from '../metrics/counters.js';

/** An episode (pool pressure, a client's unreadable options) ends after this long without another hit. */
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
  /** Pool-pressure and unreadable-option warnings are logged once per episode, not once per DISCOVER. */
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
      countIn(this.counters.decodeErrors, e.code);
      this.deps.logger.debug('malformed DHCP datagram dropped', { peer: `${from.address}:${from.port}`, reason: e.message });
    });
  }

  private ignore(reason: string, msg?: DhcpMessage): void {
    countIn(this.counters.ignored, reason);
    this.deps.logger.debug('dhcp request ignored', { reason, mac: msg?.chaddr });
  }

  /** The client is answered as if it had not sent the unreadable options (client-class.ts); the
   *  warning comes once per episode of that client, not once per retransmitted DISCOVER. */
  private noteMalformed(client: ClientInfo): void {
    if (!this.episodes.hit(`malformed|${client.mac}`).first) return;
    this.deps.logger.warn('dhcp client option unreadable: answered as if it were absent; logged once per episode', {
      mac: client.mac,
      problem: client.malformed.join('; '),
    });
  }

  private onDatagram(data: Buffer, from: PeerAddress, port: 'dhcp' | 'pxe'): void {
    const msg = decodeDhcp(data);
    if (msg.op !== 1) return this.ignore('not a BOOTREQUEST', msg);
    const type = msg.options[53];
    if (typeof type !== 'number') return this.ignore('no message type (BOOTP)', msg);
    countIn(this.counters.received, MESSAGE_NAMES[type] ?? `type-${type}`);
    const client = classifyClient(msg);
    if (client.malformed.length > 0) this.noteMalformed(client);
    const decision = decideReply({ msg, type, port, from }, client, {
      settings: this.deps.settings,
      serverId: this.serverId,
      nextServer: this.deps.nextServer,
      catalog: this.deps.catalog.current(),
      mtftp: this.deps.mtftp,
      http: this.deps.http,
      leases: this.leases,
    });
    if (decision.ignored !== null) this.ignore(decision.ignored, msg);
    for (const event of decision.events) this.record(event, client.mac, client.isPxe, client.arch);
    const reply = decision.reply;
    if (decision.persist === 'after') void this.persist();
    if (decision.persist !== 'before-reply') {
      if (reply) this.send(reply, client.mac);
      return;
    }
    // The binding is on disk before the client hears of it: a crash or SIGKILL right after the
    // ACK cannot give the address to someone else after the restart. A binding that could not
    // be stored gets no ACK at all: the client retries its REQUEST, and is ACKed once the disk
    // takes the write again.
    void this.persist().then((stored) => {
      if (stored && reply) this.send(reply, client.mac);
      else if (reply) this.deps.logger.warn('dhcp ack withheld: the lease is not on disk', { mac: client.mac, address: reply.message.yiaddr });
    });
  }

  /** Counts and logs what the decision did to the lease table. */
  private record(event: LeaseEvent, mac: string, pxe: boolean, arch: string | null): void {
    switch (event.kind) {
      case 'pool-exhausted':
        countIn(this.counters.limited, 'pool-exhausted');
        if (this.episodes.hit(`exhausted|${event.pool}`).first) this.deps.logger.warn('dhcp pool exhausted (bound leases only); logged once per episode', { pool: event.pool, mac });
        return;
      case 'offer-reclaimed':
        countIn(this.counters.limited, 'offer-reclaimed');
        if (this.episodes.hit(`reclaim|${event.pool}`).first) {
          this.deps.logger.warn('dhcp pool full of unrequested offers: reclaiming the oldest (a DISCOVER flood?); logged once per episode', { pool: event.pool, mac });
        }
        return;
      case 'nak':
        this.deps.logger.info('dhcp nak', { mac, address: event.address, reason: event.reason });
        return;
      case 'bound':
        this.deps.logger.info('dhcp lease', { mac, address: event.address, pool: event.pool, pxe, arch: arch ?? 'none' });
        return;
      case 'declined':
        this.deps.logger.warn('dhcp address declined: quarantined', { mac, address: event.address });
        return;
      case 'released':
        this.deps.logger.info('dhcp release', { mac, address: event.address });
    }
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

  private send(reply: PlannedReply, mac: string): void {
    const socket = reply.via === 'pxe' ? this.pxePort : this.serving;
    socket?.send(encodeDhcp(reply.message), reply.destination);
    const name = MESSAGE_NAMES[reply.type] ?? String(reply.type);
    countIn(this.counters.sent, name);
    const destination = reply.destination;
    this.deps.logger.debug('dhcp reply', {
      type: name,
      mac,
      yiaddr: reply.message.yiaddr,
      file: reply.bootFile || 'none',
      to: destination.address === BROADCAST ? 'broadcast' : `${destination.address}:${destination.port}`,
    });
  }
}
