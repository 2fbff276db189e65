import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CatalogStore } from '../../../src/catalog/catalog-store.js';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../../src/codec/tftp-packet.js';
import type { MulticastConfig, TftpConfig } from '../../../src/config/config-types.js';
import type { DatagramSocket, Logger, SocketFactory, SocketOptions } from '../../../src/io/ports.js';
import { LossMeter, TokenBucket } from '../../../src/flowcontrol/pacing.js';
import { KeyedRateLimiter } from '../../../src/admission/keyed-rate-limiter.js';
import { TftpServer } from '../../../src/tftp/tftp-server.js';
import { REFUSAL_ERRORS_PER_S } from '../../../src/admission/limit-gate.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';
import { multicastSettings, tftpSettings } from '../../support/settings.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };

const baseSettings: TftpConfig = tftpSettings({
  listen: '127.0.0.1',
  root: '/srv',
  netascii: false,
  maxTransfers: 2,
  rtoMaxMs: 2000,
  rtoInitialMs: 100,
  maxUploadSize: 1 << 20,
});

// A one-pair pool, so a second session cannot get a group.
const mcSettings: MulticastConfig = multicastSettings({ groupLast: '239.255.0.0', startDelayMs: 0 });

class FakeSockets implements SocketFactory {
  readonly bound: Array<{ options: SocketOptions; socket: FakeSocket }> = [];
  async bind(options: SocketOptions): Promise<DatagramSocket> {
    const socket = new FakeSocket(options.port || 50000 + this.bound.length);
    this.bound.push({ options, socket });
    return socket;
  }
}

async function setup(over: Partial<TftpConfig> = {}, logger: Logger = silent) {
  const settings = { ...baseSettings, ...over };
  const fs = new MemoryFileSystem().addFile('/srv/boot.img', Buffer.alloc(3000, 7)).addFile('/etc/passwd', Buffer.from('root'));
  fs.links.set('/srv/escape', '/etc/passwd');
  fs.devices.add('/srv/dev0');
  const sockets = new FakeSockets();
  const clock = new FakeClock();
  const server = new TftpServer({
    clock,
    sockets,
    fs,
    uploads: null,
    catalog: new CatalogStore({ root: '/srv', images: [], hosts: [], loadedAt: 0 }),
    logger,
    settings: () => settings,
    multicastSettings: () => mcSettings,
    loopLagMs: () => 0,
    globalBucket: new TokenBucket(125_000, 65536, 0),
    lossMeter: new LossMeter(),
    requestRate: new KeyedRateLimiter(() => clock.now(), () => ({ ratePerS: settings.clientRequestRate, burst: settings.clientRequestBurst })),
  });
  await server.start();
  const listener = sockets.bound[0]!.socket;
  const errors = sockets.bound[1]!.socket;
  const request = async (p: TftpPacket, from = { address: '10.0.0.9', port: 3000 }) => {
    listener.deliver(encodeTftp(p), from);
    await settle();
  };
  const rrq = (filename: string, options: Array<[string, string]> = [], mode = 'octet') =>
    request({ op: 'RRQ', filename, mode, options: options.map(([name, value]) => ({ name, value })) });
  /** The code of the last ERROR sent from the shared error socket. */
  const lastErrorCode = () => {
    const d = errors.sent.at(-1);
    const p = d ? decodeTftp(d.data) : null;
    return p?.op === 'ERROR' ? p.code : null;
  };
  const lastError = () => {
    const d = errors.sent.at(-1);
    return d ? decodeTftp(d.data) : null;
  };
  return { fs, sockets, clock, server, listener, errors, request, rrq, lastError, lastErrorCode };
}

