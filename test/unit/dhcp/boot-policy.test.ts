import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Catalog, CatalogImage } from '../../../src/catalog/catalog.js';
import { decodeDhcp } from '../../../src/codec/dhcp-message.js';
import { decodeMtftpSubOptions, decodePxeVendorOptions } from '../../../src/codec/pxe-options.js';
import { NO_MTFTP, type ServedMtftp } from '../../../src/catalog/served-mtftp.js';
import { decideBoot, NO_HTTP, type ServedHttp } from '../../../src/dhcp/boot-policy.js';
import { plainDhcpPacket } from '../../support/dhcp-exchange.js';
import { classifyClient, type ClientInfo } from '../../../src/dhcp/client-class.js';
import { replyDestination } from '../../../src/dhcp/reply-destination.js';
import { capture } from '../../support/fixtures.js';

const image = (over: Partial<CatalogImage>): CatalogImage => ({
  name: 'x',
  file: 'x',
  path: '/srv/x',
  size: 1,
  description: '',
  arch: [],
  ipxeFile: null,
  httpFile: null,
  ipxeScript: null,
  isDefault: false,
  mtftp: null,
  ...over,
});
const catalog: Catalog = {
  root: '/srv',
  hosts: [],
  loadedAt: 0,
  images: [
    image({ name: 'uefi', file: 'ipxe.efi', arch: ['efi-x64'], ipxeFile: 'boot.ipxe' }),
    image({
      name: 'bios',
      file: 'undionly.kpxe',
      arch: ['bios'],
      ipxeFile: 'boot.ipxe',
      isDefault: true,
      mtftp: { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 3 },
    }),
  ],
};
const client = (over: Partial<ClientInfo>): ClientInfo => ({
  mac: '52:54:00:00:00:01',
  isPxe: true,
  isHttpClient: false,
  isIpxe: false,
  archType: 0,
  arch: 'bios',
  machineId: null,
  malformed: [],
  ...over,
});

describe('client classification', () => {
  it('recognises iPXE BIOS from the captured DISCOVER', () => {
    const c = classifyClient(decodeDhcp(capture('ipxe-dhcp-discover')));
    assert.deepEqual({ ...c, machineId: c.machineId?.length }, {
      mac: '52:54:00:d7:00:00',
      isPxe: true,
      isHttpClient: false,
      isIpxe: true,
      archType: 0,
      arch: 'bios',
      machineId: 17,
      malformed: [],
    });
  });
});

/** An MTFTP server that serves every channel the catalog names. */
const ALL_SERVED: ServedMtftp = { channelOf: (i) => i.mtftp };

describe('boot policy', () => {
  it('gives firmware its image by architecture, and iPXE the script so a chainload never loops', () => {
    assert.equal(decideBoot(client({}), catalog, ALL_SERVED, NO_HTTP)?.file, 'undionly.kpxe');
    assert.equal(decideBoot(client({ isIpxe: true }), catalog, ALL_SERVED, NO_HTTP)?.file, 'boot.ipxe');
    assert.equal(decideBoot(client({ archType: 7, arch: 'efi-x64' }), catalog, ALL_SERVED, NO_HTTP)?.file, 'ipxe.efi');
    assert.equal(decideBoot(client({ archType: 11, arch: 'efi-arm64' }), catalog, ALL_SERVED, NO_HTTP)?.image.name, 'bios', 'no match: the default image');
  });

  it('option 43 for a BIOS PXE client carries exactly the catalog MTFTP tuple, and discovery control 8', () => {
    const d = decideBoot(client({}), catalog, ALL_SERVED, NO_HTTP)!;
    assert.deepEqual(decodeMtftpSubOptions(d.vendorOptions!), catalog.images[1]!.mtftp);
    assert.deepEqual([...decodePxeVendorOptions(d.vendorOptions!).get(6)!], [8]);
  });

  it('option 43 carries sub-options 1-5 only for what the MTFTP server serves: none when it serves nothing', () => {
    const d = decideBoot(client({}), catalog, NO_MTFTP, NO_HTTP)!;
    assert.equal(d.file, 'undionly.kpxe');
    assert.deepEqual([...decodePxeVendorOptions(d.vendorOptions!).keys()], [6], 'discovery control only');
    const other: ServedMtftp = { channelOf: () => ({ group: '239.255.9.9', clientPort: 4000, serverPort: 4001, openTimeoutS: 1, reopenDelayS: 2 }) };
    assert.deepEqual(decodeMtftpSubOptions(decideBoot(client({}), catalog, other, NO_HTTP)!.vendorOptions!), other.channelOf(catalog.images[1]!), 'the served tuple, not the catalog one');
  });

  it('never sends MTFTP sub-options to UEFI (EDK2 discards such offers), nor option 43 to plain DHCP clients', () => {
    const uefi = decideBoot(client({ archType: 7, arch: 'efi-x64' }), catalog, ALL_SERVED, NO_HTTP)!;
    assert.deepEqual([...decodePxeVendorOptions(uefi.vendorOptions!).keys()], [6]);
    assert.equal(decideBoot(client({ isPxe: false, archType: null, arch: null }), catalog, ALL_SERVED, NO_HTTP)?.vendorOptions, null);
  });
});

