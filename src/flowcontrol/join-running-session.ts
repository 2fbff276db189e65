// Flow-control mechanism 2, join a running session (RFC 2090 10.2, protocols.md 10.2): a request
// for a file already being multicast joins that stream instead of starting another; the joiner
// hears the rest of the stream and gets its head when it is master. For PXE MTFTP, an open during
// a pass's hold simply hears everything; an open while a pass is sending waits for the next pass,
// which covers what it missed. The state machines ask; they decide nothing here.

export interface RunningSession {
  /** The session serves the very file version asked for (same file identity). */
  readonly sameFile: boolean;
  readonly closed: boolean;
  /** Members still listening or master. */
  readonly members: number;
  /** `[multicast] max_clients`. */
  readonly maxClients: number;
  readonly blksize: number;
}

/** Whether an RFC 2090 request (asking `requestedBlksize`, 512 when absent) joins `session`. */
export function decideJoin(session: RunningSession, requestedBlksize: number | undefined): boolean {
  if (!session.sameFile || session.closed) return false;
  if (session.members >= session.maxClients) return false;
  // Never a larger block than the joiner asked for (J2): it could not receive it.
  return session.blksize <= (requestedBlksize ?? 512);
}

export type MtftpPassState = 'idle' | 'opening' | 'holding' | 'sending';

export type MtftpOpenDecision =
  /** No pass runs: this opener is the master of a new one. */
  | 'start-pass'
  /** The pass has not sent block 1 yet: the opener hears the whole stream (a master's repeat is absorbed). */
  | 'hears-whole-pass'
  /** The master opens again before block 1 got through: resend block 1 (block 1 may be lost). */
  | 'resend-first-block'
  /** The master's repeat later on: nothing to do. */
  | 'ignore'
  /** Another client while a pass is sending: it collects what it can and gets a pass of its own after. */
  | 'next-pass';

export function decideMtftpOpen(state: MtftpPassState, fromMaster: boolean, blockInFlight: number): MtftpOpenDecision {
  if (state === 'idle') return 'start-pass';
  if (state === 'opening' || state === 'holding') return 'hears-whole-pass';
  if (fromMaster) return blockInFlight <= 1 ? 'resend-first-block' : 'ignore';
  return 'next-pass';
}
