// Flow-control mechanism 1, continued: keeping members alive through a long gathering (a scheduled
// start, WDS style: `start_delay` of minutes with `min_clients`). A waiting client re-sends its last
// packet on its own timer and gives up after a few unanswered tries: atftp every 5 s, aborting at
// the 6th timeout (~30 s), and an OACK resets its count; a master re-sends ACK 0, a listener its
// RRQ. So while a session gathers, a member's ACK that comes long enough after our last OACK to it
// is such a retry, and is answered with its OACK again (never counted as a stray ACK). A repeated
// RRQ is answered as always (multicast-session.ts join): it is never an answer to our OACK.

/** Least time from our last OACK to a member before its next ACK is answered while gathering.
 *  A client answers an OACK at once (an atftp master with ACK 0), so with an interval far above any
 *  round trip an OACK/ACK 0 exchange can never ping-pong at network speed: a master that retries
 *  every T draws one OACK per retry (T ≥ 2 s; atftp: 5 s) or per second retry, which resets its
 *  give-up count either way. 2 s also keeps protocols.md 10.1 T2: repeats of ACK 0 within 1.75 s
 *  of the OACK draw nothing. */
export const GATHERING_KEEPALIVE_MIN_INTERVAL_MS = 2000;

/** Whether a gathering session answers a member's ACK with its OACK again: the last OACK to it
 *  went at `lastOackAt` (-Infinity: never). */
export function answersGatheringRetry(now: number, lastOackAt: number): boolean {
  return now - lastOackAt >= GATHERING_KEEPALIVE_MIN_INTERVAL_MS;
}
