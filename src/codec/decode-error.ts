export type DecodeErrorCode =
  | 'TRUNCATED'
  | 'UNKNOWN_OPCODE'
  | 'MISSING_NUL'
  | 'EMPTY_FILENAME'
  | 'NOT_NETASCII'
  | 'BAD_LENGTH'
  | 'BAD_OPTIONS'
  | 'BAD_MAGIC';

/** Malformed input: the only exception a decoder may throw. Counted by `code` at the socket. */
export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    readonly offset: number,
    detail: string,
  ) {
    super(`${code} at byte ${offset}: ${detail}`);
    this.name = 'DecodeError';
  }
}
