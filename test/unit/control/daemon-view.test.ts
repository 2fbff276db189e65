import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Catalog } from '../../../src/catalog/catalog.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { createDaemonView, DROP_REASON, type ViewedDaemon } from '../../../src/control/daemon-view.js';
import type { Lease } from '../../../src/dhcp/leases.js';
import type { PassProgress } from '../../../src/multicast/mtftp-channel.js';
import type { TransferInfo } from '../../../src/tftp/tftp-server.js';
import { FakeClock } from '../../support/fake-clock.js';

const config = parseConfig('[tftp]\nroot = /srv/pxecast\nport = 6969\n[image lab]\nfile = ipxe/undionly.kpxe\nipxe_file = menu.ipxe\ndefault = true\nmtftp = true\n', '/etc/pxecast/pxecast.ini');

const catalog: Catalog = {
  root: '/srv/pxecast',
  hosts: [],
  loadedAt: 0,
  images: [
    {
      name: 'lab',
      file: 'ipxe/undionly.kpxe',
      path: '/srv/pxecast/ipxe/undionly.kpxe',
      size: 100_000,
      description: '',
      arch: ['bios'],
      ipxeFile: 'menu.ipxe',
      httpFile: null,
      ipxeScript: null,
      isDefault: true,
      mtftp: config.images[0]!.mtftp,
    },
  ],
};

function transfer(client: string, overrides: Partial<TransferInfo> = {}): TransferInfo {
  return {
    client,
    file: 'ipxe//undionly.kpxe',
    direction: 'read',
    ageMs: 2000,
    state: 'sending',
    bytes: 50_000,
    totalBytes: 100_000,
    retransmits: 1,
    rtoMs: 10,
    blksize: 1428,
    multicast: null,
    ...overrides,
  };
}

const pass: PassProgress = {
  image: 'lab',
  group: '239.255.1.1:3001',
  master: { address: '10.0.0.9', port: 2071 },
  state: 'sending',
  bytes: 25_000,
  totalBytes: 100_000,
  retransmits: 0,
  ageMs: 500,
  waiting: 2,
};

function daemon(transfers: TransferInfo[], passes: PassProgress[] = [], leases: Lease[] | null = null, overrides: Partial<ViewedDaemon> = {}) {
  const dropped: string[] = [];
  const d: ViewedDaemon = {
    startedAt: 1000,
    tftp: {
      port: () => 6969,
      transfers: () => transfers,
      counters: {
        requests: 7,
        refused: 1,
        decodeErrors: {},
        wrongTid: 0,
        outcomes: { complete: 4, timeout: 1 },
        bytesSent: 3 << 20,
        retransmits: 5,
        multicastSessions: 1,
        multicastFallbacks: {},
        multicastOutcomes: {},
        multicastBytesSent: 0,
        multicastRetransmits: 0,
        limited: {},
      },
      drop: (client: string, reason: string) => {
        dropped.push(`${client} ${reason}`);
        return transfers.some((t) => t.client === client);
      },
    },
    mtftp: { ports: () => [1759], passes: () => passes, counters: { opens: 3, refused: 0, decodeErrors: {}, strayAcks: 0, passes: { complete: 1 }, bytesSent: 0, retransmits: 0, limited: {} } },
    dhcp: leases === null ? null : { leaseList: () => leases },
    dhcp6: null,
    http: null,
    currentConfig: () => config,
    currentCatalog: () => catalog,
    reload: async () => ({ ok: true }),
    ...overrides,
  };
  const clock = new FakeClock();
  clock.advance(61_000);
  const view = createDaemonView(d, { clock, wallClock: () => 1_000_000, version: '9.9.9', pid: 4242, controlSocket: '/run/pxecast/control.sock' });
  return { view, dropped };
}

