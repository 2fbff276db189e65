// Line-aware ini scanner. The `ini` package's decode() splits on /[\r\n]+/ (line numbers are lost),
// skips lines it cannot read and lets a repeated key silently win, so pxecast scans lines itself and
// reuses only ini's value unescaping (`unsafe`) so that quoting and escapes stay exactly "ini".
import { unsafe } from 'ini';

import { issueAt, type ConfigIssue } from './config-error.js';

/** An image (or other) name given as the section argument, as in `[image lab-default]`. */
export const SECTION_ARG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface IniSection {
  /** Canonical section text: `tftp`, or `image demo` for `[image   demo]`. */
  readonly section: string;
  readonly sectionName: string;
  readonly sectionArg: string | null;
  readonly file: string;
  /** Line of the first `[section]` header with this text (1-based). */
  readonly line: number;
}

export interface IniEntry {
  readonly section: string;
  readonly sectionName: string;
  readonly sectionArg: string | null;
  readonly key: string;
  /**
   * Trimmed and unescaped/unquoted the way `ini` does it; null when the value could not be read
   * (already in `issues`). The entry is kept so that the key does not also look missing.
   */
  readonly value: string | null;
  readonly file: string;
  readonly line: number;
}

export interface IniScan {
  /** Readable section headers in file order (a repeated section appears once). */
  readonly sections: readonly IniSection[];
  /** Keys in file order; a repeated key appears once (its first occurrence). */
  readonly entries: readonly IniEntry[];
  /** Syntax problems, all of them; scanning never stops early. */
  readonly issues: readonly ConfigIssue[];
}

const SECTION_HEADER = /^\[([^\]]*)\]\s*(?:[;#].*)?$/;

/** Scans ini text into sections and entries, reporting every syntax problem with its line. */
export function scanIni(text: string, file: string): IniScan {
  const sections: IniSection[] = [];
  const entries: IniEntry[] = [];
  const issues: ConfigIssue[] = [];
  const sectionByText = new Map<string, IniSection>();
  // Key -> line of first occurrence, per section text.
  const keyLines = new Map<string, Map<string, number>>();

  // null before the first header; 'unreadable' after a header we could not read, so that the
  // keys under it are skipped instead of each being reported as a second, derived error.
  let current: IniSection | null | 'unreadable' = null;

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = index + 1;
    const at = { file, line };
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) continue;

    if (trimmed.startsWith('[')) {
      const header = readSectionHeader(trimmed);
      if ('problem' in header) {
        issues.push(issueAt(at, null, null, header.problem));
        current = 'unreadable';
        continue;
      }
      const sectionText = header.arg === null ? header.name : `${header.name} ${header.arg}`;
      const first = sectionByText.get(sectionText);
      if (first !== undefined) {
        issues.push(
          issueAt(at, sectionText, null, `section appears twice (first at line ${first.line}); merge the two`),
        );
        current = first;
        continue;
      }
      current = { section: sectionText, sectionName: header.name, sectionArg: header.arg, file, line };
      sectionByText.set(sectionText, current);
      sections.push(current);
      continue;
    }

    const equals = trimmed.indexOf('=');
    const key = equals > 0 ? trimmed.slice(0, equals).trim() : '';
    if (key === '') {
      issues.push(issueAt(at, null, null, 'cannot read this line: expected `key = value` or `[section]`'));
      continue;
    }
    if (current === 'unreadable') continue;
    if (current === null) {
      issues.push(issueAt(at, null, key, 'this key comes before any `[section]` header'));
      continue;
    }

    let seen = keyLines.get(current.section);
    if (seen === undefined) keyLines.set(current.section, (seen = new Map()));
    const firstLine = seen.get(key);
    if (firstLine !== undefined) {
      issues.push(
        issueAt(at, current.section, key, `set twice (lines ${firstLine} and ${line}); keep one of them`),
      );
      continue;
    }
    seen.set(key, line);

    const value = readValue(trimmed.slice(equals + 1));
    if ('problem' in value) issues.push(issueAt(at, current.section, key, value.problem));
    entries.push({
      section: current.section,
      sectionName: current.sectionName,
      sectionArg: current.sectionArg,
      key,
      value: 'problem' in value ? null : value.value,
      file,
      line,
    });
  }

  return { sections, entries, issues };
}

type Readable<T> = T | { readonly problem: string };

function readSectionHeader(trimmed: string): Readable<{ name: string; arg: string | null }> {
  const match = SECTION_HEADER.exec(trimmed);
  if (match === null) {
    return { problem: 'cannot read this section header: expected `[section]` or `[image NAME]`' };
  }
  const words = (match[1] ?? '').trim().split(/\s+/).filter((w) => w !== '');
  const [name, arg, ...rest] = words;
  if (name === undefined) return { problem: 'empty section header `[]`' };
  if (rest.length > 0) {
    return { problem: `cannot read section header [${words.join(' ')}]: expected \`[section]\` or \`[section NAME]\`` };
  }
  if (arg !== undefined && !SECTION_ARG_PATTERN.test(arg)) {
    return {
      problem:
        `cannot use "${arg}" as a name in [${name} ${arg}]: ` +
        'use letters, digits, `.`, `_` and `-`, starting with a letter or digit',
    };
  }
  return { name, arg: arg ?? null };
}

function readValue(raw: string): Readable<{ value: string }> {
  const text = raw.trim();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    // ini only unquotes when the whole value is quoted; anything else keeps the quote characters
    // in the value, which is never what the operator meant (usually a trailing comment).
    if (text.length < 2 || !text.endsWith(quote)) {
      return {
        problem: `the value starts with ${quote} but does not end with it; put comments on their own line`,
      };
    }
    if (quote === '"' && !isJsonString(text)) {
      return { problem: `cannot read the double-quoted value ${text}: invalid escape or stray quote inside` };
    }
  }
  const value = unsafe(text);
  // ini JSON-parses the inside of single quotes, so '8' comes back as the number 8; the text
  // between the quotes is what the operator wrote.
  return { value: typeof value === 'string' ? value : text.slice(1, -1) };
}

function isJsonString(text: string): boolean {
  try {
    return typeof JSON.parse(text) === 'string';
  } catch {
    return false;
  }
}
