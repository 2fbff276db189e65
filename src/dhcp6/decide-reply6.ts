// What the DHCPv6 boot responder answers (RFC 8415 16, 18.3; RFC 5970), as a value: the reply's
// type and options, or why the message is ignored. The glue (dhcp6-server.ts) unwraps and rewraps
// relay messages, persists bindings before it sends, and sends.
//
// Validation (RFC 8415 16): SOLICIT, REQUEST, RENEW, REBIND, RELEASE, DECLINE need a Client
// Identifier; REQUEST, RENEW, RELEASE, DECLINE must name this server (Server Identifier = our
// DUID), SOLICIT, REBIND and CONFIRM must name none; an INFORMATION-REQUEST naming another server or
// carrying an IA is not for us.
//
// stateless: SOLICIT -> ADVERTISE, REQUEST -> REPLY, each IA_NA with status NoAddrsAvail
//   (RFC 8415 18.3.9, 18.3.2: addresses come from the site's server or SLAAC), plus the boot
//   options; INFORMATION-REQUEST -> REPLY with the boot options. Rapid Commit is not used: a
//   server not configured for it answers a SOLICIT with ADVERTISE (RFC 8415 18.3.1).
// stateful: IA_NA addresses from the pool, bound in REQUEST/RENEW/REBIND (the glue stores them
//   before it replies), released by RELEASE, quarantined by DECLINE; CONFIRM answered by on-link.
// Boot options: 59 (a `tftp://[addr]/file` or, for UEFI HTTP Boot, `http://[addr]:port/file` URL,
// to the image of the client's `[host NAME]` (matched by known-host6.ts), else by the catalog's rules)
// for clients that ask for it in option 6 or identify as boot firmware (options 16/61), 60 when
// `boot_params` is set, and vendor class `HTTPClient` (enterprise 343) echoed to HTTP Boot clients.
import type { Catalog } from '../catalog/catalog.js';
import {
  decodeIaAddress,
  Dhcp6MessageType as T,
  Dhcp6Option as O,
  Dhcp6Status,
  encodeBootFileParams,
  encodeIaAddress,
  encodeIaNa,
  encodeStatusCode,
  encodeVendorClass,
  UEFI_ENTERPRISE,
  type Dhcp6ClientMessage,
  type Dhcp6OptionValue,
  type IaNa,
} from '../codec/dhcp6-message.js';
import type { HostConfig } from '../config/config-types.js';
import type { Dhcp6Mode } from '../config/dhcp6-section.js';
import { bootUrl, chooseImage } from '../dhcp/boot-policy.js';
import { asClientInfo, type Client6Info } from './client6.js';
import type { Lease6, Lease6Table } from './leases6.js';

/** Where TFTP and HTTP serve over IPv6 now (`tftp://[addr]`, `http://[addr]:port`), or null. */
export interface Served6 {
  tftpUrlBase(): string | null;
  httpUrlBase(): string | null;
}

export interface Boot6Decision {
  readonly image: string;
  readonly url: string;
  readonly httpClient: boolean;
}

/** `host`: the `[host NAME]` this client is (known-host6.ts); its image wins as over DHCPv4. */
export function decideBoot6(client: Client6Info, host: HostConfig | undefined, catalog: Catalog, served: Served6): Boot6Decision | null {
  const image = chooseImage(asClientInfo(client), catalog, host);
  if (image === null) return null;
  if (client.isHttpClient) {
    const base = served.httpUrlBase();
    return base === null ? null : { image: image.name, url: bootUrl(base, image.httpFile ?? image.file), httpClient: true };
  }
  const base = served.tftpUrlBase();
  if (base === null) return null;
  const file = client.isIpxe ? (image.ipxeFile ?? image.file) : image.file;
  return { image: image.name, url: bootUrl(base, file), httpClient: false };
}