describe('TftpServer glue', () => {
  it('serves a read from a new TID socket', async () => {
    const s = await setup();
    await s.rrq('boot.img', [['blksize', '1024']]);
    const tid = s.sockets.bound[2]!.socket;
    assert.equal(s.sockets.bound[2]!.options.port, 0, 'ephemeral TID port');
    assert.deepEqual(decodeTftp(tid.sent[0]!.data), { op: 'OACK', options: [{ name: 'blksize', value: '1024' }] });
    assert.equal(s.server.activeTransfers(), 1);
  });

  const refusals: Array<[string, string, number]> = [
    ['a missing file', 'nope.img', 1],
    ['a path with ..', '../etc/passwd', 2],
    ['a root-relative name the tree does not have', '/etc/passwd', 1],
    ['a root-relative name that climbs out', '/../etc/passwd', 2],
    ['a symlink that escapes the root', 'escape', 2],
    ['a device file', 'dev0', 2],
    ['a backslash path', '..\\etc\\passwd', 2],
  ];
  for (const [name, file, code] of refusals) {
    it(`refuses ${name} with ERROR ${code}`, async () => {
      const s = await setup();
      await s.rrq(file);
      assert.equal(s.lastErrorCode(), code);
      assert.equal(s.server.activeTransfers(), 0);
      assert.equal(s.fs.openCount, 0);
    });
  }

  it('refuses netascii when disabled and mail mode always, with ERROR 4', async () => {
    const s = await setup();
    await s.rrq('boot.img', [], 'netascii');
    assert.equal(s.lastErrorCode(), 4);
    await s.rrq('boot.img', [], 'mail');
    assert.equal(s.lastErrorCode(), 4);
  });

  it('refuses uploads with ERROR 2 when no upload directory is configured', async () => {
    const s = await setup();
    await s.request({ op: 'WRQ', filename: 'x', mode: 'octet', options: [] });
    assert.equal(s.lastErrorCode(), 2);
  });

  it('answers over the transfer limit with an ERROR, never silence', async () => {
    const s = await setup();
    await s.rrq('boot.img');
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.9', port: 3001 });
    // Both clients answer, so neither transfer can be evicted as unconfirmed.
    s.sockets.bound[2]!.socket.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.9', port: 3000 });
    s.sockets.bound[3]!.socket.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.9', port: 3001 });
    await settle();
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.10', port: 3002 });
    const e = s.lastError();
    assert.equal(e?.op === 'ERROR' && e.code, 0);
    assert.match(e?.op === 'ERROR' ? e.message : '', /busy/);
    assert.equal(s.server.activeTransfers(), 2);
  });

  it('answers a stray source on a TID with ERROR 5 and keeps the transfer', async () => {
    const s = await setup();
    await s.rrq('boot.img');
    const tid = s.sockets.bound[2]!.socket;
    tid.sent.length = 0;
    tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.66', port: 3000 });
    assert.deepEqual(decodeTftp(tid.sent[0]!.data), { op: 'ERROR', code: 5, message: 'Unknown transfer ID' });
    assert.deepEqual(tid.sent[0]!.to, { address: '10.0.0.66', port: 3000 });
    tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.9', port: 3000 });
    await settle();
    assert.deepEqual(decodeTftp(tid.sent.at(-1)!.data).op, 'DATA');
    assert.equal(s.server.counters.wrongTid, 1);
  });

  it('de-duplicates a repeated RRQ: one TID, the first answer sent again (10.5 a)', async () => {
    const s = await setup();
    await s.rrq('boot.img', [['tsize', '0']]);
    await s.rrq('boot.img', [['tsize', '0']]);
    assert.equal(s.sockets.bound.length, 3, 'no second TID socket');
    const tid = s.sockets.bound[2]!.socket;
    assert.deepEqual(tid.sent.map((d) => decodeTftp(d.data).op), ['OACK', 'OACK']);
  });

  it('counts malformed datagrams, answers ERROR 4 only to packet-shaped ones, and keeps serving', async () => {
    const s = await setup();
    s.listener.deliver(Buffer.from([0]), { address: '10.0.0.9', port: 1 });
    s.listener.deliver(Buffer.from([0, 9, 1, 2]), { address: '10.0.0.9', port: 1 });
    s.listener.deliver(Buffer.from('\x00\x01file', 'latin1'), { address: '10.0.0.9', port: 1 });
    await settle();
    assert.equal(s.errors.sent.length, 2);
    assert.deepEqual(s.server.counters.decodeErrors, { TRUNCATED: 1, UNKNOWN_OPCODE: 1, MISSING_NUL: 1 });
    await s.rrq('boot.img');
    assert.equal(s.server.activeTransfers(), 1);
  });

  it('J1: two multicast requests for one file share the session port and group; mc=1 then mc=0', async () => {
    const s = await setup();
    await s.rrq('boot.img', [['multicast', ''], ['blksize', '1024']]);
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [{ name: 'blksize', value: '1024' }, { name: 'multicast', value: '' }] }, { address: '10.0.0.10', port: 4000 });
    assert.equal(s.sockets.bound.length, 3, 'one session socket for both');
    const session = s.sockets.bound[2]!;
    assert.deepEqual(session.options.multicast, { ttl: 1, interface: '127.0.0.1' });
    const oacks = session.socket.sent.map((d) => [d.to.address, decodeTftp(d.data)]);
    assert.deepEqual(oacks, [
      ['10.0.0.9', { op: 'OACK', options: [{ name: 'multicast', value: '239.255.0.0,1758,1' }, { name: 'blksize', value: '1024' }] }],
      ['10.0.0.10', { op: 'OACK', options: [{ name: 'multicast', value: '239.255.0.0,1758,0' }, { name: 'blksize', value: '1024' }] }],
    ]);
    assert.equal(s.server.activeTransfers(), 2, 'each member counts as a transfer');
  });

  it('serves a multicast request unicast when the group pool is exhausted, never an ERROR', async () => {
    const s = await setup();
    await s.rrq('boot.img', [['multicast', ''], ['blksize', '1024']]);
    // Different block size: cannot join, and the one-pair pool is taken.
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [{ name: 'multicast', value: '' }, { name: 'blksize', value: '512' }] }, { address: '10.0.0.10', port: 4000 });
    const unicast = s.sockets.bound[3]!.socket;
    assert.deepEqual(decodeTftp(unicast.sent[0]!.data), { op: 'OACK', options: [{ name: 'blksize', value: '512' }] });
    assert.deepEqual(s.server.counters.multicastFallbacks, { 'multicast group pool exhausted': 1 });
    assert.deepEqual(s.server.counters.limited, { 'multicast-groups': 1 });
    // The fallback transfer runs to the end like any unicast read.
    unicast.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.10', port: 4000 });
    await settle();
    for (let block = 1; block <= 6; block++) {
      unicast.deliver(encodeTftp({ op: 'ACK', block }), { address: '10.0.0.10', port: 4000 });
      await settle();
    }
    assert.ok(!s.server.transfers().some((t) => t.client === '10.0.0.10:4000'), 'finished');
    assert.equal(s.server.counters.outcomes['complete'], 1);
  });

  it('transfers() names block size, and for multicast members the group and the master', async () => {
    const s = await setup();
    await s.rrq('boot.img', [['multicast', ''], ['blksize', '1024']]);
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [{ name: 'multicast', value: '' }, { name: 'blksize', value: '1024' }] }, { address: '10.0.0.10', port: 4000 });
    assert.deepEqual(
      s.server.transfers().map((t) => [t.client, t.blksize, t.multicast]),
      [
        ['10.0.0.9:3000', 1024, { group: '239.255.0.0:1758', master: '10.0.0.9:3000' }],
        ['10.0.0.10:4000', 1024, { group: '239.255.0.0:1758', master: '10.0.0.9:3000' }],
      ],
    );
  });

  it('drop ends one transfer with an ERROR carrying the reason and leaves the others running', async () => {
    const s = await setup();
    await s.rrq('boot.img');
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [{ name: 'blksize', value: '700' }] }, { address: '10.0.0.9', port: 3001 });
    const tid = s.sockets.bound[2]!.socket;
    assert.equal(s.server.drop('10.0.0.9:3000', 'dropped by the operator'), true);
    assert.deepEqual(decodeTftp(tid.sent.at(-1)!.data), { op: 'ERROR', code: 0, message: 'dropped by the operator' });
    assert.deepEqual(
      s.server.transfers().map((t) => [t.client, t.blksize, t.multicast]),
      [['10.0.0.9:3001', 700, null]],
    );
    assert.deepEqual(s.server.counters.outcomes, { dropped: 1 });
    assert.equal(s.server.drop('10.0.0.9:3000', 'again'), false);
    assert.equal(s.server.drop('10.0.0.9', 'no port'), false);
  });

  it('ends running transfers with an ERROR on stop', async () => {
    const s = await setup();
    await s.rrq('boot.img');
    const tid = s.sockets.bound[2]!.socket;
    s.server.stop();
    const last = decodeTftp(tid.sent.at(-1)!.data);
    assert.equal(last.op, 'ERROR');
    assert.equal(s.server.activeTransfers(), 0);
    assert.ok(tid.closed && s.listener.closed);
  });
});

