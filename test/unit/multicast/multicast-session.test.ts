import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestedOptions } from '../../../src/codec/tftp-options.js';
import { decodeTftp as decode, type TftpPacket } from '../../../src/codec/tftp-packet.js';
import type { MulticastConfig } from '../../../src/config/config-types.js';
import type { Logger, PeerAddress } from '../../../src/io/ports.js';
import { OctetBlocks } from '../../../src/tftp/block-producer.js';
import { decideJoin } from '../../../src/flowcontrol/join-running-session.js';
import { LossMeter, mbpsToBytesPerMs, TokenBucket } from '../../../src/flowcontrol/pacing.js';
import { chooseSessionParameters } from '../../../src/flowcontrol/qos-parameters.js';
import { MAX_STRAY_ACKS } from '../../../src/flowcontrol/resend-on-unexpected.js';
import { DeafHosts } from '../../../src/multicast/deaf-hosts.js';
import { MulticastSession } from '../../../src/multicast/multicast-session.js';
import type { SessionSummary } from '../../../src/multicast/session-records.js';
import type { TransferResult } from '../../../src/tftp/transfer-types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';
import { memoryFile } from '../../support/memory-fs.js';
import { multicastSettings } from '../../support/settings.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };
const GROUP = { group: '239.255.0.7', port: 1758 };
const peer = (n: number): PeerAddress => ({ address: `10.0.0.${n}`, port: 2000 + n });

const settings: MulticastConfig = multicastSettings({ interface: '0.0.0.0' });

function setup(opts: { size?: number; blksize?: number; settings?: Partial<MulticastConfig>; rateMbps?: number; rtoMinMs?: number; clock?: FakeClock; deafHosts?: DeafHosts } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const socket = new FakeSocket();
  const size = opts.size ?? 512 * 5 + 10;
  const blksize = opts.blksize ?? 512;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff;
  const ended: Array<{ peer: PeerAddress; result: TransferResult }> = [];
  const closed: SessionSummary[] = [];
  const config = { ...settings, ...opts.settings };
  const deafHosts = opts.deafHosts ?? new DeafHosts(clock, () => config.deafMemoryMs);
  const session = new MulticastSession({
    clock,
    socket,
    group: GROUP,
    filename: 'img',
    blocks: new OctetBlocks(memoryFile(data), blksize),
    fileSize: size,
    params: { blksize, rtoMinMs: 10, initialRateMbps: opts.rateMbps ?? config.maxRateMbps, reasons: [] },
    settings: config,
    rto: { minMs: opts.rtoMinMs ?? 10, maxMs: 2000, initialMs: 100 },
    timeoutS: 3,
    idleTimeoutMs: 30_000,
    maxTransferTimeMs: 600_000,
    globalBucket: new TokenBucket(mbpsToBytesPerMs(config.maxRateMbps), 64 * 1024, 0),
    lossMeter: new LossMeter(),
    mayAnswerStray: () => true,
    deafHosts,
    log: silent,
    onMemberEnd: (m, result) => ended.push({ peer: m.peer, result }),
    onClose: (s) => closed.push(s),
  });
  const join = (n: number, options: Array<[string, string]> = [['multicast', '']]) => {
    const opts = options.map(([name, value]) => ({ name, value }));
    session.join(peer(n), parseRequestedOptions(opts), opts.map((o) => o.name.toLowerCase()));
  };
  const ack = (n: number, block: number) => session.onPacket({ op: 'ACK', block }, peer(n));
  return { clock, socket, session, join, ack, ended, closed, data, deafHosts };
}

type Sent = { to: string; what: string };
/** Everything sent since the last call: destination (group or cN) and a packet summary. */
function drain(socket: FakeSocket): Sent[] {
  return socket.sent.splice(0).map(({ data, to }) => {
    const p = decode(data);
    const dest = to.address === GROUP.group ? 'group' : `c${to.address.split('.')[3]}`;
    return { to: dest, what: summarize(p) };
  });
}
function summarize(p: TftpPacket): string {
  switch (p.op) {
    case 'OACK':
      return `OACK ${p.options.map((o) => `${o.name}=${o.value}`).join(' ')}`;
    case 'DATA':
      return `DATA ${p.block}`;
    case 'ERROR':
      return `ERROR ${p.code}`;
    default:
      return p.op;
  }
}
const lines = (s: Sent[]) => s.map((x) => `${x.to}: ${x.what}`);

