// Which client-supplied names may even be looked up. The name is never joined to the root as
// given: it is split into plain segments first, and anything that could climb out, alias a drive,
// or smuggle control bytes is refused outright (ERROR 2). Symlinks are checked later, on the
// resolved path (served-tree.ts).
//
// A leading `/` means "from the served root", as tftp-hpa `--secure` and dnsmasq read it: GRUB and
// the shim -> GRUB Secure Boot chain ask for `/grub/grub.cfg`. It is stripped, never refused, and
// reported (`rootRelative`) so the server can say so once.
//
// Boot file names are plain ASCII (PXE, iPXE, GRUB and PXELINUX all use them), so anything else is
// refused rather than interpreted: that closes every Unicode lookalike of `.` and `/` (full-width
// dots, fraction slash, ...) and every overlong UTF-8 form at once, whatever a file system or a
// later tool might normalise them to. Segments made only of dots and spaces are refused too:
// `...` and `.. ` are plain names here, but Windows and SMB/CIFS servers (a root may live on one)
// trim trailing dots and spaces and would read them as `..`.

export type PathCheck =
  | { readonly ok: true; readonly segments: readonly string[]; readonly rootRelative: boolean }
  | { readonly ok: false; readonly reason: string };

/** Longest name looked up (Linux PATH_MAX is 4096; no boot file path comes close). */
export const MAX_NAME_LENGTH = 1024;
/** Longest segment (Linux NAME_MAX). */
export const MAX_SEGMENT_LENGTH = 255;

const CONTROL = /[\x00-\x1f\x7f]/;
const NOT_ASCII = /[^\x20-\x7e]/;
const DRIVE = /^[A-Za-z]:/;
const DOTS_AND_SPACES = /^[. ]+$/;

export function checkRequestedPath(name: string): PathCheck {
  if (name.length === 0) return { ok: false, reason: 'empty file name' };
  if (name.length > MAX_NAME_LENGTH) return { ok: false, reason: `file name longer than ${MAX_NAME_LENGTH} characters` };
  if (CONTROL.test(name)) return { ok: false, reason: 'control character in file name' };
  if (NOT_ASCII.test(name)) return { ok: false, reason: 'non-ASCII character in file name' };
  if (name.includes('\\')) return { ok: false, reason: 'backslash in file name' };
  if (DRIVE.test(name)) return { ok: false, reason: 'drive letter in file name' };
  const segments: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return { ok: false, reason: "'..' in file name" };
    if (DOTS_AND_SPACES.test(segment)) return { ok: false, reason: 'a segment of only dots and spaces' };
    if (segment.length > MAX_SEGMENT_LENGTH) return { ok: false, reason: `a segment longer than ${MAX_SEGMENT_LENGTH} characters` };
    segments.push(segment);
  }
  if (segments.length === 0) return { ok: false, reason: 'file name names the root directory' };
  return { ok: true, segments, rootRelative: name.startsWith('/') };
}
