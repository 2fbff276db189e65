// ini text → frozen, typed Config, or a ConfigError listing every problem at once. Validation
// happens here, once, at the edge: nothing downstream sees a string that should be a number.
// Pure: the caller reads the file (no node:fs in config/, see design.md "Dependency rule").
import { dirname, isAbsolute } from 'node:path';

import { ConfigError, issueAt, type ConfigIssue } from './config-error.js';
import { checkHosts, reservationsWithHosts } from './hosts.js';
import {
  ARCHITECTURES,
  type Config,
  type DhcpConfig,
  type DhcpReservation,
  type MulticastConfig,
  type ImageConfig,
  type LogConfig,
  type MetricsConfig,
  type HostConfig,
  type HttpConfig,
  type TftpConfig,
} from './config-types.js';
import { parseListenAddress } from './field-values.js';
import { scanIni, type IniSection } from './ini-source.js';
import {
  CONFIG_SCHEMA,
  DHCP_MODES,
  UNKNOWN_CLIENT_POLICIES,
  findSection,
  LOG_FORMATS,
  LOG_LEVELS,
} from './schema.js';
import type { SectionSpec } from './schema-types.js';
import { buildControl } from './control-section.js';
import {
  checkDhcp,
  checkMetricsListen,
  checkMtftpKeys,
  checkOpenHold,
  checkOrder,
  checkPool,
  checkSingleDefaultImage,
  checkUniqueMtftpChannels,
  MULTICAST_ORDER,
  TFTP_ORDER,
} from './cross-checks.js';
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
    workers: tftp.intOrAuto('workers'),
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
    rollover: m.bool('rollover'),
    maxRateMbps: m.int('max_rate'),
    minRateMbps: m.int('min_rate'),
    masterTimeoutMs: m.int('master_timeout'),
    masterTries: m.int('master_tries'),
    deafAfter: m.int('deaf_after'),
    deafMemoryMs: m.int('deaf_memory'),
    slowRateMbps: m.int('slow_rate'),
    slowSharePercent: m.int('slow_share'),
    slowAfterMs: m.int('slow_after'),
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
