// Queueing inside pxecast (or a slow receiver) must never look like loss (issue 12 item 10): round
// trips start when a block left, a late timer lets already-received ACKs in first, a resend the
// ACKs prove needless backs the timer off, and a client that ACKs every duplicate block (EDK2)
// gets one resend per window event, not one per duplicate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TftpPacket } from '../../../src/codec/tftp-packet.js';
import { OctetBlocks } from '../../../src/tftp/block-producer.js';
import { PEER_DELAY_HOLD_MS, PeerDelayMemory } from '../../../src/flowcontrol/peer-delay-memory.js';
import { ReadTransfer } from '../../../src/tftp/read-transfer.js';
import { SAMPLES_FOR_FLOOR } from '../../../src/flowcontrol/rtt-estimator.js';
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

function setup(opts: { size?: number; windowsize?: number; timing?: Partial<TransferTiming>; holdCompletions?: boolean; holdDeferred?: boolean; clock?: FakeClock; peerDelay?: PeerDelayMemory } = {}) {
  const clock = opts.clock ?? new FakeClock();
  clock.holdDeferred = opts.holdDeferred ?? false;
  const socket = new FakeSocket();
  socket.holdCompletions = opts.holdCompletions ?? false;
  const data = pattern(opts.size ?? 512 * 10 + 100);
  const results: TransferResult[] = [];
  const t = new ReadTransfer(
    { clock, socket, peer, timing: { ...defaults, ...opts.timing }, ...(opts.peerDelay ? { peerDelay: opts.peerDelay } : {}), onEnd: (r) => results.push(r) },
    new OctetBlocks(memoryFile(data), 512),
    { filename: 'f', blksize: 512, windowsize: opts.windowsize ?? 1, timeoutS: null, oack: null },
  );
  const ack = (n: number) => t.onPacket({ op: 'ACK', block: n & 0xffff });
  return { clock, socket, t, results, ack, data };
}

const blocksOf = (pkts: TftpPacket[]) => pkts.map((p) => (p.op === 'DATA' ? p.block : p.op));

/** Plays a lock-step client with `rttMs` round trips through block n (at 1 ms the RTO settles at
 *  the floor). */
async function warmUp(s: ReturnType<typeof setup>, n: number, rttMs = 1): Promise<void> {
  s.t.start();
  for (let block = 1; block <= n; block++) {
    await settle();
    s.socket.take();
    s.clock.advance(rttMs);
    s.ack(block);
  }
  await settle();
}

/**
 * Plays EDK2's Mtftp4 receiver (windowsize 4) against a ReadTransfer: it counts its window from
 * the last ACK it sent, ACKs when it has a window's worth of new blocks (or the last one), and
 * answers any unexpected block (a duplicate or one after a gap) at once with an ACK of its highest
 * block in order. ACKs leave 1 ms apart; `slowAck` holds the first ACK of that block 15 ms;
 * `dropOnce` loses the first send of those blocks.
 */
