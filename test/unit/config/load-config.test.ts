import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import type { Config } from '../../../src/config/config-types.js';
import { parseConfig } from '../../../src/config/load-config.js';

const FILE = '/etc/pxecast/pxecast.ini';
const ROOT = '[tftp]\nroot = /srv/pxecast\n';

function parse(text: string, file = FILE): Config {
  return parseConfig(text, file);
}

function issuesOf(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map(formatIssue);
  }
  return assert.fail('expected a ConfigError');
}

test('a minimal config gets every default', () => {
  const config = parse(ROOT);
  assert.deepEqual(config, {
    sourceFile: FILE,
    log: { level: 'info', format: 'text' },
    tftp: {
      enabled: true,
      listen: '0.0.0.0',
      port: 69,
      root: '/srv/pxecast',
      maxBlksize: 1468,
      maxWindowsize: 64,
      netascii: true,
      maxTransfers: 1000,
      maxTransfersPerClient: 8,
      clientRequestRate: 20,
      clientRequestBurst: 60,
      maxUnconfirmed: 256,
      unconfirmedTimeoutMs: 20_000,
      maxTransferTimeMs: 30 * 60_000,
      idleTimeoutMs: 30_000,
      rtoMinMs: 10,
      rtoMaxMs: 3000,
      rtoInitialMs: 1000,
      uploadDir: null,
      maxUploadSize: 64 * 1024 * 1024,
      workers: 0,
    },
    multicast: {
      enabled: true,
      groupFirst: '239.255.0.0',
      groupLast: '239.255.0.255',
      portFirst: 1758,
      portLast: 1758,
      ttl: 1,
      interface: '0.0.0.0',
      startDelayMs: 2000,
      minClients: 0,
      maxClients: 64,
      rollover: false,
      maxRateMbps: 1000,
      minRateMbps: 8,
      masterTimeoutMs: 2000,
      masterTries: 3,
      deafAfter: 3,
      deafMemoryMs: 600_000,
      slowRateMbps: 0,
      slowSharePercent: 10,
      slowAfterMs: 5000,
    },
    mtftp: { enabled: true, openHoldMs: 500 },
    http: { enabled: false, listen: '0.0.0.0', port: 80, maxConnections: 1024, maxConnectionsPerClient: 16 },
    dhcp: {
      mode: 'off',
      unknownClients: 'serve',
      interface: null,
      port: 67,
      proxyPort: 4011,
      nextServer: null,
      leaseTimeMs: 3_600_000,
      offerTimeoutMs: 60_000,
      stateFile: '/var/lib/pxecast/leases.json',
      pools: [],
    },
    dhcp6: {
      mode: 'off',
      address: null,
      link: null,
      port: 547,
      bootParams: [],
      poolFirst: null,
      poolLast: null,
      leaseTimeMs: 3_600_000,
      offerTimeoutMs: 60_000,
      stateFile: '/var/lib/pxecast/leases6.json',
    },
    images: [],
    hosts: [],
    control: { enabled: true, socket: '/run/pxecast/control.sock', mode: 0o660 },
    metrics: { listen: null },
  });
});

test('multicast pools and rates must be written low..high', () => {
  assert.deepEqual(
    issuesOf(`${ROOT}[multicast]\ngroup_first = 239.1.1.9\ngroup_last = 239.1.1.1\nport_first = 2000\nport_last = 1999\nmax_rate = 5\n`),
    [
      `${FILE}:5: [multicast] group_last: 239.1.1.1 must be at least \`group_first\` (239.1.1.9)`,
      `${FILE}:7: [multicast] port_last: 1999 must be at least \`port_first\` (2000)`,
      `${FILE}:8: [multicast] max_rate: 5 must be at least \`min_rate\` (8, the default)`,
    ],
  );
});

