import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { DhcpCounters } from '../../../src/dhcp/dhcp-server.js';
import type { Lease } from '../../../src/dhcp/leases.js';
import type { Dhcp6Counters } from '../../../src/dhcp6/dhcp6-server.js';
import { metricsSnapshot, PXECAST_METRICS, type MetricsSource } from '../../../src/metrics/metrics-snapshot.js';
import type { PassProgress } from '../../../src/multicast/mtftp-channel.js';
import type { MtftpCounters } from '../../../src/multicast/mtftp-server.js';
import type { TftpCounters, TransferInfo } from '../../../src/tftp/tftp-server.js';

function transfer(client: string, group: string | null): TransferInfo {
  return {
    client,
    file: 'demo.img',
    direction: 'read',
    ageMs: 1000,
    state: 'sending',
    bytes: 1000,
    totalBytes: 2000,
    retransmits: 0,
    rtoMs: 10,
    blksize: 1428,
    multicast: group === null ? null : { group, master: null },
  };
}

const pass: PassProgress = {
  image: 'lab',
  group: '239.255.1.1:3001',
  master: { address: '10.0.0.9', port: 2071 },
  state: 'sending',
  bytes: 0,
  totalBytes: 100,
  retransmits: 0,
  ageMs: 10,
  waiting: 0,
};

const tftpCounters: TftpCounters = {
  requests: 20,
  refused: 2,
  decodeErrors: { TRUNCATED: 3, UNKNOWN_OPCODE: 1 },
  wrongTid: 0,
  // 5 unicast + 3 multicast complete, 1 unicast timeout, 2 multicast master-gone (members only)
  outcomes: { complete: 8, timeout: 1, 'master-gone': 2 },
  bytesSent: 10_000,
  retransmits: 7,
  multicastSessions: 2,
  multicastFallbacks: {},
  multicastOutcomes: { complete: 3, 'master-gone': 2 },
  multicastBytesSent: 4_000,
  multicastRetransmits: 5,
  limited: { 'request-rate': 6, 'unconfirmed-evicted': 2 },
};

const mtftpCounters: MtftpCounters = {
  opens: 4,
  refused: 0,
  decodeErrors: { BAD_OPCODE: 2 },
  strayAcks: 0,
  passes: { complete: 2, 'master-silent': 1 },
  bytesSent: 3_000,
  retransmits: 4,
  limited: {},
};

const dhcpCounters: DhcpCounters = {
  received: { DISCOVER: 4, REQUEST: 3 },
  sent: { OFFER: 4, ACK: 3 },
  ignored: { 'not a PXE client': 9 },
  decodeErrors: { BAD_MAGIC: 1 },
  leaseWriteErrors: 0,
  limited: { 'offer-reclaimed': 3 },
};

const dhcp6Counters: Dhcp6Counters = {
  received: { SOLICIT: 2 },
  sent: { ADVERTISE: 2 },
  ignored: {},
  decodeErrors: { TRUNCATED: 5, RELAY_TOO_DEEP: 2 },
  leaseWriteErrors: 0,
};

const lease = (address: string, state: Lease['state']): Lease => ({ address, mac: '52:54:00:00:00:01', pool: 'lab', state, expiresAt: 0 });

const everything: MetricsSource = {
  tftp: {
    counters: tftpCounters,
    transfers: () => [
      transfer('10.0.0.1:1000', null),
      transfer('10.0.0.2:1000', null),
      transfer('10.0.0.3:1000', '239.255.0.1:1758'),
      transfer('10.0.0.4:1000', '239.255.0.1:1758'),
      transfer('10.0.0.5:1000', '239.255.0.2:1758'),
    ],
  },
  mtftp: { counters: mtftpCounters, passes: () => [pass] },
  dhcp: { counters: dhcpCounters, leaseList: () => [lease('10.0.0.100', 'bound'), lease('10.0.0.101', 'offered'), lease('10.0.0.102', 'bound'), lease('10.0.0.103', 'declined')] },
  dhcp6: { counters: dhcp6Counters },
  http: {
    counters: { responses: { 200: 4, 206: 1, 400: 1, 404: 2 }, transfers: { complete: 4, 'client-gone': 1 }, bytesSent: 5000, clientErrors: { 400: 2, 431: 1 } },
    progress: () => [{ client: '10.0.0.9:40000', file: '/x', bytes: 1, total: 2, startedAt: 0 }],
  },
};

/** `name{k="v",...} value` lines, sorted, for readable comparisons. */
function lines(samples: readonly { labels: Readonly<Record<string, string>>; value: number }[]): string[] {
  return samples.map((s) => `${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',')} ${s.value}`).sort();
}

