// RFC 2090 sessions of more than 65535 blocks (wrap-position.ts): absolute indices inside, index
// mod 65536 on the wire, ACKs placed by the member's known position, wrapped blocks to the group
// only once every member hearing it has followed a wrap, and a master that cannot follow ended.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestedOptions } from '../../../src/codec/tftp-options.js';
import { decodeTftp } from '../../../src/codec/tftp-packet.js';
import type { Logger, PeerAddress } from '../../../src/io/ports.js';
import { LossMeter, mbpsToBytesPerMs, TokenBucket } from '../../../src/flowcontrol/pacing.js';
import { DeafHosts } from '../../../src/multicast/deaf-hosts.js';
import { MulticastSession } from '../../../src/multicast/multicast-session.js';
import type { SessionSummary } from '../../../src/multicast/session-records.js';
import type { TransferResult } from '../../../src/tftp/transfer-types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';
import { multicastSettings } from '../../support/settings.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };
const GROUP = { group: '239.255.0.9', port: 1758 };
const BLKSIZE = 8;
const peer = (n: number): PeerAddress => ({ address: `10.0.0.${n}`, port: 2000 + n });

/** A session of `blocks` blocks of 8 bytes (the last one short), started with no gathering delay. */
function setup(blocks: number) {
  const clock = new FakeClock();
  const socket = new FakeSocket();
  const size = (blocks - 1) * BLKSIZE + 3;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13) & 0xff;
  const ended: Array<{ peer: PeerAddress; result: TransferResult }> = [];
  const closed: SessionSummary[] = [];
  const settings = multicastSettings({ interface: '0.0.0.0', startDelayMs: 0, maxRateMbps: 100_000, masterTimeoutMs: 600_000 });
  const wrapUnableHosts = new DeafHosts(clock, () => 600_000);
  const session = new MulticastSession({
    clock,
    socket,
    group: GROUP,
    filename: 'big.img',
    // Read at once, so 65,000 blocks need no event-loop turn each.
    blocks: { knownSize: size, block: (i: number) => data.subarray((i - 1) * BLKSIZE, i * BLKSIZE), forgetBefore() {}, close() {} },
    fileSize: size,
    params: { blksize: BLKSIZE, rtoMinMs: 10, initialRateMbps: settings.maxRateMbps, reasons: [] },
    settings,
    rto: { minMs: 1000, maxMs: 2000, initialMs: 1000 },
    timeoutS: null,
    idleTimeoutMs: 600_000,
    maxTransferTimeMs: 6_000_000,
    globalBucket: new TokenBucket(mbpsToBytesPerMs(settings.maxRateMbps), 64 * 1024, 0),
    lossMeter: new LossMeter(),
    mayAnswerStray: () => true,
    deafHosts: new DeafHosts(clock, () => 0),
    wrapUnableHosts,
    log: silent,
    onMemberEnd: (m, result) => ended.push({ peer: m.peer, result }),
    onClose: (s) => closed.push(s),
  });
  const join = (n: number) => {
    const opts = [{ name: 'multicast', value: '' }, { name: 'blksize', value: String(BLKSIZE) }];
    session.join(peer(n), parseRequestedOptions(opts), opts.map((o) => o.name));
  };
  const ack = (n: number, wire: number) => session.onPacket({ op: 'ACK', block: wire }, peer(n));
  /** DATA and ERROR sent since the last call: where to, and the 16-bit block number or error. */
  const take = async (): Promise<string[]> => {
    await settle();
    return socket.sent.splice(0).flatMap(({ data: bytes, to }) => {
      const p = decodeTftp(bytes);
      const dest = to.address === GROUP.group ? 'group' : `c${to.address.split('.')[3]}`;
      if (p.op === 'DATA') return [`${dest}: DATA ${p.block} (${p.data.length} B)`];
      if (p.op === 'ERROR') return [`${dest}: ERROR ${p.message}`];
      if (p.op === 'OACK') return [`${dest}: OACK ${p.options.find((o) => o.name === 'multicast')?.value}`];
      return [];
    });
  };
  /** The master `n` acknowledges every block from `from` to `to` as it arrives (each sent before
   *  its ACK); returns where the blocks went. */
  const drive = async (n: number, from: number, to: number): Promise<Set<string>> => {
    const where = new Set<string>();
    for (let i = from; i <= to; i++) {
      clock.advance(1);
      const sent = socket.sent.splice(0).map(({ data: bytes, to: dest }) => ({ p: decodeTftp(bytes), dest }));
      for (const { p, dest } of sent) if (p.op === 'DATA') where.add(dest.address === GROUP.group ? 'group' : dest.address);
      ack(n, i % 65536);
    }
    return where;
  };
  return { clock, socket, session, join, ack, take, drive, ended, closed, wrapUnableHosts, data };
}

