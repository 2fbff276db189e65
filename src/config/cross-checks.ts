// Cross-field checks of the configuration (load-config.ts runs them after every value parsed).
// Each looks only at values that parsed, so it never repeats a reported issue.
import { IPV4, ipv4ToNumber, MAC, normalizeMac, subnetOf } from '../codec/ipv4.js';
import { issueAt, type ConfigIssue } from './config-error.js';
import type { DhcpReservation, SourceLocation } from './config-types.js';
import { formatDuration, parseListenAddress } from './field-values.js';
import { DEFAULT_IMAGE_MTFTP_CLIENT_PORT, DEFAULT_IMAGE_MTFTP_GROUP, MTFTP_CHANNEL_KEYS } from './schema.js';
import type { SectionValues } from './section-values.js';


interface OrderRule {
  readonly low: string;
  readonly high: string;
  /** low must be strictly less than high (otherwise at most). */
  readonly strict: boolean;
}

/** rto_min ≤ rto_initial ≤ rto_max < idle_timeout. */
export const TFTP_ORDER: readonly OrderRule[] = [
  { low: 'rto_min', high: 'rto_initial', strict: false },
  { low: 'rto_initial', high: 'rto_max', strict: false },
  // A retransmission must be able to happen before the peer is given up on.
  { low: 'rto_max', high: 'idle_timeout', strict: true },
];

/** Pools are written first..last; the pacer's floor is under its ceiling. */
export const MULTICAST_ORDER: readonly OrderRule[] = [
  { low: 'group_first', high: 'group_last', strict: false },
  { low: 'port_first', high: 'port_last', strict: false },
  { low: 'min_rate', high: 'max_rate', strict: false },
];

/** Ordered pairs of one section; the later-written key of a pair is blamed. */
export function checkOrder(values: SectionValues, rules: readonly OrderRule[], issues: ConfigIssue[]): void {
  const asNumber = (v: unknown): number | null =>
    typeof v === 'number' ? v : typeof v === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(v) ? ipv4ToNumber(v) : null;
  for (const { low, high, strict } of rules) {
    const lowValue = values.get(low);
    const highValue = values.get(high);
    const lowN = asNumber(lowValue);
    const highN = asNumber(highValue);
    if (lowN === null || highN === null) continue;
    if (strict ? lowN < highN : lowN <= highN) continue;

    const lowAt = values.written(low);
    const highAt = values.written(high);
    const blameLow = lowAt !== undefined && (highAt === undefined || lowAt.line > highAt.line);
    const [key, at] = blameLow ? [low, lowAt] : [high, highAt ?? values.headerOrFile()];
    const other = blameLow ? high : low;
    const otherNote = values.written(other) === undefined ? ', the default' : '';
    const isDuration = values.spec.fields.find((f) => f.key === low)?.type.kind === 'duration';
    const describe = (v: unknown): string => (isDuration ? formatDuration(v as number) : String(v));
    const relation = blameLow ? (strict ? 'less than' : 'at most') : strict ? 'greater than' : 'at least';
    const [own, theirs] = blameLow ? [lowValue, highValue] : [highValue, lowValue];
    issues.push(
      issueAt(at, values.label, key, `${describe(own)} must be ${relation} \`${other}\` (${describe(theirs)}${otherNote})`),
    );
  }
}


/** A pool: IPv4, first..last in one subnet, reservations well-formed and inside that subnet. */
export function checkPool(pool: SectionValues, issues: ConfigIssue[]): DhcpReservation[] {
  const first = pool.get('first');
  const last = pool.get('last');
  const prefix = pool.get('prefix');
  const at = (key: string) => pool.written(key) ?? pool.headerOrFile();
  if (typeof first !== 'string' || typeof last !== 'string' || typeof prefix !== 'number') return [];
  for (const [key, value] of [['first', first], ['last', last]] as const) {
    if (!IPV4.test(value)) issues.push(issueAt(at(key), pool.label, key, 'pools are IPv4'));
  }
  if (!IPV4.test(first) || !IPV4.test(last)) return [];
  if (ipv4ToNumber(first) > ipv4ToNumber(last)) issues.push(issueAt(at('last'), pool.label, 'last', `${last} is below \`first\` (${first})`));
  else if (subnetOf(first, prefix) !== subnetOf(last, prefix)) {
    issues.push(issueAt(at('last'), pool.label, 'last', `${last} is not in the /${prefix} subnet of \`first\` (${first})`));
  }
  const reservations: DhcpReservation[] = [];
  const text = pool.get('reservations');
  if (typeof text !== 'string' || text.trim() === '') return reservations;
  for (const item of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [macText = '', address = ''] = item.split('=').map((x) => x.trim());
    const mac = normalizeMac(macText);
    if (!MAC.test(mac) || !IPV4.test(address)) {
      issues.push(issueAt(at('reservations'), pool.label, 'reservations', `\`${item}\` is not MAC=ADDRESS (e.g. 52:54:00:12:34:56=${first})`));
    } else if (subnetOf(address, prefix) !== subnetOf(first, prefix)) {
      issues.push(issueAt(at('reservations'), pool.label, 'reservations', `${address} (for ${mac}) is outside the pool's /${prefix} subnet`));
    } else reservations.push({ mac, address });
  }
  return reservations;
}

