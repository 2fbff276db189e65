import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TftpPacket } from '../../../src/codec/tftp-packet.js';
import { decodeTftp, encodeTftp } from '../../../src/codec/tftp-packet.js';
import { NetasciiBlocks, OctetBlocks } from '../../../src/tftp/block-producer.js';
import { FINAL_BLOCK_RETRIES, QUIET_AFTER_EXPIRIES, QUIET_MS, ReadTransfer } from '../../../src/tftp/read-transfer.js';
import type { TransferResult } from '../../../src/tftp/transfer-types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';
import type { DatagramSocket, OpenedFile, PeerAddress } from '../../../src/io/ports.js';
import { memoryFile } from '../../support/memory-fs.js';
import { SPLIT_WINDOWS, SUB_BURST_BYTES, SUB_BURST_GAP_MS } from '../../../src/flowcontrol/window-bursts.js';

const peer = { address: '10.0.0.2', port: 2000 };
const timing = { rtoMinMs: 10, rtoMaxMs: 2000, rtoInitialMs: 100, idleTimeoutMs: 30000, maxTransferTimeMs: 600000 };

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** A file whose blocks are all in memory: reads answer synchronously, as from the chunk cache. */
function cachedFile(data: Buffer): OpenedFile & { released: boolean } {
  const file = {
    size: data.length,
    identity: 'cached',
    mtimeMs: 0,
    released: false,
    read: (offset: number, length: number) => data.subarray(offset, offset + length),
    release: () => void (file.released = true),
  };
  return file;
}

function setup(
  opts: { size?: number; blksize?: number; windowsize?: number; oack?: boolean; timeoutS?: number | null; netascii?: Buffer; data?: Buffer; cached?: boolean; socket?: DatagramSocket } = {},
) {
  const clock = new FakeClock();
  const socket = new FakeSocket();
  const blksize = opts.blksize ?? 512;
  const data = opts.data ?? pattern(opts.size ?? 512 * 10 + 100);
  const file = opts.cached ? cachedFile(data) : memoryFile(opts.netascii ?? data);
  const results: TransferResult[] = [];
  const blocks = opts.netascii ? new NetasciiBlocks(file, blksize) : new OctetBlocks(file, blksize);
  const t = new ReadTransfer({ clock, socket: opts.socket ?? socket, peer, timing, onEnd: (r) => results.push(r) }, blocks, {
    filename: 'f',
    blksize,
    windowsize: opts.windowsize ?? 1,
    timeoutS: opts.timeoutS ?? null,
    oack: opts.oack ? [{ name: 'blksize', value: String(blksize) }] : null,
  });
  const ack = (n: number) => t.onPacket({ op: 'ACK', block: n & 0xffff });
  return { clock, socket, t, results, ack, data, file };
}

const blocksOf = (pkts: TftpPacket[]) => pkts.map((p) => (p.op === 'DATA' ? p.block : p.op));

/** Starts the transfer and plays a client that ACKs blocks 1..n as they come, forgetting them. */
async function ackThrough(s: ReturnType<typeof setup>, n: number, rttMs = 0): Promise<void> {
  s.t.start();
  for (let block = 1; block <= n; block++) {
    await settle();
    s.socket.take();
    s.clock.advance(rttMs);
    s.ack(block);
  }
}

/** A perfect client: ACKs every DATA it sees; returns the reassembled bytes. */
async function runToEnd(s: ReturnType<typeof setup>, maxSteps = 300000): Promise<Buffer> {
  const parts: Buffer[] = [];
  let expected = 1;
  for (let i = 0; i < maxSteps && s.results.length === 0; i++) {
    await settle();
    const pkts = s.socket.take();
    if (pkts.length === 0) {
      s.clock.advance(5);
      continue;
    }
    for (const p of pkts) {
      if (p.op === 'OACK') s.ack(0);
      if (p.op === 'DATA' && p.block === (expected & 0xffff)) {
        parts.push(p.data);
        expected++;
        s.ack(p.block);
      }
    }
  }
  return Buffer.concat(parts);
}

