// Which boot file a client gets, from the catalog (the single source of truth): a known host's
// (`[host NAME]`, by MAC over DHCPv4, by DUID or MAC over DHCPv6) assigned image, else the first image
// whose `arch` lists the client's architecture (an empty list takes every architecture), for a
// UEFI HTTP Boot architecture (16, 19) then the first listing its firmware family (efi-x64,
// efi-arm64), else the default image. iPXE clients get the image's `ipxe_file` when it has one, so
// a chainload from firmware into iPXE does not loop, or, for an image with `ipxe_script` while the
// HTTP server runs, the URL of that script rendered for them (catalog/ipxe-script.ts). PXE clients also get option 43: discovery
// control "download the file named here", and, for BIOS clients of an image the MTFTP server
// serves right now, sub-options 1-5 encoded from the tuple it serves (catalog/served-mtftp.ts).
// UEFI never gets 1-5 (it has no PXE MTFTP client, and EDK2 discards offers carrying only them:
// protocols.md 5.5). UEFI HTTP Boot clients (option 60 `HTTPClient`) get `HTTPClient` back and an
// `http://` URL to the image's `http_file` (else `file`) on the HTTP server, never option 43; with
// no HTTP server running they get no boot information at all.
import { hostByMac, type Catalog, type CatalogImage } from '../catalog/catalog.js';
import { ipxeScriptUrl } from '../catalog/ipxe-script.js';
import type { ServedMtftp } from '../catalog/served-mtftp.js';
import { DISCOVERY_USE_BOOTFILE, encodePxeVendorOptions } from '../codec/pxe-options.js';
import type { Architecture, HostConfig } from '../config/config-types.js';
import type { ClientInfo } from './client-class.js';

/** Where the HTTP server is, as clients reach it (`http://HOST:PORT`), or null when it is off. */
export interface ServedHttp {
  urlBase(): string | null;
}

export const NO_HTTP: ServedHttp = { urlBase: () => null };

export interface BootDecision {
  readonly image: CatalogImage;
  /** The boot file name (a path in the tree), or for HTTP clients the URL. */
  readonly file: string;
  /** Option 60 in the reply: echoed to PXE and HTTP Boot clients, none for plain DHCP. */
  readonly vendorClass: 'PXEClient' | 'HTTPClient' | null;
  /** Option 43 for PXE clients; null for everyone else. */
  readonly vendorOptions: Buffer | null;
}

/** UEFI HTTP Boot architectures fall back to the image for their firmware's PXE architecture. */
const FAMILY: Partial<Record<Architecture, Architecture>> = { 'efi-x64-http': 'efi-x64', 'efi-arm64-http': 'efi-arm64' };

/** `host`: the `[host NAME]` the client is (DHCPv4 by MAC; DHCPv6 by dhcp6/known-host6.ts). */
export function chooseImage(client: ClientInfo, catalog: Catalog, host: HostConfig | undefined): CatalogImage | null {
  // A known host's image is its own, whatever architecture it boots as (firmware, then iPXE).
  const assigned = host?.image;
  if (assigned) return catalog.images.find((i) => i.name === assigned) ?? null;
  const listing = (arch: Architecture) => catalog.images.find((i) => i.arch.length > 0 && i.arch.includes(arch));
  if (client.arch !== null) {
    const family = FAMILY[client.arch];
    const byArch = listing(client.arch) ?? (family ? listing(family) : undefined);
    if (byArch) return byArch;
  }
  return catalog.images.find((i) => i.isDefault) ?? catalog.images.find((i) => i.arch.length === 0) ?? null;
}

/** `http://HOST:PORT/path`, each path segment percent-encoded. */
export function bootUrl(base: string, path: string): string {
  return `${base}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** What an iPXE client gets: its script rendered by the HTTP server, else `ipxe_file`, else `file`. */
function ipxeFileFor(image: CatalogImage, client: ClientInfo, http: ServedHttp): string {
  const base = image.ipxeScript !== null ? http.urlBase() : null;
  if (base !== null) return ipxeScriptUrl(base, image.name, client.mac, client.arch);
  return image.ipxeFile ?? image.file;
}

export function decideBoot(client: ClientInfo, catalog: Catalog, mtftp: ServedMtftp, http: ServedHttp): BootDecision | null {
  const image = chooseImage(client, catalog, hostByMac(catalog, client.mac));
  if (image === null) return null;
  if (client.isHttpClient) {
    const base = http.urlBase();
    if (base === null) return null;
    return { image, file: bootUrl(base, image.httpFile ?? image.file), vendorClass: 'HTTPClient', vendorOptions: null };
  }
  const file = client.isIpxe ? ipxeFileFor(image, client, http) : image.file;
  if (!client.isPxe) return { image, file, vendorClass: null, vendorOptions: null };
  const isBios = client.archType === 0;
  const vendorOptions = encodePxeVendorOptions(DISCOVERY_USE_BOOTFILE, isBios ? mtftp.channelOf(image) : null);
  return { image, file, vendorClass: 'PXEClient', vendorOptions };
}
