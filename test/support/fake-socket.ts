import { decodeTftp, type TftpPacket } from '../../src/codec/tftp-packet.js';
import type { DatagramHandler, DatagramSocket, PeerAddress, SocketFactory, SocketOptions } from '../../src/io/ports.js';

export interface SentDatagram {
  readonly data: Buffer;
  readonly to: PeerAddress;
}

/** Records what is sent; `deliver` injects a datagram; `dropNext` loses outgoing datagrams.
 *  Send completions run at once, or with `holdCompletions` set only on completeSends() (a datagram
 *  queued in the process before it leaves). */
export class FakeSocket implements DatagramSocket {
  readonly sent: SentDatagram[] = [];
  private handler: DatagramHandler | null = null;
  private drops = 0;
  private readonly completions: (() => void)[] = [];
  holdCompletions = false;
  closed = false;

  constructor(private readonly port = 40000) {}

  send(chunks: Buffer | readonly Buffer[], to: PeerAddress, onSent?: () => void): void {
    const data = Buffer.isBuffer(chunks) ? Buffer.from(chunks) : Buffer.concat(chunks as Buffer[]);
    if (this.drops > 0) this.drops--; // lost on the path, after it left
    else this.sent.push({ data, to });
    if (onSent) {
      if (this.holdCompletions) this.completions.push(onSent);
      else onSent();
    }
  }

  /** Send completions held so far (one per send that asked for one). */
  get heldCompletions(): number {
    return this.completions.length;
  }

  /** Runs the held send completions in order. */
  completeSends(): void {
    for (let fn = this.completions.shift(); fn; fn = this.completions.shift()) fn();
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

/** Binds FakeSockets (port 0 gets 50000 + n), in bind order; `take` drains what all of them sent. */
export class FakeSocketFactory implements SocketFactory {
  readonly bound: FakeSocket[] = [];

  async bind(options: SocketOptions): Promise<DatagramSocket> {
    const socket = new FakeSocket(options.port || 50000 + this.bound.length);
    this.bound.push(socket);
    return socket;
  }

  /** Everything sent by any socket since the last call. */
  take(): SentDatagram[] {
    return this.bound.flatMap((s) => s.sent.splice(0));
  }
}
