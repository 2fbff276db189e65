// Parsers for the value types of the configuration schema. Each takes the unescaped ini text and
// returns the typed value or an operator-facing message (without file/line/key: the caller adds
// those). Pure: no node:net here (layer rule), hence the small IP validators.
import { suggestName } from './suggest.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

/** Shows a written value in a message; quoted so that spaces and empty values stay visible. */
export function quoteValue(text: string): string {
  return JSON.stringify(text);
}

// ---------------------------------------------------------------------------------------------
// bool, int, enum, list

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

export function parseBool(text: string): Parsed<boolean> {
  const word = text.toLowerCase();
  if (TRUE_WORDS.includes(word)) return ok(true);
  if (FALSE_WORDS.includes(word)) return ok(false);
  return fail(`${quoteValue(text)} is not a boolean (use true/false, yes/no, on/off or 1/0)`);
}

export function parseInteger(text: string, min: number, max: number): Parsed<number> {
  if (!/^[+-]?\d+$/.test(text)) return fail(`${quoteValue(text)} is not a whole number (expected ${min}..${max})`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    return fail(`${text} is out of range (${min}..${max})`);
  }
  return ok(value);
}

/** Case-insensitive; returns the value as spelled in `values`. */
export function parseEnum<T extends string>(text: string, values: readonly T[]): Parsed<T> {
  const found = values.find((v) => v.toLowerCase() === text.toLowerCase());
  if (found !== undefined) return ok(found);
  return fail(notOneOf(text, values));
}

/** Comma-separated enum values; empty text is the empty list. */
export function parseList<T extends string>(text: string, values: readonly T[]): Parsed<readonly T[]> {
  if (text.trim() === '') return ok([]);
  const items: T[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') return fail(`${quoteValue(text)} has an empty item; separate values with single commas`);
    const parsed = parseEnum(item, values);
    if (!parsed.ok) return parsed;
    if (items.includes(parsed.value)) return fail(`${parsed.value} is listed twice`);
    items.push(parsed.value);
  }
  return ok(items);
}

function notOneOf(text: string, values: readonly string[]): string {
  const suggestion = suggestName(text, values);
  const hint = suggestion === null ? '' : `; did you mean \`${suggestion}\`?`;
  return `${quoteValue(text)} is not one of ${values.join(', ')}${hint}`;
}

// ---------------------------------------------------------------------------------------------
// durations and sizes

export type DurationUnit = 'ms' | 's' | 'm' | 'h';

export const MS_PER: Readonly<Record<DurationUnit, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `30s`, `1.5m`, `250ms`, or a bare number in `bareUnit`. Returns whole milliseconds, checked
 * against [minMs, maxMs].
 */
export function parseDuration(text: string, bareUnit: DurationUnit, minMs: number, maxMs: number): Parsed<number> {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text);
  const range = `${formatDuration(minMs)}..${formatDuration(maxMs)}`;
  if (match === null) {
    return fail(`${quoteValue(text)} is not a duration (a number with unit ms, s, m or h, e.g. 30s; expected ${range})`);
  }
  const unit = (match[2]?.toLowerCase() ?? bareUnit) as DurationUnit;
  const ms = Number(match[1]) * MS_PER[unit];
  if (!Number.isSafeInteger(ms)) {
    return fail(`${text} is not a whole number of milliseconds`);
  }
  if (ms < minMs || ms > maxMs) return fail(`${text} is out of range (${range})`);
  return ok(ms);
}

/** Largest unit that divides the value exactly: 1800000 → `30m`, 1500 → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms !== 0 && ms % MS_PER[unit] === 0) return `${ms / MS_PER[unit]}${unit}`;
  }
  return `${ms}ms`;
}

export type SizeSuffix = 'K' | 'M' | 'G';

/** Binary multiples: `64M` is 64 × 1024 × 1024 bytes. */
export const BYTES_PER: Readonly<Record<SizeSuffix, number>> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Bytes, optionally with suffix K, M or G (binary multiples, case-insensitive). */
export function parseSize(text: string, min: number, max: number): Parsed<number> {
  const match = /^(\d+)\s*([KMG])?$/i.exec(text);
  const range = `${formatSize(min)}..${formatSize(max)}`;
  if (match === null) {
    return fail(`${quoteValue(text)} is not a size (bytes, optionally with suffix K, M or G; expected ${range})`);
  }
  const suffix = match[2]?.toUpperCase() as SizeSuffix | undefined;
  const bytes = Number(match[1]) * (suffix === undefined ? 1 : BYTES_PER[suffix]);
  if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max) return fail(`${text} is out of range (${range})`);
  return ok(bytes);
}

/** Largest suffix that divides the value exactly: 67108864 → `64M`. */
export function formatSize(bytes: number): string {
  for (const suffix of ['G', 'M', 'K'] as const) {
    if (bytes !== 0 && bytes % BYTES_PER[suffix] === 0) return `${bytes / BYTES_PER[suffix]}${suffix}`;
  }
  return `${bytes}`;
}

/** Permission bits in octal, as chmod takes them: `0660` or `660`. */
export function parseFileMode(text: string): Parsed<number> {
  if (!/^0?[0-7]{3}$/.test(text)) return fail(`${quoteValue(text)} is not an octal file mode (e.g. 0660; expected 0000..0777)`);
  return ok(parseInt(text, 8));
}

