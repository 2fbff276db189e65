// No amplification: for every kind of request the TFTP, MTFTP and DHCP ports take, the bytes sent
// in answer (over the whole life of an exchange whose client never says another word, as with a
// spoofed source) are measured against the request's bytes. Bounds, by what the protocols require:
// - before any ACK, at most one DATA block (block 1, and its retransmissions), or one OACK;
// - every ERROR is short (≤ 32 bytes);
// - a flood from one address is answered with far fewer bytes than it sends;
// - a DHCP reply is one datagram of at most 576 bytes (the size every client must accept).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCatalog } from '../../../src/catalog/build-catalog.js';
import { CatalogStore } from '../../../src/catalog/catalog-store.js';
import { decodeTftp, encodeTftp } from '../../../src/codec/tftp-packet.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { NO_HTTP } from '../../../src/dhcp/boot-policy.js';
import { DhcpServer } from '../../../src/dhcp/dhcp-server.js';
import type { Logger, PeerAddress } from '../../../src/io/ports.js';
import { KeyedRateLimiter } from '../../../src/admission/keyed-rate-limiter.js';
import { LossMeter, TokenBucket } from '../../../src/flowcontrol/pacing.js';
import { MtftpServer } from '../../../src/multicast/mtftp-server.js';
import { TftpServer } from '../../../src/tftp/tftp-server.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, FakeSocketFactory, settle } from '../../support/fake-socket.js';
import { capture } from '../../support/fixtures.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };
const MAX_ERROR_BYTES = 32;
const MAX_DHCP_REPLY = 576;

const CONFIG = `
[tftp]
listen = 10.0.0.1
root = /srv
unconfirmed_timeout = 5s
client_request_rate = 20
client_request_burst = 60
[mtftp]
enabled = true
[dhcp]
mode = full
interface = 10.0.0.1
[pool lab]
first = 10.0.0.100
last = 10.0.0.150
[image bios]
file = undionly.kpxe
arch = bios
default = true
mtftp = true
`;

async function lab() {
  const config = parseConfig(CONFIG, '/etc/pxecast/pxecast.ini');
  const fs = new MemoryFileSystem().addFile('/srv/undionly.kpxe', Buffer.alloc(70_000, 1)).addFile('/srv/big.img', Buffer.alloc(1 << 20, 2));
  const catalog = new CatalogStore(await buildCatalog(config, fs, 0));
  const clock = new FakeClock();
  const sockets = new FakeSocketFactory();
  const requestRate = new KeyedRateLimiter(() => clock.now(), () => ({ ratePerS: config.tftp.clientRequestRate, burst: config.tftp.clientRequestBurst }));
  const shared = { clock, sockets, fs, catalog, logger: silent, globalBucket: new TokenBucket(125_000, 65536, 0), lossMeter: new LossMeter(), requestRate };
  const tftp = new TftpServer({ ...shared, uploads: null, settings: () => config.tftp, multicastSettings: () => config.multicast, loopLagMs: () => 0 });
  await tftp.start();
  const tftpPort = sockets.bound[0]!;
  const mtftp = new MtftpServer({ ...shared, tftp: () => config.tftp, multicast: () => config.multicast, mtftp: () => config.mtftp });
  await mtftp.start();
  const mtftpPort = sockets.bound.at(-1)!;
  const proxyConfig = { ...config.dhcp, mode: 'proxy' as const };
  const dhcpFor = async (settings: typeof config.dhcp) => {
    const before = sockets.bound.length;
    const server = new DhcpServer({
      sockets,
      catalog,
      logger: silent,
      settings,
      wallClock: () => clock.now(),
      leaseStore: { load: async () => ({ leases: [], damage: [], tornTail: null }), record: async () => undefined },
      nextServer: '10.0.0.1',
      mtftp,
      http: NO_HTTP,
    });
    await server.start();
    return { wildcard: sockets.bound[before]!, pxe: sockets.bound[before + 2]! };
  };
  const dhcpFull = await dhcpFor(config.dhcp);
  const dhcpProxy = await dhcpFor(proxyConfig);
  sockets.take();
  /** Delivers one request, lets the exchange run `ms` of fake time, and returns what was sent. */
  const exchange = async (port: FakeSocket, request: Buffer, from: PeerAddress, ms = 0) => {
    port.deliver(request, from);
    await settle();
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await settle();
    }
    return sockets.take();
  };
  return { clock, sockets, tftp, tftpPort, mtftpPort, dhcpFull, dhcpProxy, exchange };
}

const rrq = (filename: string, options: Array<[string, string]> = []): Buffer =>
  encodeTftp({ op: 'RRQ', filename, mode: 'octet', options: options.map(([name, value]) => ({ name, value })) });