/** A DHCP mode needs a serving address, and `full` needs somewhere to take addresses from. */
export function checkDhcp(dhcp: SectionValues, pools: readonly SectionValues[], issues: ConfigIssue[]): void {
  const mode = dhcp.get('mode');
  if (mode === 'off' || mode === undefined) return;
  const iface = dhcp.get('interface');
  if (iface === '0.0.0.0' || (typeof iface === 'string' && !IPV4.test(iface))) {
    issues.push(issueAt(dhcp.written('interface') ?? dhcp.written('mode') ?? dhcp.headerOrFile(), dhcp.label, 'interface', `an IPv4 serving address is required with \`mode = ${String(mode)}\``));
  }
  if (mode === 'full' && pools.length === 0) {
    issues.push(issueAt(dhcp.written('mode') ?? dhcp.headerOrFile(), dhcp.label, 'mode', '`full` needs at least one `[pool NAME]` section'));
  }
}

/** Block 1 must leave before an opener's own timeout (43.5, the image's reopen delay) ends its
 *  open, or every client gives up while the server holds: seen with atftp at timeout-delay 1. */
export function checkOpenHold(mtftp: SectionValues, images: readonly SectionValues[], issues: ConfigIssue[]): void {
  const hold = mtftp.get('open_hold');
  if (typeof hold !== 'number') return;
  for (const image of images) {
    if (image.get('mtftp') !== true) continue;
    const delay = image.get('mtftp_reopen_delay');
    if (typeof delay !== 'number' || hold < delay * 1000) continue;
    const at = image.written('mtftp_reopen_delay') ?? mtftp.written('open_hold') ?? image.headerOrFile();
    const key = image.written('mtftp_reopen_delay') ? 'mtftp_reopen_delay' : 'mtftp';
    issues.push(issueAt(at, image.label, key, `${delay} s is not longer than [mtftp] open_hold (${formatDuration(hold)}): openers would give up while block 1 is held`));
  }
}

/** MTFTP channel keys need `mtftp = true`; group and client port default only for the default image. */
export function checkMtftpKeys(image: SectionValues, issues: ConfigIssue[]): void {
  const mtftp = image.get('mtftp');
  if (mtftp === false) {
    for (const key of MTFTP_CHANNEL_KEYS) {
      const at = image.written(key);
      if (at !== undefined) {
        issues.push(issueAt(at, image.label, key, 'is only used by MTFTP; set `mtftp = true` or remove this key'));
      }
    }
    return;
  }
  // When `default` itself is unreadable we cannot tell whether the fallbacks apply; its own issue suffices.
  if (mtftp !== true || image.isRejected('default')) return;
  const isDefault = image.get('default') === true;
  const derived = [
    ['mtftp_group', DEFAULT_IMAGE_MTFTP_GROUP],
    ['mtftp_client_port', DEFAULT_IMAGE_MTFTP_CLIENT_PORT],
  ] as const;
  for (const [key, fallback] of derived) {
    if (image.written(key) !== undefined) continue;
    if (isDefault) {
      image.setDerived(key, fallback);
    } else {
      const at = image.written('mtftp') ?? image.headerOrFile();
      issues.push(
        issueAt(at, image.label, key, `required because \`mtftp = true\` (only the default image gets ${fallback} automatically)`),
      );
    }
  }
}

export function checkSingleDefaultImage(images: readonly SectionValues[], issues: ConfigIssue[]): void {
  let first: SectionValues | null = null;
  for (const image of images) {
    if (image.get('default') !== true) continue;
    if (first === null) {
      first = image;
      continue;
    }
    const firstAt = first.written('default') ?? first.headerOrFile();
    issues.push(
      issueAt(
        image.written('default') ?? image.headerOrFile(),
        image.label,
        'default',
        `[${first.label}] is already the default (line ${firstAt.line}); only one image may be the default`,
      ),
    );
  }
}

/** Two images on one (group, client port) would mix their blocks on the clients' socket. */
export function checkUniqueMtftpChannels(images: readonly SectionValues[], issues: ConfigIssue[]): void {
  const owners = new Map<string, SectionValues>();
  for (const image of images) {
    if (image.get('mtftp') !== true) continue;
    const group = image.get('mtftp_group');
    const port = image.get('mtftp_client_port');
    if (typeof group !== 'string' || typeof port !== 'number') continue;
    const channel = `${group}:${port}`;
    const owner = owners.get(channel);
    if (owner === undefined) {
      owners.set(channel, image);
      continue;
    }
    const [key, at] = channelLocation(image);
    issues.push(
      issueAt(
        at,
        image.label,
        key,
        `MTFTP channel ${channel} is already used by [${owner.label}] (line ${channelLocation(owner)[1].line}); ` +
          'give each image its own mtftp_group or mtftp_client_port',
      ),
    );
  }
}

/** `[metrics] listen` is HOST:PORT with an IP literal (the endpoint binds exactly there), or empty. */
export function checkMetricsListen(metrics: SectionValues, issues: ConfigIssue[]): void {
  const listen = metrics.get('listen');
  if (typeof listen !== 'string') return;
  const parsed = parseListenAddress(listen);
  if (!parsed.ok) issues.push(issueAt(metrics.written('listen') ?? metrics.headerOrFile(), metrics.label, 'listen', parsed.message));
}

function channelLocation(image: SectionValues): [string, SourceLocation] {
  for (const key of ['mtftp_group', 'mtftp_client_port', 'mtftp']) {
    const at = image.written(key);
    if (at !== undefined) return [key, at];
  }
  return ['mtftp', image.headerOrFile()];
}