/** RFC 8415 11.1: a 2-byte type code and at most 128 bytes after it. */
const DUID_MIN_BYTES = 3;
const DUID_MAX_BYTES = 130;

/**
 * A DUID as dhclient, Kea and dnsmasq print it: hex bytes, colon-separated (`00:03:00:01:52:54:...`)
 * or run together (`0003000152...`), any case. Bare lower-case hex (as logged); empty = null.
 */
export function parseDuid(text: string): Parsed<string | null> {
  if (text === '') return ok(null);
  const hex = /^[0-9a-f]{2}(?::[0-9a-f]{2})*$/i.test(text) ? text.replace(/:/g, '') : /^(?:[0-9a-f]{2})+$/i.test(text) ? text : null;
  const example = 'e.g. 00:03:00:01:52:54:00:12:34:56';
  if (hex === null) return fail(`${quoteValue(text)} is not a DUID: hex bytes, colon-separated or not (${example})`);
  const bytes = hex.length / 2;
  if (bytes < DUID_MIN_BYTES || bytes > DUID_MAX_BYTES) return fail(`a DUID is ${DUID_MIN_BYTES}..${DUID_MAX_BYTES} bytes, ${quoteValue(text)} has ${bytes} (${example})`);
  return ok(hex.toLowerCase());
}

/** `0660` for 0o660. */
export function formatFileMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// IP addresses

/** Dotted quad, each part 0–255 without leading zeros (which some stacks read as octal). */
export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** RFC 4291 text form: eight hex groups, one `::` allowed, optional IPv4 tail, optional `%zone`. */
export function isIpv6(text: string): boolean {
  const percent = text.indexOf('%');
  const address = percent === -1 ? text : text.slice(0, percent);
  if (percent !== -1 && !/^[A-Za-z0-9_.-]+$/.test(text.slice(percent + 1))) return false;

  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  let width = groups.length;
  // An IPv4 tail (::ffff:192.0.2.1) must come last and fills two groups.
  const last = groups[groups.length - 1];
  if (last !== undefined && last.includes('.') && !address.endsWith('::')) {
    if (!isIpv4(last)) return false;
    groups.pop();
    width += 1;
  }
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  // `::` stands for at least one zero group.
  return halves.length === 2 ? width <= 7 : width === 8;
}

export function parseIpAddress(text: string): Parsed<string> {
  if (isIpv4(text) || isIpv6(text)) return ok(text);
  return fail(`${quoteValue(text)} is not an IP address (e.g. 0.0.0.0, 192.168.1.10 or ::)`);
}

/**
 * A TCP listen address `HOST:PORT`: HOST an IPv4 literal, or an IPv6 literal in brackets
 * (`[::1]:9469`); PORT 1..65535. The empty text means "not listening" (null).
 */
export function parseListenAddress(text: string): Parsed<{ readonly address: string; readonly port: number } | null> {
  if (text === '') return ok(null);
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(text);
  const example = 'e.g. 127.0.0.1:9469 or [::1]:9469';
  if (match === null) return fail(`${quoteValue(text)} is not HOST:PORT (${example})`);
  const bracketed = match[1];
  const host = bracketed ?? match[2] ?? '';
  if (bracketed !== undefined ? !isIpv6(host) : !isIpv4(host)) {
    return fail(`${quoteValue(host)} in ${quoteValue(text)} is not an IP address (${example}; host names are not resolved)`);
  }
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return fail(`port ${match[3]} in ${quoteValue(text)} is out of range (1..65535)`);
  return ok({ address: host, port });
}

/** IPv4 multicast is 224.0.0.0/4 (RFC 5771). */
export function parseMulticastIpv4(text: string): Parsed<string> {
  const firstOctet = Number(text.split('.')[0]);
  if (isIpv4(text) && firstOctet >= 224 && firstOctet <= 239) return ok(text);
  return fail(`${quoteValue(text)} is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255)`);
}

// ---------------------------------------------------------------------------------------------
// paths

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * A path inside the TFTP root, as clients request it: relative and '/'-separated. These are the
 * syntactic checks only; whether the file exists is the catalog's business. Returns the path with
 * empty and `.` segments removed (`a//./b` → `a/b`).
 */
export function parseServedPath(text: string): Parsed<string> {
  if (text === '') return fail('must not be empty');
  if (CONTROL_CHARACTER.test(text)) return fail(`${quoteValue(text)} contains a control character`);
  if (text.includes('\\')) return fail(`${quoteValue(text)} contains a backslash; separate directories with /`);
  if (text.startsWith('/')) return fail(`${quoteValue(text)} must be relative to the TFTP root (no leading /)`);
  const segments = text.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return fail(`${quoteValue(text)} must not contain a .. segment`);
  if (segments.length === 0) return fail(`${quoteValue(text)} names no file`);
  return ok(segments.join('/'));
}

/** A host filesystem path; the caller resolves it against the config file's directory. */
export function parseHostPath(text: string): Parsed<string> {
  if (text === '') return fail('must not be empty');
  if (CONTROL_CHARACTER.test(text)) return fail(`${quoteValue(text)} contains a control character`);
  return ok(text);
}