export interface Reply6Context {
  readonly mode: Exclude<Dhcp6Mode, 'off'>;
  readonly serverDuid: Buffer;
  readonly boot: Boot6Decision | null;
  readonly bootParams: readonly string[];
  /** Stateful mode only. */
  readonly leases: Lease6Table | null;
  readonly leaseTimeMs: number;
}

export type Reply6Decision =
  | {
      readonly kind: 'reply';
      readonly type: number;
      readonly options: Dhcp6OptionValue[];
      /** The lease table changed in a way that must be on disk before the reply leaves. */
      readonly persist: boolean;
      /** Addresses bound or advertised, for the log line. */
      readonly addresses: readonly string[];
    }
  | { readonly kind: 'ignore'; readonly reason: string };

const ignore = (reason: string): Reply6Decision => ({ kind: 'ignore', reason });

export function decideReply6(msg: Dhcp6ClientMessage, client: Client6Info, ctx: Reply6Context): Reply6Decision {
  const ours = client.serverId !== null && client.serverId.equals(ctx.serverDuid);
  const needsClientId = msg.type !== T.INFORMATION_REQUEST && msg.type !== T.CONFIRM;
  if (needsClientId && client.duid === null) return ignore('no client identifier');
  switch (msg.type) {
    case T.SOLICIT:
      if (client.serverId !== null) return ignore('SOLICIT with a server identifier');
      return addressReply(T.ADVERTISE, client, ctx, 'advertise');
    case T.REQUEST:
      if (!ours) return ignore('REQUEST for another server');
      return addressReply(T.REPLY, client, ctx, 'bind');
    case T.RENEW:
      if (!ours) return ignore('RENEW for another server');
      return addressReply(T.REPLY, client, ctx, 'renew');
    case T.REBIND:
      if (client.serverId !== null) return ignore('REBIND with a server identifier');
      if (ctx.leases === null) return ignore('stateless: REBIND belongs to the address server');
      return addressReply(T.REPLY, client, ctx, 'bind');
    case T.CONFIRM: {
      if (ctx.leases === null) return ignore('stateless: CONFIRM belongs to the address server');
      const addresses = client.iaNas.flatMap(iaAddresses);
      if (addresses.length === 0) return ignore('CONFIRM without addresses');
      const onLink = addresses.every((a) => ctx.leases!.onLink(a));
      const status = onLink ? status13(Dhcp6Status.SUCCESS, 'all addresses on link') : status13(Dhcp6Status.NOT_ON_LINK, 'not on this link');
      return reply(T.REPLY, client, ctx, [status], false, []);
    }
    case T.RELEASE:
    case T.DECLINE: {
      if (!ours) return ignore(`${msg.type === T.RELEASE ? 'RELEASE' : 'DECLINE'} for another server`);
      const leases = ctx.leases;
      let changed = false;
      if (leases !== null) {
        const duid = client.duid!.toString('hex');
        for (const ia of client.iaNas) {
          for (const address of iaAddresses(ia)) {
            changed = (msg.type === T.RELEASE ? leases.release(duid, ia.iaid, address) : leases.decline(duid, ia.iaid, address)) || changed;
          }
        }
      }
      // RFC 8415 18.3.7/18.3.8: a Reply with status Success, no boot options.
      return { kind: 'reply', type: T.REPLY, options: [...identity(client, ctx), status13(Dhcp6Status.SUCCESS, 'done')], persist: changed, addresses: [] };
    }
    case T.INFORMATION_REQUEST:
      if (client.serverId !== null && !ours) return ignore('INFORMATION-REQUEST for another server');
      if (client.iaNas.length > 0) return ignore('INFORMATION-REQUEST with an IA');
      return reply(T.REPLY, client, ctx, [], false, []);
    default:
      return ignore(`message type ${msg.type} is not for a server`);
  }
}

function iaAddresses(ia: IaNa): string[] {
  return ia.options.filter((o) => o.code === O.IAADDR).map((o) => decodeIaAddress(o.data).address);
}

