// The DHCP decision as one function: a decoded request, its client class, the catalog and the
// lease table in; the reply (message, destination, socket) or silence out, plus what the glue must
// record (lease events) and whether the lease file must be written first. Pure but for the lease
// table, whose rules it applies (leases.ts; its clock is injected). dhcp-server.ts only decodes,
// calls this, writes the lease file, logs and sends.
//
// full:  DISCOVER/OFFER, REQUEST (selecting, init-reboot, renewing, rebinding)/ACK/NAK, DECLINE,
//        RELEASE, INFORM; boot information in OFFER/ACK (protocols.md 7.3 A2), a known host's
//        name as option 12. With `unknown_clients = ignore` only `[host NAME]` MACs are answered.
// proxy: only PXE and UEFI HTTP Boot clients (option 60 `PXEClient`, `HTTPClient`) the catalog
//        has an image for; OFFER with yiaddr 0 and the boot information; REQUESTs on port 67
//        belong to the site DHCP server; requests on 4011 get an ACK with the boot information,
//        sent to their source port (iPXE uses 68, UEFI 4011). A client with no image gets
//        silence, so another boot server can answer.
import { hostByMac, type Catalog } from '../catalog/catalog.js';
import type { ServedMtftp } from '../catalog/served-mtftp.js';
import { DhcpMessageType, type DhcpMessage, type DhcpReply } from '../codec/dhcp-message.js';
import { prefixMask } from '../codec/ipv4.js';
import type { DhcpConfig, DhcpPoolConfig } from '../config/config-types.js';
import type { PeerAddress } from '../io/ports.js';
import { decideBoot, type ServedHttp } from './boot-policy.js';
import type { ClientInfo } from './client-class.js';
import type { LeaseTable } from './leases.js';
import { replyDestination } from './reply-destination.js';

export interface DhcpContext {
  readonly settings: DhcpConfig;
  /** The serving address: option 54, and the link of clients that come without a relay. */
  readonly serverId: string;
  /** The TFTP server's address as clients must reach it (siaddr, option 66). */
  readonly nextServer: string;
  readonly catalog: Catalog;
  /** What the MTFTP server serves now: the only source of option 43 sub-options 1-5. */
  readonly mtftp: ServedMtftp;
  /** Where the HTTP server is now: the only source of UEFI HTTP Boot URLs. */
  readonly http: ServedHttp;
  /** The lease table in full mode, null in proxy mode. */
  readonly leases: LeaseTable | null;
}

export interface DhcpRequest {
  readonly msg: DhcpMessage;
  /** Option 53. */
  readonly type: number;
  /** Which socket it came in on: the DHCP port (67) or the PXE port (4011). */
  readonly port: 'dhcp' | 'pxe';
  readonly from: PeerAddress;
}

export interface PlannedReply {
  readonly type: number;
  readonly message: DhcpReply;
  readonly destination: PeerAddress;
  /** `serving`: the socket on the serving address (port 67); `pxe`: the PXE port's. */
  readonly via: 'serving' | 'pxe';
  readonly bootFile: string;
}

/** What happened to the lease table, for the glue's counters and log lines. */
export type LeaseEvent =
  | { readonly kind: 'pool-exhausted' | 'offer-reclaimed'; readonly pool: string }
  | { readonly kind: 'nak'; readonly address: string; readonly reason: string }
  | { readonly kind: 'bound'; readonly address: string; readonly pool: string }
  | { readonly kind: 'declined' | 'released'; readonly address: string };

export interface DhcpDecision {
  /** The reply, or null for silence. */
  readonly reply: PlannedReply | null;
  /** Why there is no reply, when the request is ignored (counted by reason). */
  readonly ignored: string | null;
  readonly events: readonly LeaseEvent[];
  /** `before-reply`: the reply goes only once the lease file is written (a binding); `after`:
   *  write it, nothing waits (a decline, a release). */
  readonly persist: 'none' | 'before-reply' | 'after';
}

