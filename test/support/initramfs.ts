// A Linux initramfs built at test time: a static busybox (package busybox-static), the kernel
// modules a caller names with their dependencies (from the installed kernel's modules.dep), extra
// files, and the caller's /init script. Used to boot Debian's signed kernel as a test payload
// (test/support/linux-payload.ts) and by anything else that needs a small booted Linux.
//
// Layout: /bin/busybox (the init script starts with `#!/bin/busybox sh` and may run
// `/bin/busybox --install -s /bin`), /dev/console (so the kernel gives /init a console even
// without devtmpfs), empty /dev /proc /sys /tmp /etc, and the modules as /modules/NN-name.ko in
// load order: `for m in /modules/*.ko; do insmod $m; done` loads them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { newcArchive, type CpioEntry } from './cpio-newc.js';

export const BUSYBOX = '/bin/busybox';

export interface DebianKernel {
  /** e.g. 6.1.0-57-amd64 */
  readonly version: string;
  /** /boot/vmlinuz-VERSION: an EFI application, signed by Debian. */
  readonly vmlinuz: string;
  /** /lib/modules/VERSION */
  readonly modulesDir: string;
}

export interface InitramfsPlan {
  /** The /init script (mode 0755); the kernel runs it as PID 1. */
  readonly init: string;
  /** Module names (`virtio_net`), loaded in order after their dependencies. */
  readonly modules?: readonly string[];
  /** The kernel whose modules to take (default: debianKernel()). */
  readonly kernel?: DebianKernel;
  /** More files, by absolute path in the initramfs; their parent folders are created. */
  readonly files?: Readonly<Record<string, Buffer | { readonly data: Buffer; readonly mode: number }>>;
  /** gzip the archive (default true: the kernel has CONFIG_RD_GZIP). */
  readonly gzip?: boolean;
}

/** Why an initramfs cannot be built here, or null. */
export function initramfsMissing(): string | null {
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} (Debian package busybox-static)`;
  if (!isStaticElf(readFileSync(BUSYBOX))) return `a static ${BUSYBOX} (Debian package busybox-static; the installed one is dynamically linked)`;
  try {
    debianKernel();
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/** The newest /boot/vmlinuz-* that has its modules installed (not the running kernel's: the host may boot another). */
export function debianKernel(): DebianKernel {
  const versions = readdirSync('/boot')
    .filter((name) => name.startsWith('vmlinuz-'))
    .map((name) => name.slice('vmlinuz-'.length))
    .filter((version) => existsSync(join('/lib/modules', version, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const version = versions.at(-1);
  if (!version) throw new Error('/boot/vmlinuz-* with its /lib/modules (Debian package linux-image-amd64)');
  return { version, vmlinuz: join('/boot', `vmlinuz-${version}`), modulesDir: join('/lib/modules', version) };
}

/** Module files (relative to modulesDir) to load for `names`, every dependency before its user. */
export function moduleLoadOrder(modulesDep: string, names: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const [file, rest] = line.split(':');
    if (file && rest !== undefined) deps.set(file.trim(), rest.trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map([...deps.keys()].map((file) => [basename(file).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_'), file]));
  const order: string[] = [];
  const visit = (file: string): void => {
    if (order.includes(file)) return;
    // modules.dep lists a module's dependencies already flattened, deepest last.
    for (const dep of [...(deps.get(file) ?? [])].reverse()) visit(dep);
    order.push(file);
  };
  for (const name of names) {
    const file = byName.get(name.replace(/-/g, '_'));
    if (!file) throw new Error(`no module ${name} in modules.dep`);
    visit(file);
  }
  return order;
}

/** The archive (gzipped unless plan.gzip is false). */
export function buildInitramfs(plan: InitramfsPlan): Buffer {
  const busybox = readFileSync(BUSYBOX);
  if (!isStaticElf(busybox)) throw new Error(`${BUSYBOX} is dynamically linked: install busybox-static`);
  const files = new Map<string, { data: Buffer; mode: number }>();
  files.set('/bin/busybox', { data: busybox, mode: 0o755 });
  files.set('/init', { data: Buffer.from(plan.init, 'utf8'), mode: 0o755 });
  if (plan.modules?.length) {
    const kernel = plan.kernel ?? debianKernel();
    const order = moduleLoadOrder(readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8'), plan.modules);
    order.forEach((file, i) => {
      files.set(`/modules/${String(i).padStart(2, '0')}-${basename(file)}`, { data: readFileSync(join(kernel.modulesDir, file)), mode: 0o644 });
    });
  }
  for (const [path, file] of Object.entries(plan.files ?? {})) {
    files.set(path, Buffer.isBuffer(file) ? { data: file, mode: 0o644 } : file);
  }

  const dirs = new Set(['/dev', '/proc', '/sys', '/tmp', '/etc', '/bin']);
  for (const path of files.keys()) {
    for (let dir = path.slice(0, path.lastIndexOf('/')); dir; dir = dir.slice(0, dir.lastIndexOf('/'))) dirs.add(dir);
  }
  const entries: CpioEntry[] = [
    // Sorted, so a parent always precedes what it holds.
    ...[...dirs].sort().map((path): CpioEntry => ({ type: 'dir', path, mode: path === '/tmp' ? 0o1777 : 0o755 })),
    { type: 'chardev', path: '/dev/console', major: 5, minor: 1 },
    ...[...files].sort(([a], [b]) => a.localeCompare(b)).map(([path, f]): CpioEntry => ({ type: 'file', path, data: f.data, mode: f.mode })),
  ];
  const archive = newcArchive(entries);
  return plan.gzip === false ? archive : gzipSync(archive, { level: 6 });
}

/** An ELF executable without a PT_INTERP program header needs no dynamic loader or libraries. */
export function isStaticElf(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false; // ELF64 little-endian only
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (phentsize < 4 || at + phentsize > elf.length) return false;
    if (elf.readUInt32LE(at) === PT_INTERP) return false;
  }
  return true;
}
