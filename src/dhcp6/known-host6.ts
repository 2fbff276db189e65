// Which `[host NAME]` a DHCPv6 client is, the one place that decides it. In this order:
//   1. `duid`: its Client Identifier (option 1) is the host's `duid`, byte for byte;
//   2. `duid-mac`: the MAC its DUID carries (DUID-LLT type 1 or DUID-LL type 3 with hardware type 1,
//      Ethernet; RFC 8415 11.2, 11.4) is the host's `mac`;
//   3. `relay-mac`: the MAC the relay next to it reported (Client Link-Layer Address, option 79,
//      RFC 6939) is the host's `mac`.
// The DUID is what the client says it is, so it wins (a DUID-LLT keeps the MAC of the interface it
// was first made on, not necessarily the one it boots from). A DUID-EN or DUID-UUID (EDK2 sends
// type 4) carries no MAC: such a client is known by `duid`, or by its relay. docs/ipv6.md says the same.
import { hostByDuid, hostByMac, type Catalog } from '../catalog/catalog.js';
import type { HostConfig } from '../config/config-types.js';
import type { Client6Info } from './client6.js';

export interface Host6Match {
  readonly host: HostConfig;
  readonly by: 'duid' | 'duid-mac' | 'relay-mac';
}

export function knownHost6(client: Client6Info, catalog: Catalog): Host6Match | null {
  const byDuid = client.duid === null ? undefined : hostByDuid(catalog, client.duid.toString('hex'));
  if (byDuid) return { host: byDuid, by: 'duid' };
  const byDuidMac = client.duidMac === null ? undefined : hostByMac(catalog, client.duidMac);
  if (byDuidMac) return { host: byDuidMac, by: 'duid-mac' };
  const byRelayMac = client.relayMac === null ? undefined : hostByMac(catalog, client.relayMac);
  if (byRelayMac) return { host: byRelayMac, by: 'relay-mac' };
  return null;
}
