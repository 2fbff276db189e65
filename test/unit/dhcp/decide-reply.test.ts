// The whole DHCP boot decision as one table: each class of client (BIOS PXE, UEFI x64/ARM64,
// iPXE, UEFI HTTP Boot, plain DHCP, relayed) in full and proxy mode, on port 67 and 4011: which
// reply (or silence), with which options 60/43/97/66/67, siaddr, yiaddr, flags and destination.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Catalog, CatalogImage } from '../../../src/catalog/catalog.js';
import type { ServedMtftp } from '../../../src/catalog/served-mtftp.js';
import { decodeDhcp, DhcpMessageType } from '../../../src/codec/dhcp-message.js';
import { decodeMtftpSubOptions, decodePxeVendorOptions } from '../../../src/codec/pxe-options.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { classifyClient } from '../../../src/dhcp/client-class.js';
import { decideReply, type DhcpContext } from '../../../src/dhcp/decide-reply.js';
import { LeaseTable } from '../../../src/dhcp/leases.js';
import { ipBytes, plainDhcpPacket } from '../../support/dhcp-exchange.js';

const image = (over: Partial<CatalogImage>): CatalogImage => ({
  name: 'x', file: 'x', path: '/srv/x', size: 1, description: '', arch: [], ipxeFile: null, httpFile: null, ipxeScript: null,
  isDefault: false, mtftp: null, ...over,
});
const catalog: Catalog = {
  root: '/srv',
  hosts: [],
  loadedAt: 0,
  images: [
    image({ name: 'uefi', file: 'ipxe.efi', arch: ['efi-x64'], ipxeFile: 'boot.ipxe', httpFile: 'uefi/boot.efi' }),
    image({ name: 'arm', file: 'arm/grubaa64.efi', arch: ['efi-arm64'] }),
    image({
      name: 'bios', file: 'undionly.kpxe', arch: ['bios'], ipxeFile: 'boot.ipxe', isDefault: true,
      mtftp: { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 3 },
    }),
  ],
};
const mtftp: ServedMtftp = { channelOf: (i) => i.mtftp };
const http = { urlBase: () => 'http://10.0.0.1:8080' };
const SERVER = '10.0.0.1';

function context(mode: 'full' | 'proxy'): DhcpContext {
  const pools = mode === 'full' ? '[pool lab]\nfirst = 10.0.0.10\nlast = 10.0.0.20\nprefix = 24\n[pool far]\nfirst = 10.9.0.10\nlast = 10.9.0.20\nprefix = 24\n' : '';
  const config = parseConfig(`[tftp]\nroot = /srv\n[dhcp]\nmode = ${mode}\ninterface = ${SERVER}\n${pools}`, '/etc/pxecast.ini');
  const s = config.dhcp;
  const leases = mode === 'full' ? new LeaseTable(s.pools, { leaseTimeMs: s.leaseTimeMs, offerTimeoutMs: s.offerTimeoutMs, serverAddress: SERVER }, () => 0) : null;
  return { settings: s, serverId: SERVER, nextServer: SERVER, catalog, mtftp, http, leases };
}

const text = (tag: number, value: string) => [tag, value.length, ...Buffer.from(value, 'latin1')];
const arch = (type: number) => [93, 2, type >> 8, type & 0xff];
const uuid = [97, 17, 0, ...Array.from({ length: 16 }, (_, i) => i)];
// What each class of client sends (options after 53), as real firmware does (protocols.md 7).
const CLIENTS = {
  'BIOS PXE': [...text(60, 'PXEClient:Arch:00000:UNDI:002001'), ...arch(0), ...uuid],
  'UEFI x64': [...text(60, 'PXEClient:Arch:00007:UNDI:003016'), ...arch(7), ...uuid],
  'UEFI ARM64': [...text(60, 'PXEClient:Arch:00011:UNDI:003016'), ...arch(11), ...uuid],
  'iPXE BIOS': [...text(60, 'PXEClient:Arch:00000:UNDI:002001'), ...arch(0), ...text(77, 'iPXE')],
  'UEFI HTTP Boot': [...text(60, 'HTTPClient:Arch:00016:UNDI:003001'), ...arch(16)],
  'plain DHCP': [],
} as const;
type ClientClass = keyof typeof CLIENTS;
const ASK_66_67 = [55, 2, 66, 67];

