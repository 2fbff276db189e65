// DATA headers (opcode 3 and the 16-bit block number) for one transfer, reused. A header goes out
// as the first chunk of a [header, payload] datagram; the socket may still hold it after send()
// returns, so the transfer gives it back only once that datagram has left. A lock-step transfer
// then reuses one header for the whole file, a windowed one about a window's worth.
import { OPCODES } from '../codec/tftp-packet.js';

export class DataHeaders {
  private readonly free: Buffer[] = [];

  /** A header for block `index` (the wire carries index & 0xffff), not shared with any datagram
   *  still on its way. */
  take(index: number): Buffer {
    const header = this.free.pop() ?? Buffer.alloc(4);
    header[0] = 0;
    header[1] = OPCODES.DATA;
    header[2] = (index >> 8) & 0xff;
    header[3] = index & 0xff;
    return header;
  }

  /** The datagram that carried `header` has left: it may be rewritten. */
  give(header: Buffer): void {
    this.free.push(header);
  }
}
