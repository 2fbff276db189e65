// One configuration value, from ini text to its typed value, by the field's type in the schema.
import { resolve } from 'node:path';

import {
  parseBool,
  parseDuid,
  parseDuration,
  parseEnum,
  parseFileMode,
  parseHostPath,
  parseInteger,
  parseIpAddress,
  parseList,
  parseMulticastIpv4,
  parseServedPath,
  parseSize,
  type Parsed,
} from './field-values.js';
import type { FieldSpec, FieldValue } from './schema-types.js';

/**
 * Parses one value of `field`. `configDir` (absolute) anchors relative host paths. For optional
 * paths the empty text means "unset" and yields null.
 */
export function parseFieldValue(field: FieldSpec, text: string, configDir: string): Parsed<FieldValue> {
  const type = field.type;
  switch (type.kind) {
    case 'bool':
      return parseBool(text);
    case 'int':
      return parseInteger(text, type.min, type.max);
    case 'int-or-auto':
      return text.toLowerCase() === 'auto' ? { ok: true, value: 'auto' } : parseInteger(text, type.min, type.max);
    case 'enum':
      return parseEnum(text, type.values);
    case 'list':
      return parseList(text, type.values);
    case 'ip-address':
      return parseIpAddress(text);
    case 'multicast-ipv4':
      return parseMulticastIpv4(text);
    case 'host-path': {
      if (text === '' && !field.required) return { ok: true, value: null };
      const parsed = parseHostPath(text);
      return parsed.ok ? { ok: true, value: resolve(configDir, parsed.value) } : parsed;
    }
    case 'served-path':
      if (text === '' && !field.required) return { ok: true, value: null };
      return parseServedPath(text);
    case 'text':
      return { ok: true, value: text };
    case 'duration':
      return parseDuration(text, type.bareUnit, type.minMs, type.maxMs);
    case 'size':
      return parseSize(text, type.min, type.max);
    case 'file-mode':
      return parseFileMode(text);
    case 'duid':
      return parseDuid(text);
  }
}