test('every key can be set', () => {
  const config = parse(
    [
      '[log]',
      'level = debug',
      'format = json',
      '[tftp]',
      'enabled = no',
      'listen = ::1',
      'port = 6969',
      'root = /srv/tree',
      'max_blksize = 512',
      'max_windowsize = 1',
      'netascii = off',
      'max_transfers = 5',
      'max_transfer_time = 2h',
      'idle_timeout = 10m',
      'rto_min = 50',
      'rto_initial = 200ms',
      'rto_max = 1m',
      'upload_dir = /var/lib/pxecast/uploads',
      'max_upload_size = 4G',
      'max_transfers_per_client = 2',
      'client_request_rate = 5',
      'client_request_burst = 10',
      'max_unconfirmed = 3',
      'unconfirmed_timeout = 2s',
      'workers = 3',
      '[dhcp]',
      'mode = off',
    ].join('\n'),
  );
  assert.deepEqual(config.log, { level: 'debug', format: 'json' });
  assert.deepEqual(config.tftp, {
    enabled: false,
    listen: '::1',
    port: 6969,
    root: '/srv/tree',
    maxBlksize: 512,
    maxWindowsize: 1,
    netascii: false,
    maxTransfers: 5,
    maxTransfersPerClient: 2,
    clientRequestRate: 5,
    clientRequestBurst: 10,
    maxUnconfirmed: 3,
    unconfirmedTimeoutMs: 2000,
    maxTransferTimeMs: 7_200_000,
    idleTimeoutMs: 600_000,
    rtoMinMs: 50,
    rtoMaxMs: 60_000,
    rtoInitialMs: 200,
    uploadDir: '/var/lib/pxecast/uploads',
    maxUploadSize: 4 * 1024 ** 3,
    workers: 3,
  });
});

test('[tftp] workers: auto (any case), 0, or a count; anything else is an error', () => {
  assert.equal(parse(`${ROOT}workers = AUTO\n`).tftp.workers, 'auto');
  assert.equal(parse(`${ROOT}workers = 0\n`).tftp.workers, 0);
  assert.equal(parse(`${ROOT}workers = 4\n`).tftp.workers, 4);
  for (const bad of ['-1', '65', 'all', '']) assert.throws(() => parse(`${ROOT}workers = ${bad}\n`), /workers/, bad);
});

test('durations: bare numbers take the field unit (s for timeouts, ms for rto_*)', () => {
  const cases: [line: string, pick: (c: Config) => number, ms: number][] = [
    ['idle_timeout = 45', (c) => c.tftp.idleTimeoutMs, 45_000],
    ['idle_timeout = 1.5m', (c) => c.tftp.idleTimeoutMs, 90_000],
    ['max_transfer_time = 90', (c) => c.tftp.maxTransferTimeMs, 90_000],
    ['max_transfer_time = 24h', (c) => c.tftp.maxTransferTimeMs, 86_400_000],
    ['rto_min = 25', (c) => c.tftp.rtoMinMs, 25],
    ['rto_min = 1ms', (c) => c.tftp.rtoMinMs, 1],
    ['rto_initial = 0.5s', (c) => c.tftp.rtoInitialMs, 500],
    ['rto_max = 2500', (c) => c.tftp.rtoMaxMs, 2500],
  ];
  for (const [line, pick, ms] of cases) assert.equal(pick(parse(`${ROOT}${line}\n`)), ms, line);
});

test('sizes and booleans', () => {
  const sizes: [text: string, bytes: number][] = [
    ['1', 1],
    ['1536', 1536],
    ['512K', 524_288],
    ['64m', 67_108_864],
    ['1G', 1_073_741_824],
  ];
  for (const [text, bytes] of sizes) assert.equal(parse(`${ROOT}max_upload_size = ${text}\n`).tftp.maxUploadSize, bytes, text);
  const bools: [text: string, value: boolean][] = [
    ['true', true],
    ['Yes', true],
    ['ON', true],
    ['1', true],
    ['FALSE', false],
    ['no', false],
    ['Off', false],
    ['0', false],
  ];
  for (const [text, value] of bools) assert.equal(parse(`${ROOT}netascii = ${text}\n`).tftp.netascii, value, text);
});

