// `[host NAME]` over DHCPv6: which host a client is (DUID, then the MAC in a DUID-LLT/LL, then the
// relay's option 79; known-host6.ts), that its image is what option 59 points to, and the config
// rules for `duid` (hex, colons or not; unique among hosts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCatalog } from '../../../src/catalog/build-catalog.js';
import { CatalogStore } from '../../../src/catalog/catalog-store.js';
import { decodeDhcp6, Dhcp6MessageType as T, Dhcp6Option as O, findOption, type Dhcp6ClientMessage, type Dhcp6Message } from '../../../src/codec/dhcp6-message.js';
import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { Dhcp6Server } from '../../../src/dhcp6/dhcp6-server.js';
import type { Logger } from '../../../src/io/ports.js';
import { clientMessage, duidLl, duidUuid, relayed } from '../../support/dhcp6-corpus.js';
import { FakeSocket, FakeSocketFactory, settle } from '../../support/fake-socket.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';

const FILE = '/etc/pxecast/pxecast.ini';
const CLIENT = { address: 'fe80::5054:ff:fe66:1', port: 546 };
const RELAY = { address: 'fd00:99::1', port: 547 };

/** DUID-LLT (type 1) of Ethernet: type, hardware type 1, a time, the MAC (RFC 8415 11.2). */
function duidLlt(mac: string): Buffer {
  return Buffer.from([0, 1, 0, 1, 0x2a, 0x1b, 0x3c, 0x4d, ...mac.split(':').map((x) => parseInt(x, 16))]);
}

const colons = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

const BASE = [
  '[tftp]', 'listen = ::', 'root = /srv',
  '[dhcp6]', 'mode = stateless', 'address = fd00::1',
  '[image bios]', 'file = undionly.kpxe', 'arch = bios', 'default = true',
  '[image uefi]', 'file = efi/bootx64.efi', 'arch = efi-x64',
  '[image memtest]', 'file = memtest.efi',
  '[image rescue]', 'file = rescue.efi',
];

const HOSTS = [
  // Known by the DUID-UUID UEFI firmware sends (no MAC in it).
  '[host fw]', `duid = ${colons(duidUuid(5))}`, 'image = memtest',
  // Known by both; written without colons. Its DUID-LLT carries the MAC of [host by-mac].
  '[host both]', 'mac = 52:54:00:66:00:0b', `duid = ${duidLlt('52:54:00:66:00:0c').toString('hex').toUpperCase()}`, 'image = rescue',
  '[host by-mac]', 'mac = 52:54:00:66:00:0c', 'image = memtest',
  '[host racked]', 'mac = 52:54:00:66:00:0d', 'image = rescue',
];

async function start() {
  const config = parseConfig([...BASE, ...HOSTS, ''].join('\n'), FILE);
  const fs = new MemoryFileSystem();
  for (const f of ['undionly.kpxe', 'efi/bootx64.efi', 'memtest.efi', 'rescue.efi']) fs.addFile(`/srv/${f}`, Buffer.alloc(8));
  const sockets = new FakeSocketFactory();
  const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const log = (message: string, fields: Record<string, unknown> = {}) => void lines.push({ message, fields });
  const logger: Logger = { child: () => logger, debug: log, info: log, warn: log, error: log };
  const server = new Dhcp6Server({
    sockets,
    catalog: new CatalogStore(await buildCatalog(config, fs, 0)),
    logger,
    settings: config.dhcp6,
    wallClock: () => 1_000_000,
    leaseStore: { load: async () => ({ leases: [], damage: null }), save: async () => {} },
    served: { tftpUrlBase: () => 'tftp://[fd00::1]', httpUrlBase: () => null },
  });
  await server.start();
  const socket = sockets.bound[0] as FakeSocket;
  /** The boot URL of the answer, and the host and rule the reply's log line names. */
  const ask = async (data: Buffer, from = CLIENT) => {
    lines.length = 0;
    socket.deliver(data, from);
    await settle();
    const [sent] = socket.sent.splice(0);
    assert.ok(sent, 'an answer');
    let msg: Dhcp6Message = decodeDhcp6(sent.data);
    while (msg.kind === 'relay') msg = msg.inner;
    const url = findOption((msg as Dhcp6ClientMessage).options, O.BOOTFILE_URL)?.toString('utf8');
    const logged = lines.find((l) => l.message === 'dhcp6 reply')?.fields ?? {};
    return { url, host: `${String(logged['host'])} (by ${String(logged['host_by'])})` };
  };
  return { ask };
}