interface Row {
  readonly client: ClientClass;
  readonly mode: 'full' | 'proxy';
  readonly port: 'dhcp' | 'pxe';
  readonly type: number;
  readonly relayed?: boolean;
  /** Reply type, or the reason of the silence (null: silent without being counted as ignored). */
  readonly expect:
    | { readonly silence: string | null }
    | {
        readonly reply: number;
        readonly option60: string | null;
        readonly file: string;
        /** Option 43: none, discovery control only, or with MTFTP sub-options 1-5. */
        readonly option43: 'none' | 'discovery' | 'mtftp';
        readonly siaddr: string;
        readonly yiaddrInPool: boolean;
        readonly to: string;
        readonly broadcastFlag: boolean;
      };
}

const DISCOVER = DhcpMessageType.DISCOVER;
const REQUEST = DhcpMessageType.REQUEST;
const OFFER = DhcpMessageType.OFFER;
const ACK = DhcpMessageType.ACK;
const bcast = '255.255.255.255:68';
const rows: Row[] = [
  // full mode, port 67
  { client: 'BIOS PXE', mode: 'full', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'undionly.kpxe', option43: 'mtftp', siaddr: SERVER, yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'UEFI x64', mode: 'full', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'ipxe.efi', option43: 'discovery', siaddr: SERVER, yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'UEFI ARM64', mode: 'full', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'arm/grubaa64.efi', option43: 'discovery', siaddr: SERVER, yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'iPXE BIOS', mode: 'full', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'boot.ipxe', option43: 'mtftp', siaddr: SERVER, yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'UEFI HTTP Boot', mode: 'full', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'HTTPClient', file: 'http://10.0.0.1:8080/uefi/boot.efi', option43: 'none', siaddr: '0.0.0.0', yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'plain DHCP', mode: 'full', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: null, file: 'undionly.kpxe', option43: 'none', siaddr: SERVER, yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'plain DHCP', mode: 'full', port: 'dhcp', type: REQUEST, expect: { reply: ACK, option60: null, file: 'undionly.kpxe', option43: 'none', siaddr: SERVER, yiaddrInPool: true, to: bcast, broadcastFlag: false } },
  { client: 'BIOS PXE', mode: 'full', port: 'dhcp', type: DISCOVER, relayed: true, expect: { reply: OFFER, option60: 'PXEClient', file: 'undionly.kpxe', option43: 'mtftp', siaddr: SERVER, yiaddrInPool: true, to: '10.9.0.1:67', broadcastFlag: false } },
  // proxy mode, port 67
  { client: 'BIOS PXE', mode: 'proxy', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'undionly.kpxe', option43: 'mtftp', siaddr: SERVER, yiaddrInPool: false, to: bcast, broadcastFlag: true } },
  { client: 'UEFI x64', mode: 'proxy', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'ipxe.efi', option43: 'discovery', siaddr: SERVER, yiaddrInPool: false, to: bcast, broadcastFlag: true } },
  { client: 'UEFI HTTP Boot', mode: 'proxy', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'HTTPClient', file: 'http://10.0.0.1:8080/uefi/boot.efi', option43: 'none', siaddr: '0.0.0.0', yiaddrInPool: false, to: bcast, broadcastFlag: true } },
  { client: 'iPXE BIOS', mode: 'proxy', port: 'dhcp', type: DISCOVER, expect: { reply: OFFER, option60: 'PXEClient', file: 'boot.ipxe', option43: 'mtftp', siaddr: SERVER, yiaddrInPool: false, to: bcast, broadcastFlag: true } },
  { client: 'plain DHCP', mode: 'proxy', port: 'dhcp', type: DISCOVER, expect: { silence: 'proxy: not a PXE or HTTP Boot client' } },
  { client: 'BIOS PXE', mode: 'proxy', port: 'dhcp', type: REQUEST, expect: { silence: 'proxy: only DISCOVER is answered on the DHCP port' } },
  // port 4011 (either mode): ACK to the source port, no broadcast
  { client: 'UEFI x64', mode: 'proxy', port: 'pxe', type: REQUEST, expect: { reply: ACK, option60: 'PXEClient', file: 'ipxe.efi', option43: 'discovery', siaddr: SERVER, yiaddrInPool: false, to: '10.0.0.50:4011', broadcastFlag: false } },
  { client: 'BIOS PXE', mode: 'full', port: 'pxe', type: REQUEST, expect: { reply: ACK, option60: 'PXEClient', file: 'undionly.kpxe', option43: 'mtftp', siaddr: SERVER, yiaddrInPool: false, to: '10.0.0.50:4011', broadcastFlag: false } },
  { client: 'UEFI HTTP Boot', mode: 'proxy', port: 'pxe', type: REQUEST, expect: { silence: 'pxe port: not a PXE client' } },
  { client: 'UEFI x64', mode: 'proxy', port: 'pxe', type: DISCOVER, expect: { silence: 'pxe port: not a REQUEST' } },
];