describe('MulticastSession past 65535 blocks (rollover)', () => {
  it('a master that follows the wrap: the block after 65535 goes to it alone, then the group carries the rest, and ACKs past the wrap are placed', async () => {
    const s = setup(65_541);
    s.join(1);
    assert.deepEqual(await s.take(), ['c1: OACK 239.255.0.9,1758,1']);
    s.ack(1, 0);
    assert.deepEqual(await s.drive(1, 1, 65_534), new Set(['group']));
    s.ack(1, 65_535);
    assert.deepEqual(await s.take(), ['group: DATA 65535 (8 B)', 'c1: DATA 0 (8 B)'], 'block 65536 travels as 0, to the master alone: no one has followed a wrap yet');
    s.ack(1, 0); // it took block 65536
    assert.deepEqual(await s.take(), ['group: DATA 1 (8 B)'], 'block 65537 to the group: every member follows the wrap');
    for (const wire of [1, 2, 3]) s.ack(1, wire);
    assert.deepEqual(await s.take(), ['group: DATA 2 (8 B)', 'group: DATA 3 (8 B)', 'group: DATA 4 (8 B)']);
    s.ack(1, 4);
    assert.deepEqual(await s.take(), ['group: DATA 5 (3 B)'], 'the short last block is 65541, number 5');
    s.ack(1, 5);
    await settle();
    assert.deepEqual(s.ended.map((e) => [e.peer.address, e.result.outcome, e.result.blocks]), [['10.0.0.1', 'complete', 65_541]]);
    assert.equal(s.closed[0]!.unicastBlocks, 1);
  });

  it('a master that rejects the block after the wrap (atftp 0.8) is ended with an ERROR, remembered, and the next member is asked alone', async () => {
    const s = setup(65_600);
    s.join(1);
    s.join(2);
    await s.take();
    s.ack(1, 0);
    await s.drive(1, 1, 65_534);
    s.ack(1, 65_535);
    assert.deepEqual(await s.take(), ['group: DATA 65535 (8 B)', 'c1: DATA 0 (8 B)']);
    s.ack(1, 65_535); // atftp: "got wrong block <block: 0>, sending extra ACK for <block: 65535>"
    assert.deepEqual(await s.take(), ['c1: ERROR block numbers wrap past 65535 here; ask again without multicast', 'c2: OACK 239.255.0.9,1758,1']);
    assert.deepEqual(s.ended.map((e) => [e.peer.address, e.result.outcome]), [['10.0.0.1', 'protocol-error']]);
    assert.match(s.ended[0]!.result.detail, /cannot follow the block-number wrap at block 65536/);
    assert.equal(s.wrapUnableHosts.has('10.0.0.1'), true, 'its next request for a file that wraps goes unicast');
    // The listener heard 1..65535 from the group and nothing past it: its ACK is placed below the wrap.
    s.ack(2, 65_535);
    assert.deepEqual(await s.take(), ['c2: DATA 0 (8 B)'], 'asked alone, never through the group');
    s.ack(2, 65_535);
    assert.deepEqual(await s.take(), ['c2: ERROR block numbers wrap past 65535 here; ask again without multicast']);
    assert.equal(s.closed.length, 1);
  });

  it('a re-ask our own resend explains is loss, not a verdict: the block after the wrap is sent again', async () => {
    const s = setup(65_540);
    s.join(1);
    await s.take();
    s.ack(1, 0);
    await s.drive(1, 1, 65_535);
    assert.deepEqual(await s.take(), ['c1: DATA 0 (8 B)']);
    s.clock.advance(1000); // our retransmission timer: the copy of ACK 65535 it draws is explained
    assert.deepEqual(await s.take(), ['c1: DATA 0 (8 B)']);
    s.ack(1, 0);
    assert.deepEqual(await s.take(), ['group: DATA 1 (8 B)']);
    assert.equal(s.ended.length, 0);
  });

  it('a member that joins after the wrap: its ACK 0 is block 0, and wrapped blocks stay off the group until it has followed one', async () => {
    const s = setup(65_545);
    s.join(1);
    await s.take();
    s.ack(1, 0);
    await s.drive(1, 1, 65_536); // through the wrap: 65536 alone to c1, acknowledged
    assert.deepEqual(await s.take(), ['group: DATA 1 (8 B)'], 'block 65537 to the group');
    s.join(2);
    assert.deepEqual(await s.take(), ['c2: OACK 239.255.0.9,1758,0']);
    s.ack(1, 1);
    assert.deepEqual(await s.take(), ['c1: DATA 2 (8 B)'], 'c2 has not followed a wrap: block 65538 goes to the master alone');
    for (const wire of [2, 3, 4, 5, 6, 7, 8]) s.ack(1, wire);
    await settle();
    s.ack(1, 9); // the last block, 65545
    await settle();
    assert.deepEqual(s.ended.map((e) => e.result.outcome), ['complete']);
    const promoted = await s.take();
    assert.equal(promoted.at(-1), 'c2: OACK 239.255.0.9,1758,1');
    s.ack(2, 0); // holds nothing: 0, not 65536
    assert.deepEqual(await s.take(), ['group: DATA 1 (8 B)']);
    s.ack(2, 1);
    assert.deepEqual(await s.take(), ['group: DATA 2 (8 B)']);
  });
});