const silence = (ignored: string | null, events: readonly LeaseEvent[] = [], persist: DhcpDecision['persist'] = 'none'): DhcpDecision => ({
  reply: null,
  ignored,
  events,
  persist,
});
const answer = (reply: PlannedReply, events: readonly LeaseEvent[] = [], persist: DhcpDecision['persist'] = 'none'): DhcpDecision => ({
  reply,
  ignored: null,
  events,
  persist,
});

export function decideReply(request: DhcpRequest, client: ClientInfo, ctx: DhcpContext): DhcpDecision {
  if (ctx.settings.unknownClients === 'ignore' && hostByMac(ctx.catalog, client.mac) === undefined) {
    return silence('unknown client ([dhcp] unknown_clients = ignore)');
  }
  if (request.port === 'pxe') return decidePxePort(request, client, ctx);
  if (ctx.settings.mode === 'proxy') return decideProxy(request, client, ctx);
  return decideFull(request, client, ctx);
}

function decideFull({ msg, type }: DhcpRequest, client: ClientInfo, ctx: DhcpContext): DhcpDecision {
  const leases = ctx.leases!;
  const pool = leases.poolFor(msg.giaddr !== '0.0.0.0' ? msg.giaddr : ctx.serverId);
  if (pool === null) return silence('no pool for this link');
  const requested = typeof msg.options[50] === 'string' ? (msg.options[50] as string) : null;
  const serverId = typeof msg.options[54] === 'string' ? (msg.options[54] as string) : null;
  switch (type) {
    case DhcpMessageType.DISCOVER: {
      const reclaimedBefore = leases.reclaimedOffers;
      const lease = leases.offer(client.mac, pool, requested);
      if (lease === null) return silence(null, [{ kind: 'pool-exhausted', pool: pool.name }]);
      const events: LeaseEvent[] = leases.reclaimedOffers !== reclaimedBefore ? [{ kind: 'offer-reclaimed', pool: pool.name }] : [];
      // Offers are not persisted: they expire within offer_timeout anyway.
      return answer(buildReply(ctx, msg, client, DhcpMessageType.OFFER, lease.address, addressOptions(ctx.settings, pool, true)), events);
    }
    case DhcpMessageType.REQUEST: {
      if (serverId !== null && serverId !== ctx.serverId) {
        leases.withdrawOffer(client.mac); // it took another server's offer
        return silence('request for another server');
      }
      // Selecting/init-reboot name the address in option 50; renewing/rebinding in ciaddr.
      const address = requested ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : null);
      if (address === null) return silence('request without an address');
      const verdict = leases.request(client.mac, pool, address);
      if (!verdict.ack) {
        const nak = buildReply(ctx, msg, client, DhcpMessageType.NAK, '0.0.0.0', { 56: verdict.reason });
        return answer(nak, [{ kind: 'nak', address, reason: verdict.reason }]);
      }
      // The binding is on disk before the client hears of it (the glue writes first).
      const ack = buildReply(ctx, msg, client, DhcpMessageType.ACK, address, addressOptions(ctx.settings, pool, true));
      return answer(ack, [{ kind: 'bound', address, pool: pool.name }], 'before-reply');
    }
    case DhcpMessageType.DECLINE:
      if (requested !== null && leases.decline(client.mac, requested)) return silence(null, [{ kind: 'declined', address: requested }], 'after');
      return silence(null);
    case DhcpMessageType.RELEASE:
      if (leases.release(client.mac, msg.ciaddr)) return silence(null, [{ kind: 'released', address: msg.ciaddr }], 'after');
      return silence(null);
    case DhcpMessageType.INFORM:
      // RFC 2131 3.4: configuration only, no yiaddr, no lease time.
      return answer(buildReply(ctx, msg, client, DhcpMessageType.ACK, '0.0.0.0', addressOptions(ctx.settings, pool, false)));
    default:
      return silence(`unexpected message type ${type}`);
  }
}

