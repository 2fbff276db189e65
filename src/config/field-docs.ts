// Texts for the generated configuration reference (scripts/gen-config-docs.mjs): a field's type,
// range and default as an operator reads them.
import { formatDuration, formatSize } from './field-values.js';
import type { FieldSpec, FieldType } from './schema-types.js';


export function describeType(type: FieldType): string {
  switch (type.kind) {
    case 'bool':
      return 'boolean';
    case 'int':
      return 'integer';
    case 'int-or-auto':
      return 'integer or `auto`';
    case 'enum':
      return 'enum';
    case 'list':
      return 'list';
    case 'ip-address':
      return 'IP address';
    case 'multicast-ipv4':
      return 'IPv4 multicast address';
    case 'host-path':
      return 'path';
    case 'served-path':
      return 'path in TFTP root';
    case 'text':
      return 'string';
    case 'duration':
      return 'duration';
    case 'size':
      return 'size';
    case 'file-mode':
      return 'file mode';
    case 'duid':
      return 'DUID';
  }
}

export function describeRange(type: FieldType): string {
  switch (type.kind) {
    case 'bool':
      return 'true/false, yes/no, on/off, 1/0';
    case 'int':
      return `${type.min}..${type.max}${type.unit === undefined ? '' : ` ${type.unit}`}`;
    case 'int-or-auto':
      return `auto, or ${type.min}..${type.max}`;
    case 'enum':
      return `one of ${type.values.join(', ')}`;
    case 'list':
      return `comma-separated, any of ${type.values.join(', ')}`;
    case 'ip-address':
      return 'IPv4 or IPv6 literal';
    case 'multicast-ipv4':
      return '224.0.0.0..239.255.255.255';
    case 'host-path':
      return "absolute, or relative to the config file's directory";
    case 'served-path':
      return "relative to `[tftp] root`, '/'-separated, no `..`";
    case 'text':
      return '';
    case 'duration':
      return `${formatDuration(type.minMs)}..${formatDuration(type.maxMs)}; units ms, s, m, h; bare number = ${type.bareUnit}`;
    case 'size':
      return `${formatSize(type.min)}..${formatSize(type.max)} bytes; suffixes K, M, G are ×1024`;
    case 'file-mode':
      return 'octal, 0000..0777';
    case 'duid':
      return 'hex, 3..130 bytes, colon-separated or not';
  }
}

export function describeDefault(field: FieldSpec): string {
  if (field.required) return 'required';
  if (field.defaultNote !== undefined) return field.defaultNote;
  if (field.default === null || field.default === '') return '(empty)';
  return field.default;
}
