// A retransmission-style timer for hot paths. Re-arming only moves a deadline; the clock timer
// underneath is replaced only when the new deadline is earlier than the scheduled wake-up, and a
// wake-up that comes early re-arms for the rest. A lock-step transfer therefore does not create
// and cancel a clock timer for every block.
//
// Expiry waits one poll turn (Clock.defer): Node runs due timers before it reads the sockets, so
// after any stall longer than the timeout a timer would fire before an ACK already waiting in the
// socket buffer is read. Deferring lets that ACK re-arm or disarm the timer first; the deadline is
// checked again before the owner hears of it.
//
// A timer that fires later than its own duration (the process did not run: a GC pause, a loop
// turn serving hundreds of sockets, the host starved of CPU) gives the peer one more duration
// first: time we could not run is not time the peer had to answer, and it was probably as
// starved as we were.
import type { Clock, TimerHandle } from '../io/ports.js';

export class LazyTimer {
  private deadline: number | null = null;
  private wakeAt = Infinity;
  private timer: TimerHandle | null = null;
  private armedMs = 0;
  private graceGiven = false;

  constructor(
    private readonly clock: Clock,
    private readonly onExpire: () => void,
  ) {}

  get armed(): boolean {
    return this.deadline !== null;
  }

  /** Expire `ms` from now (replacing any earlier arming); `now` saves a clock read when the
   *  caller has just taken one. */
  arm(ms: number, now = this.clock.now()): void {
    this.armedMs = ms;
    this.graceGiven = false;
    this.deadline = now + ms;
    if (this.deadline < this.wakeAt) this.schedule(ms);
  }

  disarm(): void {
    this.deadline = null;
  }

  /** Disarms and releases the clock timer (at the end of a session). */
  stop(): void {
    this.deadline = null;
    this.wakeAt = Infinity;
    this.timer?.cancel();
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.wakeAt = this.clock.now() + ms;
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = null;
      this.wakeAt = Infinity;
      if (this.deadline === null) return;
      const left = this.deadline - this.clock.now();
      if (left > 0) this.schedule(left);
      else if (-left > this.armedMs && !this.graceGiven) {
        this.graceGiven = true; // we were stalled longer than the wait: wait once more
        this.deadline = this.clock.now() + this.armedMs;
        this.schedule(this.armedMs);
      } else this.clock.defer(() => this.expireIfStillDue());
    });
  }

  private expireIfStillDue(): void {
    if (this.deadline === null) return; // disarmed by what was read meanwhile
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      if (this.timer === null) this.schedule(left); // re-armed meanwhile: wait for the new deadline
      return;
    }
    this.deadline = null;
    this.onExpire();
  }
}