describe('metrics snapshot', () => {
  it('splits finished transfers into unicast, multicast members and MTFTP passes', () => {
    const m = metricsSnapshot(everything, 12);
    assert.deepEqual(lines(m.pxecast_transfers_total), [
      'kind=http,outcome=client-gone 1',
      'kind=http,outcome=complete 4',
      'kind=mtftp,outcome=complete 2',
      'kind=mtftp,outcome=master-silent 1',
      'kind=multicast,outcome=complete 3',
      'kind=multicast,outcome=master-gone 2',
      'kind=unicast,outcome=complete 5',
      'kind=unicast,outcome=timeout 1',
    ]);
  });

  it('bytes and retransmissions per service: tftp is unicast only, multicast and mtftp apart', () => {
    const m = metricsSnapshot(everything, 12);
    assert.deepEqual(lines(m.pxecast_bytes_sent_total), ['service=http 5000', 'service=mtftp 3000', 'service=multicast 4000', 'service=tftp 6000']);
    assert.deepEqual(lines(m.pxecast_retransmits_total), ['service=mtftp 4', 'service=multicast 5', 'service=tftp 2']);
  });

  it('live sessions: unicast transfers, distinct multicast sessions, MTFTP passes, and members', () => {
    const m = metricsSnapshot(everything, 12);
    assert.deepEqual(lines(m.pxecast_sessions_active), ['kind=http 1', 'kind=mtftp 1', 'kind=multicast 2', 'kind=unicast 2']);
    assert.deepEqual(lines(m.pxecast_multicast_members_active), [' 3']);
  });

  it('DHCP messages by direction and type; only bound leases are in use', () => {
    const m = metricsSnapshot(everything, 12);
    assert.deepEqual(lines(m.pxecast_dhcp_messages_total), [
      'direction=received,type=DISCOVER 4',
      'direction=received,type=REQUEST 3',
      'direction=sent,type=ACK 3',
      'direction=sent,type=OFFER 4',
    ]);
    assert.deepEqual(lines(m.pxecast_dhcp_leases_in_use), [' 2']);
  });

  it('decode errors by service (DHCPv6 included) and reason; loop lag in seconds', () => {
    const m = metricsSnapshot(everything, 12);
    assert.deepEqual(lines(m.pxecast_decode_errors_total), [
      'service=dhcp,reason=BAD_MAGIC 1',
      'service=dhcp6,reason=RELAY_TOO_DEEP 2',
      'service=dhcp6,reason=TRUNCATED 5',
      'service=mtftp,reason=BAD_OPCODE 2',
      'service=tftp,reason=TRUNCATED 3',
      'service=tftp,reason=UNKNOWN_OPCODE 1',
    ]);
    assert.deepEqual(m.pxecast_event_loop_lag_seconds, [{ labels: {}, value: 0.012 }]);
  });

  it('HTTP: responses by status (the parser\'s own answers added in), bodies by outcome, bytes, bodies in flight', () => {
    const m = metricsSnapshot(everything, 0);
    assert.deepEqual(lines(m.pxecast_http_responses_total), ['status=200 4', 'status=206 1', 'status=400 3', 'status=404 2', 'status=431 1']);
    assert.ok(lines(m.pxecast_transfers_total).includes('kind=http,outcome=client-gone 1'));
    assert.ok(lines(m.pxecast_bytes_sent_total).includes('service=http 5000'));
    assert.ok(lines(m.pxecast_sessions_active).includes('kind=http 1'));
  });

  it('abuse-limit hits by service and limit', () => {
    const m = metricsSnapshot(everything, 0);
    assert.deepEqual(lines(m.pxecast_limited_total), [
      'service=dhcp,limit=offer-reclaimed 3',
      'service=tftp,limit=request-rate 6',
      'service=tftp,limit=unconfirmed-evicted 2',
    ]);
  });

  it('with every service off, gauges read 0 and counters have no series', () => {
    const m = metricsSnapshot({ tftp: null, mtftp: null, dhcp: null, dhcp6: null, http: null }, 0);
    assert.deepEqual(m.pxecast_transfers_total, []);
    assert.deepEqual(m.pxecast_bytes_sent_total, []);
    assert.deepEqual(m.pxecast_dhcp_messages_total, []);
    assert.deepEqual(m.pxecast_decode_errors_total, []);
    assert.deepEqual(lines(m.pxecast_sessions_active), ['kind=http 0', 'kind=mtftp 0', 'kind=multicast 0', 'kind=unicast 0']);
    assert.deepEqual(lines(m.pxecast_dhcp_leases_in_use), [' 0']);
  });

  it('has a value list for every declared family, with exactly its label names', () => {
    const m: Readonly<Record<string, readonly { labels: Readonly<Record<string, string>> }[]>> = metricsSnapshot(everything, 1);
    assert.deepEqual(Object.keys(m).sort(), PXECAST_METRICS.map((f) => f.name).sort());
    for (const family of PXECAST_METRICS) {
      assert.match(family.name, /^pxecast_[a-z_]+$/);
      if (family.type === 'counter') assert.match(family.name, /_total$/, family.name);
      for (const s of m[family.name]!) assert.deepEqual(Object.keys(s.labels).sort(), [...family.labelNames].sort(), family.name);
    }
  });
});
