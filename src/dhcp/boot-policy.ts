// Which boot file a client gets, from the catalog (the single source of truth): the first image
// whose `arch` lists the client's architecture (an empty list takes every architecture), else the
// default image. iPXE clients get the image's `ipxe_file` when it has one, so a chainload from
// firmware into iPXE does not loop. PXE clients also get option 43: discovery control "download
// the file named here", and, for BIOS clients of an image the MTFTP server serves right now,
// sub-options 1-5 encoded from the tuple it serves (catalog/served-mtftp.ts). UEFI never gets 1-5 (it
// has no PXE MTFTP client, and EDK2 discards offers carrying only them: protocols.md 5.5).
import type { Catalog, CatalogImage } from '../catalog/catalog.js';
import type { ServedMtftp } from '../catalog/served-mtftp.js';
import { DISCOVERY_USE_BOOTFILE, encodePxeVendorOptions } from '../codec/pxe-options.js';
import type { ClientInfo } from './client-class.js';

export interface BootDecision {
  readonly image: CatalogImage;
  readonly file: string;
  /** Option 43 for PXE clients; null for plain DHCP clients. */
  readonly vendorOptions: Buffer | null;
}

export function chooseImage(client: ClientInfo, catalog: Catalog): CatalogImage | null {
  if (client.arch !== null) {
    const byArch = catalog.images.find((i) => i.arch.length > 0 && i.arch.includes(client.arch!));
    if (byArch) return byArch;
  }
  return catalog.images.find((i) => i.isDefault) ?? catalog.images.find((i) => i.arch.length === 0) ?? null;
}

export function decideBoot(client: ClientInfo, catalog: Catalog, mtftp: ServedMtftp): BootDecision | null {
  const image = chooseImage(client, catalog);
  if (image === null) return null;
  const file = client.isIpxe && image.ipxeFile !== null ? image.ipxeFile : image.file;
  const isBios = client.archType === 0;
  const vendorOptions = client.isPxe ? encodePxeVendorOptions(DISCOVERY_USE_BOOTFILE, isBios ? mtftp.channelOf(image) : null) : null;
  return { image, file, vendorOptions };
}
