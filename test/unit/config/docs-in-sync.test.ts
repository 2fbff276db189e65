// The configuration reference (docs/configuration.md) and conf/pxecast.example.ini are generated
// from the schema; this fails when someone changes one without the other. Also proves the shipped
// ini files are valid, and that every relative link in README.md and docs/ leads to a file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseConfig } from '../../../src/config/load-config.js';

// Compiled to build/test/unit/config/, four levels below the repository root.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

test('docs/configuration.md reference and conf/pxecast.example.ini match the schema', () => {
  const result = spawnSync(process.execPath, ['scripts/gen-config-docs.mjs', '--check'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `gen-config-docs --check failed:\n${result.stderr}${result.stdout}`);
});

for (const name of ['conf/pxecast.example.ini', 'conf/pxecast.ini']) {
  test(`${name} parses without issues`, () => {
    const file = join(repoRoot, name);
    const config = parseConfig(readFileSync(file, 'utf8'), file);
    assert.equal(config.sourceFile, file);
    assert.ok(config.images.length > 0, 'ships at least one image');
  });
}
