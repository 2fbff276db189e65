import { decodeTftp, type TftpPacket } from '../../src/codec/tftp-packet.js';
import type { DatagramHandler, DatagramSocket, PeerAddress } from '../../src/io/ports.js';

export interface SentDatagram {
  readonly data: Buffer;
  readonly to: PeerAddress;
}

/** Records what is sent; `deliver` injects a datagram; `dropNext` loses outgoing datagrams. */
export class FakeSocket implements DatagramSocket {
  readonly sent: SentDatagram[] = [];
  private handler: DatagramHandler | null = null;
  private drops = 0;
  closed = false;

  constructor(private readonly port = 40000) {}

  send(chunks: Buffer | readonly Buffer[], to: PeerAddress): void {
    const data = Buffer.isBuffer(chunks) ? Buffer.from(chunks) : Buffer.concat(chunks as Buffer[]);
    if (this.drops > 0) {
      this.drops--;
      return;
    }
    this.sent.push({ data, to });
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  localPort(): number {
    return this.port;
  }

  close(): void {
    this.closed = true;
  }

  deliver(data: Buffer, from: PeerAddress): void {
    this.handler?.(data, from);
  }

  dropNext(n = 1): void {
    this.drops += n;
  }

  /** Decoded packets sent so far, then forgets them. */
  take(): TftpPacket[] {
    return this.sent.splice(0).map((d) => decodeTftp(d.data));
  }
}

/** Lets pending promise callbacks (async block reads) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
