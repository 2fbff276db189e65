// When a multicast master is taken to be deaf to the group (it cannot receive group DATA: IGMP
// snooping without a querier, a wrong interface, or iPXE's tftm://, protocols.md 13.4), so the
// stream serves it by unicast from the session port. One pure decision, two kinds of evidence:
// - its opening ACK repeated after the turn's first block went only to the group: a master that
//   hears the group acknowledges that block within one round trip, while iPXE re-sends ACK 0 on
//   its own 0.25 s, 0.5 s, 1 s ... back-off. The first such copy that our own sends do not
//   explain, and that came late enough not to have crossed the block in flight (twice the
//   smallest round trip measured, and never sooner than `rto_min`: a hearing atftp master was
//   judged deaf on a copy logged "0 ms" after DATA 1, against a sub-millisecond RTT), decides;
// - `deaf_after` group sends of one block without an acknowledgement (the slow path, for
//   clients that re-ask on a timer longer than ours).
// A master that has acknowledged a block that reached it only through the group is never deaf.

export interface ReAskEvidence {
  /** Already served by unicast. */
  readonly unicast: boolean;
  /** It has acknowledged a block that reached it only through the group. */
  readonly heardGroup: boolean;
  /** The block asked for again is the first one of this master's turn (ACK 0 again after DATA 1). */
  readonly openingBlock: boolean;
  /** The block also went to the master by unicast (PXE MTFTP's block 1): a re-ask proves nothing. */
  readonly alsoUnicast: boolean;
  /** Times the block went to the group during this turn. */
  readonly groupSends: number;
  /** A copy of the master's ACK that our own sends do not explain (false: our own timer fired). */
  readonly unexplainedReAsk: boolean;
  /** Since the block first went to the group, and how long a copy that crossed it can take. */
  readonly sinceFirstSendMs: number;
  readonly crossingMs: number;
  /** `[multicast] deaf_after`. */
  readonly deafAfter: number;
}

export type DeafVerdict = { readonly deaf: false } | { readonly deaf: true; readonly why: string };

const HEARS: DeafVerdict = { deaf: false };

export function judgeReAsk(e: ReAskEvidence): DeafVerdict {
  if (e.unicast || e.heardGroup || e.alsoUnicast || e.groupSends === 0) return HEARS;
  if (e.openingBlock && e.unexplainedReAsk && e.sinceFirstSendMs >= e.crossingMs) {
    return { deaf: true, why: `opening ACK repeated ${Math.round(e.sinceFirstSendMs)} ms after the first block went to the group` };
  }
  if (e.groupSends >= e.deafAfter) return { deaf: true, why: `no acknowledgement after ${e.groupSends} group sends of one block` };
  return HEARS;
}
