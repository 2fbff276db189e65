// Which requested options the server grants, and with which values. RFC 2347: echo only what was
// asked for; an option left out of the OACK counts as never requested; no options granted means a
// plain RFC 1350 answer (no OACK at all).
import type { RequestedOptions } from '../codec/tftp-options.js';
import type { TftpOption } from '../codec/tftp-packet.js';

export const DEFAULT_BLKSIZE = 512;
export const RFC2348_MAX_BLKSIZE = 65464;
export const MIN_BLKSIZE = 8;

export interface NegotiationLimits {
  readonly maxBlksize: number;
  readonly maxWindowsize: number;
}

export interface GrantedOptions {
  readonly blksize: number;
  readonly windowsize: number;
  /** Seconds; the retransmission timer never exceeds it. null when not negotiated. */
  readonly timeoutS: number | null;
  /** The OACK to send first, or null for a plain RFC 1350 transfer. */
  readonly oack: readonly TftpOption[] | null;
  /** Requested-but-refused options with the reason, for the log. */
  readonly refused: readonly string[];
}

export interface NegotiationInput {
  readonly requested: RequestedOptions;
  readonly limits: NegotiationLimits;
  /** Size in bytes to report for `tsize` on a read; null when unknown (netascii). */
  readonly readSize: number | null;
  readonly isWrite: boolean;
}

export function negotiateOptions({ requested, limits, readSize, isWrite }: NegotiationInput): GrantedOptions {
  const oack: TftpOption[] = [];
  const refused: string[] = [];
  let blksize = DEFAULT_BLKSIZE;
  let windowsize = 1;
  let timeoutS: number | null = null;

  if (requested.blksize !== undefined) {
    // Below 8 is meaningless: omit (the transfer uses 512). Above the cap: offer the cap, which
    // RFC 2348 allows ("any value <= requested").
    if (requested.blksize < MIN_BLKSIZE) refused.push(`blksize ${requested.blksize} < ${MIN_BLKSIZE}`);
    else {
      blksize = Math.min(requested.blksize, limits.maxBlksize, RFC2348_MAX_BLKSIZE);
      oack.push({ name: 'blksize', value: String(blksize) });
    }
  }
  if (requested.tsize !== undefined) {
    if (isWrite) oack.push({ name: 'tsize', value: String(requested.tsize) });
    else if (readSize !== null) oack.push({ name: 'tsize', value: String(readSize) });
    else refused.push('tsize: size unknown in netascii mode');
  }
  if (requested.timeout !== undefined) {
    // RFC 2349: echo exactly or omit.
    if (requested.timeout >= 1 && requested.timeout <= 255) {
      timeoutS = requested.timeout;
      oack.push({ name: 'timeout', value: String(timeoutS) });
    } else refused.push(`timeout ${requested.timeout} outside 1..255`);
  }
  if (requested.windowsize !== undefined) {
    if (isWrite) refused.push('windowsize: not supported for uploads');
    else if (requested.windowsize >= 1 && requested.windowsize <= 65535) {
      windowsize = Math.min(requested.windowsize, limits.maxWindowsize);
      oack.push({ name: 'windowsize', value: String(windowsize) });
    } else refused.push(`windowsize ${requested.windowsize} outside 1..65535`);
  }
  return { blksize, windowsize, timeoutS, oack: oack.length > 0 ? oack : null, refused };
}

/** The options of an RFC 2090 member's OACK besides `multicast`: only what it asked for (RFC
 *  2347), in its order, with the session's values (one block size and one timer for all). */
export function grantMemberOptions(
  requested: RequestedOptions,
  order: readonly string[],
  session: { readonly blksize: number; readonly fileSize: number; readonly timeoutS: number | null },
): TftpOption[] {
  const granted: TftpOption[] = [];
  for (const name of order) {
    if (name === 'blksize' && requested.blksize !== undefined) granted.push({ name, value: String(session.blksize) });
    if (name === 'tsize' && requested.tsize !== undefined) granted.push({ name, value: String(session.fileSize) });
    // RFC 2349 allows only "as asked" or "omitted", and the session has one timer for all.
    if (name === 'timeout' && requested.timeout !== undefined && requested.timeout === session.timeoutS) {
      granted.push({ name, value: String(session.timeoutS) });
    }
  }
  return granted;
}
