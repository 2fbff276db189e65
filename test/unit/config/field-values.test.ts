import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  formatDuration,
  formatSize,
  isIpv4,
  isIpv6,
  parseBool,
  parseDuid,
  parseDuration,
  parseInteger,
  parseList,
  parseListenAddress,
  parseMulticastIpv4,
  parseServedPath,
  parseSize,
  type Parsed,
} from '../../../src/config/field-values.js';

function valueOf<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) assert.fail(`expected a value, got: ${parsed.message}`);
  return parsed.value;
}

function messageOf<T>(parsed: Parsed<T>): string {
  if (parsed.ok) assert.fail(`expected a problem, got: ${JSON.stringify(parsed.value)}`);
  return parsed.message;
}

test('booleans: true/false, yes/no, on/off, 1/0 in any case', () => {
  for (const word of ['true', 'TRUE', 'Yes', 'on', 'ON', '1']) assert.equal(valueOf(parseBool(word)), true, word);
  for (const word of ['false', 'False', 'no', 'NO', 'off', '0']) assert.equal(valueOf(parseBool(word)), false, word);
  for (const word of ['', 'y', 'enable', '2', 'truee']) {
    assert.match(messageOf(parseBool(word)), /is not a boolean \(use true\/false, yes\/no, on\/off or 1\/0\)/, word);
  }
});

test('integers: decimal digits within the range', () => {
  assert.equal(valueOf(parseInteger('8', 8, 10)), 8);
  assert.equal(valueOf(parseInteger('+10', 8, 10)), 10);
  assert.equal(messageOf(parseInteger('11', 8, 10)), '11 is out of range (8..10)');
  assert.equal(messageOf(parseInteger('-1', 0, 10)), '-1 is out of range (0..10)');
  assert.equal(messageOf(parseInteger('99999999999999999999', 0, 10)), '99999999999999999999 is out of range (0..10)');
  for (const text of ['', '1.5', '0x10', '1e3', '10 blocks']) {
    assert.match(messageOf(parseInteger(text, 0, 100)), /is not a whole number \(expected 0\.\.100\)/, text);
  }
});

test('durations: units ms, s, m, h; bare numbers use the field unit; stored as ms', () => {
  const cases: [text: string, bare: 'ms' | 's', ms: number][] = [
    ['250ms', 's', 250],
    ['30s', 'ms', 30_000],
    ['30', 's', 30_000],
    ['30', 'ms', 30],
    ['1.5m', 's', 90_000],
    ['2h', 's', 7_200_000],
    ['2H', 's', 7_200_000],
    ['10 s', 's', 10_000],
    ['0.5s', 's', 500],
  ];
  for (const [text, bare, ms] of cases) assert.equal(valueOf(parseDuration(text, bare, 1, 24 * 3_600_000)), ms, text);
  assert.equal(messageOf(parseDuration('25h', 's', 1000, 24 * 3_600_000)), '25h is out of range (1s..24h)');
  assert.equal(messageOf(parseDuration('0.5ms', 'ms', 1, 1000)), '0.5ms is not a whole number of milliseconds');
  for (const text of ['', 's', '30 sec', '-1s', '1d', '1m30s']) {
    assert.match(messageOf(parseDuration(text, 's', 1, 1000)), /is not a duration/, text);
  }
});

test('durations are shown in the largest exact unit', () => {
  const cases: [ms: number, text: string][] = [
    [0, '0ms'],
    [10, '10ms'],
    [1500, '1500ms'],
    [1000, '1s'],
    [90_000, '90s'],
    [1_800_000, '30m'],
    [86_400_000, '24h'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text);
});

test('sizes: bytes with binary K, M, G suffixes', () => {
  const cases: [text: string, bytes: number][] = [
    ['1', 1],
    ['1000', 1000],
    ['512K', 512 * 1024],
    ['64M', 64 * 1024 * 1024],
    ['64m', 64 * 1024 * 1024],
    ['4G', 4 * 1024 ** 3],
  ];
  for (const [text, bytes] of cases) assert.equal(valueOf(parseSize(text, 1, 4 * 1024 ** 3)), bytes, text);
  assert.equal(messageOf(parseSize('0', 1, 4 * 1024 ** 3)), '0 is out of range (1..4G)');
  assert.equal(messageOf(parseSize('5G', 1, 4 * 1024 ** 3)), '5G is out of range (1..4G)');
  for (const text of ['', 'M', '64MB', '1.5M', '64T']) assert.match(messageOf(parseSize(text, 1, 10)), /is not a size/, text);
  assert.equal(formatSize(67_108_864), '64M');
  assert.equal(formatSize(1536), '1536'); // 1.5K has no exact suffix
  assert.equal(formatSize(1024), '1K');
});

test('IPv4 literals', () => {
  for (const ip of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '192.168.1.10']) assert.ok(isIpv4(ip), ip);
  for (const ip of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '1..2.3']) {
    assert.ok(!isIpv4(ip), ip);
  }
});

