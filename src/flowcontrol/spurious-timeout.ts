// Was a timer-driven resend needed? (Eifel, RFC 3522/4015, and F-RTO, RFC 5682, without TCP's
// timestamps.) A busy server or receiver can hold an ACK longer than the RTO; the resend is then
// spurious, costs a duplicate block, and the timeout must grow instead of staying at the floor.
// Two signs prove it, both judged on the first ACK that covers the resent blocks:
// - it came sooner after the resend was handed to the socket than the path's floor round trip,
//   so it answers the original. Every part of that comparison errs on the cautious side: the send
//   call is the earliest the resend can have left; round trips are measured from the send
//   completion, the latest a block can have left; and the floor is the shortest of several
//   (rtt-estimator.ts), since the first ones carry the client's start-up. (Timed from the
//   completion, which comes a loop turn late, and against the first sample alone, the ACK to a
//   resend of a lost block looked too fast: at 20% loss a tftp-hpa download took such ACKs for
//   proof, tripled its RTO each time up to rto_max, and crawled past its 45 s bound.)
//   Only an ACK of the whole resent range counts: one inside it says the block after it was
//   missing from the originals (atftp sends such an ACK at once on the first duplicate of a window
//   whose tail it lost; taken for proof, it set the RTO to the original's age, doubled the shared
//   floor each time, and slowed 8192 x 16 downloads to 3 s per window);
// - more copies of it arrived than the resent blocks can draw (each resent block draws at most one
//   ACK), so the original's ACK arrived too.
// Either way the original's round trip (its ACK's arrival minus the moment it left) is the delay
// the estimator has to adopt.

export class SpuriousTimeoutCheck {
  private active = false;
  private from = 0;
  private to = 0;
  private resendSentAt: number | null = null;
  private ackIndex: number | null = null;
  private copies = 0;
  private originalRttMs: number | null = null;

  /** The timer resent blocks `from`..`to`. */
  timerResent(from: number, to: number): void {
    this.active = to >= from;
    this.from = from;
    this.to = to;
    this.resendSentAt = null;
    this.ackIndex = null;
    this.copies = 0;
    this.originalRttMs = null;
  }

  /** Block `index` is being handed to the socket; `clock` is read only for the resend judged. */
  sending(index: number, clock: { now(): number }): void {
    if (this.active && index === this.from && this.resendSentAt === null && this.ackIndex === null) this.resendSentAt = clock.now();
  }

  /**
   * An ACK of `index` (the first one or a copy). `originalLeftAt` is when block `index` first left.
   * Returns the original's round trip (ms) when this ACK proves the resend was spurious, `true`
   * when it proves it without a usable round trip, null otherwise.
   */
  ack(index: number, now: number, originalLeftAt: number | undefined, floorRttMs: number | null): number | true | null {
    if (!this.active || index < this.from) return null;
    if (this.ackIndex === null) {
      this.ackIndex = index;
      this.copies = 1;
      this.originalRttMs = originalLeftAt === undefined ? null : now - originalLeftAt;
      const coversResent = index >= this.to;
      if (coversResent && this.resendSentAt !== null && floorRttMs !== null && now - this.resendSentAt < floorRttMs) return this.proven();
      return null;
    }
    if (index !== this.ackIndex) return null; // copies may still come after later progress
    this.copies++;
    if (this.copies > Math.min(this.to, index) - this.from + 1) return this.proven();
    return null;
  }

  private proven(): number | true {
    this.active = false;
    return this.originalRttMs ?? true;
  }
}
