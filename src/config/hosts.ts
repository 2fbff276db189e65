// `[host NAME]` sections: known machines by MAC, with an image, a fixed address and a host name.
// Checked as a whole, each problem named by file, line and key: a MAC or address given twice
// (among hosts, or against a pool's `reservations`), an image that is not an `[image NAME]`, an
// address outside every pool in `full` mode. A host's address becomes a reservation of the pool
// whose subnet holds it, so the lease table keeps one rule for fixed addresses.
import { issueAt, type ConfigIssue } from './config-error.js';
import type { DhcpReservation, HostConfig } from './config-types.js';
import { IPV4, MAC, normalizeMac, subnetOf } from '../codec/ipv4.js';
import type { SectionValues } from './section-values.js';

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export interface PoolShape {
  readonly section: SectionValues;
  readonly reservations: readonly DhcpReservation[];
}

/** The hosts that passed every check; issues for the rest. */
export function checkHosts(
  hosts: readonly SectionValues[],
  imageNames: ReadonlySet<string>,
  pools: readonly PoolShape[],
  fullMode: boolean,
  issues: ConfigIssue[],
): HostConfig[] {
  const byMac = new Map<string, string>();
  const byAddress = new Map<string, string>();
  for (const pool of pools) {
    for (const r of pool.reservations) {
      byMac.set(r.mac, `[${pool.section.label}] reservations`);
      byAddress.set(r.address, `[${pool.section.label}] reservations`);
    }
  }
  const accepted: HostConfig[] = [];
  for (const host of hosts) {
    const at = (key: string) => host.written(key) ?? host.headerOrFile();
    const optional = (key: string) => {
      const value = host.get(key);
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
    };
    const who = `[${host.label}]`;
    const before = issues.length;
    const macText = host.get('mac');
    const mac = typeof macText === 'string' ? normalizeMac(macText) : '';
    if (typeof macText === 'string' && !MAC.test(mac)) issues.push(issueAt(at('mac'), host.label, 'mac', `\`${macText}\` is not a MAC address (e.g. 52:54:00:12:34:56)`));
    else if (byMac.has(mac)) issues.push(issueAt(at('mac'), host.label, 'mac', `${mac} is already given to ${byMac.get(mac)}`));
    else if (mac !== '') byMac.set(mac, who);

    const image = optional('image');
    if (image !== null && !imageNames.has(image)) {
      const known = [...imageNames].join(', ') || 'none';
      issues.push(issueAt(at('image'), host.label, 'image', `no [image ${image}] (images: ${known})`));
    }

    const addressValue = host.get('address');
    const address = typeof addressValue === 'string' && addressValue !== '0.0.0.0' ? addressValue : null;
    if (address !== null) {
      if (!IPV4.test(address)) issues.push(issueAt(at('address'), host.label, 'address', 'host addresses are IPv4'));
      else if (byAddress.has(address)) issues.push(issueAt(at('address'), host.label, 'address', `${address} is already given to ${byAddress.get(address)}`));
      else {
        byAddress.set(address, who);
        const inPool = pools.some((p) => {
          const first = p.section.get('first');
          const prefix = p.section.get('prefix');
          return typeof first === 'string' && typeof prefix === 'number' && subnetOf(first, prefix) === subnetOf(address, prefix);
        });
        if (fullMode && !inPool) issues.push(issueAt(at('address'), host.label, 'address', `${address} is in no pool's subnet`));
      }
    }

    const hostname = optional('hostname');
    if (hostname !== null && !HOSTNAME.test(hostname)) {
      issues.push(issueAt(at('hostname'), host.label, 'hostname', `\`${hostname}\` is not a host name (letters, digits, hyphens, dots)`));
    }
    if (issues.length === before && mac !== '') accepted.push({ name: host.arg ?? '', mac, image, address, hostname });
  }
  return accepted;
}

/** Each pool's reservations plus the addresses of the hosts in its subnet. */
export function reservationsWithHosts(
  pool: { readonly first: string; readonly prefix: number },
  own: readonly DhcpReservation[],
  hosts: readonly HostConfig[],
): DhcpReservation[] {
  const fromHosts = hosts.flatMap((h) => (h.address !== null && subnetOf(h.address, pool.prefix) === subnetOf(pool.first, pool.prefix) ? [{ mac: h.mac, address: h.address }] : []));
  return [...own, ...fromHosts];
}
