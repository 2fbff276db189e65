// The property every decoder must keep on hostile input: it returns, or throws DecodeError (the
// socket counts and drops it). Anything else would be logged as a bug by datagram-guard.ts.
import assert from 'node:assert/strict';
import { DecodeError } from '../../src/codec/decode-error.js';

/** Runs `decode(input)`; fails naming the input (hex) when it throws anything but DecodeError. */
export function decodesOrThrowsDecodeError<T>(decode: (b: Buffer) => T, input: Buffer): T | DecodeError {
  try {
    return decode(input);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    assert.fail(`${(e as Error).stack ?? String(e)}\ninput (${input.length} bytes): ${input.toString('hex')}`);
  }
}
