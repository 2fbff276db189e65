// The broken-ini corpus (test/support/config-corpus.ts) at parse level: every case must produce
// exactly its listed issues.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { BROKEN_CONFIGS as corpus, CORPUS_FILE as FILE } from '../../support/config-corpus.js';

for (const { name, ini, issues } of corpus) {
  test(`broken ini: ${name}`, () => {
    const text = ini.join('\n') + '\n';
    const error = catchConfigError(() => parseConfig(text, FILE));
    assert.deepEqual(error.issues.map(formatIssue), issues);
  });
}

test('the corpus is large enough to be a corpus', () => {
  assert.ok(corpus.length >= 30, `only ${corpus.length} cases`);
  assert.equal(new Set(corpus.map((c) => c.name)).size, corpus.length, 'case names must be unique');
});

function catchConfigError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return assert.fail('expected a ConfigError, but the config was accepted');
}
