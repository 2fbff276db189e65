// How a socket that sends to multicast groups (an RFC 2090 session's, an MTFTP server port) is set
// up, for both protocols: the address it listens on, the TTL, and the interface multicast leaves
// from: `[multicast] interface`, else the TFTP listen address, else (both unspecified) whatever the
// routing table picks.
import type { MulticastConfig, TftpConfig } from '../config/config-types.js';
import type { MulticastSendOptions } from '../io/ports.js';

/** RFC 2090 and PXE MTFTP define IPv4 groups only: with an IPv6 (or dual-stack `::`) TFTP address
 *  their sockets listen on IPv4. */
export function multicastListenAddress(tftp: TftpConfig): string {
  return tftp.listen.includes(':') ? '0.0.0.0' : tftp.listen;
}

export function multicastSendOptions(tftp: TftpConfig, mc: MulticastConfig): MulticastSendOptions {
  const listen4 = multicastListenAddress(tftp);
  const iface = mc.interface !== '0.0.0.0' ? mc.interface : listen4 !== '0.0.0.0' ? listen4 : null;
  return { ttl: mc.ttl, interface: iface };
}