describe('daemon view', () => {
  it('shows a unicast transfer with its image, block size, progress and average rate', () => {
    const [s] = daemon([transfer('10.0.0.5:2070')]).view.sessions();
    assert.deepEqual(s, {
      id: '10.0.0.5:2070',
      kind: 'unicast',
      droppable: true,
      clients: ['10.0.0.5:2070'],
      file: 'ipxe//undionly.kpxe',
      image: 'lab',
      direction: 'read',
      blksize: 1428,
      bytes: 50_000,
      totalBytes: 100_000,
      percent: 50,
      bytesPerSecond: 25_000,
      retransmits: 1,
      master: null,
      group: null,
      state: 'sending',
      ageMs: 2000,
    });
  });

  it('finds the image by its iPXE file too, and none for other files or unknown sizes', () => {
    const sessions = daemon([
      transfer('10.0.0.5:1', { file: 'menu.ipxe' }),
      transfer('10.0.0.5:2', { file: 'other.bin' }),
      transfer('10.0.0.5:3', { file: 'up.bin', direction: 'write', totalBytes: null }),
    ]).view.sessions();
    assert.deepEqual(
      sessions.map((s) => [s.image, s.percent]),
      [
        ['lab', 50],
        [null, 50],
        [null, null],
      ],
    );
  });

  it('gives every member of a multicast session the position of the shared stream and its master', () => {
    const group = { group: '239.255.0.0:1758', master: '10.0.0.5:2070' };
    const sessions = daemon([
      transfer('10.0.0.5:2070', { multicast: group, bytes: 60_000 }),
      transfer('10.0.0.6:2070', { multicast: group, bytes: 0, state: 'sending/listening' }),
    ]).view.sessions();
    for (const s of sessions) {
      assert.equal(s.kind, 'multicast');
      assert.equal(s.bytes, 60_000);
      assert.equal(s.master, '10.0.0.5:2070');
      assert.equal(s.group, '239.255.0.0:1758');
    }
  });

  it('lists a running MTFTP pass under mtftp:IMAGE, not droppable', () => {
    const { view, dropped } = daemon([], [pass]);
    const [s] = view.sessions();
    assert.equal(s?.id, 'mtftp:lab');
    assert.equal(s?.kind, 'mtftp');
    assert.equal(s?.file, 'ipxe/undionly.kpxe');
    assert.equal(s?.blksize, 512);
    assert.equal(s?.percent, 25);
    assert.equal(s?.master, '10.0.0.9:2071');
    assert.equal(s?.state, 'sending (2 waiting)');
    assert.equal(view.drop('mtftp:lab'), 'not-droppable');
    assert.equal(view.drop('mtftp:other'), 'no-such-session');
    assert.deepEqual(dropped, []);
  });

  it('drops TFTP transfers by client id with the operator reason', () => {
    const { view, dropped } = daemon([transfer('10.0.0.5:2070')]);
    assert.equal(view.drop('10.0.0.5:2070'), 'dropped');
    assert.equal(view.drop('10.0.0.5:9'), 'no-such-session');
    assert.deepEqual(dropped, [`10.0.0.5:2070 ${DROP_REASON}`, `10.0.0.5:9 ${DROP_REASON}`]);
  });

  it('status: uptime, services with ports, live and total counts', () => {
    const group = { group: '239.255.0.0:1758', master: '10.0.0.5:2070' };
    const s = daemon([transfer('10.0.0.5:2070', { multicast: group }), transfer('10.0.0.6:2070', { multicast: group }), transfer('10.0.0.7:1')], [pass]).view.status();
    assert.equal(s.uptimeMs, 60_000);
    assert.equal(s.configFile, '/etc/pxecast/pxecast.ini');
    assert.equal(s.version, '9.9.9');
    assert.deepEqual(
      s.services.map((x) => [x.name, x.running, x.ports]),
      [
        ['tftp', true, [6969]],
        ['multicast', true, []],
        ['mtftp', true, [1759]],
        ['http', false, []],
        ['dhcp', false, []],
        ['dhcp6', false, []],
        ['control', true, []],
      ],
    );
    assert.equal(s.services.at(-1)?.detail, '/run/pxecast/control.sock');
    assert.equal(s.counts.activeTransfers, 3);
    assert.equal(s.counts.activeMulticastSessions, 1);
    assert.equal(s.counts.activeMtftpPasses, 1);
    assert.deepEqual(s.counts.transferOutcomes, { complete: 4, timeout: 1 });
    assert.equal(s.counts.mtftpOpens, 3);
  });

  it('leases: says the responder is off, or lists the table with time left', () => {
    assert.deepEqual(daemon([]).view.leases(), { responder: 'off', note: 'DHCP responder is off ([dhcp] mode = off)', leases: [], v6: { responder: 'off', note: null, leases: [] } });
    const lease: Lease = { address: '10.0.0.50', mac: '52:54:00:12:34:56', pool: 'lab', state: 'bound', expiresAt: 1_000_000 + 3_600_000 };
    const table = daemon([], [], [lease]).view.leases();
    assert.deepEqual(table.leases, [{ address: '10.0.0.50', mac: '52:54:00:12:34:56', host: null, pool: 'lab', state: 'bound', expiresInMs: 3_600_000 }]);
    assert.deepEqual(table.v6, { responder: 'off', note: null, leases: [] });
  });

  it('leases: DHCPv6 bindings with the host matched by DUID, else by MAC; stateless says why it has none', () => {
    const stateful = parseConfig(
      '[tftp]\nroot = /srv/pxecast\n[dhcp6]\nmode = stateful\naddress = fd00::1\npool_first = fd00::100\npool_last = fd00::1ff\n[image lab]\nfile = lab.efi\ndefault = true\n',
      '/etc/pxecast/pxecast.ini',
    );
    const hosts = [
      { name: 'by-duid', mac: null, duid: '0004a1b2', image: null, address: null, hostname: null },
      { name: 'by-mac', mac: '52:54:00:00:00:02', duid: null, image: null, address: null, hostname: null },
    ];
    const leases6 = [
      { address: 'fd00::100', duid: '0004a1b2', iaid: 1, mac: null, state: 'bound' as const, expiresAt: 1_000_000 + 600_000 },
      { address: 'fd00::101', duid: '00030001525400000002', iaid: 2, mac: '52:54:00:00:00:02', state: 'advertised' as const, expiresAt: 1_000_000 + 60_000 },
      { address: 'fd00::102', duid: '00030001525400000003', iaid: 3, mac: '52:54:00:00:00:03', state: 'bound' as const, expiresAt: 1_000_000 + 60_000 },
    ];
    const view = daemon([], [], null, {
      dhcp6: { leaseList: () => leases6 },
      currentConfig: () => stateful,
      currentCatalog: () => ({ ...catalog, hosts }),
    }).view;
    assert.deepEqual(view.leases().v6, {
      responder: 'stateful',
      note: null,
      leases: [
        { address: 'fd00::100', duid: '0004a1b2', iaid: 1, mac: null, host: 'by-duid', state: 'bound', expiresInMs: 600_000 },
        { address: 'fd00::101', duid: '00030001525400000002', iaid: 2, mac: '52:54:00:00:00:02', host: 'by-mac', state: 'advertised', expiresInMs: 60_000 },
        { address: 'fd00::102', duid: '00030001525400000003', iaid: 3, mac: '52:54:00:00:00:03', host: null, state: 'bound', expiresInMs: 60_000 },
      ],
    });
    const stateless = parseConfig('[tftp]\nroot = /srv/pxecast\n[dhcp6]\nmode = stateless\naddress = fd00::1\n[image lab]\nfile = lab.efi\ndefault = true\n', '/etc/pxecast/pxecast.ini');
    const none = daemon([], [], null, { dhcp6: { leaseList: () => leases6 }, currentConfig: () => stateless }).view.leases().v6;
    assert.deepEqual(none, { responder: 'stateless', note: 'stateless DHCPv6 hands out no addresses (boot answers only)', leases: [] });
    const service = view.status().services.find((x) => x.name === 'dhcp6');
    assert.deepEqual(service, { name: 'dhcp6', running: true, address: 'fd00::1', ports: [547], detail: 'stateful DHCPv6 on the default link, pool fd00::100-fd00::1ff' });
  });

  it('catalog: images with their MTFTP tuple', () => {
    const c = daemon([]).view.catalog();
    assert.equal(c.root, '/srv/pxecast');
    assert.deepEqual(c.images[0]?.mtftp, { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 2 });
  });
});