describe('MulticastSession (RFC 2090 + flow control)', () => {
  it('T1: OACK at once to each requester; DATA 1 only when start_delay ends', async () => {
    const s = setup();
    s.join(1, [['blksize', '512'], ['multicast', ''], ['tsize', '0']]);
    assert.deepEqual(lines(drain(s.socket)), ['c1: OACK multicast=239.255.0.7,1758,1 blksize=512 tsize=2570']);
    s.ack(1, 0);
    s.clock.advance(500);
    s.join(2);
    assert.deepEqual(lines(drain(s.socket)), ['c2: OACK multicast=239.255.0.7,1758,0']);
    s.clock.advance(1499);
    await settle();
    assert.deepEqual(drain(s.socket), [], 'nothing before the delay is over');
    s.clock.advance(1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1']);
  });

  it('T2: repeated ACK 0 from the master while gathering is absorbed', async () => {
    const s = setup();
    s.join(1);
    drain(s.socket);
    for (const t of [50, 200, 500, 1000]) {
      s.clock.advance(t);
      s.ack(1, 0);
    }
    await settle();
    assert.deepEqual(drain(s.socket), []);
  });

  describe('scheduled start: members kept waiting through a long gathering', () => {
    const LONG = { startDelayMs: 600_000, minClients: 10 };
    const MASTER_OACK = 'c1: OACK multicast=239.255.0.7,1758,1';
    const LISTENER_OACK = 'c2: OACK multicast=239.255.0.7,1758,0';

    it('a master retrying ACK 0 every 5 s for 60 s gets one OACK per retry, nothing for its echo of it', async () => {
      const s = setup({ settings: LONG });
      s.join(1);
      s.ack(1, 0); // its answer to the OACK
      await settle();
      assert.deepEqual(lines(drain(s.socket)), [MASTER_OACK]);
      for (let t = 5_000; t <= 60_000; t += 5_000) {
        s.clock.advance(5_000);
        s.ack(1, 0); // atftp's timer: re-sends ACK 0
        await settle();
        assert.deepEqual(lines(drain(s.socket)), [MASTER_OACK], `retry at ${t} ms`);
        s.ack(1, 0); // atftp answers the OACK at once: no ping-pong
        s.clock.advance(50);
        s.ack(1, 0);
        await settle();
        assert.deepEqual(drain(s.socket), [], `echo at ${t} ms`);
      }
      assert.deepEqual(s.ended, []);
      assert.equal(s.session.sessionState, 'gathering');
    });

    it('a listener re-sending its RRQ (or ACKing) during the gathering is answered and never dropped', async () => {
      const s = setup({ settings: LONG });
      s.join(1);
      s.ack(1, 0);
      s.join(2);
      await settle();
      drain(s.socket);
      for (let t = 5_000; t <= 60_000; t += 5_000) {
        s.clock.advance(5_000);
        s.join(2); // atftp listener's timer: re-sends its RRQ
        await settle();
        assert.deepEqual(lines(drain(s.socket)), [LISTENER_OACK], `RRQ at ${t} ms`);
      }
      // A listener that ACKs instead (it has been heard): more than MAX_STRAY_ACKS repeats, each
      // answered once the interval has passed, none counted against it while gathering.
      for (let i = 0; i < MAX_STRAY_ACKS * 3; i++) {
        s.clock.advance(5_000);
        s.ack(2, 0);
        s.ack(2, 0); // at once again: within the interval, absorbed
        await settle();
        assert.deepEqual(lines(drain(s.socket)), [LISTENER_OACK], `ACK round ${i}`);
      }
      assert.deepEqual(s.ended, [], 'nobody dropped while gathering');
      // min_clients still starts it; from then on the usual rules apply (the stray-ACK test below).
      for (let n = 3; n <= 10; n++) s.join(n);
      await settle();
      assert.equal(s.session.sessionState, 'sending');
      assert.ok(lines(drain(s.socket)).includes('group: DATA 1'));
    });
  });

  it('T3: starts as soon as min_clients have joined', async () => {
    const s = setup({ settings: { minClients: 3 } });
    s.join(1);
    s.ack(1, 0);
    s.clock.advance(100);
    s.join(2);
    s.clock.advance(200);
    s.join(3);
    await settle();
    assert.deepEqual(lines(drain(s.socket)).at(-1), 'group: DATA 1');
    assert.equal(s.clock.now(), 300);
  });

  it('waits for the master ACK 0 even after the delay, and passes over a master that never answers', async () => {
    const s = setup({ settings: { startDelayMs: 100 } });
    s.join(1);
    s.join(2);
    drain(s.socket);
    s.clock.advance(100);
    await settle();
    assert.ok(!lines(drain(s.socket)).some((l) => l.includes('DATA')), 'no DATA without the master ACK 0');
    s.clock.advance(2000); // master timer
    const out = lines(drain(s.socket));
    assert.ok(out.includes('c2: OACK multicast=239.255.0.7,1758,1'), out.join('\n'));
    s.ack(2, 0);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1']);
  });

  it('runs the master lock-step to the end, then promotes the next oldest member which fills its gaps', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    s.clock.advance(1);
    drain(s.socket);
    s.ack(1, 1);
    await settle();
    s.join(2); // late joiner: misses block 1 and 2... it hears 3 onward
    for (const n of [2, 3, 4, 5]) {
      s.ack(1, n);
      await settle();
    }
    assert.deepEqual(lines(drain(s.socket)), [
      'group: DATA 2',
      'c2: OACK multicast=239.255.0.7,1758,0',
      'group: DATA 3',
      'group: DATA 4',
      'group: DATA 5',
      'group: DATA 6',
    ]);
    s.ack(1, 6); // master done
    assert.deepEqual(s.ended.map((e) => [e.peer.address, e.result.outcome]), [['10.0.0.1', 'complete']]);
    assert.deepEqual(lines(drain(s.socket)), ['c2: OACK multicast=239.255.0.7,1758,1']);
    s.ack(2, 0); // the new master asks for block 1 (its first missing)...
    await settle();
    s.ack(2, 1);
    await settle();
    s.ack(2, 6); // ...then has everything
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1', 'group: DATA 2']);
    assert.equal(s.closed.length, 1, 'session closed after the last member');
    assert.equal(s.closed[0]!.masterSwitches, 1);
  });

  it('S5: a listener that keeps ACKing gets OACK mc=0 (rate-limited) and is dropped after 5', async () => {
    const s = setup({ settings: { startDelayMs: 0, masterTimeoutMs: 60_000 } });
    s.join(1);
    s.join(2);
    s.ack(1, 0);
    s.ack(2, 0); // its OACK acknowledgement: absorbed
    await settle();
    for (let i = 0; i < MAX_STRAY_ACKS + 2; i++) {
      s.clock.advance(2100); // longer than any RTO: the limiter lets every one through
      s.ack(2, 0);
      await settle();
    }
    const toC2 = lines(drain(s.socket)).filter((l) => l.startsWith('c2'));
    assert.equal(toC2.filter((l) => l.includes('OACK')).length, 1 + MAX_STRAY_ACKS, 'its join OACK, then one per stray ACK');
    assert.equal(toC2.filter((l) => l === 'c2: ERROR 0').length, 1, 'dropped once; later packets get ERROR 5');
    assert.equal(s.ended.find((e) => e.peer.address === '10.0.0.2')?.result.outcome, 'protocol-error');
  });

  it('never drops a member for a burst of ACKs already in flight (a master just passed over ACKs every DATA)', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.join(2);
    s.ack(1, 0);
    s.ack(2, 0);
    await settle();
    drain(s.socket);
    for (let i = 0; i < 50; i++) s.ack(2, i % 3);
    await settle();
    assert.equal(lines(drain(s.socket)).filter((l) => l === 'c2: ERROR 0').length, 0, 'still a member');
    assert.equal(s.ended.find((e) => e.peer.address === '10.0.0.2'), undefined);
  });

  it('rate-limits OACK mc=0 answers to a burst of stray ACKs', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.join(2);
    s.ack(1, 0);
    s.ack(2, 0);
    await settle();
    drain(s.socket);
    s.ack(2, 0);
    s.ack(2, 0);
    s.ack(2, 0);
    assert.equal(lines(drain(s.socket)).filter((l) => l.startsWith('c2: OACK')).length, 1);
  });

  it('answers a stranger with ERROR 5 and resends the current DATA at most once per rto/2', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    drain(s.socket);
    s.session.onPacket({ op: 'ACK', block: 3 }, peer(9));
    s.session.onPacket({ op: 'ACK', block: 3 }, peer(9));
    await settle();
    assert.deepEqual(lines(drain(s.socket)).sort(), ['c9: ERROR 5', 'c9: ERROR 5', 'group: DATA 1']);
  });

  it('does not double-send on a duplicate ACK explained by a retransmission (SAS)', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    s.ack(1, 1);
    await settle();
    drain(s.socket);
    s.clock.advance(100); // timer resends DATA 2
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 2']);
    s.ack(1, 1); // late re-ask, explained by the resend? no: it asks for 2 again
    s.ack(1, 2);
    s.ack(1, 2); // answer to the copy: explained
    await settle();
    assert.deepEqual(lines(drain(s.socket)).filter((l) => l.includes('DATA 3')).length, 1);
  });

  it('backs off the retransmission timer on timeouts', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    drain(s.socket);
    const gaps: number[] = [];
    let last = s.clock.now();
    for (let i = 0; i < 3; i++) {
      while (s.socket.sent.length === 0) {
        s.clock.advance(1);
        await settle();
      }
      gaps.push(s.clock.now() - last);
      last = s.clock.now();
      drain(s.socket);
    }
    assert.deepEqual(gaps, [100, 200, 400]);
  });

  // Pacing is a token bucket per stream (master-stream.ts): PACE_DEPTH bytes of burst, then the
  // session rate. With every ACK answered at once, the number of blocks out by time T is exactly
  // floor((depth + rate x T) / packet): the pacer never lets more go, and never holds one back.
  const PACE_BLKSIZE = 1000;
  const PACKET = PACE_BLKSIZE + 4;
  const PACE_DEPTH = 8 * PACE_BLKSIZE;
  const bytesPerMs = (mbps: number) => (mbps * 1e6) / 8 / 1000;
  function pacedSetup() {
    // The retransmission floor stays above the gap between paced blocks even at half rate
    // (16 ms), so the only timeout is the one a test provokes.
    const s = setup({ settings: { startDelayMs: 0, minRateMbps: 0.125, maxRateMbps: 1 }, blksize: PACE_BLKSIZE, size: PACE_BLKSIZE * 400, rtoMinMs: 50 });
    s.join(1, [['multicast', ''], ['blksize', String(PACE_BLKSIZE)]]);
    s.ack(1, 0);
    return s;
  }
  /** Runs `ms` of fake time in 1 ms steps; within each step every DATA is ACKed at once (unless
   *  `withhold` says not to) until nothing more goes out. Returns the send time of each DATA. */
  async function runPaced(s: ReturnType<typeof setup>, ms: number, withhold: (block: number) => boolean = () => false): Promise<Array<{ at: number; block: number }>> {
    const sends: Array<{ at: number; block: number }> = [];
    const end = s.clock.now() + ms;
    for (;;) {
      for (;;) {
        await settle();
        const data = drain(s.socket).filter((d) => d.what.startsWith('DATA'));
        if (data.length === 0) break;
        for (const d of data) {
          const block = Number(d.what.split(' ')[1]);
          sends.push({ at: s.clock.now(), block });
          if (!withhold(block)) s.ack(1, block);
        }
      }
      if (s.clock.now() >= end) return sends;
      s.clock.advance(1);
    }
  }

  it('paces DATA to the session rate: one burst of the bucket depth, then exactly the rate', async () => {
    const s = pacedSetup();
    const sends = await runPaced(s, 200);
    const rate = bytesPerMs(1);
    assert.equal(sends.filter((x) => x.at === 0).length, Math.floor(PACE_DEPTH / PACKET), 'the burst: what the bucket holds, at once');
    for (let t = 0; t <= 200; t++) {
      const out = sends.filter((x) => x.at <= t).length;
      assert.equal(out, Math.floor((PACE_DEPTH + rate * t) / PACKET), `blocks out by ${t} ms`);
    }
    assert.deepEqual(sends.map((x) => x.block), sends.map((_, i) => i + 1), 'each block once, in order');
  });

  it('halves the pacer rate on a retransmission timeout', async () => {
    const s = pacedSetup();
    // 200 ms at 1 Mbit/s empties the burst; then block LOST's ACK is withheld once: one timeout.
    const before = await runPaced(s, 200);
    const lost = before.at(-1)!.block + 1;
    let withheld = false;
    const after = await runPaced(s, 400, (block) => {
      if (block !== lost || withheld) return false;
      withheld = true;
      return true;
    });
    const copies = after.filter((x) => x.block === lost);
    assert.equal(copies.length, 2, 'the unACKed block was sent again once');
    const resentAt = copies[1]!.at;
    // After the timeout the rate is 0.5 Mbit/s until 16 clean blocks add a sixteenth back (AIMD).
    // The bucket refilled while the master was silent, so a short burst goes first; from the
    // first block that had to wait for tokens on, each waits for PACKET bytes at half the rate.
    const later = after.filter((x) => x.at >= resentAt).slice(0, 16);
    const gaps = later.slice(1).map((x, i) => x.at - later[i]!.at);
    const paced = gaps.slice(gaps.findIndex((g) => g > 0) + 1);
    const halfGap = PACKET / bytesPerMs(0.5);
    assert.ok(paced.length >= 6, `blocks paced at half rate before the additive increase: ${gaps.join(',')}`);
    for (const g of paced) assert.ok(g === Math.floor(halfGap) || g === Math.ceil(halfGap), `gap ${g} ms at half rate (${halfGap.toFixed(2)} ms per block): ${gaps.join(',')}`);
    const fullGaps = before.filter((x) => x.at > 100).map((x) => x.at).map((at, i, all) => (i === 0 ? null : at - all[i - 1]!)).filter((g): g is number => g !== null);
    const fullGap = PACKET / bytesPerMs(1);
    for (const g of fullGaps) assert.ok(g === Math.floor(fullGap) || g === Math.ceil(fullGap), `gap ${g} ms at full rate: ${fullGaps.join(',')}`);
  });

  it('drops a master that stays silent master_tries times, with an ERROR', async () => {
    const s = setup({ settings: { startDelayMs: 0, masterTries: 2 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    s.ack(1, 1); // it hears the group: silence now means dead, not deaf
    await settle();
    for (let i = 0; i < 10 && s.closed.length === 0; i++) {
      s.clock.advance(2000);
      await settle();
    }
    const out = lines(drain(s.socket));
    assert.ok(out.includes('c1: ERROR 0'), out.join('\n'));
    assert.equal(s.ended[0]?.result.outcome, 'timeout');
    assert.equal(s.closed.length, 1);
  });

  it('a master killed mid-transfer is passed over and the others finish', async () => {
    const s = setup({ settings: { startDelayMs: 0, masterTries: 1 } });
    s.join(1);
    s.join(2);
    s.ack(1, 0);
    s.ack(2, 0);
    await settle();
    s.ack(1, 1);
    await settle();
    drain(s.socket);
    s.clock.advance(2000); // c1 died: silent
    await settle();
    assert.ok(lines(drain(s.socket)).includes('c2: OACK multicast=239.255.0.7,1758,1'));
    s.ack(2, 2); // it has 1 and 2, wants 3
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 3']);
  });

  it('serves a master that cannot hear the group by unicast (iPXE tftm://)', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    assert.deepEqual(lines(drain(s.socket)).at(-1), 'group: DATA 1');
    // Deaf: it never gets DATA 1; our timer resends it twice more, then it re-asks on its own timer.
    for (const rto of [100, 200, 400]) {
      s.clock.advance(rto);
      await settle();
    }
    s.clock.advance(50);
    s.ack(1, 0);
    await settle();
    const out = lines(drain(s.socket));
    assert.deepEqual(out, ['group: DATA 1', 'group: DATA 1', 'c1: DATA 1', 'c1: DATA 1'], 'three group sends, then unicast');
    s.ack(1, 1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: DATA 2']);
  });

  it('iPXE deafness: the first unexplained ACK 0 after group DATA 1 switches the master to unicast at once, and the host is remembered', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: OACK multicast=239.255.0.7,1758,1', 'group: DATA 1']);
    s.clock.advance(100); // our RTO: DATA 1 to the group again
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1']);
    s.clock.advance(150); // iPXE's back-off: ACK 0 again, 250 ms after DATA 1
    s.ack(1, 0);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: DATA 1'], 'unicast at once, no third group send');
    assert.ok(s.deafHosts.has('10.0.0.1'));
    s.ack(1, 1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: DATA 2']);
  });

  it('a repeated ACK 0 that crossed DATA 1 in flight (within a round trip) is not deafness', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    drain(s.socket);
    s.clock.advance(5); // under the 10 ms RTO floor: sent before DATA 1 could reach it
    s.ack(1, 0);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1'], 'resent once to the group (the loss rule), not by unicast');
    s.ack(1, 1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 2']);
    assert.ok(!s.deafHosts.has('10.0.0.1'));
  });

  it('a crossing copy is no deafness either when the measured round trip is sub-millisecond (a hearing atftp late joiner)', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    s.join(2); // listens from block 2 on
    for (let block = 1; block <= 6; block++) {
      s.clock.advance(0.2); // a LAN: 0.2 ms round trips measured
      s.ack(1, block);
      await settle();
    }
    drain(s.socket);
    s.ack(2, 0); // the new master asks for the block it missed
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1']);
    s.clock.advance(0.3); // a copy that crossed DATA 1: later than two measured round trips, sooner than rto_min
    s.ack(2, 0);
    await settle();
    assert.ok(!lines(drain(s.socket)).includes('c2: DATA 1'), 'not served by unicast');
    assert.ok(!s.deafHosts.has('10.0.0.2'));
  });

  it('after a crossing ACK 0 drew the one loss resend, the next late ACK 0 still switches to unicast', async () => {
    const s = setup({ settings: { startDelayMs: 0, deafAfter: 20 } }); // only the opening-ACK rule can decide
    s.join(1);
    s.ack(1, 0);
    await settle();
    drain(s.socket);
    s.clock.advance(5);
    s.ack(1, 0); // crossed DATA 1: the loss rule resends it to the group, once
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1']);
    s.clock.advance(245); // our timer resends DATA 1 to the group meanwhile
    await settle();
    assert.ok(lines(drain(s.socket)).every((l) => l === 'group: DATA 1'));
    s.ack(1, 0); // iPXE's back-off, unexplained and late: deaf
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: DATA 1']);
  });

  it('a host remembered deaf is served by unicast from its first block, without gathering', async () => {
    const clock = new FakeClock();
    const deafHosts = new DeafHosts(clock, () => 600_000);
    deafHosts.note('10.0.0.1');
    const s = setup({ clock, deafHosts }); // start_delay 2 s
    s.join(1);
    s.ack(1, 0);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: OACK multicast=239.255.0.7,1758,1', 'c1: DATA 1'], 'no gathering, no group send');
    s.ack(1, 1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: DATA 2']);
  });

  it('a session with one member that hears the group still gathers', async () => {
    const clock = new FakeClock();
    const deafHosts = new DeafHosts(clock, () => 600_000);
    deafHosts.note('10.0.0.1');
    const s = setup({ clock, deafHosts });
    s.join(2);
    s.ack(2, 0);
    s.join(1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c2: OACK multicast=239.255.0.7,1758,1', 'c1: OACK multicast=239.255.0.7,1758,0']);
    s.clock.advance(2000);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['group: DATA 1']);
  });

  it('serves a master by unicast when it answers OACKs but stays silent after group DATA (atftp-style slow re-ask)', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.ack(1, 0);
    await settle();
    drain(s.socket);
    s.clock.advance(2000); // master_timeout: silent since DATA 1 went to the group
    await settle();
    const out = lines(drain(s.socket));
    assert.equal(out.at(-1), 'c1: DATA 1');
    assert.ok(!out.some((l) => l.includes('OACK')), 'not passed over');
    s.ack(1, 1);
    await settle();
    assert.deepEqual(lines(drain(s.socket)), ['c1: DATA 2']);
  });

  describe('slow members leave the group (flowcontrol/slow-member.ts)', () => {
    const SLOW = { startDelayMs: 0, slowRateMbps: 1, slowSharePercent: 0, slowAfterMs: 1000 };
    /** c1 master, c2 listening; c1 acknowledges one block every 100 ms (0.04 Mbit/s at 512 bytes). */
    async function slowFirstMaster(settings: Partial<MulticastConfig>, size = 512 * 40 + 10) {
      const s = setup({ size, settings });
      s.join(1);
      s.join(2);
      s.ack(1, 0);
      s.ack(2, 0);
      await settle();
      for (let n = 1; n <= 9; n++) {
        s.clock.advance(100);
        s.ack(1, n);
        await settle();
      }
      drain(s.socket);
      s.clock.advance(100); // the window of slow_after is over
      await settle();
      return s;
    }

    it('a master under slow_rate for slow_after is moved out: its rest by unicast from where it was, the next member drives the group', async () => {
      const s = await slowFirstMaster(SLOW);
      assert.deepEqual(lines(drain(s.socket)).sort(), ['c1: DATA 10', 'c2: OACK multicast=239.255.0.7,1758,1']);
      assert.match(s.session.memberProgress(peer(1)).state, /sending\/master\/unicast/);
      // The group goes on at c2's pace (it heard 1..10), c1 on its own unicast stream, interleaved.
      s.ack(2, 10);
      await settle();
      s.ack(1, 10);
      await settle();
      assert.deepEqual(lines(drain(s.socket)), ['group: DATA 11', 'c1: DATA 11']);
      for (let n = 11; n <= 41; n++) {
        s.ack(2, n);
        await settle();
      }
      assert.deepEqual(s.ended.map((e) => [e.peer.address, e.result.outcome]), [['10.0.0.2', 'complete']], 'the fast member finishes first');
      assert.equal(s.closed.length, 0, 'the session stays open for the member on its own stream');
      drain(s.socket);
      for (let n = 11; n <= 41; n++) {
        s.clock.advance(1); // its own pacer refills
        s.ack(1, n);
        await settle();
      }
      const sent = lines(drain(s.socket));
      assert.equal(sent.length, 30);
      assert.ok(sent.every((l) => l.startsWith('c1: DATA')), 'the moved-out member is served by unicast only');
      assert.deepEqual(s.ended.map((e) => [e.peer.address, e.result.outcome]), [['10.0.0.2', 'complete'], ['10.0.0.1', 'complete']]);
      assert.equal(s.closed.length, 1);
      assert.equal(s.closed[0]!.movedOut, 1);
      assert.equal(s.closed[0]!.unicastBlocks, 32, 'blocks 10..41 by unicast');
    });

    it('a repeated request from a moved-out member gets mc=1 again (it still drives its own stream)', async () => {
      const s = await slowFirstMaster(SLOW);
      drain(s.socket);
      s.join(1);
      assert.deepEqual(lines(drain(s.socket)), ['c1: OACK multicast=239.255.0.7,1758,1']);
    });

    it('stays in the group when nobody else waits on it, when the policy is off, or when its pace is over the threshold', async () => {
      for (const settings of [{ ...SLOW, slowRateMbps: 0 }, { ...SLOW, slowRateMbps: 0, slowSharePercent: 0 }]) {
        const s = await slowFirstMaster(settings);
        assert.deepEqual(lines(drain(s.socket)), [], JSON.stringify(settings));
      }
      const alone = setup({ size: 512 * 40 + 10, settings: SLOW });
      alone.join(1);
      drain(alone.socket);
      alone.ack(1, 0);
      await settle();
      for (let n = 1; n <= 15; n++) {
        alone.clock.advance(100);
        alone.ack(1, n);
        await settle();
      }
      const out = lines(drain(alone.socket));
      assert.ok(out.every((l) => l.startsWith('group:')), `alone: nobody dragged, nothing moved:\n${out.join('\n')}`);
    });

    it('slow_share: measured against the median pace of the members before it', async () => {
      const s = setup({ size: 512 * 100 + 10, settings: { startDelayMs: 0, slowRateMbps: 0, slowSharePercent: 10, slowAfterMs: 1000 } });
      for (const n of [1, 2, 3]) s.join(n);
      s.ack(1, 0);
      s.ack(2, 0);
      s.ack(3, 0);
      await settle();
      // c1 takes the whole file at one block per millisecond (4 Mbit/s).
      for (let n = 1; n <= 101; n++) {
        s.clock.advance(1);
        s.ack(1, n);
        await settle();
      }
      assert.deepEqual(lines(drain(s.socket)).slice(-1), ['c2: OACK multicast=239.255.0.7,1758,1']);
      // c2 lost most of it and asks at one block per 100 ms (0.04 Mbit/s, 1% of c1's pace).
      s.ack(2, 0);
      await settle();
      for (let n = 1; n <= 10; n++) {
        s.clock.advance(100);
        s.ack(2, n);
        await settle();
      }
      const out = lines(drain(s.socket));
      assert.ok(out.includes('c3: OACK multicast=239.255.0.7,1758,1'), `c3 drives the group now:\n${out.join('\n')}`);
      assert.ok(out.some((l) => l.startsWith('c2: DATA')), 'c2 goes on by unicast');
      s.ack(3, 101);
      assert.deepEqual(s.ended.map((e) => e.peer.address), ['10.0.0.1', '10.0.0.3']);
    });
  });

  it('a member that ERRORs leaves; an ERROR from the master promotes the next', async () => {
    const s = setup({ settings: { startDelayMs: 0 } });
    s.join(1);
    s.join(2);
    s.ack(1, 0);
    await settle();
    drain(s.socket);
    s.session.onPacket({ op: 'ERROR', code: 0, message: 'bye' }, peer(1));
    assert.deepEqual(lines(drain(s.socket)), ['c2: OACK multicast=239.255.0.7,1758,1']);
    assert.equal(s.ended[0]?.result.outcome, 'aborted-by-client');
  });

  it('lets joiners in only with a compatible block size and while there is room', () => {
    const s = setup({ blksize: 1024, settings: { maxClients: 2 } });
    const req = (blksize?: number) =>
      parseRequestedOptions([{ name: 'multicast', value: '' }, ...(blksize ? [{ name: 'blksize', value: String(blksize) }] : [])]);
    const canJoin = (r: ReturnType<typeof req>) => decideJoin({ sameFile: true, ...s.session.joinFacts() }, r.blksize);
    assert.equal(canJoin(req(512)), false, 'J2: never a larger blksize than requested');
    assert.equal(canJoin(req()), false);
    assert.equal(canJoin(req(1432)), true);
    s.join(1, [['multicast', ''], ['blksize', '1432']]);
    s.join(2, [['multicast', ''], ['blksize', '1432']]);
    assert.equal(canJoin(req(1432)), false, 'full');
  });

  it('echoes timeout only to members asking for the session value; never windowsize', () => {
    const s = setup();
    s.join(1, [['multicast', ''], ['timeout', '3'], ['windowsize', '8']]);
    s.join(2, [['multicast', ''], ['timeout', '5']]);
    assert.deepEqual(lines(drain(s.socket)), [
      'c1: OACK multicast=239.255.0.7,1758,1 timeout=3',
      'c2: OACK multicast=239.255.0.7,1758,0',
    ]);
  });

  it('a new request from the same host replaces its old entry without closing the session under it', async () => {
    const s = setup();
    s.join(1);
    drain(s.socket);
    s.session.join({ address: '10.0.0.1', port: 9999 }, parseRequestedOptions([{ name: 'multicast', value: '' }]), ['multicast']);
    assert.deepEqual(lines(drain(s.socket)), ['c1: OACK multicast=239.255.0.7,1758,1'], 'the newcomer is master');
    assert.deepEqual(s.ended.map((e) => [e.peer.port, e.result.outcome]), [[2001, 'aborted-by-client']]);
    assert.equal(s.closed.length, 0, 'the session lives on');
    assert.equal(s.session.memberCount(), 1);
  });

  it('J4: the same endpoint requesting twice is listed once and gets its OACK again', () => {
    const s = setup();
    s.join(1);
    s.join(2);
    drain(s.socket);
    s.join(2);
    assert.deepEqual(lines(drain(s.socket)), ['c2: OACK multicast=239.255.0.7,1758,0']);
    assert.equal(s.session.memberCount(), 2);
  });
});

