import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  formatAge,
  formatBytes,
  formatCatalog,
  formatLeases,
  formatSessionLines,
  formatSessions,
  formatStatus,
  renderTable,
} from '../../../src/control/control-format.js';
import type { SessionInfo, StatusInfo } from '../../../src/control/control-protocol.js';

const unicast: SessionInfo = {
  id: '10.0.0.5:2070',
  kind: 'unicast',
  droppable: true,
  clients: ['10.0.0.5:2070'],
  file: 'ipxe/undionly.kpxe',
  image: 'lab',
  direction: 'read',
  blksize: 1428,
  bytes: 3 * 1024 * 1024,
  totalBytes: 8 * 1024 * 1024,
  percent: 37.5,
  bytesPerSecond: 1536 * 1024,
  retransmits: 2,
  master: null,
  group: null,
  state: 'sending',
  ageMs: 2000,
};

const member: SessionInfo = {
  ...unicast,
  id: '10.0.0.6:2070',
  kind: 'multicast',
  clients: ['10.0.0.6:2070'],
  blksize: 512,
  master: '10.0.0.5:2071',
  group: '239.255.0.0:1758',
  state: 'sending/listening',
};

describe('control output', () => {
  it('sizes, rates and ages read naturally', () => {
    assert.deepEqual([0, 1023, 1024, 1536, 10 * 1024, 5 * 1024 ** 3].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 KiB', '5.0 GiB']);
    assert.deepEqual([999, 59_000, 61_000, 3_600_000 + 120_000, 3 * 86_400_000 + 3_600_000].map(formatAge), ['0s', '59s', '1m 1s', '1h 2m', '3d 1h']);
  });

  it('tables pad columns and right-align numbers', () => {
    assert.deepEqual(renderTable(['A', 'NUM'], [['long', '1'], ['x', '100']], new Set([1])), ['A     NUM', 'long    1', 'x     100']);
  });

  it('sessions: one row per transfer with id, kind, file [image], blksize, progress, rate, retransmits, master, group', () => {
    const lines = formatSessions([unicast, member]);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^SESSION\s+KIND\s+FILE\s+BLKSIZE\s+PROGRESS\s+RATE\s+RETX\s+MASTER\s+GROUP\s+STATE$/);
    assert.match(lines[1]!, /^10\.0\.0\.5:2070\s+unicast\s+ipxe\/undionly\.kpxe \[lab\]\s+1428\s+37\.5% of 8\.0 MiB\s+1\.5 MiB\/s\s+2\s+-\s+-\s+sending$/);
    assert.match(lines[2]!, /^10\.0\.0\.6:2070\s+multicast\s+.*\s+512\s+.*10\.0\.0\.5:2071\s+239\.255\.0\.0:1758\s+sending\/listening$/);
    assert.deepEqual(formatSessions([]), ['no transfers running']);
  });

  it('sessions off a terminal: one greppable line per session and update', () => {
    const at = new Date('2026-11-21T12:00:00.000Z');
    assert.deepEqual(formatSessionLines([member], at), [
      '2026-11-21T12:00:00.000Z 10.0.0.6:2070 multicast file=ipxe/undionly.kpxe blksize=512 progress=37.5%of8.0MiB rate=1.5MiB/s retransmits=2 master=10.0.0.5:2071 group=239.255.0.0:1758 state=sending/listening',
    ]);
    assert.deepEqual(formatSessionLines([], at), ['2026-11-21T12:00:00.000Z no transfers running']);
  });

  it('status: version, uptime, config file, one line per service, counts', () => {
    const status: StatusInfo = {
      version: '0.1.0',
      pid: 4242,
      uptimeMs: 8_040_000,
      configFile: '/etc/pxecast/pxecast.ini',
      services: [
        { name: 'tftp', running: true, address: '0.0.0.0', ports: [69], detail: 'root /srv/pxecast' },
        { name: 'dhcp', running: false, address: null, ports: [], detail: 'off ([dhcp] mode = off)' },
      ],
      counts: {
        images: 2,
        activeTransfers: 1,
        activeMulticastSessions: 0,
        activeMtftpPasses: 1,
        tftpRequests: 41,
        tftpRefused: 2,
        transferOutcomes: { timeout: 1, complete: 36 },
        bytesSent: 1536 * 1024 * 1024,
        retransmits: 14,
        mtftpOpens: 4,
        mtftpPasses: {},
      },
    };
    assert.deepEqual(formatStatus(status), [
      'pxecast 0.1.0, pid 4242, up 2h 14m',
      'config: /etc/pxecast/pxecast.ini',
      '',
      'SERVICE  STATE    LISTEN      DETAIL',
      'tftp     running  0.0.0.0:69  root /srv/pxecast',
      'dhcp     off                  off ([dhcp] mode = off)',
      '',
      'now: 1 transfer (0 multicast sessions), 1 MTFTP pass, 2 images in the catalog',
      'since start: 41 TFTP requests (2 refused); finished: 36 complete, 1 timeout; 1.5 GiB sent, 14 retransmits',
      'MTFTP: 4 opens',
    ]);
  });

  it('catalog and leases', () => {
    const catalog = formatCatalog({
      root: '/srv/pxecast',
      images: [
        {
          name: 'lab',
          file: 'undionly.kpxe',
          size: 70_000,
          description: 'BIOS',
          arch: ['bios'],
          ipxeFile: 'menu.ipxe',
          isDefault: true,
          mtftp: { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 2 },
        },
      ],
      hosts: [
        { name: 'node07', mac: '52:54:00:12:34:56', duid: null, image: 'lab', address: '10.0.0.57', hostname: 'node07.lab' },
        { name: 'node08', mac: '52:54:00:12:34:57', duid: null, image: null, address: null, hostname: null },
        { name: 'node09', mac: null, duid: '000300015254001234ff', image: 'lab', address: null, hostname: null },
      ],
    });
    assert.match(catalog[3]!, /^lab\s+undionly\.kpxe \(iPXE: menu\.ipxe\)\s+68 KiB\s+bios\s+yes\s+239\.255\.1\.1:3001, 1759, 2\/2\s+BIOS$/);
    assert.deepEqual(catalog.slice(5), [
      'HOST    MAC                DUID                  IMAGE            ADDRESS    HOSTNAME',
      'node07  52:54:00:12:34:56  -                     lab              10.0.0.57  node07.lab',
      'node08  52:54:00:12:34:57  -                     (catalog rules)  (pool)     -',
      'node09  -                  000300015254001234ff  lab              (pool)     -',
    ]);
    assert.deepEqual(formatLeases({ responder: 'off', note: 'DHCP responder is off ([dhcp] mode = off)', leases: [], v6: { responder: 'off', note: null, leases: [] } }), [
      'DHCP responder is off ([dhcp] mode = off)',
      'no leases',
    ]);
    const leases = formatLeases({
      responder: 'full',
      note: null,
      leases: [
        { address: '10.0.0.50', mac: '52:54:00:12:34:56', host: 'node07', pool: 'lab', state: 'bound', expiresInMs: 3_540_000 },
        { address: '10.0.0.51', mac: '52:54:00:12:34:99', host: null, pool: 'lab', state: 'bound', expiresInMs: 60_000 },
      ],
      v6: { responder: 'off', note: null, leases: [] },
    });
    assert.deepEqual(leases, [
      'ADDRESS    MAC                HOST    POOL  STATE  EXPIRES',
      '10.0.0.50  52:54:00:12:34:56  node07  lab   bound  in 59m 0s',
      '10.0.0.51  52:54:00:12:34:99  -       lab   bound  in 1m 0s',
    ]);
    // A DHCPv6 responder adds its own table (or says why it has none) below the DHCPv4 one.
    const both = formatLeases({
      responder: 'off',
      note: 'DHCP responder is off ([dhcp] mode = off)',
      leases: [],
      v6: {
        responder: 'stateful',
        note: null,
        leases: [{ address: 'fd00::105', duid: '000300015254001234ff', iaid: 7, mac: '52:54:00:12:34:ff', host: 'node09', state: 'bound', expiresInMs: 600_000 }],
      },
    });
    assert.deepEqual(both, [
      'DHCP responder is off ([dhcp] mode = off)',
      'no leases',
      '',
      'DHCPv6 (stateful):',
      'ADDRESS    DUID                  IAID  MAC                HOST    STATE  EXPIRES',
      'fd00::105  000300015254001234ff  7     52:54:00:12:34:ff  node09  bound  in 10m 0s',
    ]);
    assert.deepEqual(formatLeases({ responder: 'full', note: null, leases: [], v6: { responder: 'stateless', note: 'stateless DHCPv6 hands out no addresses (boot answers only)', leases: [] } }).slice(1), [
      '',
      'DHCPv6 (stateless):',
      'stateless DHCPv6 hands out no addresses (boot answers only)',
      'no leases',
    ]);
  });
});
