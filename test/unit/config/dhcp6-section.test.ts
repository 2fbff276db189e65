// [dhcp6]: typed values, and every cross-field problem reported with file, line and key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';

const FILE = '/etc/pxecast/pxecast.ini';
const ROOT = '[tftp]\nroot = /srv/pxecast\n[dhcp6]\n';

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map(formatIssue);
  }
  return assert.fail('expected a ConfigError');
}

test('[dhcp6] stateful: typed values (addresses lower-cased, params split on spaces)', () => {
  const c = parseConfig(`${ROOT}mode = stateful\naddress = FD00:10::1\nlink = eth1\nboot_params = a=1  b=2\npool_first = fd00:10::1000\npool_last = fd00:10::1fff\nlease_time = 2h\n`, FILE);
  assert.deepEqual(c.dhcp6, {
    mode: 'stateful',
    address: 'fd00:10::1',
    link: 'eth1',
    port: 547,
    bootParams: ['a=1', 'b=2'],
    poolFirst: 'fd00:10::1000',
    poolLast: 'fd00:10::1fff',
    leaseTimeMs: 7_200_000,
    offerTimeoutMs: 60_000,
    stateFile: '/var/lib/pxecast/leases6.json',
  });
});

test('[dhcp6] problems: no address, an IPv4 or link-local address, a pool missing, across /64s, too large', () => {
  assert.deepEqual(issuesOf(`${ROOT}mode = stateless\n`), [`${FILE}:4: [dhcp6] address: an IPv6 serving address is required with \`mode = stateless\``]);
  assert.deepEqual(issuesOf(`${ROOT}mode = stateless\naddress = 10.0.0.1\n`), [`${FILE}:5: [dhcp6] address: 10.0.0.1 is an IPv4 address; [dhcp6] needs an IPv6 address`]);
  assert.match(issuesOf(`${ROOT}mode = stateless\naddress = fe80::1\n`)[0]!, /link-local address cannot be named in a boot URL/);
  assert.match(issuesOf(`${ROOT}mode = stateful\naddress = fd00::1\n`)[0]!, /`stateful` needs `pool_first` and `pool_last`/);
  assert.match(issuesOf(`${ROOT}mode = stateful\naddress = fd00::1\npool_first = fd00::10\npool_last = fd01::20\n`)[0]!, /same \/64/);
  assert.match(issuesOf(`${ROOT}mode = stateful\naddress = fd00::1\npool_first = fd00::20\npool_last = fd00::10\n`)[0]!, /first <= last/);
  assert.match(issuesOf(`${ROOT}mode = stateful\naddress = fd00::1\npool_first = fd00::1:0\npool_last = fd00::2:0\n`)[0]!, /65537 addresses|at most 65536/);
});

test('[dhcp6] off needs nothing else', () => {
  assert.equal(parseConfig(ROOT, FILE).dhcp6.mode, 'off');
});
