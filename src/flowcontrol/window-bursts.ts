// How a unicast window goes to the socket: in sub-bursts small enough for a receiver's socket
// buffer, one timer tick apart, so the receiver drains one before the next arrives.
//
// A whole window sent back to back lands in the receiver's buffer faster than it reads: at
// blksize 8192 x windowsize 16 (128 KiB) a Linux receiver with the default 212,992-byte SO_RCVBUF
// (atftp, tftp-hpa) drops the window's tail, because the kernel charges each datagram the memory
// it allocated for it, about twice its size on loopback. A dropped tail costs a retransmission
// timeout and the window again. The window itself stays the negotiated one: RFC 7440 receivers
// ACK only a full window, so sending less would stall them until their own timeout.
//
// The split starts with a window expiry (what a dropped tail looks like to us) and lasts until
// SPLIT_WINDOWS windows in a row were acknowledged without one; then whole windows are tried
// again. A 1 ms gap per window caps a transfer at about 60 MB/s at 8192 x 16, while a receiver
// that keeps up (a quiet host, a bigger buffer) takes whole windows faster, and one that does
// not costs one expiry per SPLIT_WINDOWS windows. Only windows of more than SUB_BURST_BYTES are
// split (at blksize 8192, windowsize > 8); smaller ones always leave in one burst.

/** DATA payload one sub-burst carries before the pump waits: 64 KiB of datagrams take about 130
 *  KiB of a 208 KiB receive buffer, leaving room for what the receiver has not read yet. */
export const SUB_BURST_BYTES = 64 * 1024;

/** The wait between sub-bursts: one timer tick (Node's shortest timer). A poll turn
 *  (setImmediate) instead is microseconds on an idle loop: with it atftp still dropped blocks and
 *  4 of 5 of its downloads stalled past 30 s (docs/benchmarks.md). */
export const SUB_BURST_GAP_MS = 1;

/** Windows acknowledged in a row, without an expiry, after which whole windows are tried again. */
export const SPLIT_WINDOWS = 32;

/** Counts the payload of the sub-burst under way; `full` says the pump must wait now. */
export class WindowBursts {
  private bytes = 0;
  /** Windows still to split (0: whole windows). */
  private splitLeft = 0;

  /** A window expired unacknowledged: its tail may have overflowed the receiver's buffer. */
  windowExpired(): void {
    this.splitLeft = SPLIT_WINDOWS;
  }

  /** The receiver acknowledged new blocks (a window, or part of one). */
  acknowledged(): void {
    if (this.splitLeft > 0) this.splitLeft--;
  }

  add(payloadBytes: number): void {
    this.bytes += payloadBytes;
  }

  get full(): boolean {
    return this.splitLeft > 0 && this.bytes >= SUB_BURST_BYTES;
  }

  /** A new sub-burst starts (after the gap, or when the pump stops with the window sent). */
  reset(): void {
    this.bytes = 0;
  }
}
