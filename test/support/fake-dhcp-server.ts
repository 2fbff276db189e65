// The real DhcpServer on fake sockets, over a catalog built from ini text and in-memory files:
// for unit tests of what it answers. No MTFTP or HTTP server runs beside it.
import { buildCatalog } from '../../src/catalog/build-catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { NO_MTFTP } from '../../src/catalog/served-mtftp.js';
import { parseConfig } from '../../src/config/load-config.js';
import { NO_HTTP } from '../../src/dhcp/boot-policy.js';
import { DhcpServer } from '../../src/dhcp/dhcp-server.js';
import type { Logger } from '../../src/io/ports.js';
import { FakeSocket, FakeSocketFactory } from './fake-socket.js';
import { MemoryFileSystem } from './memory-fs.js';

const silent: Logger = { child: () => silent, debug() {}, info() {}, warn() {}, error() {} };

export interface FakeDhcpServerOptions {
  /** Default: silent. */
  readonly logger?: Logger;
  /** Its wall clock (episodes, leases); default always 0. */
  readonly wallClock?: () => number;
}

/** Starts it; `files` are paths under the config's root with their contents. Its sockets, in
 *  bind order: the wildcard port-67 socket, the serving-address one (every reply), port 4011. */
export async function startFakeDhcpServer(configText: string, files: Readonly<Record<string, Buffer>>, options: FakeDhcpServerOptions = {}) {
  const config = parseConfig(configText, '/etc/pxecast/pxecast.ini');
  const fs = new MemoryFileSystem();
  for (const [path, data] of Object.entries(files)) fs.addFile(path, data);
  const sockets = new FakeSocketFactory();
  const server = new DhcpServer({
    sockets,
    catalog: new CatalogStore(await buildCatalog(config, fs, 0)),
    logger: options.logger ?? silent,
    settings: config.dhcp,
    wallClock: options.wallClock ?? (() => 0),
    leaseStore: { load: async () => ({ leases: [], damage: [], tornTail: null }), record: async () => undefined },
    nextServer: '10.0.0.1',
    mtftp: NO_MTFTP,
    http: NO_HTTP,
  });
  await server.start();
  const [wildcard, serving, pxe] = sockets.bound as [FakeSocket, FakeSocket, FakeSocket];
  return { server, wildcard, serving, pxe };
}
