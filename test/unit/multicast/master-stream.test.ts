import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTftp } from '../../../src/codec/tftp-packet.js';
import type { Logger, PeerAddress } from '../../../src/io/ports.js';
import type { BlockProducer } from '../../../src/tftp/block-producer.js';
import { LossMeter, mbpsToBytesPerMs, TokenBucket } from '../../../src/flowcontrol/pacing.js';
import { MasterStream, type StreamMaster } from '../../../src/multicast/master-stream.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket } from '../../support/fake-socket.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };
const BLKSIZE = 1024;
const MAX_RATE_MBPS = 8; // 1000 bytes per ms: about one 1028-byte DATA packet per ms
const GLOBAL_DEPTH = 64 * 1024; // as the daemon builds it

/** Blocks in memory, read synchronously: the test's time is only the fake clock's. */
const zeroBlocks = (): BlockProducer => ({
  knownSize: null,
  block: () => Buffer.alloc(BLKSIZE),
  forgetBefore: () => undefined,
  close: () => undefined,
});

/** A stream of a file far longer than the test runs, starting at `initialRateMbps`, whose master
 *  ACKs every block `ackDelayMs` after it went out. */
function pacedStream(clock: FakeClock, globalBucket: TokenBucket, n: number, initialRateMbps = MAX_RATE_MBPS, ackDelayMs = 0) {
  const socket = new FakeSocket();
  const peer: PeerAddress = { address: `10.0.0.${n}`, port: 3000 };
  const stream = new MasterStream({
    clock,
    socket,
    group: { address: '239.255.0.1', port: 1758 },
    blocks: zeroBlocks(),
    blksize: BLKSIZE,
    fileSize: BLKSIZE * 60_000,
    rto: { minMs: 50, maxMs: 2000, initialMs: 100 },
    initialRateMbps,
    minRateMbps: 1,
    maxRateMbps: MAX_RATE_MBPS,
    globalBucket,
    lossMeter: new LossMeter(),
    deafAfter: 3,
    firstBlockAlsoUnicast: false,
    groupKeepaliveMs: null,
    log: silent,
    beforeRetransmit: () => true,
    onReadError: (e) => assert.fail(e),
  });
  const master: StreamMaster = { peer, unicast: false, heardGroup: false, retransmits: 0 };
  stream.beginTurn(master);
  stream.start(1);
  let blocks = 0;
  const acks: Array<{ at: number; block: number }> = [];
  return {
    /** Counts the DATA sent since the last call and ACKs each block when its delay is over. */
    answer() {
      for (const { data } of socket.sent.splice(0)) {
        const p = decodeTftp(data);
        if (p.op !== 'DATA') continue;
        blocks++;
        acks.push({ at: clock.now() + ackDelayMs, block: p.block });
      }
      while (acks.length > 0 && acks[0]!.at <= clock.now()) stream.onAck(acks.shift()!.block);
    },
    get blocks() {
      return blocks;
    },
    stats: () => stream.stats(),
  };
}

/** Runs the streams on 1 ms ticks for `ms` and returns the blocks each sent in the last `measureMs`. */
function run(streams: Array<ReturnType<typeof pacedStream>>, clock: FakeClock, ms: number, measureMs: number): number[] {
  const before: number[] = [];
  for (let t = 0; t < ms; t++) {
    if (t === ms - measureMs) before.push(...streams.map((s) => s.blocks));
    clock.advance(1);
    for (const s of streams) s.answer();
  }
  return streams.map((s, i) => s.blocks - before[i]!);
}

// The simulation is exact (fake clock, no loss), so the achieved rate is compared closely: charging
// a bucket for a packet that then waits for the other bucket cost 3% (one stream) to 7% (eight).
const TOLERANCE = 0.02;

describe('MasterStream pacing', () => {
  const packetsPerMs = mbpsToBytesPerMs(MAX_RATE_MBPS) / (BLKSIZE + 4);

  it('a single stream runs at max_rate: a bucket that says wait does not spend the other\'s tokens', () => {
    const clock = new FakeClock();
    const global = new TokenBucket(mbpsToBytesPerMs(MAX_RATE_MBPS), GLOBAL_DEPTH, 0);
    const stream = pacedStream(clock, global, 1);
    const [sent] = run([stream], clock, 3000, 2000);
    const expected = packetsPerMs * 2000;
    assert.equal(stream.stats().retransmits, 0);
    assert.ok(Math.abs(sent! - expected) <= expected * TOLERANCE, `${sent} blocks in 2 s, max_rate allows ${Math.round(expected)}`);
  });

  it('eight streams saturating the shared global bucket together reach max_rate (each charged only for what it sends)', () => {
    const clock = new FakeClock();
    const global = new TokenBucket(mbpsToBytesPerMs(MAX_RATE_MBPS), GLOBAL_DEPTH, 0);
    // As the server starts them: each later session at a share of max_rate; masters 2 ms away.
    const streams = Array.from({ length: 8 }, (_, i) => pacedStream(clock, global, i + 1, MAX_RATE_MBPS / (i + 1), 2));
    const sent = run(streams, clock, 3000, 2000);
    const expected = packetsPerMs * 2000;
    const total = sent.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - expected) <= expected * TOLERANCE, `${sent.join(' + ')} = ${total} blocks in 2 s, max_rate allows ${Math.round(expected)}`);
  });
});
