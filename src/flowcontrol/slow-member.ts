// Flow-control rule: a slow member leaves the group (WDS's auto-disconnect and multistream). In
// RFC 2090 only the master acknowledges, so a member's pace is known only while it drives the
// stream: its pace is the file data its turn moved forward, that is the blocks it acknowledged
// right after we sent them (the group's new data, what every listener waits on), per unit of time.
// Listeners say nothing (atftp and iPXE stay silent after `mc=0`), and a slow one shows when it
// becomes master: the oldest member from the start, or later, asking for the many blocks it lost.
//
// A master whose pace, over one whole window of `slow_after` in its turn, stays under `slow_rate`
// (absolute), or under `slow_share` percent of the median pace of the session's other members (as
// they showed it in their own turns), while another member waits on the group, is too slow for it:
// the session moves it out (it finishes by unicast from the session port, at its own pace) and the
// next member drives the group. One window is enough evidence: a window is seconds of lock-step
// blocks, not one lost packet. A member whose recorded pace already proves it too slow is moved
// out as soon as it answers when made master again (it asks for what it missed from where it is),
// without dragging the group through one more window.
//
// The probe turn: `slow_share` needs a reference, and when the first master keeps the role to the
// end nobody else is ever measured, so a slow first master sets the whole group's pace unjudged.
// So when a window of a master's turn ends, other members wait on the group, no other member has a
// measured pace, and the session has not probed yet, the role goes to a waiting member (the next
// master in line that hears the group) for at least one window: its pace is the reference. It then
// keeps the role like any master (judged window by window: a slow one is moved out and the role
// goes back in line); the former master, a listener now, is judged by its record when it becomes
// master again. At most one probe per session; costs two OACKs (`mc=0` to the former master,
// `mc=1` to the probe), no DATA: the switch happens on the master's ACK, between two blocks.
//
// Pure: the caller owns the timer and says when a window is over.

export interface SlowMemberPolicy {
  /** `[multicast] slow_rate`, Mbit/s; 0: no absolute threshold. */
  readonly absoluteMbps: number;
  /** `[multicast] slow_share`, percent of the median of the other members' pace; 0: off. */
  readonly sharePercent: number;
  /** `[multicast] slow_after`: the window a pace is measured over. */
  readonly windowMs: number;
}

/** Fewest blocks a member's turns must have moved for its pace to count in the session median:
 *  a member that only asks for its last few blocks says nothing about its pace. */
export const MIN_MEASURED_BLOCKS = 64;

export type PaceVerdict = { readonly slow: false } | { readonly slow: true; readonly paceMbps: number; readonly why: string };

/** What the session does when a window of a master's turn is over. */
export type WindowDecision =
  | { readonly action: 'keep' }
  | { readonly action: 'move-out'; readonly why: string }
  /** Hand the role to the next waiting member at the master's next ACK (the probe turn). */
  | { readonly action: 'probe' };

const NOT_SLOW: PaceVerdict = { slow: false };

export function policyEnabled(p: SlowMemberPolicy): boolean {
  return p.windowMs > 0 && (p.absoluteMbps > 0 || p.sharePercent > 0);
}

