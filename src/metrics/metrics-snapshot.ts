// What the Prometheus endpoint exposes, read from the servers' own counters and live tables at
// scrape time: nothing on the datagram path knows about metrics. Pure (no prom-client, no I/O); the
// adapter in io/metrics-http.ts turns these numbers into the exposition format.
//
// Counters that come from transfer summaries (transfers, bytes, retransmits) grow when a transfer,
// an RFC 2090 session or an MTFTP pass ends, as the summary log lines do.
import type { DhcpServer } from '../dhcp/dhcp-server.js';
import type { Dhcp6Server } from '../dhcp6/dhcp6-server.js';
import type { HttpServer } from '../http/http-server.js';
import type { MetricFamily, MetricSample } from '../io/ports.js';
import type { MtftpServer } from '../multicast/mtftp-server.js';
import type { TftpServer } from '../tftp/tftp-server.js';
import { countIn } from './counters.js';

/** The parts of `Daemon` the metrics read; `Daemon` itself satisfies it. */
export interface MetricsSource {
  readonly tftp: Pick<TftpServer, 'transfers' | 'counters'> | null;
  readonly mtftp: Pick<MtftpServer, 'passes' | 'counters'> | null;
  readonly dhcp: Pick<DhcpServer, 'leaseList' | 'counters'> | null;
  readonly dhcp6: Pick<Dhcp6Server, 'counters'> | null;
  readonly http: Pick<HttpServer, 'progress' | 'counters'> | null;
}

export const PXECAST_METRICS = [
  {
    name: 'pxecast_transfers_total',
    help: 'Finished transfers by kind (unicast TFTP including uploads, RFC 2090 multicast member, PXE MTFTP pass, HTTP GET body) and outcome.',
    type: 'counter',
    labelNames: ['kind', 'outcome'],
  },
  {
    name: 'pxecast_bytes_sent_total',
    help: 'Bytes of file data sent by service (tftp unicast, RFC 2090 multicast, mtftp counted when a transfer, session or pass ends; http as sent).',
    type: 'counter',
    labelNames: ['service'],
  },
  {
    name: 'pxecast_retransmits_total',
    help: 'Retransmitted DATA packets by service, counted when a transfer, session or pass ends.',
    type: 'counter',
    labelNames: ['service'],
  },
  {
    name: 'pxecast_sessions_active',
    help: 'Running sessions by kind: unicast TFTP transfers, RFC 2090 multicast sessions, MTFTP passes, HTTP bodies being sent.',
    type: 'gauge',
    labelNames: ['kind'],
  },
  {
    name: 'pxecast_multicast_members_active',
    help: 'Clients in running RFC 2090 multicast sessions.',
    type: 'gauge',
    labelNames: [],
  },
  {
    name: 'pxecast_dhcp_messages_total',
    help: 'DHCP messages by direction and message type.',
    type: 'counter',
    labelNames: ['direction', 'type'],
  },
  {
    name: 'pxecast_dhcp_leases_in_use',
    help: 'Bound DHCP leases (full mode).',
    type: 'gauge',
    labelNames: [],
  },
  {
    name: 'pxecast_http_responses_total',
    help: 'HTTP responses by status code, including the ones the parser gave itself (400, 408, 413, 431).',
    type: 'counter',
    labelNames: ['status'],
  },
  {
    name: 'pxecast_decode_errors_total',
    help: 'Malformed datagrams dropped, by service (tftp, mtftp, dhcp, dhcp6) and reason.',
    type: 'counter',
    labelNames: ['service', 'reason'],
  },
  {
    name: 'pxecast_limited_total',
    help: 'Abuse-limit hits by service and limit (request-rate, client-transfers, busy, unconfirmed-evicted, unconfirmed-expired, multicast-groups: served unicast; dhcp: offer-reclaimed, pool-exhausted).',
    type: 'counter',
    labelNames: ['service', 'limit'],
  },
  {
    name: 'pxecast_event_loop_lag_seconds',
    help: 'Event-loop delay, p99 over the last second (the value multicast flow control reads).',
    type: 'gauge',
    labelNames: [],
  },
] as const satisfies readonly MetricFamily[];

export type PxecastMetricName = (typeof PXECAST_METRICS)[number]['name'];

export type MetricsSnapshot = Readonly<Record<PxecastMetricName, readonly MetricSample[]>>;

