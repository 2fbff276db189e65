import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describeDefault, describeRange } from '../../../src/config/field-docs.js';
import { parseFieldValue } from '../../../src/config/field-parse.js';
import { CONFIG_SCHEMA } from '../../../src/config/schema.js';

test('section names and keys are unique', () => {
  const sections = CONFIG_SCHEMA.map((s) => s.name);
  assert.deepEqual(sections, [...new Set(sections)]);
  for (const section of CONFIG_SCHEMA) {
    const keys = section.fields.map((f) => f.key);
    assert.deepEqual(keys, [...new Set(keys)], section.name);
    for (const key of keys) assert.match(key, /^[a-z][a-z0-9_]*$/, key);
  }
});

test('every default and every example value is valid for its own field', () => {
  for (const section of CONFIG_SCHEMA) {
    for (const field of section.fields) {
      const where = `[${section.name}] ${field.key}`;
      if (field.default !== null) {
        const parsed = parseFieldValue(field, field.default, '/etc/pxecast');
        assert.ok(parsed.ok, `${where} default: ${parsed.ok ? '' : parsed.message}`);
      }
      const example = parseFieldValue(field, field.example, '/etc/pxecast');
      assert.ok(example.ok, `${where} example: ${example.ok ? '' : example.message}`);
    }
  }
});

test('every field is documented: a default or a reason why not, and one sentence', () => {
  for (const section of CONFIG_SCHEMA) {
    assert.ok(section.description.endsWith('.'), section.name);
    if (section.named) assert.ok(section.exampleName !== undefined, section.name);
    for (const field of section.fields) {
      const where = `[${section.name}] ${field.key}`;
      assert.ok(field.required || field.default !== null || field.defaultNote !== undefined, where);
      assert.ok(!(field.required && field.default !== null), `${where}: required with a default`);
      assert.match(field.description, /^[A-Z`].*\.$/, where);
      assert.ok(!/\.\s+[A-Z]/.test(field.description), `${where}: more than one sentence`);
      assert.notEqual(describeDefault(field), '');
      assert.equal(typeof describeRange(field.type), 'string');
    }
  }
});
