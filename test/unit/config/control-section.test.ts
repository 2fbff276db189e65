import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import { readControlSection } from '../../../src/config/control-section.js';
import { formatFileMode, parseFileMode } from '../../../src/config/field-values.js';
import { parseConfig } from '../../../src/config/load-config.js';

const FILE = '/etc/pxecast/pxecast.ini';

function issuesOf(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map(formatIssue);
  }
  return assert.fail('expected a ConfigError');
}

test('[control] in the full config: socket resolved against the config directory, mode in octal', () => {
  const config = parseConfig('[tftp]\nroot = /srv\n[control]\nsocket = run/ctl.sock\nmode = 0600\nenabled = no\n', FILE);
  assert.deepEqual(config.control, { enabled: false, socket: '/etc/pxecast/run/ctl.sock', mode: 0o600 });
});

test('file modes are three octal digits, with or without a leading 0', () => {
  assert.deepEqual(parseFileMode('0660'), { ok: true, value: 0o660 });
  assert.deepEqual(parseFileMode('600'), { ok: true, value: 0o600 });
  for (const bad of ['660 ', '0o660', '0868', '66', '10660', 'rw-rw----', '']) assert.equal(parseFileMode(bad).ok, false, bad);
  assert.equal(formatFileMode(0o660), '0660');
  assert.equal(formatFileMode(0o7), '0007');
  assert.deepEqual(issuesOf(() => parseConfig('[tftp]\nroot = /srv\n[control]\nmode = 0888\n', FILE)), [
    `${FILE}:4: [control] mode: "0888" is not an octal file mode (e.g. 0660; expected 0000..0777)`,
  ]);
});

test('readControlSection finds the socket even when the rest of the file is broken', () => {
  // What `pxecast reload` meets after an operator's mistake elsewhere in the file.
  const text = '[tftp]\nprot = 69\n[imagee x]\nfile = a\n[control]\nsocket = /tmp/pxecast-test.sock\n';
  assert.deepEqual(readControlSection(text, FILE), { enabled: true, socket: '/tmp/pxecast-test.sock', mode: 0o660 });
  assert.deepEqual(readControlSection('', FILE), { enabled: true, socket: '/run/pxecast/control.sock', mode: 0o660 });
});

test('readControlSection reports problems of [control] only, with file and line', () => {
  const text = '[tftp]\nprot = 69\n[control]\nsockett = /x\nmode = rw\n';
  assert.deepEqual(issuesOf(() => readControlSection(text, FILE)), [
    `${FILE}:4: [control] sockett: unknown key; did you mean \`socket\`?`,
    `${FILE}:5: [control] mode: "rw" is not an octal file mode (e.g. 0660; expected 0000..0777)`,
  ]);
});