describe('ReadTransfer state machine', () => {
  it('sends plain RFC 1350 lock-step and completes on the ACK of the short block', async () => {
    const s = setup();
    s.t.start();
    const bytes = await runToEnd(s);
    assert.deepEqual(bytes, s.data);
    assert.equal(s.results[0]?.outcome, 'complete');
    assert.equal(s.results[0]?.retransmits, 0);
    assert.equal(s.results[0]?.blocks, 11);
    assert.ok(s.file.released, 'file handle released at the end');
  });

  it('sends a final empty block when the size is a multiple of blksize', async () => {
    const s = setup({ size: 1024 });
    s.t.start();
    const bytes = await runToEnd(s);
    assert.equal(bytes.length, 1024);
    assert.equal(s.results[0]?.blocks, 3);
  });

  it('serves an empty file as one empty DATA 1', async () => {
    const s = setup({ size: 0 });
    s.t.start();
    await settle();
    const [p] = s.socket.take();
    assert.deepEqual(p, { op: 'DATA', block: 1, data: Buffer.alloc(0) });
    s.ack(1);
    assert.equal(s.results[0]?.outcome, 'complete');
  });

  it('sends the OACK first, resends it only after the client\'s own retry time, and starts DATA on ACK 0', async () => {
    // atftp aborts on a second OACK: its re-sent ACK 0 (after 5 s) must come first.
    const s = setup({ oack: true });
    s.t.start();
    assert.deepEqual(blocksOf(s.socket.take()), ['OACK']);
    s.clock.advance(QUIET_MS - 1);
    assert.deepEqual(s.socket.take(), [], 'no second OACK before the client has retried');
    s.clock.advance(1);
    assert.deepEqual(blocksOf(s.socket.take()), ['OACK']);
    s.ack(0);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1]);
  });

  it('takes no round trip from an ACK 0 that came after the RTO: it may answer the client\'s own retry', async () => {
    const s = setup({ oack: true, size: 512 * 40 });
    s.t.start();
    assert.deepEqual(blocksOf(s.socket.take()), ['OACK']);
    s.clock.advance(5000); // atftp lost its first ACK 0 and re-sent it after 5 s
    s.ack(0);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1]);
    assert.equal(s.t.progress().rtoMs, timing.rtoInitialMs, 'still the initial RTO: nothing measured');
    s.clock.advance(1);
    s.ack(1);
    await settle();
    assert.equal(s.t.progress().rtoMs, timing.rtoMinMs, 'the first real round trip sets it');
  });

  it('resends an unanswered OACK within a negotiated RFC 2349 timeout', () => {
    const s = setup({ oack: true, timeoutS: 1 });
    s.t.start();
    s.socket.take();
    s.clock.advance(1000);
    assert.ok(blocksOf(s.socket.take()).includes('OACK'), 'the OACK was sent again within the negotiated 1 s');
  });

  it('retransmits on its own timer with exponential back-off', async () => {
    const s = setup();
    s.t.start();
    await settle();
    s.socket.take();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = s.clock.now();
      while (s.socket.sent.length === 0) {
        s.clock.advance(1);
        await settle();
      }
      times.push(s.clock.now() - before);
      s.socket.take();
    }
    assert.deepEqual(times, [100, 200, 400, 800]);
  });

  it('adapts the RTO to the measured RTT, bounded below by rto_min', async () => {
    const s = setup();
    await ackThrough(s, 5, 1); // 1 ms round trips
    assert.equal(s.t.progress().rtoMs, 10);
  });

  it('retransmits at the shrunk RTO, not at a wake-up scheduled for the initial one', async () => {
    const s = setup();
    await ackThrough(s, 5, 1); // 1 ms round trips
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    s.clock.advance(9);
    assert.deepEqual(s.socket.take(), []);
    s.clock.advance(1);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
  });

  it('S1: a second ACK explained by our retransmission does not send DATA twice (RFC 1123 4.2.3.1)', async () => {
    const s = setup();
    await ackThrough(s, 4);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [5]);
    s.clock.advance(100); // ACK 5 is late: the timer resends DATA 5
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [5]);
    s.ack(5);
    s.ack(5); // the answer to the copy
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
  });

  it('S2: unexplained duplicate ACKs resend the next block once, never twice', async () => {
    const s = setup();
    await ackThrough(s, 4);
    await settle();
    s.socket.take();
    for (let i = 0; i < 3; i++) {
      s.ack(5); // separate datagrams: the block read completes between them
      await settle();
    }
    assert.deepEqual(blocksOf(s.socket.take()), [6, 6]);
  });

  it('ignores stale ACKs', async () => {
    const s = setup();
    await ackThrough(s, 3);
    await settle();
    s.socket.take();
    s.ack(1);
    s.ack(2);
    await settle();
    assert.deepEqual(s.socket.take(), []);
  });

  it('ends a transfer whose client went back to an earlier block and stays there: an ERROR once it had time to re-ACK (curl after a late duplicate OACK)', async () => {
    const s = setup({ oack: true });
    s.t.start();
    s.socket.take();
    s.ack(0);
    for (let block = 1; block <= 3; block++) {
      await settle();
      s.socket.take();
      s.ack(block);
    }
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [4]);
    s.ack(0); // curl took a late copy of the OACK: it waits for block 1 and ignores block 4
    const wentBack = s.clock.now();
    for (let i = 0; i < 3000 && s.results.length === 0; i++) {
      s.clock.advance(10);
      await settle();
    }
    const elapsed = s.clock.now() - wentBack;
    assert.equal(s.results[0]?.outcome, 'protocol-error');
    assert.match(s.results[0]?.detail ?? '', /went back to block 0 after acknowledging block 3/);
    assert.ok(elapsed >= QUIET_MS && elapsed < QUIET_MS + 7000, `ended ${elapsed} ms after it went back`);
    const last = s.socket.sent.map(({ data }) => decodeTftp(data)).at(-1);
    assert.equal(last?.op, 'ERROR', 'the client is told, so it stops waiting');
  });

  it('a stale ACK copy followed by progress is forgotten', async () => {
    const s = setup({ size: 512 * 40 });
    await ackThrough(s, 3);
    s.ack(1); // a late copy
    for (let block = 4; block <= 41 && s.results.length === 0; block++) {
      s.clock.advance(200); // a slow client: 7.6 s in all, past the 6 s
      await settle();
      s.socket.take();
      s.ack(block);
    }
    assert.equal(s.results[0]?.outcome, 'complete');
  });

  it('sends a whole window at once and slides on the ACK of its last block', async () => {
    const s = setup({ windowsize: 4 });
    s.t.start();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1, 2, 3, 4]);
    s.ack(4);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [5, 6, 7, 8]);
  });

  it('S4: EDK2 repeating ACK 2 for every out-of-order block restarts the window once', async () => {
    const s = setup({ windowsize: 8, size: 512 * 30 });
    s.t.start();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (let i = 0; i < 5; i++) s.ack(2); // block 3 lost; blocks 4..8 each trigger ACK 2
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('completes a window resent after a timeout with the ACK of its last block, not a gap report', async () => {
    const s = setup({ windowsize: 4, size: 512 * 40 });
    s.t.start();
    await settle();
    s.socket.take();
    s.ack(4);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [5, 6, 7, 8]);
    s.clock.advance(10); // the second window is lost whole
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [5, 6, 7, 8]);
    s.ack(8); // that ACK ends the resent window: the next full window follows
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12]);
  });

  it('after 8 window expiries in a row resends only every 6 s, so a receiver that drops what it has can time out and re-ACK (atftp)', async () => {
    const s = setup({ windowsize: 8, size: 512 * 40 });
    s.t.start();
    const resendAt: number[] = [];
    for (let ms = 0; ms < 20000; ms += 10) {
      await settle();
      if (blocksOf(s.socket.take()).includes(1)) resendAt.push(s.clock.now());
      s.clock.advance(10);
    }
    const gaps = resendAt.slice(1).map((t, i) => t - resendAt[i]!);
    assert.ok(gaps.slice(0, QUIET_AFTER_EXPIRIES).every((g) => g < QUIET_MS), `backoff first: ${gaps}`);
    assert.ok(gaps.slice(QUIET_AFTER_EXPIRIES).length > 0 && gaps.slice(QUIET_AFTER_EXPIRIES).every((g) => g >= QUIET_MS), `then quiet: ${gaps}`);
    s.ack(8); // the receiver's own timer fired: progress ends the quiet spacing
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12, 13, 14, 15, 16]);
    s.clock.advance(2000);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12, 13, 14, 15, 16], 'back to the adaptive RTO');
  });

  it('keeps lock-step transfers on the adaptive RTO however long the silence', async () => {
    const s = setup({ size: 512 * 40 });
    s.t.start();
    let sends = 0;
    for (let ms = 0; ms < 20000; ms += 10) {
      await settle();
      sends += s.socket.take().length;
      s.clock.advance(10);
    }
    assert.ok(sends >= 14, `${sends} sends in 20 s`);
  });

  it('restarts after the last ACK when the window timer expires (RFC 7440 4)', async () => {
    const s = setup({ windowsize: 4 });
    s.t.start();
    await settle();
    s.socket.take();
    s.clock.advance(100);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1, 2, 3, 4]);
  });

  it('rolls block numbers over to 0 after 65535 and completes', async () => {
    const size = 8 * 65540 + 3;
    const s = setup({ blksize: 8, windowsize: 16, size });
    s.t.start();
    const bytes = await runToEnd(s);
    assert.equal(bytes.length, size);
    assert.deepEqual(bytes, s.data);
    assert.equal(s.results[0]?.outcome, 'complete');
    assert.equal(s.results[0]?.blocks, 65541);
  });

  it('gives up after the idle timeout with a bounded number of sends', async () => {
    const s = setup();
    s.t.start();
    await settle();
    for (let i = 0; i < 100 && s.results.length === 0; i++) {
      s.clock.advance(1000);
      await settle();
    }
    assert.equal(s.results[0]?.outcome, 'timeout');
    assert.ok(s.clock.now() >= 30000 && s.clock.now() <= 33000, `gave up at ${s.clock.now()} ms`);
    assert.ok(s.socket.sent.length < 30, `${s.socket.sent.length} sends`);
    assert.ok(s.socket.take().every((p) => p.op !== 'ERROR'), 'a client that never answered gets no ERROR');
  });

  it('tells a client that answered before, and then went silent for the idle timeout, with an ERROR', async () => {
    const s = setup();
    await ackThrough(s, 2, 1);
    for (let i = 0; i < 100 && s.results.length === 0; i++) {
      s.clock.advance(1000);
      await settle();
    }
    assert.equal(s.results[0]?.outcome, 'timeout');
    assert.equal(s.socket.take().at(-1)?.op, 'ERROR', 'so it stops waiting at once');
  });

  it('never lets the RTO exceed a negotiated timeout', async () => {
    const s = setup({ timeoutS: 1 });
    s.t.start();
    await settle();
    for (let i = 0; i < 8; i++) {
      s.clock.advance(1000);
      await settle();
    }
    assert.equal(s.t.progress().rtoMs, 1000);
  });

  it('calls a silent peer after the final block complete-unconfirmed', async () => {
    const s = setup({ size: 100 });
    s.t.start();
    for (let i = 0; i < 20 && s.results.length === 0; i++) {
      s.clock.advance(2000);
      await settle();
    }
    assert.equal(s.results[0]?.outcome, 'complete-unconfirmed');
    assert.equal(s.results[0]?.retransmits, FINAL_BLOCK_RETRIES);
  });

  it('resends its first answer to a duplicate request, only before progress', async () => {
    const s = setup({ oack: true });
    s.t.start();
    s.socket.take();
    s.t.onDuplicateRequest();
    assert.deepEqual(blocksOf(s.socket.take()), ['OACK']);
    s.ack(0);
    await settle();
    s.socket.take();
    s.ack(1);
    await settle();
    s.socket.take();
    s.t.onDuplicateRequest();
    await settle();
    assert.deepEqual(s.socket.take(), []);
  });

  it('ends quietly when the client aborts with ERROR (tsize probe)', async () => {
    const s = setup({ oack: true });
    s.t.start();
    s.socket.take();
    s.t.onPacket({ op: 'ERROR', code: 8, message: 'User aborted the transfer' });
    assert.equal(s.results[0]?.outcome, 'aborted-by-client');
    assert.deepEqual(s.socket.take(), []);
  });

  it('answers DATA on a read TID with ERROR 4 and ends', async () => {
    const s = setup();
    s.t.start();
    await settle();
    s.socket.take();
    s.t.onPacket({ op: 'DATA', block: 1, data: Buffer.alloc(1) });
    const [err] = s.socket.take();
    assert.equal(err?.op === 'ERROR' && err.code, 4);
    assert.equal(s.results[0]?.outcome, 'protocol-error');
  });

  it('fails cleanly with an ERROR when the file shrinks under the transfer', async () => {
    const clock = new FakeClock();
    const socket = new FakeSocket();
    const results: TransferResult[] = [];
    const file = { size: 2000, identity: 'shrinking', mtimeMs: 0, read: async (o: number, l: number) => Buffer.alloc(o >= 1024 ? 10 : l), release: () => undefined };
    const t = new ReadTransfer({ clock, socket, peer, timing, onEnd: (r) => results.push(r) }, new OctetBlocks(file, 512), {
      filename: 'f', blksize: 512, windowsize: 1, timeoutS: null, oack: null,
    });
    t.start();
    for (let n = 1; n <= 2; n++) {
      await settle();
      socket.take();
      t.onPacket({ op: 'ACK', block: n });
    }
    await settle();
    const pkts = socket.take();
    assert.equal(pkts.at(-1)?.op, 'ERROR');
    assert.equal(results[0]?.outcome, 'io-error');
  });

  it('enforces the transfer time limit with an ERROR, even while the client keeps up', async () => {
    const s = setup({ size: 512 * 1000 });
    s.t.start();
    for (let n = 1; n < 1000 && s.results.length === 0; n++) {
      await settle();
      s.socket.take();
      s.clock.advance(1000);
      s.ack(n);
    }
    assert.equal(s.results[0]?.outcome, 'time-limit');
    assert.equal(s.socket.take().at(-1)?.op, 'ERROR');
  });

  it('converts netascii: LF to CR LF, CR to CR NUL', async () => {
    const s = setup({ netascii: Buffer.from('a\nb\rc'), blksize: 512 });
    s.t.start();
    const bytes = await runToEnd(s);
    assert.deepEqual(bytes, Buffer.from('a\r\nb\r\x00c'));
  });

  it('ignores packets after the end', async () => {
    const s = setup({ size: 10 });
    s.t.start();
    await settle();
    s.socket.take();
    s.ack(1);
    s.t.onPacket({ op: 'ACK', block: 1 });
    assert.equal(s.results.length, 1);
    assert.equal(encodeTftp({ op: 'ACK', block: 1 }).length, 4);
  });
});

