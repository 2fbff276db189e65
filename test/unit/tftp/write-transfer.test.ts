import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UploadSink } from '../../../src/io/ports.js';
import type { TransferResult } from '../../../src/tftp/transfer-types.js';
import { WriteTransfer } from '../../../src/tftp/write-transfer.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';

const peer = { address: '10.0.0.2', port: 2000 };
const timing = { rtoMinMs: 10, rtoMaxMs: 2000, rtoInitialMs: 100, idleTimeoutMs: 30000, maxTransferTimeMs: 600000 };

function setup(opts: { blksize?: number; maxBytes?: number; oack?: boolean } = {}) {
  const clock = new FakeClock();
  const socket = new FakeSocket();
  const written: Buffer[] = [];
  const sink = { committed: false, aborted: false } as { committed: boolean; aborted: boolean } & UploadSink;
  sink.write = async (d: Buffer) => void written.push(Buffer.from(d));
  sink.commit = async () => void (sink.committed = true);
  sink.abort = async () => void (sink.aborted = true);
  const results: TransferResult[] = [];
  const blksize = opts.blksize ?? 8;
  const t = new WriteTransfer({ clock, socket, peer, timing, onEnd: (r) => results.push(r) }, sink, {
    filename: 'up',
    blksize,
    timeoutS: null,
    oack: opts.oack ? [{ name: 'blksize', value: String(blksize) }] : null,
    maxBytes: opts.maxBytes ?? 1 << 20,
  });
  const data = async (block: number, bytes: number) => {
    t.onPacket({ op: 'DATA', block, data: Buffer.alloc(bytes, block) });
    await settle();
  };
  return { clock, socket, t, sink, written, results, data };
}

describe('WriteTransfer state machine', () => {
  it('ACKs 0, then each block; commits on the short block, dallies, completes', async () => {
    const s = setup();
    s.t.start();
    assert.deepEqual(s.socket.take(), [{ op: 'ACK', block: 0 }]);
    await s.data(1, 8);
    await s.data(2, 3);
    assert.deepEqual(s.socket.take(), [{ op: 'ACK', block: 1 }, { op: 'ACK', block: 2 }]);
    assert.ok(s.sink.committed);
    await s.data(2, 3); // the final ACK was lost: answered again while dallying
    assert.deepEqual(s.socket.take(), [{ op: 'ACK', block: 2 }]);
    s.clock.advance(10_000);
    await settle();
    assert.equal(s.results[0]?.outcome, 'complete');
    assert.equal(s.results[0]?.bytes, 11);
    assert.equal(Buffer.concat(s.written).length, 11);
  });

  it('starts with an OACK when options were granted', () => {
    const s = setup({ oack: true });
    s.t.start();
    assert.equal(s.socket.take()[0]?.op, 'OACK');
  });

  it('re-ACKs a duplicate of the previous block and resends the last ACK on its own timer', async () => {
    const s = setup();
    s.t.start();
    await s.data(1, 8);
    s.socket.take();
    await s.data(1, 8);
    assert.deepEqual(s.socket.take(), [{ op: 'ACK', block: 1 }]);
    s.clock.advance(10); // the RTO settled at rto_min after a 0 ms round trip
    assert.deepEqual(s.socket.take(), [{ op: 'ACK', block: 1 }]);
    s.clock.advance(19); // backed off to 20 ms: nothing yet
    assert.deepEqual(s.socket.take(), []);
    s.clock.advance(1);
    assert.deepEqual(s.socket.take(), [{ op: 'ACK', block: 1 }]);
    assert.equal(s.written.length, 1, 'the duplicate was not written twice');
  });

  it('refuses to grow past max_upload_size with ERROR 3 and aborts the sink', async () => {
    const s = setup({ maxBytes: 10 });
    s.t.start();
    await s.data(1, 8);
    await s.data(2, 8);
    const last = s.socket.take().at(-1);
    assert.equal(last?.op === 'ERROR' && last.code, 3);
    assert.ok(s.sink.aborted);
  });

  it('gives up on a silent client after the idle timeout and aborts the sink', async () => {
    const s = setup();
    s.t.start();
    for (let i = 0; i < 40 && s.results.length === 0; i++) {
      s.clock.advance(1000);
      await settle();
    }
    assert.equal(s.results[0]?.outcome, 'timeout');
    assert.ok(s.sink.aborted);
  });
});
