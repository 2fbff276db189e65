import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { checkRequestedPath } from '../../../src/catalog/path-policy.js';
import { PATH_TRICKS } from '../../support/path-tricks.js';

describe('requested path policy', () => {
  const refused = [
    '',
    '..',
    '../etc/passwd',
    'a/../../b',
    'a/..',
    '/../etc/passwd',
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
  it('reads a leading "/" from the served root, as GRUB and shim ask, and says so', () => {
    assert.deepEqual(checkRequestedPath('/grub/grub.cfg'), { ok: true, segments: ['grub', 'grub.cfg'], rootRelative: true });
    assert.deepEqual(checkRequestedPath('//grub/x86_64-efi/command.lst'), { ok: true, segments: ['grub', 'x86_64-efi', 'command.lst'], rootRelative: true });
    assert.deepEqual(checkRequestedPath('grub/grub.cfg'), { ok: true, segments: ['grub', 'grub.cfg'], rootRelative: false });
  });
  const allowed: Array<[string, string[]]> = [
    ['pxelinux.0', ['pxelinux.0']],
    ['pxelinux.cfg/01-52-54-00-12-34-56', ['pxelinux.cfg', '01-52-54-00-12-34-56']],
    ['./boot.ipxe', ['boot.ipxe']],
    ['a//b', ['a', 'b']],
    ['..hidden', ['..hidden']],
    ['a..b/c', ['a..b', 'c']],
    ['%2e%2e/x', ['%2e%2e', 'x']],
    ['grub/x86_64-efi/normal.mod', ['grub', 'x86_64-efi', 'normal.mod']],
    ['boot image v1.2.iso', ['boot image v1.2.iso']],
  ];
  for (const [name, segments] of allowed) {
    it(`allows ${JSON.stringify(name)}`, () => assert.deepEqual(checkRequestedPath(name), { ok: true, segments, rootRelative: false }));
  }
});

describe('path trick corpus: every trick refused or confined to the root', () => {
  it('is a corpus (at least 50 tricks, 40 of them refused)', () => {
    assert.ok(PATH_TRICKS.length >= 50, `${PATH_TRICKS.length} tricks`);
    assert.ok(PATH_TRICKS.filter((t) => t.expect === 'refused').length >= 40);
  });
  for (const t of PATH_TRICKS) {
    it(`${t.expect}: ${t.label}`, () => {
      const check = checkRequestedPath(t.name);
      if (t.expect === 'refused') {
        assert.equal(check.ok, false, `accepted as ${check.ok ? JSON.stringify(check.segments) : ''}`);
        return;
      }
      assert.ok(check.ok, `refused: ${check.ok ? '' : check.reason}`);
      // Confined: plain segments only, and joining them to any root stays under it.
      for (const segment of check.segments) {
        assert.ok(segment !== '' && segment !== '.' && segment !== '..', `segment ${JSON.stringify(segment)}`);
        assert.ok(!/[/\\\x00-\x1f\x7f-\xff]/.test(segment), `segment ${JSON.stringify(segment)}`);
      }
      const root = '/srv/tftp';
      assert.ok(posix.join(root, ...check.segments).startsWith(`${root}/`));
    });
  }
});
