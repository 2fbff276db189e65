// Glue for DHCPv6: datagram -> codec -> relay unwrapping -> client classification -> decision ->
// lease store -> relay rewrapping -> socket. One UDP socket on [::]:547 that joins
// All_DHCP_Relay_Agents_and_Servers (ff02::1:2) on the configured link: clients send there from
// port 546 (answered to their link-local source, port 546), relays send RELAY-FORW to it or to our
// address (answered with RELAY-REPL to the relay's source). A malformed message (DecodeError, relay
// nesting beyond 32 included) is dropped with a debug line and counted by reason.
import type { CatalogStore } from '../catalog/catalog-store.js';
import {
  decodeDhcp6,
  Dhcp6MessageType,
  Dhcp6Option,
  encodeDhcp6,
  findOption,
  macFromLinkLayerOption,
  type Dhcp6ClientMessage,
  type Dhcp6Message,
  type Dhcp6RelayMessage,
} from '../codec/dhcp6-message.js';
import type { Dhcp6Config } from '../config/dhcp6-section.js';
import { guarded } from '../datagram-guard.js';
import type { DatagramHandler, DatagramSocket, Logger, PeerAddress, SocketFactory } from '../io/ports.js';
import { classifyClient6 } from './client6.js';
import { knownHost6 } from './known-host6.js';
import { decideBoot6, decideReply6, type Served6 } from './decide-reply6.js';
import { Lease6Table, type Lease6, type Lease6Store } from './leases6.js';
import { serverDuid } from './server-duid.js';

export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = 'ff02::1:2';

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Dhcp6MessageType).map(([k, v]) => [v, k]));
const typeName = (t: number) => TYPE_NAMES[t] ?? `type-${t}`;

export interface Dhcp6ServerDeps {
  readonly sockets: SocketFactory;
  readonly catalog: CatalogStore;
  readonly logger: Logger;
  readonly settings: Dhcp6Config;
  readonly wallClock: () => number;
  readonly leaseStore: Lease6Store;
  readonly served: Served6;
}

export interface Dhcp6Counters {
  received: Record<string, number>;
  sent: Record<string, number>;
  ignored: Record<string, number>;
  decodeErrors: Record<string, number>;
  leaseWriteErrors: number;
}

export class Dhcp6Server {
  private socket: DatagramSocket | null = null;
  private readonly leases: Lease6Table | null;
  private readonly duid: Buffer;
  readonly counters: Dhcp6Counters = { received: {}, sent: {}, ignored: {}, decodeErrors: {}, leaseWriteErrors: 0 };

  constructor(private readonly deps: Dhcp6ServerDeps) {
    const s = deps.settings;
    if (s.mode === 'off' || s.address === null) throw new Error('DHCPv6 needs a mode and a serving address');
    this.duid = serverDuid(s.address);
    this.leases =
      s.mode === 'stateful' && s.poolFirst !== null && s.poolLast !== null
        ? new Lease6Table({ first: s.poolFirst, last: s.poolLast, leaseTimeMs: s.leaseTimeMs, offerTimeoutMs: s.offerTimeoutMs, serverAddress: s.address }, deps.wallClock)
        : null;
  }

  get serverDuid(): Buffer {
    return this.duid;
  }

  async start(): Promise<void> {
    const s = this.deps.settings;
    if (this.leases) {
      const loaded = await this.deps.leaseStore.load();
      this.leases.restore(loaded.leases);
      if (loaded.damage) {
        this.deps.logger.error('damaged DHCPv6 lease file set aside; serving with the leases that could be read from it', {
          file: loaded.damage.file,
          problem: loaded.damage.problem,
          moved_to: loaded.damage.movedTo,
          leases_recovered: loaded.leases.length,
        });
        await this.persist();
      }
    }
    this.socket = await this.deps.sockets.bind({ address: '::', port: s.port, reuseAddr: true, joinGroup: { group: ALL_DHCP_RELAY_AGENTS_AND_SERVERS, interface: s.link } });
    this.socket.onMessage(this.guard((d, from) => this.onDatagram(d, from)));
    this.deps.logger.info('dhcp6 listening', { mode: s.mode, address: s.address, port: s.port, link: s.link ?? 'default', duid: this.duid.toString('hex') });
  }

  stop(): void {
    this.socket?.close();
    this.socket = null;
  }

  leaseList(): Lease6[] {
    return this.leases?.all() ?? [];
  }

