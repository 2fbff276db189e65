import { readFileSync } from 'node:fs';

/** The version in package.json (two levels above the compiled build/src/). */
export function pxecastVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
