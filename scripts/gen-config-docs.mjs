#!/usr/bin/env node
// Generates the configuration reference from the schema table (src/config/schema.ts, compiled):
//   - the Markdown table between the config-reference markers in docs/configuration.md
//   - conf/pxecast.example.ini, every key with its description and a production-style value
//
// Usage: node scripts/gen-config-docs.mjs [--write | --check]
//   (no flag)  print both to stdout
//   --write    update docs/configuration.md and conf/pxecast.example.ini
//   --check    exit 1 if either file is out of date (run by the unit tests)
// Needs a build first (`npm run docs:config` does both).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const REFERENCE_DOC = join(root, 'docs/configuration.md');
const EXAMPLE_INI = join(root, 'conf/pxecast.example.ini');
const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';
const GENERATED_NOTE = 'Generated from src/config/schema.ts by `npm run docs:config`; edit the schema, not this';
const COMMENT_WIDTH = 100;

const schemaPath = join(root, 'build/src/config/schema.js');
if (!existsSync(schemaPath)) {
  console.error(`${relative(root, schemaPath)} not found; run \`npm run build\` first`);
  process.exit(2);
}
const { CONFIG_SCHEMA } = await import(pathToFileURL(schemaPath).href);
const { describeType, describeRange } = await import(pathToFileURL(join(root, 'build/src/config/field-docs.js')).href);

// ---------------------------------------------------------------------------------------------
// Markdown reference

function sectionHeader(section, name = 'NAME') {
  return section.named ? `[${section.name} ${name}]` : `[${section.name}]`;
}

function defaultCell(field) {
  if (field.required) return '**required**';
  if (field.defaultNote !== undefined) return field.defaultNote;
  if (field.default === null || field.default === '') return '*(empty)*';
  return `\`${field.default}\``;
}

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderReference() {
  const rows = [
    '| Section | Key | Type | Default | Range / unit | Description |',
    '|---|---|---|---|---|---|',
  ];
  for (const section of CONFIG_SCHEMA) {
    for (const field of section.fields) {
      rows.push(
        '| ' +
          [
            `\`${sectionHeader(section)}\``,
            `\`${field.key}\``,
            describeType(field.type),
            defaultCell(field),
            describeRange(field.type),
            field.description,
          ]
            .map(cell)
            .join(' | ') +
          ' |',
      );
    }
  }
  return [START, `<!-- ${GENERATED_NOTE} table. -->`, '', ...rows, '', END].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Example ini

function wrapComment(text) {
  const lines = [];
  let line = ';';
  for (const word of text.split(/\s+/)) {
    if (line.length > 1 && line.length + 1 + word.length > COMMENT_WIDTH) {
      lines.push(line);
      line = ';';
    }
    line += ' ' + word;
  }
  lines.push(line);
  return lines;
}

function typeSummary(field) {
  const range = describeRange(field.type);
  const type = `Type: ${describeType(field.type)}${range === '' ? '' : ` (${range})`}`;
  if (field.required) return `${type}; required`;
  const dflt = field.defaultNote ?? (field.default === null || field.default === '' ? 'empty' : field.default);
  return `${type}; default: ${dflt}`;
}

function renderExampleIni() {
  const out = [
    '; pxecast example configuration: every key, with production-style values.',
    ...wrapComment(`${GENERATED_NOTE} file.`),
    ';',
    '; Syntax: `key = value` under a `[section]` header; full-line comments start with ; or #.',
    '; Text after an unquoted ; or # is a comment; quote a value ("..." with JSON escapes, or \'...\')',
    '; to keep those characters. Relative paths are resolved against the directory of this file.',
  ];
  for (const section of CONFIG_SCHEMA) {
    out.push('', '');
    out.push(...wrapComment(`${sectionHeader(section)}: ${section.description}`));
    if (section.named) out.push('; Repeat the section once per image, each with its own NAME.');
    out.push(sectionHeader(section, section.exampleName));
    for (const field of section.fields) {
      out.push('', ...wrapComment(field.description), ...wrapComment(typeSummary(field)));
      out.push(`${field.exampleCommented ? '; ' : ''}${field.key} = ${field.example}`);
    }
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Splicing into docs/configuration.md (the text around the markers is written by hand)

/** The document with the reference block replaced; null when the markers are missing. */
function spliceReference(doc, reference) {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END, start);
  if (start === -1 || end === -1) return null;
  return doc.slice(0, start) + reference + doc.slice(end + END.length);
}

function readIfExists(path) {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function main(mode) {
  const reference = renderReference();
  const exampleIni = renderExampleIni();
  if (mode === 'print') {
    process.stdout.write(reference + '\n\n' + exampleIni);
    return 0;
  }

  const doc = readIfExists(REFERENCE_DOC);
  const spliced = doc === null ? null : spliceReference(doc, reference);
  if (mode === 'check') {
    const stale = [];
    if (spliced === null || spliced !== doc) stale.push(relative(root, REFERENCE_DOC));
    if (readIfExists(EXAMPLE_INI) !== exampleIni) stale.push(relative(root, EXAMPLE_INI));
    if (stale.length > 0) {
      console.error(`out of date: ${stale.join(', ')}; run \`npm run docs:config\``);
      return 1;
    }
    console.log('config docs: up to date');
    return 0;
  }

  const newDoc = spliced ?? `${doc === null ? '# Configuration reference\n' : doc.trimEnd() + '\n'}\n${reference}\n`;
  mkdirSync(dirname(REFERENCE_DOC), { recursive: true });
  writeFileSync(REFERENCE_DOC, newDoc);
  mkdirSync(dirname(EXAMPLE_INI), { recursive: true });
  writeFileSync(EXAMPLE_INI, exampleIni);
  console.log(`wrote ${relative(root, REFERENCE_DOC)} and ${relative(root, EXAMPLE_INI)}`);
  return 0;
}

const flags = process.argv.slice(2);
const mode = flags.includes('--write') ? 'write' : flags.includes('--check') ? 'check' : 'print';
if (flags.some((f) => f !== '--write' && f !== '--check')) {
  console.error('usage: node scripts/gen-config-docs.mjs [--write | --check]');
  process.exit(2);
}
process.exit(main(mode));