describe('chooseSessionParameters (10.3)', () => {
  const limits = { maxBlksize: 1468, rtoMinMs: 10, maxRateMbps: 1000, minRateMbps: 8 };
  const calm = { activeSessions: 0, activeMembers: 0, lossRatio: 0, loopLagMs: 1 };
  it('N1/N2: never more than asked or the cap', () => {
    assert.equal(chooseSessionParameters(65464, 1e6, limits, calm)?.blksize, 1468);
    assert.equal(chooseSessionParameters(1432, 1e6, limits, calm)?.blksize, 1432);
    assert.equal(chooseSessionParameters(undefined, 1e6, limits, calm)?.blksize, 512);
  });
  it('N3: smaller blocks under loss', () => {
    assert.equal(chooseSessionParameters(1432, 1e6, limits, { ...calm, lossRatio: 0.08 })?.blksize, 1024);
    assert.equal(chooseSessionParameters(1432, 1e6, limits, { ...calm, lossRatio: 0.2 })?.blksize, 512);
  });
  it('raises the retransmission floor under event-loop lag and shares the rate among sessions', () => {
    const p = chooseSessionParameters(1432, 1e6, limits, { ...calm, loopLagMs: 80, activeSessions: 3 })!;
    assert.equal(p.rtoMinMs, 100);
    assert.equal(p.initialRateMbps, 250);
    assert.ok(p.reasons.length >= 2);
  });
  it('J5: a file over 65535 blocks at the requested size is not multicast', () => {
    assert.equal(chooseSessionParameters(512, 70_000 * 512, limits, calm), null);
    assert.equal(chooseSessionParameters(1432, 70_000 * 512, limits, calm)?.blksize, 1432);
  });
});
