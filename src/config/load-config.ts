// ini text → frozen, typed Config, or a ConfigError listing every problem at once. Validation
// happens here, once, at the edge: nothing downstream sees a string that should be a number.
// Pure: the caller reads the file (no node:fs in config/, see design.md "Dependency rule").
import { dirname, isAbsolute } from 'node:path';

import { ConfigError, issueAt, type ConfigIssue } from './config-error.js';
import { checkHosts, reservationsWithHosts } from './hosts.js';
import { IPV4, ipv4Number, MAC, normalizeMac, subnetOf } from './ipv4.js';
import {
  ARCHITECTURES,
  type Config,
  type DhcpConfig,
  type DhcpReservation,
  type MulticastConfig,
  type ImageConfig,
  type LogConfig,
  type MetricsConfig,
  type SourceLocation,
  type HostConfig,
  type HttpConfig,
  type TftpConfig,
} from './config-types.js';
import { formatDuration, parseListenAddress } from './field-values.js';
import { scanIni, type IniSection } from './ini-source.js';
import {
  CONFIG_SCHEMA,
  DEFAULT_IMAGE_MTFTP_CLIENT_PORT,
  DEFAULT_IMAGE_MTFTP_GROUP,
  DHCP_MODES,
  UNKNOWN_CLIENT_POLICIES,
  findSection,
  LOG_FORMATS,
  LOG_LEVELS,
  MTFTP_CHANNEL_KEYS,
  type SectionSpec,
} from './schema.js';
import { buildControl } from './control-section.js';
import { buildDhcp6 } from './dhcp6-section.js';
import { SectionValues } from './section-values.js';
import { suggestName } from './suggest.js';

/**
 * Parses and validates a pxecast ini file.
 * @param file absolute path the text was read from: named in every issue, and relative paths
 *   (`[tftp] root`, `[tftp] upload_dir`) are resolved against its directory.
 * @throws ConfigError with every issue found, sorted by line.
 */
export function parseConfig(text: string, file: string): Config {
  if (!isAbsolute(file)) throw new TypeError(`parseConfig needs an absolute file path, got "${file}"`);
  const scan = scanIni(text, file);
  const issues: ConfigIssue[] = [...scan.issues];
  const configDir = dirname(file);

  const singles = new Map<string, SectionValues>();
  const named = new Map<string, SectionValues[]>();
  for (const section of scan.sections) {
    const spec = acceptSection(section, issues);
    if (spec === null) continue;
    const entries = scan.entries.filter((e) => e.section === section.section);
    const header = { file: section.file, line: section.line };
    const values = new SectionValues(spec, section.sectionArg, header, file).read(entries, configDir, issues);
    if (spec.named) named.set(spec.name, [...(named.get(spec.name) ?? []), values]);
    else singles.set(spec.name, values);
  }
  // Absent sections still provide their defaults, and report their required keys.
  for (const spec of CONFIG_SCHEMA) {
    if (!spec.named && !singles.has(spec.name)) {
      singles.set(spec.name, new SectionValues(spec, null, null, file).read([], configDir, issues));
    }
  }
  const section = (name: string): SectionValues => {
    const values = singles.get(name);
    if (values === undefined) throw new Error(`internal: no [${name}] section in the schema`);
    return values;
  };

  checkOrder(section('tftp'), TFTP_ORDER, issues);
  checkOrder(section('multicast'), MULTICAST_ORDER, issues);
  const images = named.get('image') ?? [];
  const pools = named.get('pool') ?? [];
  for (const image of images) checkMtftpKeys(image, issues);
  const reservations = new Map(pools.map((pool) => [pool, checkPool(pool, issues)]));
  checkDhcp(section('dhcp'), pools, issues);
  checkSingleDefaultImage(images, issues);
  checkUniqueMtftpChannels(images, issues);
  checkOpenHold(section('mtftp'), images, issues);
  checkMetricsListen(section('metrics'), issues);
  const dhcp6 = buildDhcp6(section('dhcp6'), issues);
  const hosts = checkHosts(
    named.get('host') ?? [],
    new Set(images.map((i) => i.arg ?? '')),
    pools.map((pool) => ({ section: pool, reservations: reservations.get(pool) ?? [] })),
    section('dhcp').get('mode') === 'full',
    issues,
  );

  if (issues.length > 0) throw new ConfigError(sortByLine(issues));
  return deepFreeze({
    sourceFile: file,
    log: buildLog(section('log')),
    tftp: buildTftp(section('tftp')),
    multicast: buildMulticast(section('multicast')),
    mtftp: { enabled: section('mtftp').bool('enabled'), openHoldMs: section('mtftp').int('open_hold') },
    http: buildHttp(section('http')),
    dhcp: buildDhcp(section('dhcp'), pools, reservations, hosts),
    dhcp6,
    hosts,
    images: images.map(buildImage),
    control: buildControl(section('control')),
    metrics: buildMetrics(section('metrics')),
  });
}