/** Every pxecast metric's samples now. `loopLagMs` is the sampler's latest p99. */
export function metricsSnapshot(daemon: MetricsSource, loopLagMs: number): MetricsSnapshot {
  const tftp = daemon.tftp?.counters;
  const mtftp = daemon.mtftp?.counters;
  const dhcp = daemon.dhcp?.counters;
  const transfers = daemon.tftp?.transfers() ?? [];
  const members = transfers.filter((t) => t.multicast !== null);

  const finished: MetricSample[] = [];
  if (tftp) {
    // `outcomes` counts every TFTP transfer; its RFC 2090 part is also in `multicastOutcomes`.
    for (const [outcome, n] of Object.entries(tftp.outcomes)) {
      const unicast = n - (tftp.multicastOutcomes[outcome] ?? 0);
      if (unicast > 0) finished.push(sample({ kind: 'unicast', outcome }, unicast));
    }
    finished.push(...byLabel(tftp.multicastOutcomes, (outcome) => ({ kind: 'multicast', outcome })));
  }
  if (mtftp) finished.push(...byLabel(mtftp.passes, (outcome) => ({ kind: 'mtftp', outcome })));
  const http = daemon.http?.counters;
  if (http) finished.push(...byLabel(http.transfers, (outcome) => ({ kind: 'http', outcome })));

  // `bytesSent` and `retransmits` of the TFTP server include its RFC 2090 sessions.
  const bytes: MetricSample[] = [];
  const retransmits: MetricSample[] = [];
  if (tftp) {
    bytes.push(sample({ service: 'tftp' }, tftp.bytesSent - tftp.multicastBytesSent));
    bytes.push(sample({ service: 'multicast' }, tftp.multicastBytesSent));
    retransmits.push(sample({ service: 'tftp' }, tftp.retransmits - tftp.multicastRetransmits));
    retransmits.push(sample({ service: 'multicast' }, tftp.multicastRetransmits));
  }
  if (mtftp) {
    bytes.push(sample({ service: 'mtftp' }, mtftp.bytesSent));
    retransmits.push(sample({ service: 'mtftp' }, mtftp.retransmits));
  }
  if (http) bytes.push(sample({ service: 'http' }, http.bytesSent));

  return {
    pxecast_transfers_total: finished,
    pxecast_bytes_sent_total: bytes,
    pxecast_retransmits_total: retransmits,
    pxecast_sessions_active: [
      sample({ kind: 'unicast' }, transfers.length - members.length),
      sample({ kind: 'multicast' }, new Set(members.map((t) => t.multicast!.group)).size),
      sample({ kind: 'mtftp' }, daemon.mtftp?.passes().length ?? 0),
      sample({ kind: 'http' }, daemon.http?.progress().length ?? 0),
    ],
    pxecast_multicast_members_active: [sample({}, members.length)],
    pxecast_dhcp_messages_total: dhcp
      ? [
          ...byLabel(dhcp.received, (type) => ({ direction: 'received', type })),
          ...byLabel(dhcp.sent, (type) => ({ direction: 'sent', type })),
        ]
      : [],
    pxecast_http_responses_total: http ? byLabel(sumCounts(http.responses, http.clientErrors), (status) => ({ status })) : [],
    pxecast_dhcp_leases_in_use: [sample({}, daemon.dhcp?.leaseList().filter((l) => l.state === 'bound').length ?? 0)],
    pxecast_decode_errors_total: [
      ...byLabel(tftp?.decodeErrors ?? {}, (reason) => ({ service: 'tftp', reason })),
      ...byLabel(mtftp?.decodeErrors ?? {}, (reason) => ({ service: 'mtftp', reason })),
      ...byLabel(dhcp?.decodeErrors ?? {}, (reason) => ({ service: 'dhcp', reason })),
      ...byLabel(daemon.dhcp6?.counters.decodeErrors ?? {}, (reason) => ({ service: 'dhcp6', reason })),
    ],
    pxecast_limited_total: [
      ...byLabel(tftp?.limited ?? {}, (limit) => ({ service: 'tftp', limit })),
      ...byLabel(mtftp?.limited ?? {}, (limit) => ({ service: 'mtftp', limit })),
      ...byLabel(dhcp?.limited ?? {}, (limit) => ({ service: 'dhcp', limit })),
    ],
    pxecast_event_loop_lag_seconds: [sample({}, loopLagMs / 1000)],
  };
}

function sample(labels: Record<string, string>, value: number): MetricSample {
  return { labels, value };
}

function sumCounts(...all: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const counts of all) for (const [key, n] of Object.entries(counts)) countIn(total, key, n);
  return total;
}

function byLabel(counts: Readonly<Record<string, number>>, labels: (key: string) => Record<string, string>): MetricSample[] {
  return Object.entries(counts).map(([key, n]) => sample(labels(key), n));
}
