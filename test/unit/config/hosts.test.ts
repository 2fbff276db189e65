// `[host NAME]`: parsed, merged into the pools' reservations, and every conflict named by file,
// line and key (what `pxecast check` prints).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';

const FILE = '/etc/pxecast/pxecast.ini';
const BASE = [
  '[tftp]', // 1
  'root = /srv', // 2
  '[dhcp]', // 3
  'mode = full', // 4
  'interface = 10.0.0.1', // 5
  '[pool lab]', // 6
  'first = 10.0.0.100', // 7
  'last = 10.0.0.150', // 8
  'reservations = 52:54:00:00:00:99=10.0.0.99', // 9
  '[image bios]', // 10
  'file = undionly.kpxe', // 11
  'default = true', // 12
  '[image efi]', // 13
  'file = ipxe.efi', // 14
  '', // (the text ends with a newline: a [host] section starts at line 15)
].join('\n');

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map(formatIssue);
  }
  return assert.fail('expected a ConfigError');
}

describe('[host NAME]', () => {
  it('parses hosts, normalises the MAC, and makes a fixed address a reservation of its pool', () => {
    const config = parseConfig(
      `${BASE}[host node07]\nmac = 52-54-00-AA-BB-07\nimage = efi\naddress = 10.0.0.57\nhostname = node07.lab\n[host node08]\nmac = 52:54:00:aa:bb:08\n`,
      FILE,
    );
    assert.deepEqual(config.hosts, [
      { name: 'node07', mac: '52:54:00:aa:bb:07', duid: null, image: 'efi', address: '10.0.0.57', hostname: 'node07.lab' },
      { name: 'node08', mac: '52:54:00:aa:bb:08', duid: null, image: null, address: null, hostname: null },
    ]);
    assert.deepEqual(config.dhcp.pools[0]!.reservations, [
      { mac: '52:54:00:00:00:99', address: '10.0.0.99' },
      { mac: '52:54:00:aa:bb:07', address: '10.0.0.57' },
    ]);
    assert.equal(config.dhcp.unknownClients, 'serve');
  });

  it('names every conflict by file, line and key', () => {
    const text = [
      BASE.trimEnd(),
      '[host a]', // 15
      'mac = 52:54:00:aa:bb:01', // 16
      'address = 10.0.0.57', // 17
      '[host b]', // 18
      'mac = 52:54:00:AA:BB:01', // 19: same MAC as a
      'address = 10.0.0.57', // 20: same address as a
      '[host c]', // 21
      'mac = 52:54:00:00:00:99', // 22: a pool reservation's MAC
      'address = 10.0.0.99', // 23: a pool reservation's address
      '[host d]', // 24
      'mac = not-a-mac', // 25
      'image = memtest', // 26
      'address = 192.168.7.7', // 27: in no pool
      'hostname = under_score', // 28
      '',
    ].join('\n');
    assert.deepEqual(issuesOf(text), [
      `${FILE}:19: [host b] mac: 52:54:00:aa:bb:01 is already given to [host a]`,
      `${FILE}:20: [host b] address: 10.0.0.57 is already given to [host a]`,
      `${FILE}:22: [host c] mac: 52:54:00:00:00:99 is already given to [pool lab] reservations`,
      `${FILE}:23: [host c] address: 10.0.0.99 is already given to [pool lab] reservations`,
      `${FILE}:25: [host d] mac: \`not-a-mac\` is not a MAC address (e.g. 52:54:00:12:34:56)`,
      `${FILE}:26: [host d] image: no [image memtest] (images: bios, efi)`,
      `${FILE}:27: [host d] address: 192.168.7.7 is in no pool's subnet`,
      `${FILE}:28: [host d] hostname: \`under_score\` is not a host name (letters, digits, hyphens, dots)`,
    ]);
  });

  it('a host needs a MAC or a DUID, and a fixed address needs the MAC; unknown_clients takes serve or ignore', () => {
    assert.deepEqual(issuesOf(`${BASE}[host x]\nimage = bios\n`), [`${FILE}:15: [host x]: needs \`mac\` or \`duid\` (or both) to know the machine by`]);
    assert.deepEqual(issuesOf(`${BASE}[host x]\nduid = 00:03:00:01:52:54:00:aa:bb:01\naddress = 10.0.0.57\n`), [
      `${FILE}:17: [host x] address: a fixed address is reserved by MAC: this host needs \`mac\``,
    ]);
    assert.equal(parseConfig(BASE.replace('mode = full', 'mode = full\nunknown_clients = ignore'), FILE).dhcp.unknownClients, 'ignore');
    assert.match(issuesOf(BASE.replace('mode = full', 'mode = full\nunknown_clients = drop')).join('\n'), /unknown_clients/);
  });
});
