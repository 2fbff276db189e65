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
// blocks, not one lost packet. Pure: the caller owns the timer and says when a window is over.

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
}): PaceVerdict {
  if (!e.othersWaiting || !policyEnabled(e.policy)) return NOT_SLOW;
  const pace = e.paceMbps;
  const shown = Math.round(pace * 100) / 100;
  if (e.policy.absoluteMbps > 0 && pace < e.policy.absoluteMbps) {
    return { slow: true, paceMbps: pace, why: `${shown} Mbit/s over ${e.policy.windowMs} ms, under slow_rate ${e.policy.absoluteMbps} Mbit/s` };
  }
  const med = median(e.othersMbps);
  if (e.policy.sharePercent > 0 && med !== null && pace < (med * e.policy.sharePercent) / 100) {
    return { slow: true, paceMbps: pace, why: `${shown} Mbit/s over ${e.policy.windowMs} ms, under ${e.policy.sharePercent}% of the session median ${Math.round(med * 100) / 100} Mbit/s` };
  }
  return NOT_SLOW;
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
    const othersMbps: number[] = [];
    for (const [k, m] of this.measured) {
      if (k !== member && m.blocks >= MIN_MEASURED_BLOCKS) othersMbps.push(paceMbps(m.blocks, this.blksize, m.ms));
    }
    this.windowFrom = now;
    this.windowBlocks = 0;
    return judgePace({ policy: this.policy, paceMbps: pace, othersMbps, othersWaiting });
  }
}
