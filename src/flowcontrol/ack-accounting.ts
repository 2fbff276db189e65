// Which duplicate ACKs prove loss (RFC 1123 4.2.3.1 with atftp's Nadvornik heuristic,
// protocols.md 10.5 b; RFC 7440 4 for windows). Every extra copy of a block we send can draw one
// ACK of whatever the receiver holds by then: lock-step clients answer a duplicate block with an
// extra ACK of it, and EDK2 re-ACKs every duplicate block of a resent window with its highest
// block. So when the peer first ACKs `index`, each retransmission of the blocks that ACK covers
// explains one more copy of it, and those copies must not make us send again (Sorcerer's
// Apprentice). One copy more than that means the peer re-ACKed on its own timer: the block after
// `index` was lost, and it may be resent once, never once per duplicate.

export class AckAccounting {
  private readonly sends = new Map<number, number>();
  private acked = -1;
  private copies = 0;
  /** Copies of ACK `acked` our own sends can explain (the first one included). */
  private explained = 0;
  private resentFor = -1;

  /** Counts one transmission of `index` (index 0 stands for an OACK). */
  sent(index: number): number {
    const count = (this.sends.get(index) ?? 0) + 1;
    this.sends.set(index, count);
    return count;
  }

  sendsOf(index: number): number {
    return this.sends.get(index) ?? 0;
  }

  /** The peer acknowledged `index` for the first time; older send counts are no longer needed. */
  advance(index: number): void {
    let explained = 1;
    for (const [k, count] of this.sends) {
      if (k > this.acked && k <= index) explained += count - 1;
      if (k < index) this.sends.delete(k);
    }
    this.acked = index;
    this.copies = 1;
    this.explained = explained;
  }

  /** Another copy of the ACK for the current `index`: true when it proves the next block was lost
   *  and that block has not had its one ACK-triggered resend yet (the caller then resends it). */
  duplicateProvesLoss(index: number): boolean {
    if (index !== this.acked) return false;
    this.copies++;
    if (this.copies <= this.explained) return false;
    if (this.resentFor === index + 1) return false;
    this.resentFor = index + 1;
    return true;
  }

  /** The copies of ACK `index` counted so far are more than our own sends explain: the peer
   *  re-sent it on its own timer (evidence about what it received, whether or not it resends). */
  unexplainedCopy(index: number): boolean {
    return index === this.acked && this.copies > this.explained;
  }

  /** A window restart already resent `index`: later duplicates must not resend it again. */
  resentOnAck(index: number): void {
    this.resentFor = index;
  }

  /** Forget everything (a multicast session changing master). */
  reset(): void {
    this.sends.clear();
    this.acked = -1;
    this.copies = 0;
    this.explained = 0;
    this.resentFor = -1;
  }
}
