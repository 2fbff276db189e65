// Flow-control mechanism 1, delayed start (protocols.md 10.1): a new multicast stream does not send
// DATA 1 to the first requester at once. An RFC 2090 session gathers members until `start_delay`
// is over or `min_clients` have joined, and in any case until its master has ACKed the OACK (ACK 0);
// a PXE MTFTP pass holds block 1 for `open_hold` after its opener, so openers arriving together
// all hear the stream from block 1. Members all known deaf to the group (multicast/deafness.ts) are
// served by unicast: nobody can gather on the group, so such a session starts on the master's
// ACK 0. The session state machines ask; they decide nothing here.

export interface GatheringFacts {
  /** `[multicast] min_clients`; 0: only the delay counts. */
  readonly minClients: number;
  /** Members still listening or master. */
  readonly members: number;
  /** `start_delay` is over (or was 0). */
  readonly delayOver: boolean;
  /** The master has ACKed its OACK. */
  readonly masterAnswered: boolean;
  /** Every member is known deaf to the group (served by unicast). */
  readonly allKnownDeaf: boolean;
}

export type StartDecision =
  | { readonly start: false; readonly waitingFor: 'members-or-delay' | 'master-ack' }
  | { readonly start: true; readonly reason: string };

/** Whether an RFC 2090 session in gathering sends DATA 1 now. */
export function decideDelayedStart(facts: GatheringFacts): StartDecision {
  const gathered = facts.minClients > 0 && facts.members >= facts.minClients;
  if (!gathered && !facts.delayOver && !facts.allKnownDeaf) return { start: false, waitingFor: 'members-or-delay' };
  // No ACK 0 from the master yet: wait for it (the master timer bounds the wait).
  if (!facts.masterAnswered) return { start: false, waitingFor: 'master-ack' };
  if (gathered) return { start: true, reason: `min_clients ${facts.minClients} reached` };
  return { start: true, reason: facts.delayOver ? 'start_delay over' : 'every member known deaf' };
}

/** How long a PXE MTFTP pass holds block 1: `open_hold` after a fresh open; a pass for late
 *  openers starts at once (they are listening already, and give up listening soon). */
export function mtftpHoldMs(openHoldMs: number, forLateOpeners: boolean): number {
  return forLateOpeners ? 0 : openHoldMs;
}
