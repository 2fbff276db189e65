// The [dhcp6] section: its schema entry (listed in CONFIG_SCHEMA) and its cross-field checks. Kept
// apart from schema.ts and load-config.ts so the DHCPv6 responder's settings live in one place.
import { parseIpv6 } from '../codec/dhcp6-message.js';
import { issueAt, type ConfigIssue } from './config-error.js';
import type { SectionSpec } from './schema-types.js';
import type { SectionValues } from './section-values.js';

export const DHCP6_MODES = ['off', 'stateless', 'stateful'] as const;
export type Dhcp6Mode = (typeof DHCP6_MODES)[number];

/** A pool may hold this many addresses at most: allocation walks it, and a lab needs far fewer. */
export const MAX_DHCP6_POOL_SIZE = 65536;

export interface Dhcp6Config {
  readonly mode: Dhcp6Mode;
  /** The server's IPv6 address on the boot link: replies leave from it, boot URLs name it, and the
   *  server DUID is derived from it. */
  readonly address: string | null;
  /** The interface joining All_DHCP_Relay_Agents_and_Servers (ff02::1:2); null: the system's choice. */
  readonly link: string | null;
  readonly port: number;
  /** Option 60 (RFC 5970): space-separated parameters; empty: none. */
  readonly bootParams: readonly string[];
  readonly poolFirst: string | null;
  readonly poolLast: string | null;
  readonly leaseTimeMs: number;
  readonly offerTimeoutMs: number;
  readonly stateFile: string;
}

const SECOND = 1000;
const HOUR = 3600 * SECOND;

export const DHCP6_SECTION: SectionSpec = {
  name: 'dhcp6',
  named: false,
  description:
    'The DHCPv6 boot responder (RFC 8415, boot options of RFC 5970): boot file URLs (`tftp://[addr]/path`, `http://[addr]:port/path` for UEFI HTTP Boot) chosen from the catalog by client architecture (option 61) and host, alongside a site DHCPv6 server or router advertisements (`stateless`) or with its own address pool (`stateful`). IPv6 has no multicast TFTP: RFC 2090 and PXE MTFTP stay IPv4.',
  fields: [
    {
      key: 'mode',
      type: { kind: 'enum', values: DHCP6_MODES },
      required: false,
      default: 'off',
      description:
        '`stateless` answers INFORMATION-REQUEST, SOLICIT and REQUEST with the boot options only (the site gives addresses); `stateful` also assigns addresses (IA_NA) from `pool_first`..`pool_last` and keeps leases in `state_file`; `off` runs no DHCPv6.',
      example: 'stateless',
      exampleCommented: true,
    },
    {
      key: 'address',
      type: { kind: 'ip-address' },
      required: false,
      default: '::',
      description:
        'The server\'s IPv6 address on the boot link (required unless `mode = off`; not link-local): replies leave from it, TFTP and HTTP boot URLs name it, and the server DUID is derived from it.',
      example: 'fd00:10::1',
      exampleCommented: true,
    },
    {
      key: 'link',
      type: { kind: 'text' },
      required: false,
      default: '',
      description: 'Interface name on which to join ff02::1:2 (All_DHCP_Relay_Agents_and_Servers); empty lets the system choose (one-interface hosts).',
      example: 'eth1',
      exampleCommented: true,
    },
    {
      key: 'port',
      type: { kind: 'int', min: 1, max: 65535 },
      required: false,
      default: '547',
      description: 'DHCPv6 server port; clients are answered on this port - 1 (relays on this port).',
      example: '547',
      exampleCommented: true,
    },
    {
      key: 'boot_params',
      type: { kind: 'text' },
      required: false,
      default: '',
      description: 'Boot file parameters sent as option 60 (RFC 5970), separated by spaces; empty sends no option 60.',
      example: '',
      exampleCommented: true,
    },
    {
      key: 'pool_first',
      type: { kind: 'ip-address' },
      required: false,
      default: '::',
      description: 'First IPv6 address handed out in `stateful` mode (required there).',
      example: 'fd00:10::1000',
      exampleCommented: true,
    },
    {
      key: 'pool_last',
      type: { kind: 'ip-address' },
      required: false,
      default: '::',
      description: `Last IPv6 address handed out in \`stateful\` mode (required there); same /64 as \`pool_first\`, at most ${MAX_DHCP6_POOL_SIZE} addresses.`,
      example: 'fd00:10::1fff',
      exampleCommented: true,
    },
    {
      key: 'lease_time',
      type: { kind: 'duration', bareUnit: 's', minMs: 60 * SECOND, maxMs: 30 * 24 * HOUR },
      required: false,
      default: '1h',
      description: 'Valid lifetime of an address in `stateful` mode (preferred: the same); clients renew at half (T1) and rebind at 4/5 (T2).',
      example: '12h',
      exampleCommented: true,
    },
    {
      key: 'offer_timeout',
      type: { kind: 'duration', bareUnit: 's', minMs: 1 * SECOND, maxMs: 600 * SECOND },
      required: false,
      default: '60s',
      description: 'How long an address in an ADVERTISE stays held for the client it was advertised to.',
      example: '60s',
      exampleCommented: true,
    },
    {
      key: 'state_file',
      type: { kind: 'host-path' },
      required: false,
      default: '/var/lib/pxecast/leases6.json',
      description: 'DHCPv6 lease database (`stateful` mode), written atomically (write, fsync, rename) before the REPLY that binds an address, and read at start.',
      example: '/var/lib/pxecast/leases6.json',
      exampleCommented: true,
    },
  ],
};

