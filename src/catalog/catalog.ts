import type { Architecture, HostConfig, MtftpChannelConfig } from '../config/config-types.js';

/** PXE MTFTP has no options: 512-byte blocks and 16-bit block numbers without rollover. */
export const MTFTP_BLKSIZE = 512;
export const MTFTP_MAX_BLOCKS = 65535;
/** The last block must be short, so the largest file is one byte under the block budget. */
export const MTFTP_MAX_FILE_SIZE = MTFTP_MAX_BLOCKS * MTFTP_BLKSIZE - 1;

export interface CatalogImage {
  readonly name: string;
  /** As clients request it, relative to the root. */
  readonly file: string;
  readonly path: string;
  readonly size: number;
  readonly description: string;
  readonly arch: readonly Architecture[];
  readonly ipxeFile: string | null;
  /** What UEFI HTTP Boot clients get as a URL; null: `file`. */
  readonly httpFile: string | null;
  /** The iPXE script template (catalog/ipxe-script.ts), read and checked at load time. */
  readonly ipxeScript: { readonly file: string; readonly template: string } | null;
  readonly isDefault: boolean;
  readonly mtftp: MtftpChannelConfig | null;
}

/** One immutable snapshot of what pxecast serves; swapped whole on reload. */
export interface Catalog {
  /** realpath of the served root. */
  readonly root: string;
  readonly images: readonly CatalogImage[];
  /** Known machines (`[host NAME]`), their image names already checked against `images`. */
  readonly hosts: readonly HostConfig[];
  readonly loadedAt: number;
}

interface HostIndex {
  readonly byMac: ReadonlyMap<string, HostConfig>;
  readonly byDuid: ReadonlyMap<string, HostConfig>;
}

/** Per catalog snapshot (immutable), its hosts by MAC and DUID: DHCP looks a host up on every message. */
const hostIndex = new WeakMap<Catalog, HostIndex>();

function indexOf(catalog: Catalog): HostIndex {
  let index = hostIndex.get(catalog);
  if (index === undefined) {
    index = {
      byMac: new Map(catalog.hosts.flatMap((h) => (h.mac === null ? [] : [[h.mac, h] as const]))),
      byDuid: new Map(catalog.hosts.flatMap((h) => (h.duid === null ? [] : [[h.duid, h] as const]))),
    };
    hostIndex.set(catalog, index);
  }
  return index;
}

export function hostByMac(catalog: Catalog, mac: string): HostConfig | undefined {
  return indexOf(catalog).byMac.get(mac);
}

/** `duid` as bare lower-case hex (`Buffer.toString('hex')`). */
export function hostByDuid(catalog: Catalog, duid: string): HostConfig | undefined {
  return indexOf(catalog).byDuid.get(duid);
}

export function imageByName(catalog: Catalog, name: string): CatalogImage | undefined {
  return catalog.images.find((i) => i.name === name);
}
