// `[host NAME]` sections: known machines by MAC and/or DHCPv6 DUID, with an image, a fixed address
// and a host name. Checked as a whole, each problem named by file, line and key: a host with
// neither MAC nor DUID, a MAC, DUID or address given twice (among hosts, or against a pool's
// `reservations`), an image that is not an `[image NAME]`, an address outside every pool in `full`
// mode or without a MAC to reserve it for. A host's address becomes a reservation of the pool
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
  const byDuid = new Map<string, string>();
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
    const macText = optional('mac');
    const mac = macText === null ? null : normalizeMac(macText);
    if (macText !== null && !MAC.test(mac!)) issues.push(issueAt(at('mac'), host.label, 'mac', `\`${macText}\` is not a MAC address (e.g. 52:54:00:12:34:56)`));
    else if (mac !== null && byMac.has(mac)) issues.push(issueAt(at('mac'), host.label, 'mac', `${mac} is already given to ${byMac.get(mac)}`));
    else if (mac !== null) byMac.set(mac, who);

    // Parsed (and checked as hex) by the schema: bare lower-case hex, or null.
    const duidValue = host.get('duid');
    const duid = typeof duidValue === 'string' ? duidValue : null;
    if (duid !== null && byDuid.has(duid)) issues.push(issueAt(at('duid'), host.label, 'duid', `${duid} is already given to ${byDuid.get(duid)}`));
    else if (duid !== null) byDuid.set(duid, who);
    if (mac === null && duid === null && !host.isRejected('duid')) {
      issues.push(issueAt(host.headerOrFile(), host.label, null, 'needs `mac` or `duid` (or both) to know the machine by'));
    }

    const image = optional('image');
    if (image !== null && !imageNames.has(image)) {
      const known = [...imageNames].join(', ') || 'none';
      issues.push(issueAt(at('image'), host.label, 'image', `no [image ${image}] (images: ${known})`));
    }

    const addressValue = host.get('address');
    const address = typeof addressValue === 'string' && addressValue !== '0.0.0.0' ? addressValue : null;
    if (address !== null) {
      if (!IPV4.test(address)) issues.push(issueAt(at('address'), host.label, 'address', 'host addresses are IPv4'));
      else if (mac === null) issues.push(issueAt(at('address'), host.label, 'address', 'a fixed address is reserved by MAC: this host needs `mac`'));
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
    if (issues.length === before && (mac !== null || duid !== null)) accepted.push({ name: host.arg ?? '', mac, duid, image, address, hostname });
  }
  return accepted;
}

/** Each pool's reservations plus the addresses of the hosts in its subnet. */
export function reservationsWithHosts(
  pool: { readonly first: string; readonly prefix: number },
  own: readonly DhcpReservation[],
  hosts: readonly HostConfig[],
): DhcpReservation[] {
  const fromHosts = hosts.flatMap((h) =>
    h.mac !== null && h.address !== null && subnetOf(h.address, pool.prefix) === subnetOf(pool.first, pool.prefix) ? [{ mac: h.mac, address: h.address }] : [],
  );
  return [...own, ...fromHosts];
}