test('IPv6 literals', () => {
  const valid = ['::', '::1', '1::', 'fe80::1', 'fe80::1%eth0', '2001:db8::8:800:200c:417a', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', '64:ff9b::192.0.2.33', 'FFFF::'];
  const invalid = ['', ':', ':::', '1:2:3', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '1.2.3.4::', '::1.2.3', '1:2:3:4:5:6:7:8::', '::1%', ':1::', 'fe80::1%eth 0'];
  for (const ip of valid) assert.ok(isIpv6(ip), ip);
  for (const ip of invalid) assert.ok(!isIpv6(ip), ip);
});

test('listen addresses: HOST:PORT with an IP literal (IPv6 in brackets); empty is off', () => {
  assert.equal(valueOf(parseListenAddress('')), null);
  assert.deepEqual(valueOf(parseListenAddress('127.0.0.1:9469')), { address: '127.0.0.1', port: 9469 });
  assert.deepEqual(valueOf(parseListenAddress('0.0.0.0:1')), { address: '0.0.0.0', port: 1 });
  assert.deepEqual(valueOf(parseListenAddress('[::1]:65535')), { address: '::1', port: 65535 });
  assert.deepEqual(valueOf(parseListenAddress('[fe80::1%eth0]:9469')), { address: 'fe80::1%eth0', port: 9469 });
  const problems: [text: string, message: string][] = [
    ['127.0.0.1', '"127.0.0.1" is not HOST:PORT (e.g. 127.0.0.1:9469 or [::1]:9469)'],
    ['::1:9469', '"::1:9469" is not HOST:PORT (e.g. 127.0.0.1:9469 or [::1]:9469)'],
    [':9469', '"" in ":9469" is not an IP address (e.g. 127.0.0.1:9469 or [::1]:9469; host names are not resolved)'],
    ['localhost:9469', '"localhost" in "localhost:9469" is not an IP address (e.g. 127.0.0.1:9469 or [::1]:9469; host names are not resolved)'],
    ['[127.0.0.1]:9469', '"127.0.0.1" in "[127.0.0.1]:9469" is not an IP address (e.g. 127.0.0.1:9469 or [::1]:9469; host names are not resolved)'],
    ['127.0.0.1:0', 'port 0 in "127.0.0.1:0" is out of range (1..65535)'],
    ['[::1]:65536', 'port 65536 in "[::1]:65536" is out of range (1..65535)'],
    ['127.0.0.1:http', '"127.0.0.1:http" is not HOST:PORT (e.g. 127.0.0.1:9469 or [::1]:9469)'],
  ];
  for (const [text, message] of problems) assert.equal(messageOf(parseListenAddress(text)), message, text);
});

test('IPv4 multicast is 224.0.0.0/4', () => {
  for (const ip of ['224.0.0.0', '239.255.1.1', '239.255.255.255']) assert.equal(valueOf(parseMulticastIpv4(ip)), ip);
  for (const ip of ['223.255.255.255', '240.0.0.1', '10.0.0.1', 'ff02::1', '239.256.1.1']) {
    assert.match(messageOf(parseMulticastIpv4(ip)), /is not an IPv4 multicast address \(224\.0\.0\.0 to 239\.255\.255\.255\)/, ip);
  }
});

test('lists: comma-separated enum values, trimmed, case-insensitive, no duplicates', () => {
  const values = ['bios', 'efi-x64', 'efi-arm64'] as const;
  assert.deepEqual(valueOf(parseList('', values)), []);
  assert.deepEqual(valueOf(parseList(' bios ,EFI-X64', values)), ['bios', 'efi-x64']);
  assert.equal(messageOf(parseList('bios, bios', values)), 'bios is listed twice');
  assert.equal(messageOf(parseList('bios,,efi-x64', values)), '"bios,,efi-x64" has an empty item; separate values with single commas');
  assert.equal(
    messageOf(parseList('bios, efi-x86', values)),
    '"efi-x86" is not one of bios, efi-x64, efi-arm64; did you mean `efi-x64`?',
  );
});

test('paths in the TFTP root: syntactic checks and normalisation', () => {
  const normalised: [text: string, path: string][] = [
    ['pxelinux.0', 'pxelinux.0'],
    ['boot/x64/grubx64.efi', 'boot/x64/grubx64.efi'],
    ['a//b', 'a/b'],
    ['./a/./b', 'a/b'],
    ['a/b/', 'a/b'],
    ['..a/b..', '..a/b..'],
  ];
  for (const [text, path] of normalised) assert.equal(valueOf(parseServedPath(text)), path, text);
  const rejected: [text: string, message: string][] = [
    ['', 'must not be empty'],
    ['/boot/pxelinux.0', '"/boot/pxelinux.0" must be relative to the TFTP root (no leading /)'],
    ['boot\\pxelinux.0', '"boot\\\\pxelinux.0" contains a backslash; separate directories with /'],
    ['../etc/passwd', '"../etc/passwd" must not contain a .. segment'],
    ['a/../b', '"a/../b" must not contain a .. segment'],
    ['a\u0000b', '"a\\u0000b" contains a control character'],
    ['a\tb', '"a\\tb" contains a control character'],
    ['./', '"./" names no file'],
  ];
  for (const [text, message] of rejected) assert.equal(messageOf(parseServedPath(text)), message, text);
});

test('DUIDs: hex bytes, colon-separated or run together, any case; stored as bare lower-case hex', () => {
  assert.equal(valueOf(parseDuid('00:03:00:01:52:54:00:AA:BB:01')), '00030001525400aabb01');
  assert.equal(valueOf(parseDuid('00030001525400AABB01')), '00030001525400aabb01');
  assert.equal(valueOf(parseDuid('')), null);
  for (const text of ['0:3:0:1:52:54', '00-03-00-01-52-54', '000300015', '00:03:zz', '00::03:00', ' 0003']) {
    assert.match(messageOf(parseDuid(text)), /is not a DUID: hex bytes, colon-separated or not \(e\.g\. 00:03:00:01:52:54:00:12:34:56\)/, text);
  }
  // RFC 8415 11.1: a 2-byte type and 1..128 bytes after it.
  assert.match(messageOf(parseDuid('00:03')), /a DUID is 3\.\.130 bytes, "00:03" has 2/);
  assert.equal(valueOf(parseDuid('00'.repeat(130)))?.length, 260);
  assert.match(messageOf(parseDuid('00'.repeat(131))), /has 131/);
});