function status13(code: number, message: string): Dhcp6OptionValue {
  return { code: O.STATUS_CODE, data: encodeStatusCode(code, message) };
}

function identity(client: Client6Info, ctx: Reply6Context): Dhcp6OptionValue[] {
  const out: Dhcp6OptionValue[] = [];
  if (client.duid !== null) out.push({ code: O.CLIENTID, data: client.duid });
  out.push({ code: O.SERVERID, data: ctx.serverDuid });
  return out;
}

/** RFC 8415 21.4: T1 at 0.5 and T2 at 0.8 of the preferred lifetime. */
function iaWith(ia: IaNa, lease: Lease6, ctx: Reply6Context): Dhcp6OptionValue {
  // Every advertisement and (re)binding runs a full lease from now.
  const lifetime = Math.floor(ctx.leaseTimeMs / 1000);
  const address = encodeIaAddress({ address: lease.address, preferred: lifetime, valid: lifetime, options: [] });
  return {
    code: O.IA_NA,
    data: encodeIaNa({ iaid: ia.iaid, t1: Math.floor(lifetime / 2), t2: Math.floor((lifetime * 4) / 5), options: [{ code: O.IAADDR, data: address }] }),
  };
}

function iaStatus(ia: IaNa, code: number, message: string): Dhcp6OptionValue {
  return { code: O.IA_NA, data: encodeIaNa({ iaid: ia.iaid, t1: 0, t2: 0, options: [status13(code, message)] }) };
}

function addressReply(type: number, client: Client6Info, ctx: Reply6Context, action: 'advertise' | 'bind' | 'renew'): Reply6Decision {
  const leases = ctx.leases;
  const extra: Dhcp6OptionValue[] = [];
  const addresses: string[] = [];
  let persist = false;
  for (const ia of client.iaNas) {
    if (leases === null) {
      extra.push(iaStatus(ia, Dhcp6Status.NO_ADDRS_AVAIL, 'this server gives boot information only'));
      continue;
    }
    const duid = client.duid!.toString('hex');
    const hint = iaAddresses(ia)[0] ?? null;
    const lease =
      action === 'advertise'
        ? leases.advertise(duid, ia.iaid, client.mac, hint)
        : action === 'renew'
          ? leases.bindingOf(duid, ia.iaid) && leases.bind(duid, ia.iaid, client.mac, hint)
          : leases.bind(duid, ia.iaid, client.mac, hint);
    if (lease === null) {
      extra.push(action === 'renew' ? iaStatus(ia, Dhcp6Status.NO_BINDING, 'no binding for this IA') : iaStatus(ia, Dhcp6Status.NO_ADDRS_AVAIL, 'pool exhausted'));
      continue;
    }
    if (lease.state === 'bound') persist = true;
    addresses.push(lease.address);
    extra.push(iaWith(ia, lease, ctx));
  }
  return reply(type, client, ctx, extra, persist, addresses);
}

function reply(type: number, client: Client6Info, ctx: Reply6Context, extra: Dhcp6OptionValue[], persist: boolean, addresses: string[]): Reply6Decision {
  const options = [...identity(client, ctx), ...extra];
  const boot = ctx.boot;
  const wantsBoot = client.requested.includes(O.BOOTFILE_URL) || client.archType !== null || client.isPxe || client.isHttpClient;
  if (boot !== null && wantsBoot) {
    options.push({ code: O.BOOTFILE_URL, data: Buffer.from(boot.url, 'utf8') });
    if (ctx.bootParams.length > 0) options.push({ code: O.BOOTFILE_PARAM, data: encodeBootFileParams(ctx.bootParams) });
    // UEFI HTTP Boot wants its class echoed, as over IPv4 (protocols.md 13.2).
    if (boot.httpClient) options.push({ code: O.VENDOR_CLASS, data: encodeVendorClass({ enterprise: UEFI_ENTERPRISE, data: [Buffer.from('HTTPClient')] }) });
  }
  return { kind: 'reply', type, options, persist, addresses };
}
