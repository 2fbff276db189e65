import type { SourceLocation } from './config-types.js';

export interface ConfigIssue {
  readonly file: string;
  /** 0 when the problem is not tied to one line (e.g. a missing required key). */
  readonly line: number;
  readonly section: string | null;
  readonly key: string | null;
  readonly message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  const what =
    issue.section !== null && issue.key !== null
      ? `[${issue.section}] ${issue.key}: `
      : issue.section !== null
        ? `[${issue.section}]: `
        : issue.key !== null
          ? `${issue.key}: `
          : '';
  return `${where}: ${what}${issue.message}`;
}

/** Every problem found in a configuration, reported together. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `configuration has ${issues.length} error${issues.length === 1 ? '' : 's'}:\n` +
        issues.map((i) => '  ' + formatIssue(i)).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function issueAt(
  location: SourceLocation,
  section: string | null,
  key: string | null,
  message: string,
): ConfigIssue {
  return { file: location.file, line: location.line, section, key, message };
}
