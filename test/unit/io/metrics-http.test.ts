// The metrics endpoint adapter on a loopback port: exposition format, values read per scrape,
// 404/405, a failing read, and a bind failure that names the address.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';

import { startMetricsEndpoint } from '../../../src/io/metrics-http.js';
import type { Logger, MetricFamily, MetricValues, MetricsListener } from '../../../src/io/ports.js';

const errors: string[] = [];
const logger: Logger = { child: () => logger, debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) };

const families: MetricFamily[] = [
  { name: 'test_things_total', help: 'Things.', type: 'counter', labelNames: ['kind'] },
  { name: 'test_level', help: 'Level.', type: 'gauge', labelNames: [] },
];

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics endpoint', () => {
  let values: MetricValues = {};
  let reads = 0;
  let failRead = false;
  const listeners: MetricsListener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });
  const start = async () => {
    const l = await startMetricsEndpoint({
      address: '127.0.0.1',
      port: 0,
      families,
      read: () => {
        reads++;
        if (failRead) throw new Error('boom');
        return values;
      },
      logger,
    });
    listeners.push(l);
    return l;
  };

  it('serves the families with the values of the moment, plus the default process metrics', async () => {
    const { port } = await start();
    values = { test_things_total: [{ labels: { kind: 'a' }, value: 3 }, { labels: { kind: 'b' }, value: 0 }], test_level: [{ labels: {}, value: 0.25 }] };
    const first = await get(port, '/metrics');
    assert.equal(first.status, 200);
    assert.match(first.type, /^text\/plain; version=0\.0\.4/);
    assert.match(first.body, /^# TYPE test_things_total counter$/m);
    assert.match(first.body, /^test_things_total\{kind="a"\} 3$/m);
    assert.match(first.body, /^test_things_total\{kind="b"\} 0$/m);
    assert.match(first.body, /^# TYPE test_level gauge$/m);
    assert.match(first.body, /^test_level 0\.25$/m);
    assert.match(first.body, /^process_cpu_user_seconds_total /m);
    assert.match(first.body, /^nodejs_heap_size_used_bytes /m);

    // The next scrape shows the new values only: a series that vanished is gone.
    values = { test_things_total: [{ labels: { kind: 'a' }, value: 5 }], test_level: [{ labels: {}, value: 1 }] };
    const second = await get(port, '/metrics?x=1');
    assert.match(second.body, /^test_things_total\{kind="a"\} 5$/m);
    assert.doesNotMatch(second.body, /kind="b"/);
    assert.match(second.body, /^test_level 1$/m);
  });

  it('reads the values once per scrape', async () => {
    const { port } = await start();
    const before = reads;
    await get(port, '/metrics');
    assert.equal(reads - before, 1);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    const { port } = await start();
    assert.equal((await get(port, '/')).status, 404);
    assert.equal((await get(port, '/metricsx')).status, 404);
    assert.equal((await get(port, '/metrics', 'POST')).status, 405);
    const head = await get(port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('answers 500 and logs when reading the values fails, then recovers', async () => {
    const { port } = await start();
    failRead = true;
    assert.equal((await get(port, '/metrics')).status, 500);
    failRead = false;
    assert.equal((await get(port, '/metrics')).status, 200);
    assert.deepEqual(errors, ['bug: metrics scrape failed']);
  });

  it('rejects naming the address when the port is taken', async () => {
    const { port } = await start();
    await assert.rejects(
      startMetricsEndpoint({ address: '127.0.0.1', port, families, read: () => ({}), logger }),
      (e: NodeJS.ErrnoException) => e.message === `cannot listen on 127.0.0.1:${port}: EADDRINUSE` && e.code === 'EADDRINUSE',
    );
  });

  it('close() stops listening', async () => {
    const l = await startMetricsEndpoint({ address: '127.0.0.1', port: 0, families, read: () => ({}), logger });
    await l.close();
    await assert.rejects(get(l.port, '/metrics'), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  });
});