describe('[host NAME] over DHCPv6', () => {
  const cases: ReadonlyArray<{ name: string; duid: Buffer; relayMac?: string; url: string; host: string }> = [
    { name: 'DUID-UUID equal to a host `duid` (no MAC to go by)', duid: duidUuid(5), url: 'tftp://[fd00::1]/memtest.efi', host: 'fw (by duid)' },
    { name: 'DUID written without colons, upper case, matches; it wins over the MAC inside it', duid: duidLlt('52:54:00:66:00:0c'), url: 'tftp://[fd00::1]/rescue.efi', host: 'both (by duid)' },
    { name: 'DUID-LLT carrying a host `mac`', duid: duidLlt('52:54:00:66:00:0b'), url: 'tftp://[fd00::1]/rescue.efi', host: 'both (by duid-mac)' },
    { name: 'DUID-LL carrying a host `mac`', duid: duidLl('52:54:00:66:00:0c'), url: 'tftp://[fd00::1]/memtest.efi', host: 'by-mac (by duid-mac)' },
    { name: "the DUID's MAC is no host's, the relay's option 79 is", duid: duidLlt('52:54:00:66:00:99'), relayMac: '52:54:00:66:00:0d', url: 'tftp://[fd00::1]/rescue.efi', host: 'racked (by relay-mac)' },
    { name: 'no match: the catalog rules (arch 7 -> uefi)', duid: duidUuid(6), relayMac: '52:54:00:66:00:98', url: 'tftp://[fd00::1]/efi/bootx64.efi', host: 'none (by none)' },
    { name: 'no match by an unknown DUID-LLT: the catalog rules', duid: duidLlt('52:54:00:66:00:97'), url: 'tftp://[fd00::1]/efi/bootx64.efi', host: 'none (by none)' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { ask } = await start();
      const solicit = clientMessage({ type: T.SOLICIT, duid: c.duid, iaNa: [{ iaid: 1 }], oro: [59], arch: 7 });
      const answer = c.relayMac === undefined ? await ask(solicit) : await ask(relayed(solicit, 1, c.relayMac), RELAY);
      assert.deepEqual(answer, { url: c.url, host: c.host });
    });
  }

  it('an INFORMATION-REQUEST by DUID gets the host image whatever its architecture', async () => {
    const { ask } = await start();
    const answer = await ask(clientMessage({ type: T.INFORMATION_REQUEST, duid: duidUuid(5), oro: [59], arch: 0 }));
    assert.deepEqual(answer, { url: 'tftp://[fd00::1]/memtest.efi', host: 'fw (by duid)' });
  });
});

describe('[host NAME] duid in the config', () => {
  function issuesOf(lines: string[]): string[] {
    try {
      parseConfig([...BASE, ...lines, ''].join('\n'), FILE);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.issues.map(formatIssue);
    }
    return assert.fail('expected a ConfigError');
  }
  const first = BASE.length + 1;

  it('stores the DUID as bare lower-case hex; a host may have a DUID and no MAC', () => {
    const config = parseConfig([...BASE, '[host fw]', 'duid = 00:04:12:34:56:05:00:00:00:00:00:00:00:00:00:00:00:00', ''].join('\n'), FILE);
    assert.deepEqual(config.hosts, [{ name: 'fw', mac: null, duid: '000412345605000000000000000000000000', image: null, address: null, hostname: null }]);
  });

  it('two hosts with the same DUID (however written) is an error naming file, line and key', () => {
    assert.deepEqual(issuesOf(['[host a]', 'duid = 00:03:00:01:52:54:00:66:00:0e', '[host b]', 'duid = 0003000152540066000E']), [
      `${FILE}:${first + 3}: [host b] duid: 0003000152540066000e is already given to [host a]`,
    ]);
  });

  it('a DUID that is not hex bytes is an error naming file, line and key', () => {
    assert.deepEqual(issuesOf(['[host a]', 'mac = 52:54:00:66:00:0e', 'duid = 00:03:00:01:52:54:00:66:00:0'])[0], `${FILE}:${first + 2}: [host a] duid: "00:03:00:01:52:54:00:66:00:0" is not a DUID: hex bytes, colon-separated or not (e.g. 00:03:00:01:52:54:00:12:34:56)`);
  });
});
