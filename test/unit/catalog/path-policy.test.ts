import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequestedPath } from '../../../src/catalog/path-policy.js';

describe('requested path policy', () => {
  const refused = [
    '',
    '..',
    '../etc/passwd',
    'a/../../b',
    'a/..',
    '/etc/passwd',
    '//etc/passwd',
    '\\windows\\system32',
    'a\\..\\b',
    '..\\..\\boot.ini',
    'C:boot.ini',
    'c:/boot.ini',
    'a\x00b',
    'a\nb',
    'a\x7fb',
    '.',
    './',
    '/',
    'a/./../..',
  ];
  for (const name of refused) {
    it(`refuses ${JSON.stringify(name)}`, () => assert.equal(checkRequestedPath(name).ok, false));
  }
  const allowed: Array<[string, string[]]> = [
    ['pxelinux.0', ['pxelinux.0']],
    ['pxelinux.cfg/01-52-54-00-12-34-56', ['pxelinux.cfg', '01-52-54-00-12-34-56']],
    ['./boot.ipxe', ['boot.ipxe']],
    ['a//b', ['a', 'b']],
    ['..hidden', ['..hidden']],
    ['a..b/c', ['a..b', 'c']],
    ['%2e%2e/x', ['%2e%2e', 'x']],
  ];
  for (const [name, segments] of allowed) {
    it(`allows ${JSON.stringify(name)}`, () => assert.deepEqual(checkRequestedPath(name), { ok: true, segments }));
  }
});
