// A corpus of path traversal and encoding tricks, shared by the path-policy unit test and the
// end-to-end test against the real daemon. Each name is given as the bytes a client would put in
// an RRQ/WRQ; `name` is those bytes as the TFTP codec reads them (latin1, one char per byte).
// `expect` says what the policy must do with it on its own: refuse it, or accept it as plain
// segments confined to the root (a literal `%2e%2e` or `~` is just an odd file name). `root:`
// entries only make sense against a real tree (symlinks), so only the end-to-end test sends them.

export interface PathTrick {
  readonly label: string;
  readonly bytes: Buffer;
  readonly name: string;
  readonly expect: 'refused' | 'confined';
  /** Only meaningful against the real tree (symlinks planted by the test). */
  readonly treeOnly?: boolean;
}

const text = (s: string) => Buffer.from(s, 'utf8');
const raw = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function trick(label: string, bytes: Buffer, expect: PathTrick['expect'], treeOnly = false): PathTrick {
  return { label, bytes, name: bytes.toString('latin1'), expect, ...(treeOnly ? { treeOnly } : {}) };
}

const S = 'secret.txt';

export const PATH_TRICKS: readonly PathTrick[] = [
  // Plain dot-dot, every way of writing it with '/'.
  trick('..', text('..'), 'refused'),
  trick('../secret', text(`../${S}`), 'refused'),
  trick('deep ../', text(`../../../../../../../../etc/passwd`), 'refused'),
  trick('a/../../secret', text(`a/../../${S}`), 'refused'),
  trick('a/b/../../../secret', text(`a/b/../../../${S}`), 'refused'),
  trick('trailing a/..', text('a/..'), 'refused'),
  trick('secret/.. at the end', text(`${S}/..`), 'refused'),
  trick('./../secret', text(`./../${S}`), 'refused'),
  trick('./.././secret', text(`./.././${S}`), 'refused'),
  trick('a/./b/../../..', text('a/./b/../../..'), 'refused'),
  trick('pxelinux.cfg/../../secret', text(`pxelinux.cfg/../../${S}`), 'refused'),
  trick('../ with trailing slash', text('../'), 'refused'),
  trick('/../secret', text(`/../${S}`), 'refused'),
  // Dots and spaces that Windows/SMB trim into '..'.
  trick('.../secret', text(`.../${S}`), 'refused'),
  trick('..../secret', text(`..../${S}`), 'refused'),
  trick('".. "/secret', text(`.. /${S}`), 'refused'),
  trick('" .."/secret', text(` ../${S}`), 'refused'),
  trick('". ."', text('. .'), 'refused'),
  trick('"... "', text('... '), 'refused'),
  trick('..\\t', text('..\t'), 'refused'),
  // A leading '/' is read from the root (GRUB asks `/grub/grub.cfg`): confined, never the host's.
  trick('/etc/passwd', text('/etc/passwd'), 'confined'),
  trick('//etc/passwd', text('//etc/passwd'), 'confined'),
  trick('/../../etc/passwd', text('/../../etc/passwd'), 'refused'),
  trick('//../secret', text(`//../${S}`), 'refused'),
  trick('/./../secret', text(`/./../${S}`), 'refused'),
  trick('/', text('/'), 'refused'),
  trick('.', text('.'), 'refused'),
  trick('./', text('./'), 'refused'),
  trick('empty name', text(''), 'refused'),
  // Backslashes and mixed separators.
  trick('..\\secret', text(`..\\${S}`), 'refused'),
  trick('\\..\\secret', text(`\\..\\${S}`), 'refused'),
  trick('a\\..\\..\\secret', text(`a\\..\\..\\${S}`), 'refused'),
  trick('..\\/secret', text(`..\\/${S}`), 'refused'),
  trick('../\\secret', text(`../\\${S}`), 'refused'),
  trick('a/..\\../secret', text(`a/..\\../${S}`), 'refused'),
  trick('.\\..\\secret', text(`.\\..\\${S}`), 'refused'),
  trick('UNC \\\\server\\share', text(`\\\\server\\share\\${S}`), 'refused'),
  trick('\\\\?\\C:\\ long path prefix', text(`\\\\?\\C:\\${S}`), 'refused'),
  // Drive letters.
  trick('C:\\secret', text(`C:\\${S}`), 'refused'),
  trick('c:/secret', text(`c:/${S}`), 'refused'),
  trick('C:secret (drive-relative)', text(`C:${S}`), 'refused'),
  trick('Z:..\\secret', text(`Z:..\\${S}`), 'refused'),
  // NUL and control characters.
  trick('NUL inside', raw(`${S}`, [0], '.img'), 'refused'),
  trick('../ then NUL', raw(`../${S}`, [0]), 'refused'),
  trick('newline', text('a\nb'), 'refused'),
  trick('carriage return', text('a\rb'), 'refused'),
  trick('tab before ..', text(`\t../${S}`), 'refused'),
  trick('ANSI escape', text('\x1b[2Jboot'), 'refused'),
  trick('DEL', text('a\x7fb'), 'refused'),
  trick('backspaces over a name', text(`boot\x08\x08\x08\x08../${S}`), 'refused'),
  // Unicode lookalikes of '.', '/' and '\' (UTF-8 on the wire).
  trick('full-width dots ．．/', text(`．．/${S}`), 'refused'),
  trick('two-dot leader ‥/', text(`‥/${S}`), 'refused'),
  trick('one-dot leaders ․․/', text(`․․/${S}`), 'refused'),
  trick('full-width solidus ..／', text(`..／${S}`), 'refused'),
  trick('division slash ..∕', text(`..∕${S}`), 'refused'),
  trick('fraction slash ..⁄', text(`..⁄${S}`), 'refused'),
  trick('full-width reverse solidus ..＼', text(`..＼${S}`), 'refused'),
  trick('zero-width space between dots', text(`.\u200b./${S}`), 'refused'),
  trick('no-break space after ..', text(`..\u00a0/${S}`), 'refused'),
  trick('full-width letters ｅｔｃ/passwd', text('ｅｔｃ/passwd'), 'refused'),
  trick('combining dot', text(`.\u0307/${S}`), 'refused'),
  // Overlong UTF-8 forms of '.' and '/' (raw bytes on the wire).
  trick('overlong 2-byte . (c0 ae)', raw([0xc0, 0xae, 0xc0, 0xae], `/${S}`), 'refused'),
  trick('overlong 2-byte / (c0 af)', raw('..', [0xc0, 0xaf], S), 'refused'),
  trick('overlong 3-byte . (e0 80 ae)', raw([0xe0, 0x80, 0xae, 0xe0, 0x80, 0xae], `/${S}`), 'refused'),
  trick('overlong 3-byte / (e0 80 af)', raw('..', [0xe0, 0x80, 0xaf], S), 'refused'),
  trick('overlong backslash (c1 9c)', raw('..', [0xc1, 0x9c], S), 'refused'),
  trick('latin1 high byte', raw('boot', [0xff], '.img'), 'refused'),
  // Very long names.
  trick('2000-character name', text('x'.repeat(2000)), 'refused'),
  trick('600 nested directories', text(`${'a/'.repeat(600)}x`), 'refused'),
  trick('300-character segment', text('y'.repeat(300)), 'refused'),
  // Encoded forms are never decoded: they are odd but harmless literal names in the root.
  trick('%2e%2e/secret', text(`%2e%2e/${S}`), 'confined'),
  trick('%2e%2e%2fsecret', text(`%2e%2e%2f${S}`), 'confined'),
  trick('..%2fsecret', text(`..%2f${S}`), 'confined'),
  trick('..%5csecret', text(`..%5c${S}`), 'confined'),
  trick('%252e%252e/secret (double-encoded)', text(`%252e%252e/${S}`), 'confined'),
  trick('%c0%ae%c0%ae/secret (encoded overlong)', text(`%c0%ae%c0%ae/${S}`), 'confined'),
  trick('\\u002e\\u002e as text', text(`\\u002e\\u002e/${S}`), 'refused'),
  trick('\u002e\u002e (an escape that is just ..)', text(`\u002e\u002e/${S}`), 'refused'),
  trick('..;/secret (servlet trick)', text(`..;/${S}`), 'confined'),
  trick('file:///etc/passwd', text('file:///etc/passwd'), 'confined'),
  // Home directories and device names are plain names here.
  trick('~', text('~'), 'confined'),
  trick('~root/.ssh/id_rsa', text('~root/.ssh/id_rsa'), 'confined'),
  trick('~/secret', text(`~/${S}`), 'confined'),
  trick('CON', text('CON'), 'confined'),
  trick('NUL.txt', text('NUL.txt'), 'confined'),
  trick('COM1', text('COM1'), 'confined'),
  trick('LPT1:', text('LPT1:'), 'confined'),
  trick('dev/null', text('dev/null'), 'confined'),
  trick('proc/self/environ', text('proc/self/environ'), 'confined'),
  trick('trailing dot and space', text(`${S}. `), 'confined'),
  // Symlinks planted inside the root by the end-to-end test.
  trick('symlink to the secret', text('link-to-secret'), 'confined', true),
  trick('through a symlinked directory', text(`link-to-outside/${S}`), 'confined', true),
  trick('symlink with ./ prefix', text('./link-to-secret'), 'confined', true),
  trick('symlink chain', text('link-to-link'), 'confined', true),
  trick('relative symlink climbing out', text('relative-escape'), 'confined', true),
];