/** Records warn lines (limit episodes are logged at warn). */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    child: () => logger,
    debug() {},
    info() {},
    warn(message, fields) {
      lines.push(`${message} ${String(fields?.['limit'] ?? '')}`);
    },
    error() {},
  };
  return logger;
}

describe('TftpServer abuse limits', () => {
  const plain: TftpPacket = { op: 'RRQ', filename: 'nope.img', mode: 'octet', options: [] };

  it('over its request rate a client gets one short ERROR per episode, then silence; one log line', async () => {
    const lines: string[] = [];
    const s = await setup({ clientRequestRate: 2, clientRequestBurst: 3 }, recordingLogger(lines));
    for (let i = 0; i < 50; i++) await s.request(plain, { address: '10.0.0.7', port: 4000 + i });
    const answers = s.errors.take();
    // 3 within the burst get "file not found", the 4th "too many requests", the other 46 nothing.
    assert.deepEqual(
      answers.map((p) => (p.op === 'ERROR' ? `${p.code} ${p.message}` : p.op)),
      ['1 File not found', '1 File not found', '1 File not found', '0 too many requests'],
    );
    assert.equal(s.server.counters.limited['request-rate'], 47);
    assert.deepEqual(lines, ['limit reached request-rate']);
    // Another client is not affected.
    await s.request(plain, { address: '10.0.0.8', port: 4000 });
    assert.equal(s.lastErrorCode(), 1);
    // Slowing down restores service; a new flood is a new episode with one more line.
    s.clock.advance(20_000);
    await s.request(plain, { address: '10.0.0.7', port: 5000 });
    assert.equal(s.lastErrorCode(), 1);
    for (let i = 0; i < 10; i++) await s.request(plain, { address: '10.0.0.7', port: 5001 + i });
    assert.deepEqual(lines, ['limit reached request-rate', 'limit reached request-rate']);
  });

  it('many clients over their rate at once: still one log line, and one ERROR per client', async () => {
    const lines: string[] = [];
    const s = await setup({ clientRequestRate: 1, clientRequestBurst: 1 }, recordingLogger(lines));
    for (let c = 0; c < 50; c++) for (let i = 0; i < 5; i++) await s.request(plain, { address: `10.6.0.${c}`, port: 4000 + i });
    assert.deepEqual(lines, ['limit reached request-rate']);
    const answers = s.errors.take().map((p) => (p.op === 'ERROR' ? p.message : p.op));
    assert.equal(answers.filter((m) => m === 'too many requests').length, 50);
    assert.equal(s.server.counters.limited['request-rate'], 200);
  });

  it('refuses a client over max_transfers_per_client with ERROR "too many transfers"', async () => {
    const s = await setup({ maxTransfers: 10, maxTransfersPerClient: 2 });
    for (let port = 3000; port < 3003; port++) await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.9', port });
    const e = s.lastError();
    assert.deepEqual(e, { op: 'ERROR', code: 0, message: 'too many transfers' });
    assert.equal(s.server.activeTransfers(), 2);
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.10', port: 3000 });
    assert.equal(s.server.activeTransfers(), 3, 'other clients still get served');
    assert.equal(s.server.counters.limited['client-transfers'], 1);
  });

  it('a flood of never-answering sources displaces only itself: confirmed transfers survive, new clients get served', async () => {
    const s = await setup({ maxTransfers: 6, maxUnconfirmed: 3 });
    // A real client: its RRQ, then its ACK on the TID confirms it.
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.1', port: 2000 });
    const realTid = s.sockets.bound[2]!.socket;
    realTid.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    // 100 spoofed sources, one RRQ each, never an ACK.
    for (let i = 0; i < 100; i++) await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: `10.9.${i >> 8}.${i & 255}`, port: 1000 });
    assert.equal(s.server.activeTransfers(), 1 + 3, 'the confirmed one plus max_unconfirmed');
    assert.equal(s.server.counters.limited['unconfirmed-evicted'], 97);
    assert.equal(s.server.counters.outcomes['unconfirmed'], 97);
    assert.ok(s.server.transfers().some((t) => t.client === '10.0.0.1:2000'));
    // Evictions are silent: no ERROR to the (possibly spoofed) sources.
    assert.equal(s.errors.sent.length, 0);
    // A new real client still gets its first block.
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.2', port: 2000 });
    const tid = s.sockets.bound.at(-1)!.socket;
    assert.equal(decodeTftp(tid.sent[0]!.data).op, 'DATA');
  });

  it('keeps a client whose first answers were lost until its own retry timer fires (curl re-sends ACK 0 after 6 s)', async () => {
    // The default unconfirmed_timeout: a real client on a lossy link, every OACK and ACK of its
    // first 6 s lost. curl's TFTP client re-sends its last packet every 6 s (atftp and tftp-hpa
    // every 5 s); a transfer dropped before that leaves the client waiting on a closed port.
    const s = await setup();
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [{ name: 'blksize', value: '1024' }] }, { address: '10.0.0.1', port: 2000 });
    const tid = s.sockets.bound[2]!.socket;
    for (let t = 0; t < 6000; t += 250) {
      s.clock.advance(250);
      await settle();
    }
    assert.ok(!tid.closed, 'the transfer still listens when the client re-sends');
    tid.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    const last = decodeTftp(tid.sent.at(-1)!.data);
    assert.deepEqual(last.op === 'DATA' ? [last.op, last.block] : [last.op], ['DATA', 1]);
  });

  it('ends an unconfirmed transfer after unconfirmed_timeout without an ERROR; confirmed ones keep idle_timeout', async () => {
    const s = await setup({ unconfirmedTimeoutMs: 3000, idleTimeoutMs: 20_000 });
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.9.0.1', port: 1000 });
    const spoofedTid = s.sockets.bound[2]!.socket;
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.1', port: 2000 });
    const realTid = s.sockets.bound[3]!.socket;
    realTid.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    s.clock.advance(3000);
    await settle();
    assert.deepEqual(s.server.transfers().map((t) => t.client), ['10.0.0.1:2000']);
    assert.ok(spoofedTid.closed);
    const spoofedGot = spoofedTid.sent.map((d) => decodeTftp(d.data).op);
    assert.ok(!spoofedGot.includes('ERROR'), `no ERROR to an unconfirmed peer: ${spoofedGot.join(',')}`);
    assert.ok(spoofedGot.length <= 3, `at most the first DATA and its retransmissions within 3 s: ${spoofedGot.length}`);
    assert.equal(s.server.counters.limited['unconfirmed-expired'], 1);
  });

  it('logs the busy limit once per episode, and rate-limits refusal ERRORs overall', async () => {
    const lines: string[] = [];
    const s = await setup({ maxTransfers: 1, maxUnconfirmed: 1 }, recordingLogger(lines));
    await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: '10.0.0.1', port: 2000 });
    s.sockets.bound[2]!.socket.deliver(encodeTftp({ op: 'ACK', block: 1 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    for (let i = 0; i < 300; i++) await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: `10.8.${i >> 8}.${i & 255}`, port: 1000 });
    assert.equal(s.server.counters.limited['busy'], 300);
    assert.deepEqual(lines, ['limit reached busy']);
    const busy = s.errors.take();
    assert.equal(busy.length, 100, 'at most REFUSAL_ERRORS_PER_S refusal ERRORs in a second');
    assert.ok(busy.every((p) => p.op === 'ERROR' && p.message === 'server busy'));
  });
});