function decideProxy({ msg, type }: DhcpRequest, client: ClientInfo, ctx: DhcpContext): DhcpDecision {
  if (!client.isPxe && !client.isHttpClient) return silence('proxy: not a PXE or HTTP Boot client');
  if (type !== DhcpMessageType.DISCOVER) return silence('proxy: only DISCOVER is answered on the DHCP port');
  if (bootFor(ctx, client) === null) return silence('proxy: no image for this client');
  return answer(buildReply(ctx, msg, client, DhcpMessageType.OFFER, '0.0.0.0', {}, true));
}

function decidePxePort({ msg, type, from }: DhcpRequest, client: ClientInfo, ctx: DhcpContext): DhcpDecision {
  if (!client.isPxe) return silence('pxe port: not a PXE client');
  if (type !== DhcpMessageType.REQUEST && type !== DhcpMessageType.INFORM) return silence('pxe port: not a REQUEST');
  if (bootFor(ctx, client) === null) return silence('pxe port: no image for this client');
  // Unicast back to where it came from (ciaddr when set): iPXE sends from 68, UEFI from 4011.
  const to = { address: msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : from.address, port: from.port };
  return answer(buildReply(ctx, msg, client, DhcpMessageType.ACK, '0.0.0.0', {}, true, to));
}

function bootFor(ctx: DhcpContext, client: ClientInfo) {
  return decideBoot(client, ctx.catalog, ctx.mtftp, ctx.http);
}

function addressOptions(settings: DhcpConfig, pool: DhcpPoolConfig, withLease: boolean): Record<number, unknown> {
  const seconds = Math.floor(settings.leaseTimeMs / 1000);
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

/** The reply message (options 60/43/97/12/66/67, flags, ciaddr, siaddr, file) and where it goes. */
function buildReply(
  ctx: DhcpContext,
  msg: DhcpMessage,
  client: ClientInfo,
  type: number,
  yiaddr: string,
  extra: Record<number, unknown>,
  proxy = false,
  to?: PeerAddress,
): PlannedReply {
  const isNak = type === DhcpMessageType.NAK;
  const boot = isNak ? null : bootFor(ctx, client);
  const options: Record<number, unknown> = { 53: type, 54: ctx.serverId, ...extra };
  // PXE and HTTP Boot require their class echoed, exactly (protocols.md 7.1, 13).
  if (boot?.vendorClass) options[60] = boot.vendorClass;
  if (boot?.vendorOptions) options[43] = [...boot.vendorOptions];
  if (boot?.vendorClass && client.machineId) options[97] = [...client.machineId];
  const hostname = proxy || isNak ? null : hostByMac(ctx.catalog, client.mac)?.hostname;
  if (hostname) options[12] = hostname;
  const isHttpBoot = boot?.vendorClass === 'HTTPClient';
  const bootFile = boot !== null ? boot.file : '';
  if (bootFile) {
    const asked = Array.isArray(msg.options[55]) ? (msg.options[55] as number[]) : [];
    if (asked.includes(66) && !isHttpBoot) options[66] = ctx.nextServer;
    // An HTTP Boot client reads its URL from option 67 whether or not it listed it.
    if (asked.includes(67) || isHttpBoot) options[67] = bootFile;
  }
  const message: DhcpReply = {
    xid: msg.xid,
    // Proxy offers have no yiaddr to unicast to: force broadcast (dnsmasq does the same).
    flags: proxy && !to ? 0x8000 : msg.flags & 0x8000,
    ciaddr: isNak || proxy ? '0.0.0.0' : msg.ciaddr,
    yiaddr,
    siaddr: bootFile && !isHttpBoot ? ctx.nextServer : '0.0.0.0',
    giaddr: msg.giaddr,
    chaddr: msg.chaddr,
    // The header's field holds 127 bytes and a NUL: a longer URL travels in option 67 only.
    file: Buffer.byteLength(bootFile) <= 127 ? bootFile : '',
    options,
  };
  const destination =
    to ??
    replyDestination({
      giaddr: msg.giaddr,
      ciaddr: type === DhcpMessageType.OFFER || proxy ? '0.0.0.0' : msg.ciaddr,
      isNak,
      clientPort: ctx.settings.port + 1,
      serverPort: ctx.settings.port,
    });
  return { type, message, destination, via: to ? 'pxe' : 'serving', bootFile };
}
