// The configuration reference (docs/configuration.md) and conf/pxecast.example.ini are generated
// from the schema; this fails when someone changes one without the other. Also proves the shipped
// ini files are valid, and that every relative link in README.md and docs/ leads to a file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

/** Markdown text without fenced code blocks (a `](x)` in an example is not a link). */
const withoutCodeBlocks = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

test('every relative link in README.md and docs/ leads to a file (and a heading, when it names one)', () => {
  const docs = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  for (const doc of docs) {
    const text = withoutCodeBlocks(readFileSync(join(repoRoot, doc), 'utf8'));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // http:, https:, mailto:
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path === '' ? join(repoRoot, doc) : join(repoRoot, dirname(doc), path);
      if (!existsSync(file)) {
        broken.push(`${doc}: ${target} (no file ${relative(repoRoot, file)})`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md')) {
        const headings = withoutCodeBlocks(readFileSync(file, 'utf8')).match(/^#{1,6} .*$/gm) ?? [];
        if (!headings.some((h) => anchorOf(h.replace(/^#+ /, '')) === anchor)) broken.push(`${doc}: ${target} (no heading #${anchor})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
