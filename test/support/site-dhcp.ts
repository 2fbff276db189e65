// The site's own DHCP server beside pxecast in proxy mode, in a test namespace: a real dnsmasq or
// ISC Kea (kea-dhcp4, memfile leases) owning the addresses of the lab LAN. Used by the BIOS iPXE
// labs (pxe-lab.ts) and the UEFI lab (uefi-lab.ts).
//
// `bootServer` is the site-side half of the GRUB-in-proxy-mode recipe (docs/dhcp.md): GRUB reads
// the firmware's cached DHCPACK, which is the site server's, and takes its TFTP server from that
// ACK's `siaddr` (next-server). With `bootServer` set, the site server puts pxecast's address
// there for PXE clients (option 60 `PXEClient`) only; every other client is answered as before.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnInNamespace, type LinkEnd, type ProcessHandle } from './netns.js';

export type SiteServerKind = 'dnsmasq' | 'kea';

export interface SiteDhcpPlan {
  readonly kind: SiteServerKind;
  /** Where its config, leases, pid and lock files go. */
  readonly workDir: string;
  /** The pool: first and last address, on the /24 of `site`. */
  readonly first: string;
  readonly last: string;
  /** pxecast's address, given to PXE clients as next-server (siaddr); absent: no boot data at all. */
  readonly bootServer?: string;
}

const START_TIMEOUT_MS = 15_000;

/** Starts the site server on `site` and resolves once it serves its interface. */
export async function startSiteDhcp(site: LinkEnd, plan: SiteDhcpPlan): Promise<ProcessHandle> {
  const server = plan.kind === 'kea' ? startKea(site, plan) : startDnsmasq(site, plan);
  const ready = plan.kind === 'kea' ? /DHCPSRV_CFGMGR_ADD_IFACE|DHCP4_STARTED/ : /DHCP, IP range/;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!ready.test(server.outputTail())) {
    if (!server.isRunning() || Date.now() > deadline) {
      await server.kill();
      throw new Error(`site ${plan.kind} did not start:\n${server.outputTail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return server;
}

function startDnsmasq(site: LinkEnd, plan: SiteDhcpPlan): ProcessHandle {
  return spawnInNamespace(site.namespace, 'dnsmasq', [
    '--keep-in-foreground', '--user=root', '--port=0', '--no-resolv', '--no-hosts', '--log-facility=-', '--log-dhcp',
    '--no-ping', `--interface=${site.ifname}`, '--bind-interfaces',
    `--dhcp-range=${plan.first},${plan.last},255.255.255.0,1h`,
    ...(plan.bootServer
      ? ['--dhcp-vendorclass=set:pxe,PXEClient', `--dhcp-option=tag:pxe,option:server-ip-address,${plan.bootServer}`]
      : []),
    `--dhcp-leasefile=${join(plan.workDir, 'site.leases')}`,
    `--pid-file=${join(plan.workDir, 'site.pid')}`,
  ]);
}

function startKea(site: LinkEnd, plan: SiteDhcpPlan): ProcessHandle {
  const subnet = `${site.address.split('.').slice(0, 3).join('.')}.0/24`;
  const config = join(plan.workDir, 'kea-dhcp4.json');
  const pxeClass = plan.bootServer
    ? { 'client-classes': [{ name: 'pxe', test: "substring(option[60].hex,0,9) == 'PXEClient'", 'next-server': plan.bootServer }] }
    : {};
  writeFileSync(
    config,
    JSON.stringify({
      Dhcp4: {
        'interfaces-config': { interfaces: [site.ifname] },
        'lease-database': { type: 'memfile', persist: true, name: join(plan.workDir, 'kea-leases4.csv'), 'lfc-interval': 0 },
        'valid-lifetime': 3600,
        ...pxeClass,
        subnet4: [{ id: 1, subnet, pools: [{ pool: `${plan.first} - ${plan.last}` }] }],
        loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'INFO' }],
      },
    }),
  );
  return spawnInNamespace(site.namespace, 'env', [`KEA_PIDFILE_DIR=${plan.workDir}`, `KEA_LOCKFILE_DIR=${plan.workDir}`, 'kea-dhcp4', '-c', config]);
}
