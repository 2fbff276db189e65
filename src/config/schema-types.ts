// The shape of the configuration schema (schema.ts): what a section and a field declare.
import type { DurationUnit } from './field-values.js';

export type FieldType =
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number; readonly unit?: string }
  /** A whole number, or the word `auto` (stored as the string 'auto'). */
  | { readonly kind: 'int-or-auto'; readonly min: number; readonly max: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  /** Comma-separated enum values without duplicates. */
  | { readonly kind: 'list'; readonly values: readonly string[] }
  | { readonly kind: 'ip-address' }
  | { readonly kind: 'multicast-ipv4' }
  /** A host path; relative paths are resolved against the config file's directory. */
  | { readonly kind: 'host-path' }
  /** A path inside the TFTP root, as clients request it. */
  | { readonly kind: 'served-path' }
  | { readonly kind: 'text' }
  /** Stored as milliseconds; a bare number is in `bareUnit`. */
  | { readonly kind: 'duration'; readonly bareUnit: DurationUnit; readonly minMs: number; readonly maxMs: number }
  /** Bytes; suffixes K, M, G are binary multiples. */
  | { readonly kind: 'size'; readonly min: number; readonly max: number }
  /** Unix permission bits written in octal, e.g. `0660`. */
  | { readonly kind: 'file-mode' }
  /** A DHCPv6 DUID (RFC 8415 11) in hex, bytes colon-separated or not; stored as bare lower-case hex, empty = null. */
  | { readonly kind: 'duid' };

export interface FieldSpec {
  readonly key: string;
  readonly type: FieldType;
  readonly required: boolean;
  /**
   * Default as ini text, parsed like a written value; null when there is none (required keys, or
   * keys whose default depends on other keys: see defaultNote). For optional paths, the empty
   * text means "unset" (null).
   */
  readonly default: string | null;
  /** Shown in the docs instead of `default` when the default depends on other keys. */
  readonly defaultNote?: string;
  /** One operator-facing sentence. */
  readonly description: string;
  /** Production-style value for conf/pxecast.example.ini. */
  readonly example: string;
  /** Write the example line commented out (an optional feature that is off by default). */
  readonly exampleCommented?: boolean;
}

export interface SectionSpec {
  readonly name: string;
  /** True for `[image NAME]`: the section repeats, once per name. */
  readonly named: boolean;
  /** NAME used in the example ini for a named section. */
  readonly exampleName?: string;
  readonly description: string;
  readonly fields: readonly FieldSpec[];
}

/** The typed value of one field after parsing; load-config.ts turns these into `Config`. */
export type FieldValue = boolean | number | string | readonly string[] | null;