/** Mbit/s of `blocks` blocks of `blksize` bytes in `ms` milliseconds. */
export function paceMbps(blocks: number, blksize: number, ms: number): number {
  return ms > 0 ? (blocks * blksize * 8) / ms / 1000 : Infinity;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The rule itself: one window of a master's turn. */
export function judgePace(e: {
  readonly policy: SlowMemberPolicy;
  readonly paceMbps: number;
  /** Pace of the session's other measured members (their turns). */
  readonly othersMbps: readonly number[];
  /** Some other member is waiting on the group (nobody else: nobody is dragged). */
  readonly othersWaiting: boolean;
  /** What the pace was measured over, for the log (default: one window). */
  readonly over?: string;
}): PaceVerdict {
  if (!e.othersWaiting || !policyEnabled(e.policy)) return NOT_SLOW;
  const pace = e.paceMbps;
  const shown = Math.round(pace * 100) / 100;
  const over = e.over ?? `${e.policy.windowMs} ms`;
  if (e.policy.absoluteMbps > 0 && pace < e.policy.absoluteMbps) {
    return { slow: true, paceMbps: pace, why: `${shown} Mbit/s over ${over}, under slow_rate ${e.policy.absoluteMbps} Mbit/s` };
  }
  const med = median(e.othersMbps);
  if (e.policy.sharePercent > 0 && med !== null && pace < (med * e.policy.sharePercent) / 100) {
    return { slow: true, paceMbps: pace, why: `${shown} Mbit/s over ${over}, under ${e.policy.sharePercent}% of the session median ${Math.round(med * 100) / 100} Mbit/s` };
  }
  return NOT_SLOW;
}

/** The rule at the end of a window: a slow master moves out; an unjudged one (slow_share has no
 *  reference yet) hands the role over once for a probe turn; otherwise it keeps the role. */
export function decideWindowEnd(e: {
  readonly policy: SlowMemberPolicy;
  readonly verdict: PaceVerdict;
  readonly othersWaiting: boolean;
  /** Some other member has a measured pace (a reference for slow_share). */
  readonly othersMeasured: boolean;
  /** The session has already decided its one probe. */
  readonly probed: boolean;
  /** A waiting member could take the role (it hears the group). */
  readonly probeCandidate: boolean;
}): WindowDecision {
  if (e.verdict.slow) return { action: 'move-out', why: e.verdict.why };
  const unjudged = policyEnabled(e.policy) && e.policy.sharePercent > 0 && !e.othersMeasured;
  if (unjudged && e.othersWaiting && e.probeCandidate && !e.probed) return { action: 'probe' };
  return { action: 'keep' };
}

/**
 * One session's pace accounting: the current master's window and turn, and what each member's
 * turns showed. Times are the caller's clock readings.
 */
export class PaceWatch<K> {
  private windowFrom = 0;
  private windowBlocks = 0;
  private turnFrom = 0;
  private turnBlocks = 0;
  private readonly measured = new Map<K, { blocks: number; ms: number }>();
  private probed = false;

  constructor(
    private readonly policy: SlowMemberPolicy,
    private readonly blksize: number,
  ) {}

  get enabled(): boolean {
    return policyEnabled(this.policy);
  }

  get windowMs(): number {
    return this.policy.windowMs;
  }

  /** A master's turn starts moving data (it was made master while sending, or sending began). */
  beginTurn(now: number): void {
    this.windowFrom = this.turnFrom = now;
    this.windowBlocks = this.turnBlocks = 0;
  }

  /** The master acknowledged the block we had just sent it: the group moved one block. */
  delivered(): void {
    this.windowBlocks++;
    this.turnBlocks++;
  }

  /** The turn of `member` ends (finished, passed over, moved out): its pace joins its record. */
  endTurn(member: K, now: number): void {
    if (this.turnBlocks === 0) return;
    const m = this.measured.get(member) ?? { blocks: 0, ms: 0 };
    m.blocks += this.turnBlocks;
    m.ms += now - this.turnFrom;
    this.measured.set(member, m);
    this.turnBlocks = 0;
    this.turnFrom = now;
  }

  /** A window of `member`'s turn is over: the verdict, and the next window starts. */
  judge(member: K, now: number, othersWaiting: boolean): PaceVerdict {
    const pace = paceMbps(this.windowBlocks, this.blksize, now - this.windowFrom);
    this.windowFrom = now;
    this.windowBlocks = 0;
    return judgePace({ policy: this.policy, paceMbps: pace, othersMbps: this.othersMbps(member), othersWaiting });
  }

  /** A window of `member`'s turn is over: what the session does (decideWindowEnd); a probe
   *  decided here is the session's only one. */
  windowOver(member: K, now: number, e: { readonly othersWaiting: boolean; readonly probeCandidate: boolean }): WindowDecision {
    const verdict = this.judge(member, now, e.othersWaiting);
    const decision = decideWindowEnd({
      policy: this.policy,
      verdict,
      othersWaiting: e.othersWaiting,
      othersMeasured: this.othersMbps(member).length > 0,
      probed: this.probed,
      probeCandidate: e.probeCandidate,
    });
    if (decision.action === 'probe') this.probed = true;
    return decision;
  }

  /** `member` answers as master again: its record of earlier turns judged at once, so that one
   *  already proven too slow does not drag the group through another window. */
  judgeRecord(member: K, othersWaiting: boolean): PaceVerdict {
    const m = this.measured.get(member);
    if (m === undefined || m.blocks < MIN_MEASURED_BLOCKS) return NOT_SLOW;
    const over = `its earlier turns (${m.blocks} blocks in ${Math.round(m.ms)} ms)`;
    return judgePace({ policy: this.policy, paceMbps: paceMbps(m.blocks, this.blksize, m.ms), othersMbps: this.othersMbps(member), othersWaiting, over });
  }

  /** Paces of the measured members other than `member`. */
  private othersMbps(member: K): number[] {
    const out: number[] = [];
    for (const [k, m] of this.measured) {
      if (k !== member && m.blocks >= MIN_MEASURED_BLOCKS) out.push(paceMbps(m.blocks, this.blksize, m.ms));
    }
    return out;
  }
}