const isUnset = (v: unknown) => v === '::' || v === undefined || v === null;

/** The [dhcp6] values as Config, with the checks that need several keys; issues go to `issues`. */
export function buildDhcp6(values: SectionValues, issues: ConfigIssue[]): Dhcp6Config {
  const mode = (values.get('mode') ?? 'off') as Dhcp6Mode;
  const at = (key: string) => values.written(key) ?? values.written('mode') ?? values.headerOrFile();
  const refused = new Set<string>();
  const v6 = (key: string): string | null => {
    const value = values.get(key);
    if (isUnset(value) || typeof value !== 'string') return null;
    if (!value.includes(':')) {
      issues.push(issueAt(at(key), values.label, key, `${value} is an IPv4 address; [dhcp6] needs an IPv6 address`));
      refused.add(key);
      return null;
    }
    return value.toLowerCase();
  };
  const address = v6('address');
  const poolFirst = v6('pool_first');
  const poolLast = v6('pool_last');
  if (mode !== 'off') {
    if (address === null && !values.isRejected('address') && !refused.has('address')) issues.push(issueAt(at('address'), values.label, 'address', `an IPv6 serving address is required with \`mode = ${mode}\``));
    else if (address !== null && /^fe[89ab]/.test(address)) issues.push(issueAt(at('address'), values.label, 'address', 'a link-local address cannot be named in a boot URL; use a global or ULA (fd00::/8) address'));
  }
  if (mode === 'stateful') {
    if (poolFirst === null || poolLast === null) {
      if (![values.isRejected('pool_first'), values.isRejected('pool_last'), refused.has('pool_first'), refused.has('pool_last')].some(Boolean)) issues.push(issueAt(at('pool_first'), values.label, 'pool_first', '`stateful` needs `pool_first` and `pool_last`'));
    } else {
      const size = poolSize(poolFirst, poolLast);
      if (size === null) issues.push(issueAt(at('pool_last'), values.label, 'pool_last', '`pool_first` and `pool_last` must be in the same /64, first <= last'));
      else if (size > MAX_DHCP6_POOL_SIZE) issues.push(issueAt(at('pool_last'), values.label, 'pool_last', `the pool holds ${size} addresses; at most ${MAX_DHCP6_POOL_SIZE}`));
    }
  }
  const params = String(values.get('boot_params') ?? '').split(/\s+/).filter(Boolean);
  const link = String(values.get('link') ?? '');
  return {
    mode,
    address,
    link: link === '' ? null : link,
    port: Number(values.get('port') ?? 547),
    bootParams: params,
    poolFirst,
    poolLast,
    leaseTimeMs: Number(values.get('lease_time') ?? HOUR),
    offerTimeoutMs: Number(values.get('offer_timeout') ?? 60 * SECOND),
    stateFile: String(values.get('state_file') ?? ''),
  };
}

/** Addresses from first to last inclusive when both share a /64 and first <= last; else null. */
function poolSize(first: string, last: string): number | null {
  const a = parseIpv6(first);
  const b = parseIpv6(last);
  if (!a.subarray(0, 8).equals(b.subarray(0, 8))) return null;
  const size = b.readBigUInt64BE(8) - a.readBigUInt64BE(8) + 1n;
  return size < 1n ? null : size > BigInt(MAX_DHCP6_POOL_SIZE) ? MAX_DHCP6_POOL_SIZE + 1 : Number(size);
}
