// Text rendering of control replies for people (`--json` prints the replies themselves). Pure:
// values in, lines out, so the look of every command is a unit test.
import type { CatalogInfo, LeasesInfo, SessionInfo, StatusInfo } from './control-protocol.js';

const KIB = 1024;
const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  if (bytes < KIB) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= KIB && unit < UNITS.length - 1) {
    value /= KIB;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** `12s`, `4m 12s`, `2h 14m`, `3d 4h`. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Columns padded to their widest cell, two spaces apart; `right` columns are right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : /s$/.test(word) ? 'es' : 's'}`;

function outcomes(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([outcome, n]) => `${n} ${outcome}`)
    .join(', ');
}

export function formatStatus(s: StatusInfo): string[] {
  const services = renderTable(
    ['SERVICE', 'STATE', 'LISTEN', 'DETAIL'],
    s.services.map((svc) => [
      svc.name,
      svc.running ? 'running' : 'off',
      svc.address === null ? '' : svc.ports.map((p) => `${svc.address}:${p}`).join(' '),
      svc.detail,
    ]),
  );
  const c = s.counts;
  const finished = outcomes(c.transferOutcomes);
  const passes = outcomes(c.mtftpPasses);
  return [
    `pxecast ${s.version}, pid ${s.pid}, up ${formatAge(s.uptimeMs)}`,
    `config: ${s.configFile}`,
    '',
    ...services,
    '',
    `now: ${plural(c.activeTransfers, 'transfer')} (${plural(c.activeMulticastSessions, 'multicast session')}), ` +
      `${plural(c.activeMtftpPasses, 'MTFTP pass')}, ${plural(c.images, 'image')} in the catalog`,
    `since start: ${plural(c.tftpRequests, 'TFTP request')} (${c.tftpRefused} refused)` +
      `${finished === '' ? '' : `; finished: ${finished}`}; ${formatBytes(c.bytesSent)} sent, ${plural(c.retransmits, 'retransmit')}`,
    `MTFTP: ${plural(c.mtftpOpens, 'open')}${passes === '' ? '' : `; passes: ${passes}`}`,
  ];
}

function progressCell(s: SessionInfo): string {
  if (s.percent === null) return `${formatBytes(s.bytes)}`;
  return `${s.percent.toFixed(1)}% of ${formatBytes(s.totalBytes ?? 0)}`;
}

export function formatSessions(sessions: readonly SessionInfo[]): string[] {
  if (sessions.length === 0) return ['no transfers running'];
  return renderTable(
    ['SESSION', 'KIND', 'FILE', 'BLKSIZE', 'PROGRESS', 'RATE', 'RETX', 'MASTER', 'GROUP', 'STATE'],
    sessions.map((s) => [
      s.id,
      s.direction === 'write' ? `${s.kind} upload` : s.kind,
      s.image === null || s.image === s.file ? s.file : `${s.file} [${s.image}]`,
      String(s.blksize),
      progressCell(s),
      `${formatBytes(s.bytesPerSecond)}/s`,
      String(s.retransmits),
      s.master ?? '-',
      s.group ?? '-',
      s.state,
    ]),
    new Set([3, 4, 5, 6]),
  );
}

/** One self-contained line per session, for logs and pipes (`sessions --watch` off a terminal). */
export function formatSessionLines(sessions: readonly SessionInfo[], at: Date): string[] {
  const time = at.toISOString();
  if (sessions.length === 0) return [`${time} no transfers running`];
  return sessions.map(
    (s) =>
      `${time} ${s.id} ${s.kind} file=${s.file} blksize=${s.blksize} progress=${progressCell(s).replace(/ /g, '')} ` +
      `rate=${formatBytes(s.bytesPerSecond).replace(' ', '')}/s retransmits=${s.retransmits}` +
      `${s.master === null ? '' : ` master=${s.master}`}${s.group === null ? '' : ` group=${s.group}`} state=${s.state}`,
  );
}

export function formatCatalog(c: CatalogInfo): string[] {
  const hosts =
    c.hosts.length === 0
      ? []
      : [
          '',
          ...renderTable(
            ['HOST', 'MAC', 'DUID', 'IMAGE', 'ADDRESS', 'HOSTNAME'],
            c.hosts.map((h) => [h.name, h.mac ?? '-', h.duid ?? '-', h.image ?? '(catalog rules)', h.address ?? '(pool)', h.hostname ?? '-']),
          ),
        ];
  if (c.images.length === 0) return [`root: ${c.root}`, 'no images (files under the root are still served by name)', ...hosts];
  return [
    `root: ${c.root}`,
    '',
    ...renderTable(
      ['IMAGE', 'FILE', 'SIZE', 'ARCH', 'DEFAULT', 'MTFTP (group:port, server port, open/reopen s)', 'DESCRIPTION'],
      c.images.map((i) => [
        i.name,
        i.ipxeFile === null ? i.file : `${i.file} (iPXE: ${i.ipxeFile})`,
        formatBytes(i.size),
        i.arch.length === 0 ? 'any' : i.arch.join(','),
        i.isDefault ? 'yes' : '',
        i.mtftp === null
          ? '-'
          : `${i.mtftp.group}:${i.mtftp.clientPort}, ${i.mtftp.serverPort}, ${i.mtftp.openTimeoutS}/${i.mtftp.reopenDelayS}`,
        i.description,
      ]),
      new Set([2]),
    ),
    ...hosts,
  ];
}

export function formatLeases(l: LeasesInfo): string[] {
  const note = l.note === null ? [] : [l.note];
  const v4 =
    l.leases.length === 0
      ? [...note, 'no leases']
      : [
          ...note,
          ...renderTable(
            ['ADDRESS', 'MAC', 'HOST', 'POOL', 'STATE', 'EXPIRES'],
            l.leases.map((x) => [x.address, x.mac, x.host ?? '-', x.pool, x.state, `in ${formatAge(x.expiresInMs)}`]),
          ),
        ];
  // A DHCPv6 responder that is off adds nothing (most labs boot over IPv4 only); an older daemon
  // still running after an upgrade sends no v6 at all.
  if (l.v6 === undefined || l.v6.responder === 'off') return v4;
  const v6 = l.v6;
  const v6Lines =
    v6.leases.length === 0
      ? [...(v6.note === null ? [] : [v6.note]), 'no leases']
      : renderTable(
          ['ADDRESS', 'DUID', 'IAID', 'MAC', 'HOST', 'STATE', 'EXPIRES'],
          v6.leases.map((x) => [x.address, x.duid, String(x.iaid), x.mac ?? '-', x.host ?? '-', x.state, `in ${formatAge(x.expiresInMs)}`]),
        );
  return [...v4, '', `DHCPv6 (${v6.responder}):`, ...v6Lines];
}