describe('UEFI HTTP Boot (option 60 HTTPClient)', () => {
  const http: ServedHttp = { urlBase: () => 'http://10.0.0.1:8080' };
  const httpCatalog: Catalog = {
    ...catalog,
    images: [
      image({ name: 'arm', file: 'arm/grubaa64.efi', arch: ['efi-arm64'] }),
      image({ name: 'x64', file: 'ipxe.efi', arch: ['efi-x64'], httpFile: 'efi/grub x64.efi' }),
      image({ name: 'x64-http', file: 'shimx64.efi', arch: ['efi-x64-http'] }),
      image({ name: 'bios', file: 'undionly.kpxe', arch: ['bios'], isDefault: true }),
    ],
  };
  const httpClient = (archType: number, arch: ClientInfo['arch']) => client({ isPxe: false, isHttpClient: true, archType, arch });
  const cases: Array<[string, ClientInfo, Catalog, ServedHttp, { image: string; file: string } | null]> = [
    ['x64 HTTP (16): an image listing efi-x64-http comes first', httpClient(16, 'efi-x64-http'), httpCatalog, http, { image: 'x64-http', file: 'http://10.0.0.1:8080/shimx64.efi' }],
    ['x64 HTTP (16) without an efi-x64-http image: the efi-x64 one, its http_file, percent-encoded', httpClient(16, 'efi-x64-http'), { ...httpCatalog, images: httpCatalog.images.filter((i) => i.name !== 'x64-http') }, http, { image: 'x64', file: 'http://10.0.0.1:8080/efi/grub%20x64.efi' }],
    ['ARM64 HTTP (19): the efi-arm64 image', httpClient(19, 'efi-arm64-http'), httpCatalog, http, { image: 'arm', file: 'http://10.0.0.1:8080/arm/grubaa64.efi' }],
    ['an unknown HTTP architecture: the default image', httpClient(18, null), httpCatalog, http, { image: 'bios', file: 'http://10.0.0.1:8080/undionly.kpxe' }],
    ['no HTTP server running: no boot information', httpClient(16, 'efi-x64-http'), httpCatalog, NO_HTTP, null],
  ];
  for (const [what, c, cat, served, expected] of cases) {
    it(what, () => {
      const d = decideBoot(c, cat, ALL_SERVED, served);
      if (expected === null) return assert.equal(d, null);
      assert.equal(d?.image.name, expected.image);
      assert.equal(d?.file, expected.file);
      assert.equal(d?.vendorClass, 'HTTPClient');
      assert.equal(d?.vendorOptions, null, 'never option 43');
    });
  }

  it('an iPXE client of an image with ipxe_script gets the script URL while HTTP runs, else ipxe_file', () => {
    const scripted: Catalog = { ...catalog, images: [image({ name: 'lab', file: 'undionly.kpxe', ipxeFile: 'boot.ipxe', isDefault: true, ipxeScript: { file: 't', template: '#!ipxe' } })] };
    const ipxe = client({ isIpxe: true });
    assert.equal(decideBoot(ipxe, scripted, ALL_SERVED, http)?.file, 'http://10.0.0.1:8080/_pxecast/ipxe/lab?mac=52%3A54%3A00%3A00%3A00%3A01&arch=bios');
    assert.equal(decideBoot(ipxe, scripted, ALL_SERVED, NO_HTTP)?.file, 'boot.ipxe');
    assert.equal(decideBoot(client({}), scripted, ALL_SERVED, http)?.file, 'undionly.kpxe', 'firmware (not iPXE yet) gets the image file');
  });

  it('a PXE client of the same catalog still gets its file and option 43, never a URL', () => {
    const d = decideBoot(client({ archType: 7, arch: 'efi-x64' }), httpCatalog, ALL_SERVED, http)!;
    assert.equal(d.file, 'ipxe.efi');
    assert.equal(d.vendorClass, 'PXEClient');
    assert.ok(d.vendorOptions);
  });

  it('classifies HTTPClient from option 60, its architecture from option 93', () => {
    const msg = decodeDhcp(plainDhcpPacket(1, 5, [60, 33, ...Buffer.from('HTTPClient:Arch:00016:UNDI:003001'), 93, 2, 0, 16]));
    const c = classifyClient(msg);
    assert.equal(c.isHttpClient, true);
    assert.equal(c.isPxe, false);
    assert.equal(c.arch, 'efi-x64-http');
  });
});

describe('reply destination (RFC 2131 4.1)', () => {
  const base = { giaddr: '0.0.0.0', ciaddr: '0.0.0.0', isNak: false, clientPort: 68, serverPort: 67 };
  it('relay, renewing client, NAK and fresh client', () => {
    assert.deepEqual(replyDestination({ ...base, giaddr: '10.1.0.1' }), { address: '10.1.0.1', port: 67 });
    assert.deepEqual(replyDestination({ ...base, ciaddr: '10.0.0.5' }), { address: '10.0.0.5', port: 68 });
    assert.deepEqual(replyDestination({ ...base, ciaddr: '10.0.0.5', isNak: true }), { address: '255.255.255.255', port: 68 });
    assert.deepEqual(replyDestination(base), { address: '255.255.255.255', port: 68 });
  });
});