describe('TftpServer: forged multicast requests and stray sources', () => {
  const mcRrq: TftpPacket = { op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [{ name: 'multicast', value: '' }] };
  const stray = (i: number) => ({ address: `10.7.${i >> 8}.${i & 255}`, port: 5000 });
  const oacksTo = (socket: FakeSocket, address: string) =>
    socket.sent.filter((d) => d.to.address === address).map((d) => decodeTftp(d.data)).filter((p) => p.op === 'OACK');

  it('a multicast member is unconfirmed until it answers on the session port: forged ones are evicted, never refused for', async () => {
    const s = await setup({ maxTransfers: 6, maxUnconfirmed: 3 });
    await s.request(mcRrq, { address: '10.0.0.1', port: 2000 });
    const session = s.sockets.bound[2]!.socket;
    session.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    for (let i = 0; i < 100; i++) await s.request(mcRrq, { address: `10.9.${i >> 8}.${i & 255}`, port: 1000 });
    assert.equal(s.server.activeTransfers(), 1 + 3, 'the answering member plus max_unconfirmed');
    assert.equal(s.server.counters.limited['unconfirmed-evicted'], 97);
    assert.equal(s.server.counters.limited['busy'], undefined, 'nobody was refused');
    assert.ok(s.server.transfers().some((t) => t.client === '10.0.0.1:2000'));
    assert.equal(s.errors.sent.length, 0, 'evictions are silent');
    // A real client is still served: it joins and gets its OACK.
    await s.request(mcRrq, { address: '10.0.0.2', port: 2000 });
    assert.equal(oacksTo(session, '10.0.0.2').length, 1);
  });

  it('a member that answered is not replaced by a forged request from its address; a silent listener is not dropped for silence', async () => {
    const s = await setup({ maxTransfers: 10, unconfirmedTimeoutMs: 3000, idleTimeoutMs: 20_000 });
    await s.request(mcRrq, { address: '10.0.0.1', port: 2000 });
    const session = s.sockets.bound[2]!.socket;
    session.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    await s.request(mcRrq, { address: '10.0.0.2', port: 2000 }); // a listener that never ACKs (iPXE with mc=0)
    await s.request(mcRrq, { address: '10.0.0.1', port: 6666 }); // forged: the master's address, another port
    s.clock.advance(4000);
    await settle();
    const clients = s.server.transfers().map((t) => t.client).sort();
    assert.ok(clients.includes('10.0.0.1:2000'), `the answering member stays: ${clients.join(' ')}`);
    assert.ok(clients.includes('10.0.0.2:2000'), 'the silent listener stays past unconfirmed_timeout');
    assert.equal(s.server.counters.outcomes['aborted-by-client'], undefined);
    // Once the new entry answers, it is the host's new attempt and replaces the old one.
    session.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.1', port: 6666 });
    await settle();
    assert.ok(!s.server.transfers().some((t) => t.client === '10.0.0.1:2000'));
    assert.equal(s.server.counters.outcomes['aborted-by-client'], 1);
  });

  it('silent multicast listeners and unicast transfers are capped apart: forged RRQs of one kind do not evict the other', async () => {
    const s = await setup({ maxTransfers: 6, maxUnconfirmed: 3 });
    await s.request(mcRrq, { address: '10.0.0.1', port: 2000 }); // a real listener that stays silent
    for (let i = 0; i < 100; i++) await s.request({ op: 'RRQ', filename: 'boot.img', mode: 'octet', options: [] }, { address: `10.9.${i >> 8}.${i & 255}`, port: 1000 });
    assert.ok(s.server.transfers().some((t) => t.client === '10.0.0.1:2000'), 'the listener is still a member');
    assert.equal(s.server.counters.limited['unconfirmed-evicted'], 97, 'forged unicast transfers displaced only themselves');
  });

  it('a master that never answered is passed over as soon as a member answers its OACK', async () => {
    const s = await setup({ maxTransfers: 10 });
    await s.request(mcRrq, { address: '10.9.0.1', port: 1000 }); // forged: the first, so the master
    await s.request(mcRrq, { address: '10.0.0.1', port: 2000 });
    const session = s.sockets.bound[2]!.socket;
    assert.deepEqual(oacksTo(session, '10.0.0.1').map((p) => p.op === 'OACK' && p.options[0]!.value), ['239.255.0.0,1758,0']);
    session.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.1', port: 2000 }); // its ACK of the OACK
    await settle();
    assert.deepEqual(
      oacksTo(session, '10.0.0.1').map((p) => p.op === 'OACK' && p.options[0]!.value),
      ['239.255.0.0,1758,0', '239.255.0.0,1758,1'],
      'master at once, not after master_timeout',
    );
    session.deliver(encodeTftp({ op: 'ACK', block: 0 }), { address: '10.0.0.1', port: 2000 });
    await settle();
    const data = session.sent.map((d) => decodeTftp(d.data)).filter((p) => p.op === 'DATA');
    assert.equal(data[0]?.op === 'DATA' && data[0].block, 1, 'and the data flows');
  });

  it('ERROR 5 to stray sources on a transfer port is bounded like unsolicited answers on port 69', async () => {
    const s = await setup();
    await s.rrq('boot.img');
    const tid = s.sockets.bound[2]!.socket;
    tid.sent.length = 0;
    for (let i = 0; i < 1000; i++) tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), stray(i));
    for (let i = 0; i < 1000; i++) tid.deliver(encodeTftp({ op: 'ACK', block: 1 }), stray(0));
    const errors = tid.take().filter((p) => p.op === 'ERROR' && p.code === 5);
    assert.equal(s.server.counters.wrongTid, 2000);
    assert.ok(errors.length <= REFUSAL_ERRORS_PER_S, `${errors.length} ERROR 5 for 2000 stray packets in one instant`);
    assert.ok(errors.length >= 1, 'a stray source is still told');
  });

  it('ERROR 5 to stray sources on a multicast session port is bounded the same way', async () => {
    const s = await setup();
    await s.request(mcRrq, { address: '10.0.0.1', port: 2000 });
    const session = s.sockets.bound[2]!.socket;
    session.sent.length = 0;
    for (let i = 0; i < 1000; i++) session.deliver(encodeTftp({ op: 'ACK', block: 1 }), stray(i));
    const errors = session.take().filter((p) => p.op === 'ERROR' && p.code === 5);
    assert.ok(errors.length <= REFUSAL_ERRORS_PER_S, `${errors.length} ERROR 5 for 1000 stray packets in one instant`);
    assert.ok(errors.length >= 1);
  });
});
