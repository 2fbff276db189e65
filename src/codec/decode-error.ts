export type DecodeErrorCode =
  | 'TRUNCATED'
  | 'UNKNOWN_OPCODE'
  | 'MISSING_NUL'
  | 'EMPTY_FILENAME'
  | 'NOT_NETASCII'
  | 'BAD_LENGTH'
  | 'BAD_OPTIONS'
  | 'BAD_MAGIC'
  /** DHCPv6: relay messages nested deeper than RFC 8415's largest hop-count limit (32). */
  | 'RELAY_TOO_DEEP';

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
