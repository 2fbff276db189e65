// Block numbers past 65535 in an RFC 2090 session (protocols.md 2.10's unicast convention): the
// session counts blocks by absolute index and the wire carries index mod 65536, so 65535 is
// followed by 0. A number a member sends back (a master's ACK, any member's report) names one of
// several indices; it is placed by what is known of that member: it holds at least `floor` (the
// highest index it has acknowledged: what a client holds never shrinks) and at most `ceiling` (the
// highest index that went to it: to the group while it was a member, or to it alone). The number
// is the latest index up to `ceiling` with its low 16 bits, as for unicast; when two such indices
// lie within the bounds it is not placed at all (null): never guessed, because sending the wrong
// block under the number the client expects corrupts its copy.

export const WIRE_SPAN = 0x10000;

/** The 16-bit block number index `index` travels as. */
export function wireBlock(index: number): number {
  return index % WIRE_SPAN;
}

/** Does a session of `finalIndex` blocks send block numbers past 65535? */
export function wraps(finalIndex: number): boolean {
  return finalIndex >= WIRE_SPAN;
}

/** What the session knows of one member's position (absolute indices). */
export interface KnownPosition {
  /** Highest index it has acknowledged (0: none). */
  floor: number;
  /** Highest index that was sent where it could receive it (0: none). */
  ceiling: number;
}

export function startPosition(): KnownPosition {
  return { floor: 0, ceiling: 0 };
}

/**
 * The absolute index a member's 16-bit `wire` number stands for: the latest index at most
 * `ceiling` with those low bits (the unicast convention; a late copy of an older ACK lands behind
 * `floor`), or null when a second index with those bits also lies in [floor, ceiling] (not
 * certain, never guessed) or no index that has reached the member carries them.
 */
export function placeReport(wire: number, known: KnownPosition): number | null {
  const latest = known.ceiling - (((known.ceiling - wire) % WIRE_SPAN) + WIRE_SPAN) % WIRE_SPAN;
  if (latest < 0) return null;
  if (latest - WIRE_SPAN >= known.floor) return null;
  return latest;
}

/** A report placed at `index`: what the member holds is at least that. */
export function noteAcknowledged(known: KnownPosition, index: number): void {
  known.floor = Math.max(known.floor, index);
}

/** Block `index` went where the member could receive it. */
export function noteReached(known: KnownPosition, index: number): void {
  known.ceiling = Math.max(known.ceiling, index);
}

/**
 * A master that has never acknowledged a block past a wrap, was sent one, and asks again for the
 * block before it with a copy our own sends do not explain, did not take the block: it cannot
 * follow the wrap. atftp 0.8 in multicast answers DATA 0 after 65535 so (tftp_file.c reads the
 * multicast block number with a bare ntohs, "got wrong block", one extra ACK of 65535) and never
 * writes it; as a listener it would write block 0 at offset -blksize and abort, or write block
 * 65537 over block 1. The session therefore sends wrapped blocks to the group only once every
 * live member has shown that it follows (groupMayCarry) and asks each master alone first.
 */
export function cannotFollowWrap(facts: { readonly followsWrap: boolean; readonly askedAgain: number; readonly unexplainedCopy: boolean }): boolean {
  return !facts.followsWrap && facts.askedAgain >= WIRE_SPAN && facts.unexplainedCopy;
}

/** Block `index` may go to the group only when it does not wrap, or every live member follows a wrap. */
export function groupMayCarry(index: number, everyMemberFollowsWrap: boolean): boolean {
  return index < WIRE_SPAN || everyMemberFollowsWrap;
}
