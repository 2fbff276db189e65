import type { Clock, TimerHandle } from '../../src/io/ports.js';

/** Deterministic clock: time moves only through advance(), which runs due timers in order.
 *  Deferred callbacks (Clock.defer) run right after the timer that deferred them, as if no packet
 *  were waiting; with `holdDeferred` set they wait for runDeferred(), so a test can deliver the
 *  packets that "arrived meanwhile" first. */
export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private readonly deferred: (() => void)[] = [];
  holdDeferred = false;

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.seq++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { cancel: () => this.timers.delete(id) };
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  pending(): number {
    return this.timers.size;
  }

  deferredCount(): number {
    return this.deferred.length;
  }

  /** Runs the deferred callbacks (and any they defer in turn). */
  runDeferred(): void {
    for (let fn = this.deferred.shift(); fn; fn = this.deferred.shift()) fn();
  }

  /** Moves time forward without running anything: the process was stalled (a GC pause, a
   *  starved host). The timers that fell due fire late, on the next advance(). */
  stall(ms: number): void {
    this.time += ms;
  }

  /** Moves time forward, firing every timer that falls due (including ones set by timers). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      if (!this.holdDeferred) this.runDeferred();
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = end;
  }
}
