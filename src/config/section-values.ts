// One section's keys checked against the schema: unknown keys, bad values, defaults and missing
// required keys. Problems go to the shared issue list; the values that did parse stay available
// for cross-field checks, so one bad key never hides another problem.
import { issueAt, type ConfigIssue } from './config-error.js';
import type { SourceLocation } from './config-types.js';
import type { IniEntry } from './ini-source.js';
import { parseFieldValue } from './field-parse.js';
import { CONFIG_SCHEMA, findField } from './schema.js';
import type { FieldValue, SectionSpec } from './schema-types.js';
import { suggestName } from './suggest.js';

export class SectionValues {
  private readonly values = new Map<string, FieldValue>();
  private readonly writtenAt = new Map<string, SourceLocation>();
  /** Keys that were written with a value we could not accept (already reported). */
  private readonly rejected = new Set<string>();

  /** Section text for messages: `tftp`, `image demo`. */
  readonly label: string;

  /**
   * @param arg the NAME of `[image NAME]`; null for unnamed sections
   * @param header where the section header is; null when the section is absent from the file
   */
  constructor(
    readonly spec: SectionSpec,
    readonly arg: string | null,
    readonly header: SourceLocation | null,
    readonly file: string,
  ) {
    this.label = arg === null ? spec.name : `${spec.name} ${arg}`;
  }

  /** Reads `entries` (all of this section), then fills in defaults and reports missing keys. */
  read(entries: readonly IniEntry[], configDir: string, issues: ConfigIssue[]): this {
    for (const entry of entries) {
      const at = { file: entry.file, line: entry.line };
      const field = findField(this.spec, entry.key);
      if (field === undefined) {
        issues.push(issueAt(at, this.label, entry.key, unknownKeyMessage(this.spec, entry.key)));
        continue;
      }
      this.writtenAt.set(entry.key, at);
      if (entry.value === null) {
        this.rejected.add(entry.key); // unreadable text, reported by the scanner
        continue;
      }
      const parsed = parseFieldValue(field, entry.value, configDir);
      if (parsed.ok) this.values.set(entry.key, parsed.value);
      else {
        this.rejected.add(entry.key);
        issues.push(issueAt(at, this.label, entry.key, parsed.message));
      }
    }

    for (const field of this.spec.fields) {
      if (this.writtenAt.has(field.key)) continue;
      if (field.default !== null) {
        const parsed = parseFieldValue(field, field.default, configDir);
        if (!parsed.ok) throw new Error(`schema default of [${this.spec.name}] ${field.key} is invalid: ${parsed.message}`);
        this.values.set(field.key, parsed.value);
      } else if (field.required) {
        const hint =
          this.header === null
            ? `add a [${this.label}] section with \`${field.key} = ${field.example}\``
            : `add \`${field.key} = ${field.example}\``;
        issues.push(issueAt(this.headerOrFile(), this.label, field.key, `required key is missing; ${hint}`));
      }
    }
    return this;
  }

  /** Section header location, or line 0 of the file when the section is absent. */
  headerOrFile(): SourceLocation {
    return this.header ?? { file: this.file, line: 0 };
  }

  /** Where the key was written, or undefined when it was not (defaulted or missing). */
  written(key: string): SourceLocation | undefined {
    return this.writtenAt.get(key);
  }

  /** The accepted value (written or default); undefined when missing or rejected. */
  get(key: string): FieldValue | undefined {
    return this.values.get(key);
  }

  isRejected(key: string): boolean {
    return this.rejected.has(key);
  }

  /** Supplies a value whose default depends on other keys (e.g. the default image's MTFTP group). */
  setDerived(key: string, value: FieldValue): void {
    this.values.set(key, value);
  }

  /** Every written key with its location, for `ImageConfig.locations`. */
  writtenLocations(): Record<string, SourceLocation> {
    return Object.fromEntries(this.writtenAt);
  }

  // Typed getters for assembling `Config` once all issues are known to be absent. A mismatch here
  // is a bug in the schema table, never an operator error.

  bool(key: string): boolean {
    return this.typed(key, (v): v is boolean => typeof v === 'boolean');
  }

  int(key: string): number {
    return this.typed(key, (v): v is number => typeof v === 'number');
  }

  intOrAuto(key: string): number | 'auto' {
    return this.typed(key, (v): v is number | 'auto' => typeof v === 'number' || v === 'auto');
  }

  text(key: string): string {
    return this.typed(key, (v): v is string => typeof v === 'string');
  }

  optionalText(key: string): string | null {
    return this.typed(key, (v): v is string | null => v === null || typeof v === 'string');
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    return this.typed(key, (v): v is T => typeof v === 'string' && (values as readonly string[]).includes(v));
  }

  listOf<T extends string>(key: string, values: readonly T[]): readonly T[] {
    return this.typed(
      key,
      (v): v is readonly T[] =>
        Array.isArray(v) && v.every((item) => (values as readonly string[]).includes(item as string)),
    );
  }

  private typed<T extends FieldValue>(key: string, isType: (v: FieldValue) => v is T): T {
    const value = this.values.get(key);
    if (value === undefined || !isType(value)) {
      throw new Error(`internal: [${this.label}] ${key} has no value of the expected type`);
    }
    return value;
  }
}

function unknownKeyMessage(spec: SectionSpec, key: string): string {
  const suggestion = suggestName(
    key,
    spec.fields.map((f) => f.key),
  );
  if (suggestion !== null) return `unknown key; did you mean \`${suggestion}\`?`;
  const home = CONFIG_SCHEMA.find((s) => s !== spec && s.fields.some((f) => f.key === key));
  if (home !== undefined) return `unknown key here; \`${key}\` belongs in [${home.name}${home.named ? ' NAME' : ''}]`;
  return 'unknown key';
}