test('enums are case-insensitive and stored canonically; IPv6 listen addresses work', () => {
  const config = parse(`[log]\nlevel = WARN\nformat = Json\n${ROOT}listen = fe80::1%eth0\n`);
  assert.deepEqual(config.log, { level: 'warn', format: 'json' });
  assert.equal(config.tftp.listen, 'fe80::1%eth0');
});

test('relative root and upload_dir are resolved against the config file directory', () => {
  const cases: [root: string, uploads: string, expectRoot: string, expectUploads: string | null][] = [
    ['demo-root', 'uploads', '/etc/pxecast/demo-root', '/etc/pxecast/uploads'],
    ['./tree/', '../var/up', '/etc/pxecast/tree', '/etc/var/up'],
    ['/srv/pxecast', '/var/lib/up', '/srv/pxecast', '/var/lib/up'],
    ['.', '', '/etc/pxecast', null],
  ];
  for (const [root, uploads, expectRoot, expectUploads] of cases) {
    const config = parse(`[tftp]\nroot = ${root}\nupload_dir = ${uploads}\n`);
    assert.equal(config.tftp.root, expectRoot, root);
    assert.equal(config.tftp.uploadDir, expectUploads, uploads);
  }
  assert.equal(parse('[tftp]\nroot = tree\n', '/opt/lab/conf/pxecast.ini').tftp.root, '/opt/lab/conf/tree');
});

test('[metrics] listen: empty is off; HOST:PORT is typed, IPv6 without its brackets', () => {
  assert.deepEqual(parse(`${ROOT}[metrics]\nlisten =\n`).metrics, { listen: null });
  assert.deepEqual(parse(`${ROOT}[metrics]\nlisten = 127.0.0.1:9469\n`).metrics, { listen: { address: '127.0.0.1', port: 9469 } });
  assert.deepEqual(parse(`${ROOT}[metrics]\nlisten = [::1]:9469\n`).metrics, { listen: { address: '::1', port: 9469 } });
});

test('parseConfig needs an absolute file path', () => {
  assert.throws(() => parse(ROOT, 'pxecast.ini'), TypeError);
});

test('quoted values keep ; and # and surrounding spaces; unquoted ones lose inline comments', () => {
  const cases: [raw: string, description: string][] = [
    ['"Ubuntu ; live"', 'Ubuntu ; live'],
    ["'lab # 3'", 'lab # 3'],
    ['"  padded  "', '  padded  '],
    ['"tab\\tseparated"', 'tab\tseparated'],
    ['plain ; trailing comment', 'plain'],
    ['escaped \\; semicolon', 'escaped ; semicolon'],
    ["'42'", '42'],
  ];
  for (const [raw, description] of cases) {
    const config = parse(`${ROOT}[image demo]\nfile = demo.img\ndescription = ${raw}\n`);
    assert.equal(config.images[0]?.description, description, raw);
  }
  assert.equal(parse(`[tftp]\nroot = "/srv/with space ; x"\n`).tftp.root, '/srv/with space ; x');
  assert.equal(parse(`${ROOT}port = '6969'\n`).tftp.port, 6969);
});

test('CRLF and a missing trailing newline parse, and errors keep their line numbers', () => {
  const crlf = '[tftp]\r\nroot = /srv/pxecast\r\nport = 6969\r\n[image demo]\r\nfile = a.img';
  const config = parse(crlf);
  assert.equal(config.tftp.port, 6969);
  assert.equal(config.images[0]?.file, 'a.img');
  assert.deepEqual(config.images[0]?.locations.file, { file: FILE, line: 5 });
  assert.deepEqual(issuesOf('[tftp]\r\nroot = /srv\r\n\r\nport = 0'), [`${FILE}:4: [tftp] port: 0 is out of range (1..65535)`]);
});

