// The option-43/MTFTP consistency rule, in one place: DHCP tells a BIOS client an image's MTFTP
// tuple (option 43 sub-options 1-5) only while the MTFTP server serves that very tuple, that is
// while the image's server port is bound and an open of its file on that port reaches this image.
// The MTFTP server answers `channelOf`; DHCP never reads `image.mtftp` itself.
import type { MtftpChannelConfig } from '../config/config-types.js';
import type { Catalog, CatalogImage } from './catalog.js';

export interface ServedMtftp {
  /** The tuple the MTFTP server serves for this image now, or null (disabled, unbound, none). */
  channelOf(image: CatalogImage): MtftpChannelConfig | null;
}

/** `[mtftp] enabled = false`: nothing is served, so nothing is advertised. */
export const NO_MTFTP: ServedMtftp = { channelOf: () => null };

/** The image an MTFTP open of `file` on server port `port` is for: the first with that file and a
 *  channel on that port (the open path and `channelOf` both use this, so they cannot disagree). */
export function mtftpImageFor(catalog: Catalog, file: string, port: number): CatalogImage | undefined {
  return catalog.images.find((i) => i.file === file && i.mtftp !== null && i.mtftp.serverPort === port);
}

/** The tuple of `image` if an open on its port reaches it, given which server ports are bound now. */
export function servedChannel(catalog: Catalog, image: CatalogImage, isBound: (port: number) => boolean): MtftpChannelConfig | null {
  const channel = image.mtftp;
  if (channel === null || !isBound(channel.serverPort)) return null;
  return mtftpImageFor(catalog, image.file, channel.serverPort) === image ? channel : null;
}

/** The distinct server ports a catalog's channels need. */
export function mtftpServerPorts(catalog: Catalog): Set<number> {
  return new Set(catalog.images.flatMap((i) => (i.mtftp ? [i.mtftp.serverPort] : [])));
}
