// Which client-supplied names may even be looked up. The name is never joined to the root as
// given: it is split into plain segments first, and anything that could climb out, alias a drive,
// or smuggle control bytes is refused outright (ERROR 2). Symlinks are checked later, on the
// resolved path (served-tree.ts).

export type PathCheck =
  | { readonly ok: true; readonly segments: readonly string[] }
  | { readonly ok: false; readonly reason: string };

const CONTROL = /[\x00-\x1f\x7f]/;
const DRIVE = /^[A-Za-z]:/;

export function checkRequestedPath(name: string): PathCheck {
  if (name.length === 0) return { ok: false, reason: 'empty file name' };
  if (CONTROL.test(name)) return { ok: false, reason: 'control character in file name' };
  if (name.includes('\\')) return { ok: false, reason: 'backslash in file name' };
  if (name.startsWith('/')) return { ok: false, reason: 'absolute path' };
  if (DRIVE.test(name)) return { ok: false, reason: 'drive letter in file name' };
  const segments: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return { ok: false, reason: "'..' in file name" };
    segments.push(segment);
  }
  if (segments.length === 0) return { ok: false, reason: 'file name names the root directory' };
  return { ok: true, segments };
}