describe('decideReply: every class of client, full and proxy mode, port 67 and 4011', () => {
  for (const row of rows) {
    const name = `${row.client}${row.relayed ? ' (relayed)' : ''}, ${row.mode}, port ${row.port === 'dhcp' ? 67 : 4011}, ${row.type === DISCOVER ? 'DISCOVER' : 'REQUEST'}`;
    it(name, () => {
      const ctx = context(row.mode);
      const giaddr = row.relayed ? '10.9.0.1' : undefined;
      const options = [...CLIENTS[row.client], ...ASK_66_67];
      // A full-mode REQUEST asks for the address its DISCOVER was offered.
      if (row.type === REQUEST && row.mode === 'full' && row.port === 'dhcp') {
        const offer = decideReply({ msg: decodeDhcp(plainDhcpPacket(DISCOVER, 1, options)), type: DISCOVER, port: 'dhcp', from: { address: '0.0.0.0', port: 68 } }, classifyClient(decodeDhcp(plainDhcpPacket(DISCOVER, 1, options))), ctx);
        options.push(50, 4, ...ipBytes(offer.reply!.message.yiaddr));
      }
      const msg = decodeDhcp(plainDhcpPacket(row.type, 1, options, giaddr ? { giaddr } : {}));
      const from = row.port === 'pxe' ? { address: '10.0.0.50', port: 4011 } : { address: giaddr ?? '0.0.0.0', port: giaddr ? 67 : 68 };
      const d = decideReply({ msg, type: row.type, port: row.port, from }, classifyClient(msg), ctx);
      if ('silence' in row.expect) {
        assert.equal(d.reply, null);
        assert.equal(d.ignored, row.expect.silence);
        return;
      }
      const e = row.expect;
      const r = d.reply!;
      assert.ok(r, `expected a reply, got silence (${d.ignored})`);
      const o = r.message.options;
      assert.equal(r.type, e.reply);
      assert.equal(o[60] ?? null, e.option60);
      assert.equal(o[67], e.file);
      assert.equal(o[66], e.option60 === 'HTTPClient' ? undefined : SERVER);
      assert.equal(r.message.siaddr, e.siaddr);
      const vendor = o[43] ? Buffer.from(o[43] as number[]) : null;
      const option43 = vendor === null ? 'none' : decodeMtftpSubOptions(vendor) ? 'mtftp' : decodePxeVendorOptions(vendor).has(6) ? 'discovery' : 'other';
      assert.equal(option43, e.option43);
      // Option 97 is echoed to PXE and HTTP Boot clients that sent it.
      assert.equal(o[97] !== undefined, e.option60 !== null && CLIENTS[row.client].includes(97 as never));
      assert.equal(r.message.yiaddr !== '0.0.0.0', e.yiaddrInPool);
      assert.equal(`${r.destination.address}:${r.destination.port}`, e.to);
      assert.equal(r.via, row.port === 'pxe' ? 'pxe' : 'serving');
      assert.equal((r.message.flags & 0x8000) !== 0, e.broadcastFlag);
      assert.equal(d.persist, row.type === REQUEST && row.mode === 'full' && row.port === 'dhcp' ? 'before-reply' : 'none');
    });
  }

  it('with unknown_clients = ignore, a MAC without [host] gets silence', () => {
    const base = context('proxy');
    const ctx = { ...base, settings: { ...base.settings, unknownClients: 'ignore' as const } };
    const msg = decodeDhcp(plainDhcpPacket(DISCOVER, 1, [...CLIENTS['BIOS PXE']]));
    const d = decideReply({ msg, type: DISCOVER, port: 'dhcp', from: { address: '0.0.0.0', port: 68 } }, classifyClient(msg), ctx);
    assert.equal(d.ignored, 'unknown client ([dhcp] unknown_clients = ignore)');
  });
});
