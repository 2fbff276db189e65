// Flow-control mechanism 4, rate reduction (protocols.md 10.4): a multicast stream's sending rate
// is AIMD. Each congestion signal halves it (never below `min_rate`); every CLEAN_BLOCKS blocks
// without one give a sixteenth of `max_rate` back (never above it). The signals, all judged by the
// stream or session that sees them: a retransmission timeout, a block the master re-requests
// beyond what our own resends explain (ack-accounting.ts), a master passed over for silence.

export type CongestionSignal = 'retransmission-timeout' | 're-requested-block' | 'master-passed-over';

export interface RateState {
  readonly mbps: number;
  /** Blocks since the last congestion signal or increase. */
  readonly clean: number;
}

export interface RateBounds {
  readonly floorMbps: number;
  readonly ceilingMbps: number;
}

export type RateEvent = { readonly congestion: CongestionSignal } | { readonly progressBlocks: number };

export const CLEAN_BLOCKS = 16;

/** The rate after `event`. */
export function decideRate(state: RateState, event: RateEvent, bounds: RateBounds): RateState {
  if ('congestion' in event) return { mbps: Math.max(bounds.floorMbps, state.mbps / 2), clean: 0 };
  let { mbps, clean } = state;
  clean += event.progressBlocks;
  while (clean >= CLEAN_BLOCKS) {
    clean -= CLEAN_BLOCKS;
    mbps = Math.min(bounds.ceilingMbps, mbps + bounds.ceilingMbps / 16);
  }
  return { mbps, clean };
}

/** A stream's rate: the state decideRate moves, and how many congestion signals it has seen. */
export class AimdRate {
  static readonly CLEAN_BLOCKS = CLEAN_BLOCKS;
  private state: RateState;
  private readonly bounds: RateBounds;
  congestionEvents = 0;

  constructor(rate: number, floor: number, ceiling: number) {
    this.state = { mbps: rate, clean: 0 };
    this.bounds = { floorMbps: floor, ceilingMbps: ceiling };
  }

  get mbps(): number {
    return this.state.mbps;
  }

  congestion(signal: CongestionSignal): void {
    this.congestionEvents++;
    this.state = decideRate(this.state, { congestion: signal }, this.bounds);
  }

  progress(blocks = 1): void {
    this.state = decideRate(this.state, { progressBlocks: blocks }, this.bounds);
  }
}
