// How a socket that sends to multicast groups (an RFC 2090 session's, an MTFTP server port) is set
// up, for both protocols: the TTL, and the interface multicast leaves from: `[multicast] interface`,
// else the TFTP listen address, else (both 0.0.0.0) whatever the routing table picks.
import type { MulticastConfig, TftpConfig } from '../config/config-types.js';
import type { MulticastSendOptions } from '../io/ports.js';

export function multicastSendOptions(tftp: TftpConfig, mc: MulticastConfig): MulticastSendOptions {
  const iface = mc.interface !== '0.0.0.0' ? mc.interface : tftp.listen !== '0.0.0.0' ? tftp.listen : null;
  return { ttl: mc.ttl, interface: iface };
}
