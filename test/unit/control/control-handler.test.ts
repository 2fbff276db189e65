import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { handleControlRequest, type DaemonView, type DropResult, type ViewReloadResult } from '../../../src/control/control-handler.js';
import type { ControlReply, SessionInfo, StatusInfo } from '../../../src/control/control-protocol.js';

const status: StatusInfo = {
  version: '0.1.0',
  pid: 42,
  uptimeMs: 5000,
  configFile: '/etc/pxecast/pxecast.ini',
  services: [{ name: 'tftp', running: true, address: '0.0.0.0', ports: [69], detail: 'root /srv/pxecast' }],
  counts: {
    images: 1,
    activeTransfers: 1,
    activeMulticastSessions: 0,
    activeMtftpPasses: 0,
    tftpRequests: 3,
    tftpRefused: 0,
    transferOutcomes: { complete: 2 },
    bytesSent: 1024,
    retransmits: 0,
    mtftpOpens: 0,
    mtftpPasses: {},
  },
};

const session: SessionInfo = {
  id: '10.0.0.7:2070',
  kind: 'unicast',
  droppable: true,
  clients: ['10.0.0.7:2070'],
  file: 'ipxe.efi',
  image: 'lab',
  direction: 'read',
  blksize: 1468,
  bytes: 1468,
  totalBytes: 2936,
  percent: 50,
  bytesPerSecond: 1468,
  retransmits: 0,
  master: null,
  group: null,
  state: 'sending',
  ageMs: 1000,
};

/** A view that records the actions it was asked for. */
function fakeView(overrides: Partial<DaemonView> = {}) {
  const calls: string[] = [];
  const view: DaemonView = {
    status: () => status,
    sessions: () => [session],
    leases: () => ({ responder: 'off', note: 'DHCP responder is off ([dhcp] mode = off)', leases: [], v6: { responder: 'off', note: null, leases: [] } }),
    catalog: () => ({ root: '/srv/pxecast', images: [], hosts: [] }),
    reload: async (): Promise<ViewReloadResult> => {
      calls.push('reload');
      return { ok: true, configFile: '/etc/pxecast/pxecast.ini', images: ['lab'] };
    },
    drop: (id): DropResult => {
      calls.push(`drop ${id}`);
      return id === session.id ? 'dropped' : 'no-such-session';
    },
    ...overrides,
  };
  return { view, calls };
}

function errorOf(reply: ControlReply) {
  assert.equal(reply.version, 1);
  assert.ok(!reply.ok, `expected an error, got ${JSON.stringify(reply)}`);
  return reply.error;
}

describe('handleControlRequest', () => {
  it('answers the queries from the view, in a versioned envelope', async () => {
    const { view } = fakeView();
    assert.deepEqual(await handleControlRequest({ version: 1, command: 'status' }, view), { version: 1, ok: true, command: 'status', status });
    assert.deepEqual(await handleControlRequest({ version: 1, command: 'sessions' }, view), {
      version: 1,
      ok: true,
      command: 'sessions',
      sessions: [session],
    });
    const leases = await handleControlRequest({ version: 1, command: 'leases' }, view);
    assert.ok(leases.ok && leases.command === 'leases');
    assert.equal(leases.leases.responder, 'off');
    assert.match(leases.leases.note ?? '', /DHCP responder is off/);
    const catalog = await handleControlRequest({ version: 1, command: 'catalog' }, view);
    assert.ok(catalog.ok && catalog.command === 'catalog' && catalog.catalog.root === '/srv/pxecast');
  });

  it('reload: reports the accepted config, or every issue of a rejected one', async () => {
    const accepted = fakeView();
    assert.deepEqual(await handleControlRequest({ version: 1, command: 'reload' }, accepted.view), {
      version: 1,
      ok: true,
      command: 'reload',
      configFile: '/etc/pxecast/pxecast.ini',
      images: ['lab'],
    });
    assert.deepEqual(accepted.calls, ['reload']);

    const issues = ['/etc/pxecast/pxecast.ini:3: [tftp] prot: unknown key; did you mean `port`?', '/etc/pxecast/pxecast.ini:9: [image x] file: missing'];
    const rejected = fakeView({ reload: async () => ({ ok: false, errors: issues }) });
    const error = errorOf(await handleControlRequest({ version: 1, command: 'reload' }, rejected.view));
    assert.equal(error.code, 'config-rejected');
    assert.match(error.message, /previous one keeps serving/);
    assert.deepEqual(error.details, issues);
  });

  it('drop: dropped, unknown, or not droppable', async () => {
    const { view, calls } = fakeView({
      drop: (id) => (id === session.id ? 'dropped' : id === 'mtftp:lab' ? 'not-droppable' : 'no-such-session'),
    });
    assert.deepEqual(await handleControlRequest({ version: 1, command: 'drop', session: session.id }, view), {
      version: 1,
      ok: true,
      command: 'drop',
      session: session.id,
    });
    assert.equal(errorOf(await handleControlRequest({ version: 1, command: 'drop', session: '10.9.9.9:1' }, view)).code, 'no-such-session');
    const mtftp = errorOf(await handleControlRequest({ version: 1, command: 'drop', session: 'mtftp:lab' }, view));
    assert.equal(mtftp.code, 'not-droppable');
    assert.match(mtftp.message, /only TFTP transfers/);
    assert.deepEqual(calls, []);
  });

  it('never acts on a malformed request', async () => {
    const { view, calls } = fakeView();
    for (const request of [{ command: 'reload' }, { version: 2, command: 'reload' }, { version: 1, command: 'drop' }, { version: 1, command: 'Reload' }]) {
      errorOf(await handleControlRequest(request, view));
    }
    assert.deepEqual(calls, []);
  });

  it('turns a failing view into an internal-error reply instead of throwing', async () => {
    const { view } = fakeView({
      sessions: () => {
        throw new Error('boom');
      },
      reload: async () => {
        throw new Error('disk gone');
      },
    });
    const sessions = errorOf(await handleControlRequest({ version: 1, command: 'sessions' }, view));
    assert.equal(sessions.code, 'internal-error');
    assert.match(sessions.message, /`sessions`: boom/);
    assert.match(errorOf(await handleControlRequest({ version: 1, command: 'reload' }, view)).message, /disk gone/);
  });

  it('answers 5,000 seeded random JSON values with a reply, never an exception', async () => {
    let seed = 2090;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const atoms: unknown[] = [null, true, 0, 1, 2, -1, 1.5, '', 'status', 'drop', 'version', 'command', [], {}];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 2 || r < 0.4) return pick(atoms);
      if (r < 0.55) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      const object: Record<string, unknown> = {};
      // defineProperty: `__proto__` becomes an own key, as JSON.parse makes it.
      for (const key of ['version', 'command', 'session', '__proto__', 'x']) {
        if (random() < 0.6) Object.defineProperty(object, key, { value: value(depth + 1), enumerable: true });
      }
      return object;
    };
    const { view } = fakeView();
    for (let i = 0; i < 5000; i++) {
      const reply = await handleControlRequest(JSON.parse(JSON.stringify(value(0)) ?? 'null'), view);
      assert.equal(reply.version, 1);
      assert.equal(typeof reply.ok, 'boolean');
    }
  });
});