test('images: values, normalised paths, locations and file order', () => {
  const config = parse(
    [
      '[tftp]', //                         1
      'root = /srv/pxecast', //            2
      '', //                               3
      '[image bios]', //                   4
      'file = ./ipxe//undionly.kpxe', //   5
      'ipxe_file = ipxe/menu.ipxe', //     6
      'arch = bios', //                    7
      'default = yes', //                  8
      'mtftp = on', //                     9
      '', //                               10
      '[image uefi]', //                   11
      'file = efi/ipxe.efi', //            12
      'description = UEFI x64 and ARM', // 13
      'arch = efi-x64, efi-arm64', //      14
      'mtftp = true', //                   15
      'mtftp_group = 239.255.1.2', //      16
      'mtftp_client_port = 3002', //       17
      'mtftp_server_port = 1760', //       18
      'mtftp_open_timeout = 5', //         19
      'mtftp_reopen_delay = 7', //         20
      '[image plain]', //                  21
      'file = memtest.bin', //             22
    ].join('\n'),
  );
  assert.deepEqual(
    config.images.map((i) => i.name),
    ['bios', 'uefi', 'plain'],
  );
  const [bios, uefi, plain] = config.images;
  assert.deepEqual(bios, {
    name: 'bios',
    file: 'ipxe/undionly.kpxe',
    description: '',
    arch: ['bios'],
    ipxeFile: 'ipxe/menu.ipxe',
    httpFile: null,
    ipxeScript: null,
    isDefault: true,
    // The default image gets a channel without configuring one.
    mtftp: { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 2 },
    locations: {
      file: { file: FILE, line: 5 },
      ipxe_file: { file: FILE, line: 6 },
      arch: { file: FILE, line: 7 },
      default: { file: FILE, line: 8 },
      mtftp: { file: FILE, line: 9 },
    },
    sectionLocation: { file: FILE, line: 4 },
  });
  assert.deepEqual(uefi?.mtftp, { group: '239.255.1.2', clientPort: 3002, serverPort: 1760, openTimeoutS: 5, reopenDelayS: 7 });
  assert.deepEqual(uefi?.arch, ['efi-x64', 'efi-arm64']);
  assert.equal(uefi?.isDefault, false);
  assert.equal(uefi?.locations.mtftp_reopen_delay?.line, 20);
  assert.deepEqual(plain, {
    name: 'plain',
    file: 'memtest.bin',
    description: '',
    arch: [],
    ipxeFile: null,
    httpFile: null,
    ipxeScript: null,
    isDefault: false,
    mtftp: null,
    locations: { file: { file: FILE, line: 22 } },
    sectionLocation: { file: FILE, line: 21 },
  });
});

test('the result is deeply frozen', () => {
  const config = parse(`${ROOT}[image demo]\nfile = a.img\narch = bios\ndefault = true\nmtftp = true\n`);
  const image = config.images[0];
  assert.ok(image);
  const objects: [name: string, value: object | null][] = [
    ['config', config],
    ['log', config.log],
    ['tftp', config.tftp],
    ['dhcp', config.dhcp],
    ['images', config.images],
    ['image', image],
    ['arch', image.arch],
    ['mtftp', image.mtftp],
    ['locations', image.locations],
    ['location', image.locations.file ?? null],
    ['sectionLocation', image.sectionLocation],
  ];
  for (const [name, value] of objects) {
    assert.ok(value !== null && Object.isFrozen(value), name);
  }
  assert.throws(() => {
    (config.tftp as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (image.arch as string[]).push('efi-x64');
  }, TypeError);
});

test('ConfigError carries a stable code, every issue, and a readable message', () => {
  try {
    parse('[tftp]\nport = 0\nlisten = nowhere\n');
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.issues.length, 3);
    assert.equal(
      error.message,
      [
        'configuration has 3 errors:',
        `  ${FILE}:1: [tftp] root: required key is missing; add \`root = /srv/pxecast\``,
        `  ${FILE}:2: [tftp] port: 0 is out of range (1..65535)`,
        `  ${FILE}:3: [tftp] listen: "nowhere" is not an IP address (e.g. 0.0.0.0, 192.168.1.10 or ::)`,
      ].join('\n'),
    );
  }
});
