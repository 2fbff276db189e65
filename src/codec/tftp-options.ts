// What a client asked for in an RRQ/WRQ (RFC 2347 2348 2349 7440, RFC 2090). What the server grants
// is policy (tftp/option-negotiation.ts); this module only reads the request.
import type { TftpOption } from './tftp-packet.js';

export interface RequestedOptions {
  readonly blksize?: number;
  readonly tsize?: number;
  readonly timeout?: number;
  readonly windowsize?: number;
  /** RFC 2090: present with an empty value. */
  readonly multicast?: true;
  /** Options we did not take, with why, for the debug log. Never echoed (RFC 2347). */
  readonly ignored: readonly string[];
}

const DECIMAL = /^[0-9]{1,10}$/;
const NUMERIC = ['blksize', 'tsize', 'timeout', 'windowsize'] as const;
type NumericOption = (typeof NUMERIC)[number];

export function parseRequestedOptions(options: readonly TftpOption[]): RequestedOptions {
  const result: { -readonly [K in NumericOption]?: number } & { multicast?: true } = {};
  const ignored: string[] = [];
  const seen = new Set<string>();
  for (const { name, value } of options) {
    const key = name.toLowerCase();
    if (seen.has(key)) {
      ignored.push(`${name}: repeated (first one wins)`);
      continue;
    }
    seen.add(key);
    if ((NUMERIC as readonly string[]).includes(key)) {
      if (!DECIMAL.test(value)) {
        ignored.push(`${name}=${value}: not a decimal number`);
        continue;
      }
      result[key as NumericOption] = Number(value);
    } else if (key === 'multicast') {
      if (value !== '') ignored.push(`${name}=${value}: multicast takes an empty value`);
      else result.multicast = true;
    } else {
      ignored.push(`${name}: unknown option`);
    }
  }
  return { ...result, ignored };
}
