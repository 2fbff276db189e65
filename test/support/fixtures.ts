import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root, from the compiled location build/test/support/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A captured UDP payload from test/fixtures/captures (hex text, one packet per file). */
export function capture(name: string): Buffer {
  const text = readFileSync(new URL(`../../../test/fixtures/captures/${name}.hex`, import.meta.url), 'utf8');
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
