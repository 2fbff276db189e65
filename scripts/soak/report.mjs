// The soak run's numbers: the per-second CSV, the per-minute table and the RSS trend (least-squares
// slope), kept apart from the load so the arithmetic can be read on its own.
import { median } from '../bench/lib.mjs';

export const CSV_COLUMNS = ['t_s', 'rss_kib', 'lag_ms', 'unicast_ok', 'unicast_failed', 'multicast_ok', 'multicast_failed', 'dhcp_ok', 'dhcp_failed'];

/** One line per sample; counts are cumulative. */
export function toCsv(samples) {
  return [CSV_COLUMNS.join(','), ...samples.map((s) => CSV_COLUMNS.map((c) => s[c] ?? '').join(','))].join('\n') + '\n';
}

/** Least-squares slope of y over x, or null with fewer than two points. */
export function slope(points) {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

const KINDS = ['unicast', 'multicast', 'dhcp'];
const mib = (kib) => (kib / 1024).toFixed(1);
const spread = (values, format) => (values.length ? `${format(Math.min(...values))} / ${format(median(values))} / ${format(Math.max(...values))}` : 'n/a');

/** Per-minute rows: RSS and lag min/median/max, transfers done and failed in that minute. */
export function perMinute(samples) {
  const rows = [];
  let previous = Object.fromEntries(KINDS.flatMap((k) => [[`${k}_ok`, 0], [`${k}_failed`, 0]]));
  for (let minute = 0; ; minute++) {
    const inMinute = samples.filter((s) => s.t_s > minute * 60 && s.t_s <= (minute + 1) * 60);
    if (inMinute.length === 0) break;
    const last = inMinute[inMinute.length - 1];
    const counts = KINDS.map((k) => `${last[`${k}_ok`] - previous[`${k}_ok`]} / ${last[`${k}_failed`] - previous[`${k}_failed`]}`);
    previous = last;
    const lags = inMinute.map((s) => s.lag_ms).filter((v) => v !== null && v !== '');
    rows.push([minute + 1, spread(inMinute.map((s) => s.rss_kib), mib), spread(lags, (v) => v.toFixed(1)), ...counts]);
  }
  return rows;
}

export function markdownSummary({ title, setup, samples, trend, checks }) {
  const head = ['minute', 'RSS MiB min / median / max', 'loop lag p99 ms min / median / max', 'unicast ok / failed', 'multicast ok / failed', 'DHCP ok / failed'];
  const lines = [`# ${title}`, '', ...setup.map((l) => `- ${l}`), '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of perMinute(samples)) lines.push(`| ${row.join(' | ')} |`);
  lines.push('', `RSS trend: ${trend.text}`, '', '| check | result | detail |', '|---|---|---|');
  for (const c of checks) lines.push(`| ${c.name} | ${c.ok ? 'ok' : '**FAIL**'} | ${c.detail} |`);
  return `${lines.join('\n')}\n`;
}
