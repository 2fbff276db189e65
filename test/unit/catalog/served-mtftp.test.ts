// One truth for DHCP and MTFTP: the daemon (real servers, fake sockets, clock and disk) is asked
// by a BIOS PXE client what its MTFTP channel is (option 43 decoded) and the MTFTP server is then
// opened on exactly that server port, expecting DATA to exactly that group and client port. Every
// state: enabled, disabled, a bind failure, and reloads that add, change and remove a channel,
// including a DISCOVER that arrives while the reload is still binding its new port.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCatalog } from '../../../src/catalog/build-catalog.js';
import { decodeDhcp } from '../../../src/codec/dhcp-message.js';
import { decodeMtftpSubOptions, decodePxeVendorOptions } from '../../../src/codec/pxe-options.js';
import { decodeTftp, encodeTftp } from '../../../src/codec/tftp-packet.js';
import type { Config } from '../../../src/config/config-types.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { Daemon, type DaemonDeps } from '../../../src/daemon.js';
import type { DatagramSocket, Logger, SocketFactory, SocketOptions } from '../../../src/io/ports.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeSocket, settle } from '../../support/fake-socket.js';
import { capture } from '../../support/fixtures.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };
const CONFIG_FILE = '/etc/pxecast/pxecast.ini';
const IMAGE = Buffer.alloc(3000, 7);

interface Channel {
  readonly group: string;
  readonly clientPort: number;
  readonly serverPort: number;
}

function config(opts: { mtftpEnabled?: boolean; bios?: Channel | null; extra?: Channel | null }): string {
  const image = (name: string, file: string, ch: Channel | null | undefined, arch: string, isDefault: boolean) =>
    [
      `[image ${name}]`,
      `file = ${file}`,
      `arch = ${arch}`,
      `default = ${isDefault}`,
      ...(ch ? ['mtftp = true', `mtftp_group = ${ch.group}`, `mtftp_client_port = ${ch.clientPort}`, `mtftp_server_port = ${ch.serverPort}`] : ['mtftp = false']),
    ].join('\n');
  return [
    '[tftp]',
    'listen = 10.0.0.1',
    'root = /srv',
    '[mtftp]',
    `enabled = ${opts.mtftpEnabled ?? true}`,
    '[dhcp]',
    'mode = proxy',
    'interface = 10.0.0.1',
    image('bios', 'undionly.kpxe', opts.bios, 'bios', true),
    opts.extra !== undefined ? image('second', 'second.kpxe', opts.extra, 'efi-ia32', false) : '',
    '',
  ].join('\n');
}

/** Binds fake sockets; a bind of a port in `failing` rejects; `hold()` makes binds wait for `release()`. */
class GatedSockets implements SocketFactory {
  readonly bound: Array<{ options: SocketOptions; socket: FakeSocket }> = [];
  readonly failing = new Set<number>();
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  async bind(options: SocketOptions): Promise<DatagramSocket> {
    if (this.gate) await this.gate;
    if (this.failing.has(options.port)) throw new Error(`bind ${options.address}:${options.port}: EADDRINUSE`);
    const socket = new FakeSocket(options.port);
    this.bound.push({ options, socket });
    return socket;
  }

  /** The live (not closed) socket bound on `address:port`. */
  live(address: string, port: number): FakeSocket | undefined {
    return this.bound.find((b) => b.options.address === address && b.options.port === port && !b.socket.closed)?.socket;
  }
}

async function startLab(initialText: string) {
  let text = initialText;
  const fs = new MemoryFileSystem().addFile('/srv/undionly.kpxe', IMAGE).addFile('/srv/second.kpxe', IMAGE);
  const clock = new FakeClock();
  const sockets = new GatedSockets();
  const readConfig = async (): Promise<Config> => parseConfig(text, CONFIG_FILE);
  const deps: DaemonDeps = {
    clock,
    sockets,
    httpServers: { listen: () => Promise.reject(new Error('no HTTP in this test')) },
    fs,
    logger: silent,
    setLogLevel: () => undefined,
    readConfig,
    uploadStore: () => {
      throw new Error('no uploads here');
    },
    loopLagMs: () => 0,
    wallClock: () => 1_000_000,
    leaseStore: () => ({ load: async () => ({ leases: [], damage: [], tornTail: null }), record: async () => undefined }),
  };
  const first = parseConfig(text, CONFIG_FILE);
  const daemon = await Daemon.start(CONFIG_FILE, deps, { config: first, catalog: await buildCatalog(first, fs, 0) });

  /** Option 43's MTFTP tuple in the proxy offer to a BIOS PXE client (captured iPXE DISCOVER), or null. */
  const advertised = async (): Promise<Channel | null> => {
    const wildcard = sockets.live('0.0.0.0', 67)!;
    const serving = sockets.live('10.0.0.1', 67)!;
    serving.sent.splice(0);
    wildcard.deliver(capture('ipxe-dhcp-discover'), { address: '0.0.0.0', port: 68 });
    await settle();
    const [offer] = serving.sent.splice(0);
    assert.ok(offer, 'a proxy offer');
    const vendor = decodeDhcp(offer.data).options[43];
    assert.ok(Array.isArray(vendor), 'option 43');
    const options = Buffer.from(vendor as number[]);
    if (!decodePxeVendorOptions(options).has(1)) return null;
    const t = decodeMtftpSubOptions(options)!;
    return { group: t.group, clientPort: t.clientPort, serverPort: t.serverPort };
  };

  /** Opens `file` on the MTFTP server port of `channel`: where its DATA 1 went, or null. */
  const served = async (file: string, serverPort: number): Promise<string | null> => {
    const socket = sockets.live('10.0.0.1', serverPort);
    if (!socket) return null;
    socket.sent.splice(0);
    socket.deliver(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: [] }), { address: '10.0.0.50', port: 2070 });
    await settle();
    // Block 1 goes to the opener by unicast and, after the open hold, to the group.
    const toGroup = () => socket.sent.find((d) => decodeTftp(d.data).op === 'DATA' && d.to.address.startsWith('239.'));
    for (let i = 0; i < 50 && !toGroup(); i++) {
      clock.advance(100);
      await settle();
    }
    const data = toGroup();
    daemon.mtftp?.stop(); // end the pass (and close the sockets) only in the last step of a test
    return data ? `${data.to.address}:${data.to.port}` : null;
  };

  const reload = async (next: string) => {
    text = next;
    const result = await daemon.reload();
    assert.deepEqual(result, { ok: true });
  };
  return { daemon, sockets, advertised, served, reload, setText: (next: string) => (text = next) };
}

