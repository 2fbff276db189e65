// The "newc" cpio format (SVR4 without CRC), the one the Linux kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII
// header of "070701" and 13 eight-digit hex fields, the NUL-terminated name padded to 4 bytes,
// then the data padded to 4 bytes; a "TRAILER!!!" entry ends the archive. Pure: no file system.

export type CpioEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'file'; readonly path: string; readonly data: Buffer; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | { readonly type: 'chardev'; readonly path: string; readonly major: number; readonly minor: number; readonly mode?: number };

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** The archive of `entries` in order (the kernel creates nothing implicitly: parents first). */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '');
    if (name === '' || name.split('/').includes('..')) throw new Error(`bad cpio path '${entry.path}'`);
    const { mode, data, rdev } = describe(entry);
    parts.push(...record({ ino: ino++, mode, nlink: entry.type === 'dir' ? 2 : 1, name, data, rdev }));
  }
  parts.push(...record({ ino: 0, mode: 0, nlink: 1, name: TRAILER, data: Buffer.alloc(0), rdev: [0, 0] }));
  return Buffer.concat(parts);
}

function describe(entry: CpioEntry): { mode: number; data: Buffer; rdev: readonly [number, number] } {
  switch (entry.type) {
    case 'dir':
      return { mode: S_IFDIR | (entry.mode ?? 0o755), data: Buffer.alloc(0), rdev: [0, 0] };
    case 'file':
      return { mode: S_IFREG | (entry.mode ?? 0o644), data: entry.data, rdev: [0, 0] };
    case 'symlink':
      return { mode: S_IFLNK | 0o777, data: Buffer.from(entry.target, 'utf8'), rdev: [0, 0] };
    case 'chardev':
      return { mode: S_IFCHR | (entry.mode ?? 0o600), data: Buffer.alloc(0), rdev: [entry.major, entry.minor] };
  }
}

function record(r: { ino: number; mode: number; nlink: number; name: string; data: Buffer; rdev: readonly [number, number] }): Buffer[] {
  const name = Buffer.from(`${r.name}\0`, 'utf8');
  // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const fields = [r.ino, r.mode, 0, 0, r.nlink, 0, r.data.length, 0, 0, r.rdev[0], r.rdev[1], name.length, 0];
  const header = Buffer.from(MAGIC + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1');
  return [header, name, padding(header.length + name.length), r.data, padding(r.data.length)];
}

function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