  private guard(handle: DatagramHandler): DatagramHandler {
    return guarded(this.deps.logger, 'DHCPv6', handle, (e, data, from) => {
      this.counters.decodeErrors[e.code] = (this.counters.decodeErrors[e.code] ?? 0) + 1;
      this.deps.logger.debug('malformed DHCPv6 datagram dropped', { peer: `[${from.address}]:${from.port}`, reason: e.message, packet: data.subarray(0, 64).toString('hex') });
    });
  }

  private ignore(reason: string, fields: Record<string, unknown> = {}): void {
    this.counters.ignored[reason] = (this.counters.ignored[reason] ?? 0) + 1;
    this.deps.logger.debug('dhcp6 message ignored', { reason, ...fields });
  }

  private onDatagram(data: Buffer, from: PeerAddress): void {
    const msg = decodeDhcp6(data);
    const relays: Dhcp6RelayMessage[] = [];
    let inner: Dhcp6Message = msg;
    while (inner.kind === 'relay') {
      if (inner.type !== Dhcp6MessageType.RELAY_FORW) return this.ignore('relay message that is not RELAY-FORW');
      relays.push(inner);
      inner = inner.inner;
    }
    const request: Dhcp6ClientMessage = inner;
    const name = typeName(request.type);
    this.counters.received[name] = (this.counters.received[name] ?? 0) + 1;
    // The relay next to the client (the innermost) may tell its MAC (RFC 6939).
    const linkLayer = relays.length > 0 ? findOption(relays[relays.length - 1]!.options, Dhcp6Option.CLIENT_LINKLAYER_ADDR) : null;
    const client = classifyClient6(request, linkLayer === null ? null : macFromLinkLayerOption(linkLayer));
    const s = this.deps.settings;
    const catalog = this.deps.catalog.current();
    const known = knownHost6(client, catalog);
    const decision = decideReply6(request, client, {
      mode: s.mode === 'stateful' ? 'stateful' : 'stateless',
      serverDuid: this.duid,
      boot: decideBoot6(client, known?.host, catalog, this.deps.served),
      bootParams: s.bootParams,
      leases: this.leases,
      leaseTimeMs: s.leaseTimeMs,
    });
    const duid = client.duid?.toString('hex') ?? 'none';
    if (decision.kind === 'ignore') return this.ignore(decision.reason, { type: name, duid });
    const answer: Dhcp6ClientMessage = { kind: 'client', type: decision.type, transactionId: request.transactionId, options: decision.options };
    // RELAY-REPL mirrors each RELAY-FORW, outermost first, with its Interface-Id (RFC 8415 19.3).
    let wrapped: Dhcp6Message = answer;
    for (let i = relays.length - 1; i >= 0; i--) {
      const r = relays[i]!;
      const interfaceId = r.options.filter((o) => o.code === Dhcp6Option.INTERFACE_ID);
      wrapped = { kind: 'relay', type: Dhcp6MessageType.RELAY_REPL, hopCount: r.hopCount, linkAddress: r.linkAddress, peerAddress: r.peerAddress, options: interfaceId, inner: wrapped };
    }
    // Straight to the client on 546; through a relay, back to where the RELAY-FORW came from.
    const to = relays.length === 0 ? { address: from.address, port: s.port - 1 } : from;
    const bytes = encodeDhcp6(wrapped);
    const send = () => {
      this.socket?.send(bytes, to);
      const sent = typeName(decision.type);
      this.counters.sent[sent] = (this.counters.sent[sent] ?? 0) + 1;
      const url = decision.options.find((o) => o.code === Dhcp6Option.BOOTFILE_URL)?.data.toString('utf8');
      const host = known?.host.name ?? 'none';
      const fields = { type: sent, duid, mac: client.mac ?? 'unknown', host, host_by: known?.by ?? 'none', arch: client.archType ?? 'none', addresses: decision.addresses.join(',') || 'none', boot_url: url ?? 'none', relays: relays.length };
      if (decision.persist) this.deps.logger.info('dhcp6 lease', fields);
      else this.deps.logger.debug('dhcp6 reply', fields);
    };
    if (!decision.persist) return send();
    // A binding is on disk before the client hears of it, as over DHCPv4: a binding that could not
    // be stored gets no REPLY, and the client retransmits its REQUEST.
    void this.persist().then((stored) => {
      if (stored) send();
      else this.deps.logger.warn('dhcp6 reply withheld: the lease is not on disk', { duid });
    });
  }

  private persist(): Promise<boolean> {
    if (!this.leases) return Promise.resolve(true);
    return this.deps.leaseStore.save(this.leases.persistent()).then(
      () => true,
      (e: unknown) => {
        this.counters.leaseWriteErrors++;
        this.deps.logger.error('cannot write the DHCPv6 lease file; the previous one is kept', { error: (e as Error).message });
        return false;
      },
    );
  }
}