const A: Channel = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759 };
const B: Channel = { group: '239.255.1.2', clientPort: 3002, serverPort: 1800 };
const C: Channel = { group: '239.255.1.3', clientPort: 3003, serverPort: 1900 };

/** The advertised tuple is served: an open on its server port sends DATA to its group and port. */
async function assertAdvertisedIsServed(lab: Awaited<ReturnType<typeof startLab>>, expected: Channel): Promise<void> {
  const tuple = await lab.advertised();
  assert.deepEqual(tuple, expected, 'option 43 names the channel');
  assert.ok(lab.sockets.live('10.0.0.1', expected.serverPort), `something listens on the advertised server port ${expected.serverPort}`);
}

describe('option 43 is exactly what the MTFTP server serves', () => {
  it('enabled: the advertised tuple is the one an open on its server port is sent on', async () => {
    const lab = await startLab(config({ bios: A }));
    await assertAdvertisedIsServed(lab, A);
    assert.equal(await lab.served('undionly.kpxe', A.serverPort), `${A.group}:${A.clientPort}`);
    lab.daemon.stop();
  });

  it('[mtftp] enabled = false: no sub-options 1-5, and nothing listens on the catalog port', async () => {
    const lab = await startLab(config({ mtftpEnabled: false, bios: A }));
    assert.equal(await lab.advertised(), null);
    assert.equal(lab.sockets.live('10.0.0.1', A.serverPort), undefined);
    lab.daemon.stop();
  });

  it('a reload that changes the tuple: the new one is advertised only once bound, and the old port is released', async () => {
    const lab = await startLab(config({ bios: A }));
    lab.sockets.hold(); // the new port's bind is still pending when the next DISCOVER arrives
    lab.setText(config({ bios: B }));
    const reloading = lab.daemon.reload();
    await settle();
    const during = await lab.advertised();
    assert.deepEqual(during, A, 'until the new port is bound, the old tuple (still served) is advertised: never the new one, never a gap');
    lab.sockets.release();
    assert.deepEqual(await reloading, { ok: true });
    await assertAdvertisedIsServed(lab, B);
    assert.equal(lab.sockets.live('10.0.0.1', A.serverPort), undefined, 'the old server port is closed');
    assert.equal(await lab.served('undionly.kpxe', B.serverPort), `${B.group}:${B.clientPort}`);
    lab.daemon.stop();
  });

  it('a reload that adds a channel on a port that cannot be bound: that image gets no sub-options, the others keep theirs', async () => {
    const lab = await startLab(config({ bios: A, extra: null }));
    lab.sockets.failing.add(C.serverPort);
    // The BIOS client's image is the one whose bind fails; the other keeps serving on A's port.
    await lab.reload(config({ bios: C, extra: A }));
    assert.equal(await lab.advertised(), null, 'no sub-options for a channel nobody listens on');
    assert.equal(lab.sockets.live('10.0.0.1', C.serverPort), undefined);
    lab.sockets.failing.clear();
    await lab.reload(config({ bios: C, extra: A }));
    await assertAdvertisedIsServed(lab, C);
    assert.equal(await lab.served('undionly.kpxe', C.serverPort), `${C.group}:${C.clientPort}`);
    lab.daemon.stop();
  });

  it('a reload that adds a channel advertises and serves it; one that removes it stops both', async () => {
    const lab = await startLab(config({ bios: null }));
    assert.equal(await lab.advertised(), null);
    await lab.reload(config({ bios: A }));
    await assertAdvertisedIsServed(lab, A);
    await lab.reload(config({ bios: null }));
    assert.equal(await lab.advertised(), null);
    assert.equal(lab.sockets.live('10.0.0.1', A.serverPort), undefined, 'the port of the removed channel is closed');
    lab.daemon.stop();
  });
});
