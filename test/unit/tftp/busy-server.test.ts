// Queueing inside pxecast (or a slow receiver) must never look like loss (issue 12 item 10): round
// trips start when a block left, a late timer lets already-received ACKs in first, a resend the
// ACKs prove needless backs the timer off, and a client that ACKs every duplicate block (EDK2)
// gets one resend per window event, not one per duplicate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TftpPacket } from '../../../src/codec/tftp-packet.js';
import { OctetBlocks } from '../../../src/tftp/block-producer.js';
import { ReadTransfer } from '../../../src/tftp/read-transfer.js';
import type { TransferResult, TransferTiming } from '../../../src/tftp/transfer-types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';
import { memoryFile } from '../../support/memory-fs.js';

const peer = { address: '10.0.0.2', port: 2000 };
const defaults: TransferTiming = { rtoMinMs: 10, rtoMaxMs: 2000, rtoInitialMs: 100, idleTimeoutMs: 30000, maxTransferTimeMs: 600000 };

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function setup(opts: { size?: number; windowsize?: number; timing?: Partial<TransferTiming>; holdCompletions?: boolean; holdDeferred?: boolean } = {}) {
  const clock = new FakeClock();
  clock.holdDeferred = opts.holdDeferred ?? false;
  const socket = new FakeSocket();
  socket.holdCompletions = opts.holdCompletions ?? false;
  const data = pattern(opts.size ?? 512 * 10 + 100);
  const results: TransferResult[] = [];
  const t = new ReadTransfer(
    { clock, socket, peer, timing: { ...defaults, ...opts.timing }, onEnd: (r) => results.push(r) },
    new OctetBlocks(memoryFile(data), 512),
    { filename: 'f', blksize: 512, windowsize: opts.windowsize ?? 1, timeoutS: null, oack: null },
  );
  const ack = (n: number) => t.onPacket({ op: 'ACK', block: n & 0xffff });
  return { clock, socket, t, results, ack, data };
}

const blocksOf = (pkts: TftpPacket[]) => pkts.map((p) => (p.op === 'DATA' ? p.block : p.op));

/** Plays a lock-step client with 1 ms round trips through block n: the RTO settles at the floor. */
async function warmUp(s: ReturnType<typeof setup>, n: number): Promise<void> {
  s.t.start();
  for (let block = 1; block <= n; block++) {
    await settle();
    s.socket.take();
    s.clock.advance(1);
    s.ack(block);
  }
  await settle();
}

