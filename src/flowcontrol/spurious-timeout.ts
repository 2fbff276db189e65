// Was a timer-driven resend needed? (Eifel, RFC 3522/4015, and F-RTO, RFC 5682, without TCP's
// timestamps.) A busy server or receiver can hold an ACK longer than the RTO; the resend is then
// spurious, costs a duplicate block, and the timeout must grow instead of staying at the floor.
// Two signs prove it, both judged on the first ACK that covers the resent blocks:
// - it came sooner after the resend really left than any round trip this transfer has measured,
//   so it answers the original; only an ACK of the whole resent range counts: one inside it says
//   the block after it was missing from the originals (atftp sends such an ACK at once on the first
//   duplicate of a window whose tail it lost; taken for proof, it set the RTO to the original's
//   age, doubled the shared floor each time, and slowed 8192 x 16 downloads to 3 s per window);
// - more copies of it arrived than the resent blocks can draw (each resent block draws at most one
//   ACK), so the original's ACK arrived too.
// Either way the original's round trip (its ACK's arrival minus the moment it left) is the delay
// the estimator has to adopt.

export class SpuriousTimeoutCheck {
  private active = false;
  private from = 0;
  private to = 0;
  private resendLeftAt: number | null = null;
  private ackIndex: number | null = null;
  private copies = 0;
  private originalRttMs: number | null = null;

  /** The timer resent blocks `from`..`to`. */
  timerResent(from: number, to: number): void {
    this.active = to >= from;
    this.from = from;
    this.to = to;
    this.resendLeftAt = null;
    this.ackIndex = null;
    this.copies = 0;
    this.originalRttMs = null;
  }

  /** A datagram for block `index` left the process at `at`. */
  left(index: number, at: number): void {
    if (this.active && index === this.from && this.resendLeftAt === null && this.ackIndex === null) this.resendLeftAt = at;
  }

  /**
   * An ACK of `index` (the first one or a copy). `originalLeftAt` is when block `index` first left.
   * Returns the original's round trip (ms) when this ACK proves the resend was spurious, `true`
   * when it proves it without a usable round trip, null otherwise.
   */
  ack(index: number, now: number, originalLeftAt: number | undefined, minRttMs: number | null): number | true | null {
    if (!this.active || index < this.from) return null;
    if (this.ackIndex === null) {
      this.ackIndex = index;
      this.copies = 1;
      this.originalRttMs = originalLeftAt === undefined ? null : now - originalLeftAt;
      const coversResent = index >= this.to;
      if (coversResent && this.resendLeftAt !== null && minRttMs !== null && now - this.resendLeftAt < minRttMs) return this.proven();
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
