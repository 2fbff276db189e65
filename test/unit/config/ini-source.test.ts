import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatIssue } from '../../../src/config/config-error.js';
import { scanIni } from '../../../src/config/ini-source.js';

const FILE = '/etc/pxecast/pxecast.ini';

test('scans sections and entries with 1-based lines', () => {
  const scan = scanIni(['; comment', '# comment', '', '[tftp]', 'root = /srv', '[image demo]', 'file=a.img'].join('\n'), FILE);
  assert.deepEqual(scan.issues, []);
  assert.deepEqual(scan.sections, [
    { section: 'tftp', sectionName: 'tftp', sectionArg: null, file: FILE, line: 4 },
    { section: 'image demo', sectionName: 'image', sectionArg: 'demo', file: FILE, line: 6 },
  ]);
  assert.deepEqual(scan.entries, [
    { section: 'tftp', sectionName: 'tftp', sectionArg: null, key: 'root', value: '/srv', file: FILE, line: 5 },
    { section: 'image demo', sectionName: 'image', sectionArg: 'demo', key: 'file', value: 'a.img', file: FILE, line: 7 },
  ]);
});

test('section headers tolerate inner spacing and a trailing comment', () => {
  const scan = scanIni('[ image   demo ]  ; the demo\nfile = x\n', FILE);
  assert.deepEqual(scan.issues, []);
  assert.equal(scan.sections[0]?.section, 'image demo');
  assert.equal(scan.entries[0]?.section, 'image demo');
});

test('CRLF, lone CR, a BOM and a missing trailing newline keep line numbers right', () => {
  for (const eol of ['\r\n', '\n', '\r']) {
    const scan = scanIni(`\uFEFF[tftp]${eol}${eol}root = /srv${eol}port = 69`, FILE);
    assert.deepEqual(scan.issues, [], JSON.stringify(eol));
    assert.deepEqual(
      scan.entries.map((e) => [e.key, e.value, e.line]),
      [
        ['root', '/srv', 3],
        ['port', '69', 4],
      ],
      JSON.stringify(eol),
    );
  }
});

test('values are unescaped the ini way', () => {
  const cases: [raw: string, value: string][] = [
    ['plain text', 'plain text'],
    ['  padded  ', 'padded'],
    ['text ; inline comment', 'text'],
    ['text # inline comment', 'text'],
    ['a\\;b\\#c', 'a;b#c'],
    ['"double ; quoted"', 'double ; quoted'],
    ['"json \\"escapes\\" \\u0041"', 'json "escapes" A'],
    ["'single # quoted'", 'single # quoted'],
    ["'8'", '8'], // ini would JSON-parse this to the number 8
    ["'true'", 'true'],
    ['', ''],
    ['a = b', 'a = b'],
  ];
  for (const [raw, value] of cases) {
    const scan = scanIni(`[log]\nkey = ${raw}\n`, FILE);
    assert.deepEqual(scan.issues, [], raw);
    assert.equal(scan.entries[0]?.value, value, raw);
  }
});

test('a repeated key is reported and only its first value kept', () => {
  const scan = scanIni('[tftp]\nport = 1\nport = 2\n', FILE);
  assert.deepEqual(scan.issues.map(formatIssue), [`${FILE}:3: [tftp] port: set twice (lines 2 and 3); keep one of them`]);
  assert.deepEqual(
    scan.entries.map((e) => e.value),
    ['1'],
  );
});

test('a repeated section is reported and its keys merged', () => {
  const scan = scanIni('[tftp]\nport = 1\n[log]\n[tftp]\nroot = /x\n', FILE);
  assert.deepEqual(scan.issues.map(formatIssue), [`${FILE}:4: [tftp]: section appears twice (first at line 1); merge the two`]);
  assert.deepEqual(
    scan.entries.map((e) => [e.section, e.key]),
    [
      ['tftp', 'port'],
      ['tftp', 'root'],
    ],
  );
});

test('keys under an unreadable header are skipped, not reported again', () => {
  const scan = scanIni('[image bad/name]\nfile = a\nmtftp = on\n', FILE);
  assert.equal(scan.issues.length, 1);
  assert.deepEqual(scan.entries, []);
  assert.deepEqual(scan.sections, []);
});

test('every problem is reported, scanning does not stop', () => {
  const scan = scanIni('orphan = 1\n[tftp]\nnot a pair\n= 3\nport = "open\n[\n', FILE);
  assert.deepEqual(
    scan.issues.map((i) => i.line),
    [1, 3, 4, 5, 6],
  );
});
