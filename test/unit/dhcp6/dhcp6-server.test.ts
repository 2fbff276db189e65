// The DHCPv6 boot responder (real Dhcp6Server, fake socket, catalog from ini text and in-memory
// files): what it answers in stateless and stateful mode, by architecture and by host, through
// relays, and what it drops (malformed, relay nesting beyond 32) with a count and a debug line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCatalog } from '../../../src/catalog/build-catalog.js';
import { CatalogStore } from '../../../src/catalog/catalog-store.js';
import {
  decodeBootFileParams,
  decodeDhcp6,
  decodeIaAddress,
  decodeIaNa,
  decodeStatusCode,
  decodeVendorClass,
  Dhcp6MessageType as T,
  Dhcp6Option as O,
  Dhcp6Status,
  findOption,
  type Dhcp6ClientMessage,
  type Dhcp6Message,
} from '../../../src/codec/dhcp6-message.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { Dhcp6Server } from '../../../src/dhcp6/dhcp6-server.js';
import type { Lease6 } from '../../../src/dhcp6/leases6.js';
import type { Logger } from '../../../src/io/ports.js';
import { clientMessage, duidLl, duidUuid, fuzzDhcp6Datagram, dhcp6Seeds, relayed, uefiSolicit } from '../../support/dhcp6-corpus.js';
import { FakeSocket, FakeSocketFactory, settle } from '../../support/fake-socket.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';
import { seededRandom } from '../../support/round-trip.js';

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[]): Logger {
  const log = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  const logger: Logger = { child: () => logger, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return logger;
}

const CLIENT = { address: 'fe80::5054:ff:fe66:1', port: 546 };
const RELAY = { address: 'fd00:99::1', port: 547 };

async function start(mode: 'stateless' | 'stateful', extra: string[] = [], store: { saved: Lease6[][]; fail?: boolean; initial?: Lease6[] } = { saved: [] }, poolLast = 'fd00::1001') {
  const config = parseConfig(
    [
      '[tftp]', 'listen = ::', 'root = /srv',
      '[http]', 'enabled = true', 'listen = ::', 'port = 8080',
      '[dhcp6]', `mode = ${mode}`, 'address = fd00::1', 'pool_first = fd00::1000', `pool_last = ${poolLast}`, ...extra,
      '[image bios]', 'file = undionly.kpxe', 'arch = bios', 'default = true',
      '[image uefi]', 'file = efi/bootx64.efi', 'arch = efi-x64',
      '[image arm]', 'file = efi/bootaa64.efi', 'arch = efi-arm64',
      '[image memtest]', 'file = memtest.efi',
      '[host node07]', 'mac = 52:54:00:66:00:07', 'image = memtest',
      '',
    ].join('\n'),
    '/etc/pxecast/pxecast.ini',
  );
  const fs = new MemoryFileSystem();
  for (const f of ['undionly.kpxe', 'efi/bootx64.efi', 'efi/bootaa64.efi', 'memtest.efi']) fs.addFile(`/srv/${f}`, Buffer.alloc(8));
  const sockets = new FakeSocketFactory();
  const lines: LogLine[] = [];
  let now = 1_000_000;
  const server = new Dhcp6Server({
    sockets,
    catalog: new CatalogStore(await buildCatalog(config, fs, 0)),
    logger: recordingLogger(lines),
    settings: config.dhcp6,
    wallClock: () => now,
    leaseStore: {
      load: async () => ({ leases: store.initial ?? [], damage: null }),
      save: async (leases) => {
        if (store.fail) throw new Error('disk full');
        store.saved.push([...leases]);
      },
    },
    served: { tftpUrlBase: () => 'tftp://[fd00::1]', httpUrlBase: () => 'http://[fd00::1]:8080' },
  });
  await server.start();
  const socket = sockets.bound[0] as FakeSocket;
  const exchange = async (data: Buffer, from = CLIENT) => {
    socket.deliver(data, from);
    await settle();
    return socket.sent.splice(0).map((d) => ({ to: d.to, msg: decodeDhcp6(d.data) }));
  };
  return { server, socket, exchange, lines, advance: (ms: number) => (now += ms) };
}

const client = (m: Dhcp6Message): Dhcp6ClientMessage => {
  assert.equal(m.kind, 'client');
  return m as Dhcp6ClientMessage;
};
const url = (m: Dhcp6ClientMessage) => findOption(m.options, O.BOOTFILE_URL)?.toString('utf8');
const ia = (m: Dhcp6ClientMessage) => decodeIaNa(findOption(m.options, O.IA_NA)!);
const iaAddress = (m: Dhcp6ClientMessage) => decodeIaAddress(findOption(ia(m).options, O.IAADDR)!).address;
const iaStatus = (m: Dhcp6ClientMessage) => decodeStatusCode(findOption(ia(m).options, O.STATUS_CODE)!).code;

describe('dhcp6 stateless', () => {
  it('INFORMATION-REQUEST asking for option 59: REPLY with client and server ids, the boot URL and option 60', async () => {
    const { exchange, server } = await start('stateless', ['boot_params = console=ttyS0 quiet']);
    const [r] = await exchange(clientMessage({ type: T.INFORMATION_REQUEST, duid: duidUuid(3), oro: [59, 60], arch: 7, transactionId: 0x0a0b0c }));
    assert.ok(r, 'a reply');
    assert.deepEqual(r.to, { address: CLIENT.address, port: 546 });
    const m = client(r.msg);
    assert.equal(m.type, T.REPLY);
    assert.equal(m.transactionId, 0x0a0b0c);
    assert.deepEqual(findOption(m.options, O.CLIENTID), duidUuid(3));
    assert.deepEqual(findOption(m.options, O.SERVERID), server.serverDuid);
    assert.equal(url(m), 'tftp://[fd00::1]/efi/bootx64.efi', 'arch 7 picks the efi-x64 image');
    assert.deepEqual(decodeBootFileParams(findOption(m.options, O.BOOTFILE_PARAM)!), ['console=ttyS0', 'quiet']);
  });

  it('the server DUID is stable: derived from the address, the same after a restart', async () => {
    const a = await start('stateless');
    const b = await start('stateless');
    assert.deepEqual(a.server.serverDuid, b.server.serverDuid);
    assert.equal(a.server.serverDuid.readUInt16BE(0), 4, 'DUID-UUID');
  });

  it('UEFI SOLICIT: ADVERTISE with the boot URL and each IA_NA at NoAddrsAvail (RFC 8415 18.3.9); no options 60 unless configured', async () => {
    const { exchange } = await start('stateless');
    const [r] = await exchange(uefiSolicit(1));
    const m = client(r!.msg);
    assert.equal(m.type, T.ADVERTISE);
    assert.equal(url(m), 'tftp://[fd00::1]/efi/bootx64.efi');
    assert.equal(iaStatus(m), Dhcp6Status.NO_ADDRS_AVAIL);
    assert.equal(findOption(m.options, O.BOOTFILE_PARAM), null);
  });

  it('architecture by option 61: arm64 (11) gets the arm image; an HTTP Boot client (16, HTTPClient) an http URL and HTTPClient echoed', async () => {
    const { exchange } = await start('stateless');
    const [arm] = await exchange(clientMessage({ type: T.SOLICIT, arch: 11, iaNa: [{ iaid: 1 }], oro: [59] }));
    assert.equal(url(client(arm!.msg)), 'tftp://[fd00::1]/efi/bootaa64.efi');
    const [http] = await exchange(clientMessage({ type: T.SOLICIT, arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', iaNa: [{ iaid: 1 }], oro: [59] }));
    const m = client(http!.msg);
    assert.equal(url(m), 'http://[fd00::1]:8080/efi/bootx64.efi');
    const vc = decodeVendorClass(findOption(m.options, O.VENDOR_CLASS)!);
    assert.equal(vc.enterprise, 343);
    assert.equal(vc.data[0]!.toString(), 'HTTPClient');
  });

  it('a client that neither asks for 59 nor looks like firmware gets no boot URL', async () => {
    const { exchange } = await start('stateless');
    const [r] = await exchange(clientMessage({ type: T.INFORMATION_REQUEST, oro: [23] }));
    assert.equal(url(client(r!.msg)), undefined);
  });

  it('per-host image by MAC: from a DUID-LL, and from the relay option 79 when the DUID carries none', async () => {
    const { exchange } = await start('stateless');
    const [direct] = await exchange(clientMessage({ type: T.SOLICIT, duid: duidLl('52:54:00:66:00:07'), arch: 7, iaNa: [{ iaid: 1 }] }));
    assert.equal(url(client(direct!.msg)), 'tftp://[fd00::1]/memtest.efi');
    const [viaRelay] = await exchange(relayed(uefiSolicit(9), 1, '52:54:00:66:00:07'), RELAY);
    assert.equal(viaRelay!.msg.kind, 'relay');
    assert.equal(url(client((viaRelay!.msg as { inner: Dhcp6Message }).inner)), 'tftp://[fd00::1]/memtest.efi');
  });

  it('REQUEST naming another server is ignored; naming us gets a REPLY with NoAddrsAvail and the URL', async () => {
    const { exchange, server } = await start('stateless');
    assert.deepEqual(await exchange(clientMessage({ type: T.REQUEST, serverId: duidUuid(77), iaNa: [{ iaid: 1 }], arch: 7 })), []);
    const [r] = await exchange(clientMessage({ type: T.REQUEST, serverId: server.serverDuid, iaNa: [{ iaid: 1 }], arch: 7 }));
    const m = client(r!.msg);
    assert.equal(m.type, T.REPLY);
    assert.equal(iaStatus(m), Dhcp6Status.NO_ADDRS_AVAIL);
    assert.equal(url(m), 'tftp://[fd00::1]/efi/bootx64.efi');
    assert.equal(server.counters.ignored['REQUEST for another server'], 1);
  });

  it('RELAY-FORW three deep: RELAY-REPL three deep to the relay, each level with its addresses and Interface-Id', async () => {
    const { exchange } = await start('stateless');
    const [r] = await exchange(relayed(uefiSolicit(4), 3), RELAY);
    assert.deepEqual(r!.to, RELAY);
    let m: Dhcp6Message = r!.msg;
    for (let level = 2; level >= 0; level--) {
      assert.equal(m.kind, 'relay');
      if (m.kind !== 'relay') return;
      assert.equal(m.type, T.RELAY_REPL);
      assert.equal(m.hopCount, level);
      assert.equal(m.linkAddress, level === 0 ? "fd00::" : `fd00::${level}`);
      assert.equal(m.peerAddress, `fe80::${(0x10 + level).toString(16)}`);
      assert.deepEqual(m.options, [{ code: O.INTERFACE_ID, data: Buffer.from(`port${level}`) }]);
      m = m.inner;
    }
    assert.equal(client(m).type, T.ADVERTISE);
  });

  it('relay nesting beyond 32: dropped, counted as RELAY_TOO_DEEP, one debug line; 32 is answered', async () => {
    const { exchange, server, lines } = await start('stateless');
    assert.deepEqual(await exchange(relayed(uefiSolicit(5), 33), RELAY), []);
    assert.equal(server.counters.decodeErrors['RELAY_TOO_DEEP'], 1);
    const line = lines.find((l) => l.message === 'malformed DHCPv6 datagram dropped');
    assert.equal(line?.level, 'debug');
    assert.match(String(line?.fields['reason']), /RELAY_TOO_DEEP/);
    assert.equal((await exchange(relayed(uefiSolicit(5), 32), RELAY)).length, 1);
  });

  it('truncated options and option-length lies are dropped and counted (TRUNCATED), and serving goes on', async () => {
    const { exchange, server } = await start('stateless');
    const good = uefiSolicit(6);
    assert.deepEqual(await exchange(good.subarray(0, good.length - 3)), []);
    const lie = Buffer.from(good);
    lie.writeUInt16BE(0xffff, 6); // the first option's length
    assert.deepEqual(await exchange(lie), []);
    assert.equal(server.counters.decodeErrors['TRUNCATED'], 2);
    assert.equal((await exchange(good)).length, 1);
  });

  it('fuzz: 5,000 mutated datagrams never log an error (no exception escapes), and a good SOLICIT is answered after', async () => {
    const { exchange, lines } = await start('stateful');
    const random = seededRandom(5970);
    const seeds = dhcp6Seeds();
    for (let i = 0; i < 5000; i++) await exchange(fuzzDhcp6Datagram(random, seeds), i % 2 ? CLIENT : RELAY);
    assert.deepEqual(lines.filter((l) => l.level === 'error'), []);
    assert.equal((await exchange(uefiSolicit(99))).length, 1);
  });
});

describe('dhcp6 stateful', () => {
  it('SOLICIT -> ADVERTISE (not stored) -> REQUEST -> REPLY with the same address, stored before the REPLY', async () => {
    const store = { saved: [] as Lease6[][] };
    const { exchange, server, socket } = await start('stateful', [], store);
    const duid = duidLl('52:54:00:66:00:01');
    const [adv] = await exchange(clientMessage({ type: T.SOLICIT, duid, iaNa: [{ iaid: 5 }], arch: 7 }));
    const advertised = client(adv!.msg);
    assert.equal(advertised.type, T.ADVERTISE);
    assert.equal(iaAddress(advertised), 'fd00::1000');
    assert.equal(store.saved.length, 0, 'advertisements are not persisted');
    socket.deliver(clientMessage({ type: T.REQUEST, duid, serverId: server.serverDuid, iaNa: [{ iaid: 5, address: 'fd00::1000' }], arch: 7 }), CLIENT);
    assert.equal(socket.sent.length, 0, 'no REPLY before the store has it');
    await settle();
    const reply = client(decodeDhcp6(socket.sent.splice(0)[0]!.data));
    assert.equal(reply.type, T.REPLY);
    assert.equal(iaAddress(reply), 'fd00::1000');
    assert.deepEqual(ia(reply).t1, 1800);
    assert.deepEqual(ia(reply).t2, 2880);
    assert.equal(url(reply), 'tftp://[fd00::1]/efi/bootx64.efi');
    assert.deepEqual(store.saved.at(-1)!.map((l) => [l.address, l.state, l.iaid]), [['fd00::1000', 'bound', 5]]);
  });

  it('UEFI HTTP Boot ADVERTISE as EDK2 HttpBootDxe parses it: an IA_NA address, HTTPClient at vendor-class data+6, option 59 ended by the next option', async () => {
    const { exchange } = await start('stateful');
    // HttpBootDxe's SOLICIT (HttpBootBuildDhcp6Options): ORO 59/60/23/16, arch 16, its vendor class.
    const [adv] = await exchange(clientMessage({ type: T.SOLICIT, duid: duidUuid(9), arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', iaNa: [{ iaid: 1 }], oro: [59, 60, 23, 16] }));
    const m = client(adv!.msg);
    assert.equal(m.type, T.ADVERTISE, 'HttpBootDxe selects from ADVERTISEs: the boot data must be there already');
    // Not a proxy offer (HttpBootParseDhcp6Packet): the IA_NA has an address and no failure status.
    assert.equal(iaAddress(m), 'fd00::1000');
    assert.equal(findOption(ia(m).options, O.STATUS_CODE), null);
    // An HTTP offer: option 16 of at least 16 bytes with `HTTPClient` at data+6 (enterprise, class length).
    const vc = findOption(m.options, O.VENDOR_CLASS)!;
    assert.ok(vc.length >= 16, `vendor class of ${vc.length} bytes`);
    assert.equal(vc.readUInt32BE(0), 343);
    assert.equal(vc.subarray(6, 16).toString('latin1'), 'HTTPClient');
    assert.equal(url(m), 'http://[fd00::1]:8080/efi/bootx64.efi');
    // HttpBootDxe reads option 59 with AsciiStrLen, and the option holds no NUL: the URL must end at
    // the next option's code, whose first byte is 0 (codes < 256), not run past the message's end.
    const codes = m.options.map((o) => o.code);
    const at = codes.indexOf(O.BOOTFILE_URL);
    assert.ok(at >= 0 && at < codes.length - 1 && codes[at + 1]! < 256, `option 59 is followed by another option: ${codes.join(',')}`);
  });

  it('a binding the store cannot take gets no REPLY (the client retries)', async () => {
    const store = { saved: [] as Lease6[][], fail: true };
    const { exchange, server } = await start('stateful', [], store);
    const replies = await exchange(clientMessage({ type: T.REQUEST, serverId: server.serverDuid, iaNa: [{ iaid: 1 }] }));
    assert.deepEqual(replies, []);
    assert.equal(server.counters.leaseWriteErrors, 1);
  });

  it('a second client gets the other address; a third finds the pool full (NoAddrsAvail); RELEASE frees one', async () => {
    const { exchange, server } = await start('stateful');
    const request = (n: number) => clientMessage({ type: T.REQUEST, duid: duidUuid(n), serverId: server.serverDuid, iaNa: [{ iaid: 1 }] });
    const a = client((await exchange(request(1)))[0]!.msg);
    const b = client((await exchange(request(2)))[0]!.msg);
    assert.deepEqual([iaAddress(a), iaAddress(b)], ['fd00::1000', 'fd00::1001']);
    const c = client((await exchange(request(3)))[0]!.msg);
    assert.equal(iaStatus(c), Dhcp6Status.NO_ADDRS_AVAIL);
    const rel = client((await exchange(clientMessage({ type: T.RELEASE, duid: duidUuid(1), serverId: server.serverDuid, iaNa: [{ iaid: 1, address: 'fd00::1000' }] })))[0]!.msg);
    assert.equal(decodeStatusCode(findOption(rel.options, O.STATUS_CODE)!).code, Dhcp6Status.SUCCESS);
    assert.equal(iaAddress(client((await exchange(request(3)))[0]!.msg)), 'fd00::1000');
  });

  it('RENEW keeps the address; RENEW of an unknown IA gets NoBinding; bindings come back after a restart', async () => {
    const store = { saved: [] as Lease6[][] };
    const first = await start('stateful', [], store);
    const duid = duidUuid(8);
    await first.exchange(clientMessage({ type: T.REQUEST, duid, serverId: first.server.serverDuid, iaNa: [{ iaid: 2 }] }));
    const renewed = client((await first.exchange(clientMessage({ type: T.RENEW, duid, serverId: first.server.serverDuid, iaNa: [{ iaid: 2, address: 'fd00::1000' }] })))[0]!.msg);
    assert.equal(iaAddress(renewed), 'fd00::1000');
    const unknown = client((await first.exchange(clientMessage({ type: T.RENEW, duid: duidUuid(9), serverId: first.server.serverDuid, iaNa: [{ iaid: 2 }] })))[0]!.msg);
    assert.equal(iaStatus(unknown), Dhcp6Status.NO_BINDING);
    const second = await start('stateful', [], { saved: [], initial: store.saved.at(-1)! });
    const other = client((await second.exchange(clientMessage({ type: T.SOLICIT, duid: duidUuid(10), iaNa: [{ iaid: 1 }] })))[0]!.msg);
    assert.equal(iaAddress(other), 'fd00::1001', 'the restored binding is not handed to another client');
    const again = client((await second.exchange(clientMessage({ type: T.SOLICIT, duid, iaNa: [{ iaid: 2 }] })))[0]!.msg);
    assert.equal(iaAddress(again), 'fd00::1000');
  });

  it('a SOLICIT flood from made-up DUIDs cannot hold the pool: the oldest advertisement is reclaimed', async () => {
    const { exchange, server } = await start('stateful');
    for (let n = 100; n < 110; n++) await exchange(clientMessage({ type: T.SOLICIT, duid: duidUuid(n), iaNa: [{ iaid: 1 }] }));
    const real = client((await exchange(clientMessage({ type: T.REQUEST, duid: duidUuid(1), serverId: server.serverDuid, iaNa: [{ iaid: 1 }] })))[0]!.msg);
    assert.match(iaAddress(real), /^fd00::100[01]$/);
  });

  it('CONFIRM: Success for an on-link address, NotOnLink otherwise', async () => {
    const { exchange } = await start('stateful');
    const on = client((await exchange(clientMessage({ type: T.CONFIRM, iaNa: [{ iaid: 1, address: 'fd00::1234' }] })))[0]!.msg);
    assert.equal(decodeStatusCode(findOption(on.options, O.STATUS_CODE)!).code, Dhcp6Status.SUCCESS);
    const off = client((await exchange(clientMessage({ type: T.CONFIRM, iaNa: [{ iaid: 1, address: 'fd01::1' }] })))[0]!.msg);
    assert.equal(decodeStatusCode(findOption(off.options, O.STATUS_CODE)!).code, Dhcp6Status.NOT_ON_LINK);
  });

  it('an advertisement expires after offer_timeout and the address goes to another client', async () => {
    const { exchange, advance } = await start('stateful', [], { saved: [] }, 'fd00::1000');
    const a = client((await exchange(clientMessage({ type: T.SOLICIT, duid: duidUuid(1), iaNa: [{ iaid: 1 }] })))[0]!.msg);
    assert.equal(iaAddress(a), 'fd00::1000');
    advance(61_000);
    const b = client((await exchange(clientMessage({ type: T.SOLICIT, duid: duidUuid(2), iaNa: [{ iaid: 1 }] })))[0]!.msg);
    assert.equal(iaAddress(b), 'fd00::1000');
  });
});
