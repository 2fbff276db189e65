import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CONTROL_COMMANDS,
  CONTROL_PROTOCOL_VERSION,
  errorReply,
  parseControlReply,
  parseControlRequest,
  successReply,
} from '../../../src/control/control-protocol.js';

describe('parseControlRequest', () => {
  it('accepts every command of version 1, ignoring fields it does not know', () => {
    for (const command of CONTROL_COMMANDS) {
      const value = { version: 1, command, session: '10.0.0.5:2070', future: { x: 1 } };
      const parsed = parseControlRequest(value);
      assert.ok(parsed.ok, command);
      assert.equal(parsed.request.command, command);
      assert.ok(!('future' in parsed.request), 'unknown fields are not carried along');
    }
  });

  const refusals: [string, unknown, string, RegExp][] = [
    ['null', null, 'malformed-request', /JSON object/],
    ['a number', 5, 'malformed-request', /JSON object/],
    ['a string', 'status', 'malformed-request', /JSON object/],
    ['an array', [{ version: 1, command: 'status' }], 'malformed-request', /JSON object/],
    ['no version', { command: 'status' }, 'malformed-request', /no `version`/],
    ['a later version', { version: 2, command: 'status' }, 'unsupported-version', /speaks control protocol version 1, the request is version 2/],
    ['a version as text', { version: '1', command: 'status' }, 'unsupported-version', /version "1"/],
    ['no command', { version: 1 }, 'malformed-request', /no `command`/],
    ['a command that is not text', { version: 1, command: 5 }, 'malformed-request', /no `command`/],
    ['an unknown command', { version: 1, command: 'shutdown' }, 'unknown-command', /"shutdown"; known: status, sessions/],
    ['an inherited name', { version: 1, command: 'constructor' }, 'unknown-command', /"constructor"/],
    ['drop without session', { version: 1, command: 'drop' }, 'malformed-request', /needs a `session`/],
    ['drop with an empty session', { version: 1, command: 'drop', session: '' }, 'malformed-request', /needs a `session`/],
    ['drop with a number', { version: 1, command: 'drop', session: 7 }, 'malformed-request', /needs a `session`/],
    ['drop with a huge session', { version: 1, command: 'drop', session: 'x'.repeat(201) }, 'malformed-request', /needs a `session`/],
  ];
  for (const [what, value, code, message] of refusals) {
    it(`answers ${what} with ${code}`, () => {
      const parsed = parseControlRequest(value);
      assert.ok(!parsed.ok);
      assert.equal(parsed.reply.version, CONTROL_PROTOCOL_VERSION);
      assert.ok(!parsed.reply.ok);
      assert.equal(parsed.reply.error.code, code);
      assert.match(parsed.reply.error.message, message);
    });
  }
});

describe('parseControlReply', () => {
  it('passes a reply to the command that was asked', () => {
    const reply = successReply({ command: 'drop', session: '1.2.3.4:5' });
    const parsed = parseControlReply(JSON.parse(JSON.stringify(reply)), 'drop');
    assert.ok(parsed.ok);
    assert.equal(parsed.reply.session, '1.2.3.4:5');
  });

  it("passes the daemon's error with its details", () => {
    const parsed = parseControlReply(JSON.parse(JSON.stringify(errorReply('config-rejected', 'rejected', ['a:1: x']))), 'reload');
    assert.deepEqual(parsed, { ok: false, error: { code: 'config-rejected', message: 'rejected', details: ['a:1: x'] } });
  });

  it('names a version mismatch instead of misreading the payload', () => {
    const parsed = parseControlReply({ version: 2, ok: true, command: 'status' }, 'status');
    assert.ok(!parsed.ok);
    assert.match(parsed.error.message, /version 2, this pxecast speaks 1/);
  });

  it('refuses replies that are not control replies or answer another command', () => {
    for (const value of [null, 'ok', {}, { version: 1, ok: true, command: 'status' }]) {
      const parsed = parseControlReply(value, 'sessions');
      assert.ok(!parsed.ok, JSON.stringify(value));
      assert.equal(parsed.error.code, 'internal-error');
    }
  });
});