describe('read transfers on a busy server', () => {
  it('samples the round trip from the moment a block left the process, not from the send call', async () => {
    const s = setup({ holdCompletions: true, timing: { rtoMinMs: 1, rtoInitialMs: 1000 } });
    s.t.start();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1]);
    s.clock.advance(50); // queued in the process for 50 ms
    s.socket.completeSends();
    s.clock.advance(10);
    s.ack(1); // 10 ms after it left, 60 ms after send() was called
    // RFC 6298 first sample R: SRTT = R, RTTVAR = R/2, RTO = R + 4 * R/2 = 3R.
    assert.equal(s.t.progress().rtoMs, 30);
  });

  it('starts the retransmission timer when the block left, so time queued in the process is not counted as loss', async () => {
    const s = setup({ holdCompletions: true, timing: { rtoInitialMs: 100 } });
    s.t.start();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1]);
    s.clock.advance(80);
    s.socket.completeSends(); // left at 80 ms
    s.clock.advance(99);
    await settle();
    assert.deepEqual(s.socket.take(), [], 'no resend 100 ms after send() when the block left at 80 ms');
    s.clock.advance(1);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [1], 'resent 100 ms after it left');
  });

  it('lets an ACK that was already waiting be read before a late timer resends (lock-step)', async () => {
    const s = setup({ holdDeferred: true });
    await warmUp(s, 5);
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    s.clock.advance(10); // the timer is due: with Node's loop order it runs before the socket is read
    s.ack(6); // ... but ACK 6 was already in the socket buffer, read in the same loop turn
    s.clock.runDeferred();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [7], 'only the next block, no resend of 6');
    assert.equal(s.t.progress().retransmits, 0);
  });

  it('lets an ACK that was already waiting be read before a late timer resends (window of 4, the OVMF capture)', async () => {
    const s = setup({ holdDeferred: true, windowsize: 4, size: 512 * 40 });
    s.t.start();
    for (let last = 4; last <= 16; last += 4) {
      await settle();
      s.socket.take();
      s.clock.advance(1);
      s.ack(last);
    }
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [17, 18, 19, 20]);
    s.clock.advance(10);
    s.ack(20);
    s.clock.runDeferred();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [21, 22, 23, 24]);
    assert.equal(s.t.progress().retransmits, 0);
  });

  it('still resends on the timer when nothing was waiting', async () => {
    const s = setup({ holdDeferred: true });
    await warmUp(s, 5);
    s.socket.take();
    s.clock.advance(10);
    await settle();
    assert.deepEqual(s.socket.take(), [], 'the expiry waits for the pending reads');
    s.clock.runDeferred();
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
  });

  it('detects a spurious timeout from the copy of the ACK the original drew, and backs the timer off', async () => {
    const s = setup({ size: 512 * 40 });
    await warmUp(s, 5);
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    assert.equal(s.t.progress().rtoMs, 10);
    s.clock.advance(10); // the client is slow: the timer resends 6
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    s.clock.advance(14);
    s.ack(6); // the original's ACK, 24 ms after it left
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [7]);
    s.ack(6); // the copy's ACK: both arrived, the original was never lost
    await settle();
    assert.deepEqual(s.socket.take(), [], 'the copy ACK sends nothing');
    // The estimator adopted the 24 ms round trip: RTO ≥ 3 × 24 ms.
    assert.ok(s.t.progress().rtoMs >= 72, `rto ${s.t.progress().rtoMs}`);
    s.clock.advance(30); // as slow again: no resend this time
    await settle();
    assert.deepEqual(s.socket.take(), []);
    s.ack(7);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [8]);
    assert.equal(s.t.progress().retransmits, 1);
  });

  it('detects a spurious timeout from an ACK sooner after the resend than any measured round trip', async () => {
    const s = setup({ size: 512 * 40, timing: { rtoMinMs: 10 } });
    s.t.start();
    for (let block = 1; block <= 5; block++) {
      await settle();
      s.socket.take();
      s.clock.advance(4); // 4 ms round trips
      s.ack(block);
    }
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    const rto = s.t.progress().rtoMs;
    s.clock.advance(rto);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    s.clock.advance(1); // 1 ms after the resend: too soon to answer it
    s.ack(6);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [7]);
    assert.ok(s.t.progress().rtoMs >= 3 * (rto + 1), `rto ${s.t.progress().rtoMs} after a ${rto + 1} ms round trip`);
  });

  it('does not call a resend spurious when the ACK it answers is the only one (the original was lost)', async () => {
    const s = setup({ size: 512 * 40 });
    await warmUp(s, 5);
    s.socket.take();
    s.clock.advance(10);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    s.clock.advance(1);
    s.ack(6);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [7]);
    assert.ok(s.t.progress().rtoMs <= 12, `rto ${s.t.progress().rtoMs}`);
  });

  it('EDK2 ACKing every duplicate block of a late-resent window: one resend per window event, not one per duplicate', async () => {
    const windowsize = 4;
    const blocks = 200;
    const s = setup({ windowsize, size: 512 * (blocks - 1) + 100 });
    // An EDK2-style receiver (MdeModulePkg Mtftp4 with windowsize): ACKs the last block of each
    // window, re-ACKs its highest block for every duplicate or out-of-order block, 1 ms away.
    // One ACK (of block 40) is held up 15 ms: longer than the RTO, so the timer resends a window.
    const received: Buffer[] = [];
    let dataSent = 0;
    let slowAckDone = false;
    let lastAckAt = 0;
    const sendAck = (n: number) => {
      // ACKs leave one by one, at least 1 ms apart, as from a firmware's polling loop.
      const at = Math.max(s.clock.now() + 1, lastAckAt + 1);
      lastAckAt = at;
      const delay = n === 40 && !slowAckDone ? 15 : at - s.clock.now();
      if (n === 40) slowAckDone = true;
      s.clock.setTimer(delay, () => s.ack(n));
    };
    s.t.start();
    for (let step = 0; step < 100_000 && s.results.length === 0; step++) {
      await settle();
      for (const p of s.socket.take()) {
        if (p.op !== 'DATA') continue;
        dataSent++;
        const expected = received.length + 1;
        if (p.block === (expected & 0xffff)) {
          received.push(p.data);
          if (received.length % windowsize === 0 || p.data.length < 512) sendAck(received.length);
        } else sendAck(received.length); // duplicate (or gap): ACK the highest block held
      }
      s.clock.advance(1);
    }
    assert.equal(s.results[0]?.outcome, 'complete');
    assert.ok(Buffer.concat(received).equals(s.data), 'the file arrived intact');
    // One window resent by the (spurious) timer; never one per duplicate ACK.
    assert.ok(dataSent <= blocks + windowsize, `${dataSent} DATA sent for ${blocks} blocks`);
    assert.equal(s.results[0]?.spuriousTimeouts, 1);
  });
});