/** A socket that keeps each datagram's chunks (not a copy) until flush(), as libuv does with a
 *  send the kernel did not take at once: what leaves is what those buffers hold at flush time. */
class QueueingSocket implements DatagramSocket {
  private readonly queue: { chunks: readonly Buffer[]; onSent: (() => void) | undefined }[] = [];
  readonly wire: Buffer[] = [];

  send(chunks: Buffer | readonly Buffer[], _to: PeerAddress, onSent?: () => void): void {
    this.queue.push({ chunks: Buffer.isBuffer(chunks) ? [chunks] : chunks, onSent });
  }

  flush(): void {
    for (const d of this.queue.splice(0)) {
      this.wire.push(Buffer.concat(d.chunks));
      d.onSent?.();
    }
  }

  onMessage(): void {}
  localPort(): number {
    return 40000;
  }
  close(): void {}
}

describe('ReadTransfer per-packet work', () => {
  it('sends a window of cached blocks in one synchronous burst and asks for one send completion for it', () => {
    const s = setup({ windowsize: 8, size: 512 * 30, cached: true });
    s.socket.holdCompletions = true;
    s.t.start();
    assert.deepEqual(blocksOf(s.socket.take()), [1, 2, 3, 4, 5, 6, 7, 8], 'no promise hop before the window is out');
    assert.equal(s.socket.heldCompletions, 1);
    s.socket.completeSends();
    s.ack(8);
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12, 13, 14, 15, 16]);
    assert.equal(s.socket.heldCompletions, 1);
  });

  it('a DATA header still queued in the process keeps its block number while the timer resends the window', () => {
    const socket = new QueueingSocket();
    const s = setup({ windowsize: 4, size: 512 * 30, cached: true, socket });
    s.t.start(); // blocks 1-4 wait in the process
    s.clock.advance(100); // the timer resends 1-4 (the timer starts at send() as long as no completion came)
    s.ack(4);
    socket.flush();
    const wire = socket.wire.map((d) => decodeTftp(d));
    assert.deepEqual(blocksOf(wire), [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const p of wire) if (p.op === 'DATA') assert.deepEqual(p.data, s.data.subarray((p.block - 1) * 512, p.block * 512));
  });

  it('serves a cached file byte for byte through rollover with windows of 16', async () => {
    const size = 8 * 65540 + 3;
    const s = setup({ blksize: 8, windowsize: 16, size, cached: true });
    s.t.start();
    // An RFC 7440 receiver: it ACKs the last block of each window, and the short final block.
    const parts: Buffer[] = [];
    for (let step = 0; step < 10_000 && s.results.length === 0; step++) {
      for (const p of s.socket.take()) {
        if (p.op !== 'DATA' || p.block !== ((parts.length + 1) & 0xffff)) continue;
        parts.push(p.data);
        if (parts.length % 16 === 0 || p.data.length < 8) s.ack(p.block);
      }
    }
    assert.deepEqual(Buffer.concat(parts), s.data);
    assert.equal(s.results[0]?.outcome, 'complete');
    assert.equal(s.results[0]?.blocks, 65541);
    assert.equal(s.results[0]?.retransmits, 0);
  });
});

