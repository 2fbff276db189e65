import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { DaemonView } from '../../../src/control/control-handler.js';
import { controlRequestHandler } from '../../../src/control/control-server.js';
import type { Logger, LogFields } from '../../../src/io/ports.js';

function recordingLogger() {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: LogFields): void => {
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    };
  const log: Logger = { child: () => log, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

const view: DaemonView = {
  status: () => {
    throw new Error('not used');
  },
  sessions: () => [],
  leases: () => ({ responder: 'off', note: null, leases: [], v6: { responder: 'off', note: null, leases: [] } }),
  catalog: () => ({ root: '/srv', images: [], hosts: [] }),
  reload: async () => ({ ok: false, errors: ['f:1: bad'] }),
  drop: (id) => (id === '10.0.0.5:2070' ? 'dropped' : 'no-such-session'),
};

describe('control request handler (transport glue)', () => {
  it('answers text that is not JSON with a malformed-request reply', async () => {
    const { log } = recordingLogger();
    const handler = controlRequestHandler(view, log);
    for (const text of ['status', '{"version":1', '\u0000\u0001', '5 5']) {
      assert.deepEqual(JSON.parse(await handler.onRequest(text)), {
        version: 1,
        ok: false,
        error: { code: 'malformed-request', message: 'the request is not JSON', details: [] },
      });
    }
  });

  it('answers JSON values that are not requests, including null, without throwing', async () => {
    const { log } = recordingLogger();
    const handler = controlRequestHandler(view, log);
    for (const text of ['null', '5', '"drop"', '[]', '{"type":5}']) {
      const reply = JSON.parse(await handler.onRequest(text));
      assert.equal(reply.ok, false, text);
      assert.equal(reply.error.code, 'malformed-request', text);
    }
  });

  it('names the limit when a request is too large', () => {
    const { log } = recordingLogger();
    const reply = JSON.parse(controlRequestHandler(view, log).onOversize(65536));
    assert.equal(reply.error.code, 'malformed-request');
    assert.match(reply.error.message, /larger than 65536 bytes/);
  });

  it('logs the actions (drop, reload) at info and the queries at debug', async () => {
    const { log, lines } = recordingLogger();
    const handler = controlRequestHandler(view, log);
    await handler.onRequest('{"version":1,"command":"drop","session":"10.0.0.5:2070"}');
    await handler.onRequest('{"version":1,"command":"reload"}');
    await handler.onRequest('{"version":1,"command":"sessions"}');
    assert.deepEqual(lines, [
      'info session dropped by the operator {"session":"10.0.0.5:2070"}',
      'info control request {"command":"reload","outcome":"config-rejected"}',
      'debug control request {"command":"sessions","outcome":"ok"}',
    ]);
  });
});