const bytes = (sent: Array<{ data: Buffer }>) => sent.reduce((n, d) => n + d.data.length, 0);
const ops = (sent: Array<{ data: Buffer }>) => sent.map((d) => decodeTftp(d.data));
const report: string[] = [];
const note = (kind: string, request: number, sent: Array<{ data: Buffer }>) => {
  report.push(`${kind.padEnd(44)} request ${String(request).padStart(4)} B  answered ${String(bytes(sent)).padStart(6)} B in ${sent.length} datagram(s)  ratio ${(bytes(sent) / request).toFixed(2)}`);
};

describe('response bytes per request (no amplification)', { concurrency: false }, () => {
  it('TFTP RRQ without options: one DATA block before any ACK (and its retransmissions until unconfirmed_timeout)', async () => {
    const s = await lab();
    const request = rrq('big.img');
    const sent = await s.exchange(s.tftpPort, request, { address: '10.9.0.1', port: 1000 }, 10_000);
    note('RRQ big.img, never ACKed', request.length, sent);
    const packets = ops(sent);
    assert.ok(packets.every((p) => p.op === 'DATA' && p.block === 1), `only block 1: ${packets.map((p) => p.op).join(',')}`);
    assert.ok(sent.length >= 1 && sent.length <= 4, `${sent.length} datagrams`);
    assert.equal(s.tftp.activeTransfers(), 0, 'ended by unconfirmed_timeout');
  });

  it('TFTP RRQ with blksize/windowsize/tsize: one OACK, no DATA before ACK 0', async () => {
    const s = await lab();
    const request = rrq('big.img', [['blksize', '1468'], ['windowsize', '64'], ['tsize', '0']]);
    const sent = await s.exchange(s.tftpPort, request, { address: '10.9.0.2', port: 1000 }, 10_000);
    note('RRQ big.img blksize windowsize tsize, never ACKed', request.length, sent);
    assert.ok(ops(sent).every((p) => p.op === 'OACK'));
    assert.ok(sent.every((d) => d.data.length <= request.length + 8), 'an OACK is no larger than the options it answers (+ the tsize digits)');
    assert.ok(sent.length <= 4);
  });

  const refusals: Array<[string, Buffer]> = [
    ['RRQ of a missing file', rrq('nope.img')],
    ['RRQ with ..', rrq('../etc/passwd')],
    ['WRQ (uploads off)', encodeTftp({ op: 'WRQ', filename: 'x', mode: 'octet', options: [] })],
    ['RRQ in mail mode', encodeTftp({ op: 'RRQ', filename: 'big.img', mode: 'mail', options: [] })],
    ['ACK to port 69', encodeTftp({ op: 'ACK', block: 1 })],
    ['DATA to port 69', encodeTftp({ op: 'DATA', block: 1, data: Buffer.alloc(0) })],
    ['malformed (unknown opcode)', Buffer.from([0, 9, 0, 0])],
  ];
  for (const [kind, request] of refusals) {
    it(`TFTP ${kind}: one short ERROR`, async () => {
      const s = await lab();
      const sent = await s.exchange(s.tftpPort, request, { address: '10.9.0.3', port: 1000 }, 1000);
      note(kind, request.length, sent);
      assert.equal(sent.length, 1);
      assert.equal(ops(sent)[0]!.op, 'ERROR');
      assert.ok(sent[0]!.data.length <= MAX_ERROR_BYTES, `${sent[0]!.data.length} bytes`);
    });
  }

  it('TFTP ERROR or runt datagrams to port 69: no answer at all', async () => {
    const s = await lab();
    assert.equal((await s.exchange(s.tftpPort, encodeTftp({ op: 'ERROR', code: 0, message: 'x' }), { address: '10.9.0.4', port: 1 })).length, 0);
    assert.equal((await s.exchange(s.tftpPort, Buffer.from([0, 1]), { address: '10.9.0.4', port: 2 })).length, 0);
  });

  it('a flood of 1000 RRQs from one address is answered with a small fraction of its bytes', async () => {
    const s = await lab();
    const request = rrq('nope.img');
    let sent: Array<{ data: Buffer }> = [];
    for (let i = 0; i < 1000; i++) sent = sent.concat(await s.exchange(s.tftpPort, request, { address: '10.9.0.5', port: 2000 + i }, 0));
    note('1000 x RRQ nope.img from one address (sum)', request.length * 1000, sent);
    assert.ok(bytes(sent) < request.length * 1000 * 0.2, `${bytes(sent)} bytes answered`);
  });

  it('a spoofed flood of ACKs to port 69 from 1000 addresses gets at most 100 ERRORs a second', async () => {
    const s = await lab();
    const ack = encodeTftp({ op: 'ACK', block: 1 });
    let sent: Array<{ data: Buffer }> = [];
    for (let i = 0; i < 1000; i++) sent = sent.concat(await s.exchange(s.tftpPort, ack, { address: `10.7.${i >> 8}.${i & 255}`, port: 1000 }, 0));
    note('1000 x ACK to port 69 from 1000 addresses (sum)', ack.length * 1000, sent);
    assert.ok(sent.length <= 100, `${sent.length} ERRORs`);
  });

  it('MTFTP open: one DATA block by unicast to the opener before it ACKs, short ERRORs for refusals', async () => {
    const s = await lab();
    const open = rrq('undionly.kpxe');
    const opener = { address: '10.9.0.6', port: 1000 };
    const sent = await s.exchange(s.mtftpPort, open, opener, 10_000);
    const toOpener = sent.filter((d) => d.to.address === opener.address);
    note('MTFTP open, never ACKed (unicast to opener)', open.length, toOpener);
    note('MTFTP open, never ACKed (group + unicast)', open.length, sent);
    const blocks = new Set(ops(sent).map((p) => (p.op === 'DATA' ? p.block : -1)));
    assert.deepEqual([...blocks], [1], 'block 1 only, to the group and the opener');
    assert.ok(toOpener.length <= 3, `${toOpener.length} datagrams to the opener`);
    // The group hears block 1 again at most every 150 ms until master_timeout (2 s) ends the pass:
    // the keepalive iPXE listeners need (mtftp-channel.ts). Nothing of it goes to the opener.
    const toGroup = sent.length - toOpener.length;
    assert.ok(toGroup <= 2000 / 150 + 3, `${toGroup} datagrams to the group`);
    const refused = await s.exchange(s.mtftpPort, rrq('nope.img'), opener, 0);
    assert.equal(refused.length, 1);
    assert.ok(refused[0]!.data.length <= MAX_ERROR_BYTES);
  });

  it('MTFTP opens share the per-client request budget: a flood of opens gets the burst, then one ERROR', async () => {
    const s = await lab();
    const open = rrq('nope.img');
    let sent: Array<{ data: Buffer }> = [];
    for (let i = 0; i < 500; i++) sent = sent.concat(await s.exchange(s.mtftpPort, open, { address: '10.9.0.7', port: 1000 + i }, 0));
    note('500 x MTFTP open of a missing file (sum)', open.length * 500, sent);
    const messages = ops(sent).map((p) => (p.op === 'ERROR' ? p.message : p.op));
    assert.equal(messages.length, 61, 'client_request_burst (60) answers, then one "too many requests"');
    assert.equal(messages.at(-1), 'too many requests');
  });

  const dhcpCases: Array<[string, 'full' | 'proxy', 'wildcard' | 'pxe', () => Buffer]> = [
    ['DHCP DISCOVER (iPXE capture), full mode', 'full', 'wildcard', () => capture('ipxe-dhcp-discover')],
    ['DHCP REQUEST (iPXE capture, for us), full mode', 'full', 'wildcard', () => forUs(capture('ipxe-dhcp-request'))],
    ['DHCP INFORM, full mode', 'full', 'wildcard', () => asInform(forUs(capture('ipxe-dhcp-request')))],
    ['DHCP DISCOVER (iPXE capture), proxy mode', 'proxy', 'wildcard', () => capture('ipxe-dhcp-discover')],
    ['PXE REQUEST to port 4011, proxy mode', 'proxy', 'pxe', () => capture('ipxe-dhcp-request')],
  ];
  for (const [kind, mode, port, request] of dhcpCases) {
    it(`${kind}: at most one reply of at most ${MAX_DHCP_REPLY} bytes`, async () => {
      const s = await lab();
      const server = mode === 'full' ? s.dhcpFull : s.dhcpProxy;
      const req = request();
      const sent = await s.exchange(server[port], req, { address: '0.0.0.0', port: 68 }, 1000);
      note(kind, req.length, sent);
      assert.equal(sent.length, 1, `${sent.length} replies`);
      assert.ok(sent[0]!.data.length <= MAX_DHCP_REPLY, `${sent[0]!.data.length} bytes`);
    });
  }

  it('prints the table', () => {
    console.log(`\n${report.join('\n')}\n`);
    assert.ok(report.length >= 15);
  });
});

/** Overwrites the value of option `code` in a raw DHCP message (same length). */
function patchOption(data: Buffer, code: number, value: readonly number[]): Buffer {
  const out = Buffer.from(data);
  for (let at = 240; at < out.length && out[at] !== 255; ) {
    if (out[at] === 0) {
      at++;
      continue;
    }
    const length = out[at + 1]!;
    if (out[at] === code) {
      assert.equal(length, value.length);
      out.set(value, at + 2);
      return out;
    }
    at += 2 + length;
  }
  throw new Error(`no option ${code}`);
}

/** The captured REQUEST, selecting our server and an address of our pool. */
function forUs(data: Buffer): Buffer {
  return patchOption(patchOption(data, 54, [10, 0, 0, 1]), 50, [10, 0, 0, 100]);
}

/** RFC 2131 3.4: an INFORM comes from a configured client (ciaddr set). */
function asInform(data: Buffer): Buffer {
  const out = patchOption(data, 53, [8]);
  out.set([10, 0, 0, 120], 12);
  return out;
}
