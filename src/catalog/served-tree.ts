// Resolves a checked name inside the served root through the FileSystem port: symlinks are
// followed with realpath and the result must still lie inside the root's own realpath; only
// regular files are served (no devices, FIFOs or directories).
import { posix } from 'node:path';
import type { FileSystem } from '../io/ports.js';
import { checkRequestedPath } from './path-policy.js';

export type Resolution =
  | { readonly kind: 'file'; readonly path: string; readonly size: number; readonly rootRelative: boolean }
  | { readonly kind: 'not-found'; readonly reason: string }
  | { readonly kind: 'denied'; readonly reason: string };

export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : root + '/');
}

export async function resolveInRoot(fs: FileSystem, rootReal: string, name: string): Promise<Resolution> {
  const check = checkRequestedPath(name);
  if (!check.ok) return { kind: 'denied', reason: check.reason };
  const candidate = posix.join(rootReal, ...check.segments);
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'not-found', reason: 'no such file' };
    return { kind: 'denied', reason: `cannot resolve (${code ?? 'error'})` };
  }
  if (!isInside(rootReal, real)) return { kind: 'denied', reason: 'resolves outside the served root' };
  try {
    const st = await fs.stat(real);
    if (st.kind !== 'file') return { kind: 'denied', reason: `not a regular file (${st.kind})` };
    return { kind: 'file', path: real, size: st.size, rootRelative: check.rootRelative };
  } catch (e) {
    return { kind: 'denied', reason: `cannot stat (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
  }
}