/** The schema of a readable section header, or null (with an issue) when its entries must be skipped. */
function acceptSection(section: IniSection, issues: ConfigIssue[]): SectionSpec | null {
  const at = { file: section.file, line: section.line };
  const spec = findSection(section.sectionName);
  if (spec === undefined) {
    const suggestion = suggestName(
      section.sectionName,
      CONFIG_SCHEMA.map((s) => s.name),
    );
    const meant =
      suggestion === null
        ? ''
        : `; did you mean \`[${suggestion}${section.sectionArg === null ? '' : ` ${section.sectionArg}`}]\`?`;
    issues.push(issueAt(at, section.section, null, `unknown section${meant}`));
    return null;
  }
  if (spec.named && section.sectionArg === null) {
    issues.push(issueAt(at, section.section, null, `needs a name, e.g. \`[${spec.name} ${spec.exampleName ?? 'NAME'}]\``));
    return null;
  }
  if (!spec.named && section.sectionArg !== null) {
    issues.push(issueAt(at, section.section, null, `takes no name; write \`[${spec.name}]\``));
    return null;
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Cross-field checks. Each looks only at values that parsed, so it never repeats a reported issue.

interface OrderRule {
  readonly low: string;
  readonly high: string;
  /** low must be strictly less than high (otherwise at most). */
  readonly strict: boolean;
}

/** rto_min ≤ rto_initial ≤ rto_max < idle_timeout. */
const TFTP_ORDER: readonly OrderRule[] = [
  { low: 'rto_min', high: 'rto_initial', strict: false },
  { low: 'rto_initial', high: 'rto_max', strict: false },
  // A retransmission must be able to happen before the peer is given up on.
  { low: 'rto_max', high: 'idle_timeout', strict: true },
];

/** Pools are written first..last; the pacer's floor is under its ceiling. */
const MULTICAST_ORDER: readonly OrderRule[] = [
  { low: 'group_first', high: 'group_last', strict: false },
  { low: 'port_first', high: 'port_last', strict: false },
  { low: 'min_rate', high: 'max_rate', strict: false },
];

/** Ordered pairs of one section; the later-written key of a pair is blamed. */
function checkOrder(values: SectionValues, rules: readonly OrderRule[], issues: ConfigIssue[]): void {
  const asNumber = (v: unknown): number | null =>
    typeof v === 'number' ? v : typeof v === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(v) ? ipv4Number(v) : null;
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
function checkPool(pool: SectionValues, issues: ConfigIssue[]): DhcpReservation[] {
  const first = pool.get('first');
  const last = pool.get('last');
  const prefix = pool.get('prefix');
  const at = (key: string) => pool.written(key) ?? pool.headerOrFile();
  if (typeof first !== 'string' || typeof last !== 'string' || typeof prefix !== 'number') return [];
  for (const [key, value] of [['first', first], ['last', last]] as const) {
    if (!IPV4.test(value)) issues.push(issueAt(at(key), pool.label, key, 'pools are IPv4'));
  }
  if (!IPV4.test(first) || !IPV4.test(last)) return [];
  if (ipv4Number(first) > ipv4Number(last)) issues.push(issueAt(at('last'), pool.label, 'last', `${last} is below \`first\` (${first})`));
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
function checkDhcp(dhcp: SectionValues, pools: readonly SectionValues[], issues: ConfigIssue[]): void {
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
function checkOpenHold(mtftp: SectionValues, images: readonly SectionValues[], issues: ConfigIssue[]): void {
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
function checkMtftpKeys(image: SectionValues, issues: ConfigIssue[]): void {
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

function checkSingleDefaultImage(images: readonly SectionValues[], issues: ConfigIssue[]): void {
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
function checkUniqueMtftpChannels(images: readonly SectionValues[], issues: ConfigIssue[]): void {
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
function checkMetricsListen(metrics: SectionValues, issues: ConfigIssue[]): void {
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

// ---------------------------------------------------------------------------------------------
// Assembly: only reached without issues, so every getter finds its value.

function buildLog(log: SectionValues): LogConfig {
  return { level: log.oneOf('level', LOG_LEVELS), format: log.oneOf('format', LOG_FORMATS) };
}

function buildHttp(http: SectionValues): HttpConfig {
  return {
    enabled: http.bool('enabled'),
    listen: http.text('listen'),
    port: http.int('port'),
    maxConnections: http.int('max_connections'),
    maxConnectionsPerClient: http.int('max_connections_per_client'),
  };
}

function buildTftp(tftp: SectionValues): TftpConfig {
  return {
    enabled: tftp.bool('enabled'),
    listen: tftp.text('listen'),
    port: tftp.int('port'),
    root: tftp.text('root'),
    maxBlksize: tftp.int('max_blksize'),
    maxWindowsize: tftp.int('max_windowsize'),
    netascii: tftp.bool('netascii'),
    maxTransfers: tftp.int('max_transfers'),
    maxTransfersPerClient: tftp.int('max_transfers_per_client'),
    clientRequestRate: tftp.int('client_request_rate'),
    clientRequestBurst: tftp.int('client_request_burst'),
    maxUnconfirmed: tftp.int('max_unconfirmed'),
    unconfirmedTimeoutMs: tftp.int('unconfirmed_timeout'),
    maxTransferTimeMs: tftp.int('max_transfer_time'),
    idleTimeoutMs: tftp.int('idle_timeout'),
    rtoMinMs: tftp.int('rto_min'),
    rtoMaxMs: tftp.int('rto_max'),
    rtoInitialMs: tftp.int('rto_initial'),
    uploadDir: tftp.optionalText('upload_dir'),
    maxUploadSize: tftp.int('max_upload_size'),
  };
}

function buildMulticast(m: SectionValues): MulticastConfig {
  return {
    enabled: m.bool('enabled'),
    groupFirst: m.text('group_first'),
    groupLast: m.text('group_last'),
    portFirst: m.int('port_first'),
    portLast: m.int('port_last'),
    ttl: m.int('ttl'),
    interface: m.text('interface'),
    startDelayMs: m.int('start_delay'),
    minClients: m.int('min_clients'),
    maxClients: m.int('max_clients'),
    maxRateMbps: m.int('max_rate'),
    minRateMbps: m.int('min_rate'),
    masterTimeoutMs: m.int('master_timeout'),
    masterTries: m.int('master_tries'),
    deafAfter: m.int('deaf_after'),
  };
}

const unset = (address: string): string | null => (address === '0.0.0.0' ? null : address);

function buildDhcp(
  dhcp: SectionValues,
  pools: readonly SectionValues[],
  reservations: ReadonlyMap<SectionValues, readonly DhcpReservation[]>,
  hosts: readonly HostConfig[],
): DhcpConfig {
  return {
    mode: dhcp.oneOf('mode', DHCP_MODES),
    unknownClients: dhcp.oneOf('unknown_clients', UNKNOWN_CLIENT_POLICIES),
    interface: unset(dhcp.text('interface')),
    port: dhcp.int('port'),
    proxyPort: dhcp.int('proxy_port'),
    nextServer: unset(dhcp.text('next_server')),
    leaseTimeMs: dhcp.int('lease_time'),
    offerTimeoutMs: dhcp.int('offer_timeout'),
    stateFile: dhcp.text('state_file'),
    pools: pools.map((pool) => ({
      name: pool.arg ?? '',
      first: pool.text('first'),
      last: pool.text('last'),
      prefix: pool.int('prefix'),
      router: unset(pool.text('router')),
      dns: unset(pool.text('dns')),
      reservations: reservationsWithHosts({ first: pool.text('first'), prefix: pool.int('prefix') }, reservations.get(pool) ?? [], hosts),
    })),
  };
}

function buildMetrics(metrics: SectionValues): MetricsConfig {
  const parsed = parseListenAddress(metrics.text('listen'));
  if (!parsed.ok) throw new Error(`internal: [metrics] listen was not checked: ${parsed.message}`);
  return { listen: parsed.value };
}

function buildImage(image: SectionValues): ImageConfig {
  if (image.arg === null) throw new Error('internal: image section without a name');
  return {
    name: image.arg,
    file: image.text('file'),
    description: image.text('description'),
    arch: image.listOf('arch', ARCHITECTURES),
    ipxeFile: image.optionalText('ipxe_file'),
    httpFile: image.optionalText('http_file'),
    ipxeScript: image.optionalText('ipxe_script'),
    isDefault: image.bool('default'),
    mtftp: image.bool('mtftp')
      ? {
          group: image.text('mtftp_group'),
          clientPort: image.int('mtftp_client_port'),
          serverPort: image.int('mtftp_server_port'),
          openTimeoutS: image.int('mtftp_open_timeout'),
          reopenDelayS: image.int('mtftp_reopen_delay'),
        }
      : null,
    locations: image.writtenLocations(),
    sectionLocation: image.headerOrFile(),
  };
}

// ---------------------------------------------------------------------------------------------

/** File-wide issues (line 0) go last; otherwise file order, stable for issues on one line. */
function sortByLine(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const order = (issue: ConfigIssue): number => (issue.line === 0 ? Number.MAX_SAFE_INTEGER : issue.line);
  return [...issues].sort((a, b) => order(a) - order(b));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const nested of Object.values(value)) deepFreeze(nested);
    Object.freeze(value);
  }
  return value;
}
