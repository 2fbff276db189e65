// The server's DUID (option 2), derived from its configured IPv6 address rather than generated and
// stored: the same bytes after every restart without a state file (stateless mode has none), and a
// new identity exactly when the address clients reach the server at changes. RFC 8415 11 lets a
// server pick any DUID type; DUID-UUID (type 4, RFC 6355) holds 16 bytes, and the address's 16
// bytes with the version (8: RFC 9562 custom) and variant bits set make a valid UUID. (DUID-LL
// would need the interface's MAC, which Node cannot read for an address without OS lookups in the
// glue; DUID-EN needs an enterprise number.)
import { parseIpv6 } from '../codec/dhcp6-message.js';

export function serverDuid(address: string): Buffer {
  const uuid = Buffer.from(parseIpv6(address));
  uuid[6] = (uuid[6]! & 0x0f) | 0x80;
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  return Buffer.concat([Buffer.from([0, 4]), uuid]);
}