async function runEdk2Client(opts: { blocks: number; slowAck?: number; dropOnce?: readonly number[] }) {
  const windowsize = 4;
  const s = setup({ windowsize, size: 512 * (opts.blocks - 1) + 100 });
  const received: Buffer[] = [];
  const dropped = new Set<number>();
  let ackedTotal = 0;
  let dataSent = 0;
  let slowAckDone = false;
  let lastAckAt = 0;
  const sendAck = (n: number) => {
    ackedTotal = received.length;
    const at = Math.max(s.clock.now() + 1, lastAckAt + 1);
    lastAckAt = at;
    const slow = n === opts.slowAck && !slowAckDone;
    if (n === opts.slowAck) slowAckDone = true;
    s.clock.setTimer(slow ? 15 : at - s.clock.now(), () => s.ack(n));
  };
  s.t.start();
  for (let step = 0; step < 100_000 && s.results.length === 0; step++) {
    await settle();
    for (const p of s.socket.take()) {
      if (p.op !== 'DATA') continue;
      dataSent++;
      if (opts.dropOnce?.includes(p.block) && !dropped.has(p.block)) {
        dropped.add(p.block);
        continue;
      }
      const expected = received.length + 1;
      if (p.block !== (expected & 0xffff)) {
        sendAck(received.length);
        continue;
      }
      received.push(p.data);
      if (received.length - ackedTotal === windowsize || p.data.length < 512) sendAck(received.length);
    }
    s.clock.advance(1);
  }
  return {
    outcome: s.results[0]?.outcome,
    intact: Buffer.concat(received).equals(s.data),
    dataSent,
    spuriousTimeouts: s.results[0]?.spuriousTimeouts ?? 0,
  };
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

  it('gives the peer one more RTO when the timer fired later than the RTO itself (pxecast was stalled)', async () => {
    const s = setup();
    await warmUp(s, 5);
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
    s.clock.stall(50); // nothing ran for 50 ms: not the timer, and (on a starved host) not the client
    s.clock.advance(0); // the overdue timer fires 40 ms late
    await settle();
    assert.deepEqual(s.socket.take(), [], 'no resend right after the stall');
    s.clock.advance(5);
    s.ack(6); // the client, as late as we were
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [7]);
    assert.equal(s.t.progress().retransmits, 0);
    s.clock.advance(s.t.progress().rtoMs); // an ordinary expiry after that still resends on time
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [7]);
  });

  it('after a stall, resends one RTO later when the peer stays silent', async () => {
    const s = setup();
    await warmUp(s, 5);
    s.socket.take();
    s.clock.stall(50);
    s.clock.advance(0);
    s.clock.advance(9);
    await settle();
    assert.deepEqual(s.socket.take(), []);
    s.clock.advance(1);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [6]);
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
    await warmUp(s, SAMPLES_FOR_FLOOR, 4); // 4 ms round trips
    const next = SAMPLES_FOR_FLOOR + 1;
    assert.deepEqual(blocksOf(s.socket.take()), [next]);
    const rto = s.t.progress().rtoMs;
    s.clock.advance(rto);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [next]);
    s.clock.advance(1); // 1 ms after the resend: too soon to answer it
    s.ack(next);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [next + 1]);
    assert.ok(s.t.progress().rtoMs >= 3 * (rto + 1), `rto ${s.t.progress().rtoMs} after a ${rto + 1} ms round trip`);
  });

  it('times that rule from the send call: a resend whose completion came a loop turn late is not proven needless by its own ACK', async () => {
    const s = setup({ size: 512 * 40, timing: { rtoMinMs: 10 } });
    await warmUp(s, SAMPLES_FOR_FLOOR, 4); // 4 ms round trips
    const next = SAMPLES_FOR_FLOOR + 1;
    assert.deepEqual(blocksOf(s.socket.take()), [next]); // lost
    const rto = s.t.progress().rtoMs;
    s.socket.holdCompletions = true;
    s.clock.advance(rto);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [next], 'the timer resends it');
    s.clock.advance(3); // the send completion is reported 3 ms after the call
    s.socket.completeSends();
    s.clock.advance(2); // the resend's ACK: 5 ms after the call, 2 ms after the completion
    s.ack(next);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [next + 1]);
    assert.ok(s.t.progress().rtoMs <= 2 * rto, `rto ${s.t.progress().rtoMs} (was ${rto}): no spurious verdict`);
  });

  it('takes no floor from the first round trips: after one slow first ACK, the ACK to a resend of a lost block proves nothing', async () => {
    const s = setup({ size: 512 * 40, timing: { rtoMinMs: 10 } });
    await warmUp(s, 1, 4); // tftp-hpa's first ACK is slow: the client was starting up
    assert.deepEqual(blocksOf(s.socket.take()), [2]); // lost
    const rto = s.t.progress().rtoMs;
    s.clock.advance(rto);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [2], 'the timer resends it');
    s.clock.advance(1); // the path's real round trip: sooner than the one sample so far
    s.ack(2);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [3]);
    assert.ok(s.t.progress().rtoMs <= 2 * rto, `rto ${s.t.progress().rtoMs} (was ${rto}): no spurious verdict`);
  });

  it('an ACK inside a resent window, however soon, proves nothing spurious: the originals after it were lost (atftp, window tail dropped)', async () => {
    const clock = new FakeClock();
    const peerDelay = new PeerDelayMemory(clock);
    const s = setup({ size: 512 * 40, windowsize: 4, clock, peerDelay });
    s.t.start();
    const windows = SAMPLES_FOR_FLOOR; // enough round trips for a floor: the first rule applies
    for (let w = 1; w <= windows; w++) {
      await settle();
      s.socket.take();
      s.clock.advance(4); // the window's last block comes back ACKed 4 ms after it left
      s.ack(4 * w);
    }
    await settle();
    const b = 4 * windows; // the last block acknowledged
    assert.deepEqual(blocksOf(s.socket.take()), [b + 1, b + 2, b + 3, b + 4]); // the last two never arrive
    const rto = s.t.progress().rtoMs;
    s.clock.advance(rto);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [b + 1, b + 2, b + 3, b + 4], 'the timer resends the window');
    s.clock.advance(1); // atftp: the duplicate first block draws an ACK of the second at once
    s.ack(b + 2);
    await settle();
    assert.deepEqual(blocksOf(s.socket.take()), [b + 3, b + 4, b + 5, b + 6]);
    assert.ok(s.t.progress().rtoMs <= 2 * rto, `rto ${s.t.progress().rtoMs} (was ${rto}): no spurious verdict`);
    assert.equal(peerDelay.floorMs(peer.address), 0, 'no delay shared with other transfers');
  });

  it('shares a proven ACK delay with the other transfers to the same address, for a while', async () => {
    const clock = new FakeClock();
    const peerDelay = new PeerDelayMemory(clock);
    const a = setup({ size: 512 * 40, clock, peerDelay });
    const b = setup({ size: 512 * 40, clock, peerDelay });
    await warmUp(a, 5);
    await warmUp(b, 5);
    assert.deepEqual(blocksOf(b.socket.take()), [6]);
    a.socket.take();
    // Both wait for ACK 6; a's client is 24 ms late and a proves its resend spurious.
    clock.advance(10);
    await settle();
    assert.deepEqual(blocksOf(a.socket.take()), [6]);
    assert.deepEqual(blocksOf(b.socket.take()), [6]);
    clock.advance(14);
    a.ack(6);
    a.ack(6);
    b.ack(6);
    await settle();
    a.socket.take();
    assert.deepEqual(blocksOf(b.socket.take()), [7]);
    // a's block 6 left 29 ms before its ACK (b's warm-up ran in between): the floor is 2 x 29 ms.
    // b never saw a spurious timeout itself (its own RTO is 10 ms), but waits that long for ACK 7.
    assert.equal(peerDelay.floorMs(peer.address), 58);
    assert.equal(b.t.progress().rtoMs, 10);
    clock.advance(57);
    await settle();
    assert.deepEqual(b.socket.take(), [], 'no resend before the shared floor');
    clock.advance(1);
    await settle();
    assert.deepEqual(blocksOf(b.socket.take()), [7]);
    assert.equal(peerDelay.floorMs('10.0.0.3'), 0, 'another address keeps the configured floor');
    clock.advance(PEER_DELAY_HOLD_MS + 1);
    assert.equal(peerDelay.floorMs(peer.address), 0, 'forgotten after the hold time');
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
    // ACK 40 is held up 15 ms, longer than the RTO: the timer resends the window 37..40.
    const r = await runEdk2Client({ blocks: 200, slowAck: 40 });
    assert.equal(r.outcome, 'complete');
    assert.ok(r.intact, 'the file arrived intact');
    assert.ok(r.dataSent <= 200 + 4, `${r.dataSent} DATA sent for 200 blocks: one resent window at most`);
    assert.equal(r.spuriousTimeouts, 1);
  });

  it('EDK2 after losing the last block of a window: its window phase shifts and pxecast follows it, resending nothing twice', async () => {
    // Block 12 is lost once: the timer resends 9..12, EDK2 answers the duplicates 9..11 with
    // ACK 11 and then counts its next window from there (ACK 15, 19, ...).
    const r = await runEdk2Client({ blocks: 200, dropOnce: [12] });
    assert.equal(r.outcome, 'complete');
    assert.ok(r.intact, 'the file arrived intact');
    assert.ok(r.dataSent <= 200 + 1 + 4, `${r.dataSent} DATA sent for 200 blocks`);
  });

  it('EDK2 under scattered loss: every lost block costs at most one window', async () => {
    const dropOnce = [7, 30, 31, 64, 100, 101, 102, 150, 199];
    const r = await runEdk2Client({ blocks: 200, dropOnce });
    assert.equal(r.outcome, 'complete');
    assert.ok(r.intact, 'the file arrived intact');
    assert.ok(r.dataSent <= 200 + 4 * dropOnce.length, `${r.dataSent} DATA sent for 200 blocks, ${dropOnce.length} lost`);
  });
});