describe('ReadTransfer window sub-bursts', () => {
  /** Starts an 8192 x 16 transfer and lets its first window expire (a dropped tail). */
  function afterFirstExpiry(size: number) {
    const s = setup({ blksize: 8192, windowsize: 16, size, cached: true });
    s.t.start();
    assert.equal(s.socket.take().length, 16, 'a whole window at once until one expired');
    s.clock.advance(timing.rtoInitialMs);
    return s;
  }

  it('after a window expired, sends windows bigger than SUB_BURST_BYTES in sub-bursts one timer tick apart, and still waits for the ACK of the whole window', () => {
    const perSubBurst = Math.ceil(SUB_BURST_BYTES / 8192);
    assert.equal(perSubBurst, 8);
    const s = afterFirstExpiry(8192 * 40 + 5);
    assert.deepEqual(blocksOf(s.socket.take()), [1, 2, 3, 4, 5, 6, 7, 8], 'the resent window\'s first sub-burst');
    s.clock.advance(SUB_BURST_GAP_MS - 0.5);
    assert.deepEqual(s.socket.take(), [], 'nothing more before the gap is over');
    s.clock.advance(0.5);
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12, 13, 14, 15, 16], 'the rest of the negotiated window');
    s.clock.advance(SUB_BURST_GAP_MS);
    assert.deepEqual(s.socket.take(), [], 'the window is whole: the next one waits for its ACK');
    s.ack(16);
    assert.deepEqual(blocksOf(s.socket.take()), [17, 18, 19, 20, 21, 22, 23, 24], 'later windows too');
    s.clock.advance(SUB_BURST_GAP_MS);
    assert.deepEqual(blocksOf(s.socket.take()), [25, 26, 27, 28, 29, 30, 31, 32]);
  });

  it('tries whole windows again after SPLIT_WINDOWS windows in a row were acknowledged without an expiry', () => {
    const s = afterFirstExpiry(8192 * 16 * (SPLIT_WINDOWS + 3));
    for (let window = 1; window <= SPLIT_WINDOWS; window++) {
      assert.equal(s.socket.take().length, 8, `window ${window}: the first sub-burst`);
      s.clock.advance(SUB_BURST_GAP_MS);
      assert.equal(s.socket.take().length, 8, `window ${window}: the second`);
      s.ack(window * 16);
    }
    assert.equal(s.socket.take().length, 16, 'a whole window again');
    // Its tail is dropped: the timer resends it, split again.
    let resent: TftpPacket[] = [];
    for (let ms = 0; ms < timing.rtoMaxMs && resent.length === 0; ms += 0.5) {
      s.clock.advance(0.5);
      resent = s.socket.take();
    }
    assert.equal(resent.length, 8);
  });

  it('sends a window of at most SUB_BURST_BYTES in one burst, even after an expiry (blksize 1428 x 16)', () => {
    const s = setup({ blksize: 1428, windowsize: 16, size: 1428 * 40 + 5, cached: true });
    s.t.start();
    s.socket.take();
    s.clock.advance(timing.rtoInitialMs);
    assert.deepEqual(blocksOf(s.socket.take()), Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('an ACK inside a window sent in sub-bursts restarts it there, in sub-bursts again, and the file arrives byte for byte', () => {
    const blksize = 8192;
    const s = afterFirstExpiry(blksize * 50 + 77);
    s.socket.take(); // 1-8, then the gap
    s.clock.advance(SUB_BURST_GAP_MS);
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12, 13, 14, 15, 16]);
    s.ack(8); // a gap report: 9.. lost
    assert.deepEqual(blocksOf(s.socket.take()), [9, 10, 11, 12, 13, 14, 15, 16]);
    s.clock.advance(SUB_BURST_GAP_MS);
    assert.deepEqual(blocksOf(s.socket.take()), [17, 18, 19, 20, 21, 22, 23, 24]);
    // An RFC 7440 receiver from here: it ACKs the last block of each window, and the short one.
    const parts: Buffer[] = [s.data.subarray(0, 16 * blksize)];
    let next = 17;
    for (let step = 0; step < 1000 && s.results.length === 0; step++) {
      for (const p of s.socket.take()) {
        if (p.op !== 'DATA' || p.block !== next) continue;
        parts.push(p.data);
        next++;
        if ((p.block - 8) % 16 === 0 || p.data.length < blksize) s.ack(p.block);
      }
      s.clock.advance(SUB_BURST_GAP_MS);
    }
    assert.deepEqual(Buffer.concat(parts), s.data);
    assert.equal(s.results[0]?.outcome, 'complete');
  });
});
