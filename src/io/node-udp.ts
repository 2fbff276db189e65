// node:dgram adapter. Send errors that a datagram service must shrug off (a peer gone, a route
// flapping) are counted, not thrown; a bind failure is fatal and names the address.
import dgram from 'node:dgram';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { DatagramHandler, DatagramSocket, PeerAddress, SocketFactory, SocketOptions } from './ports.js';

export class SocketError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SocketError';
  }
}

/** We only ever send to IP literals (peers' source addresses, configured groups). dgram otherwise
 *  runs dns.lookup, which answers a literal on the next tick: one deferral per datagram on the
 *  lock-step hot path. This answers synchronously and refuses names outright. The last address
 *  checked is remembered: a transfer's socket sends every datagram to the same one. */
let lastLiteral = '';
let lastFamily = 0;
function literalLookup(
  address: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  if (address === lastLiteral) {
    callback(null, address, lastFamily);
    return;
  }
  const family = isIP(address);
  if (family === 0) {
    callback(Object.assign(new Error(`not an IP address: ${address}`), { code: 'EINVAL' }), address, 0);
    return;
  }
  lastLiteral = address;
  lastFamily = family;
  callback(null, address, family);
}

/** On a dual-stack (`::`) socket IPv4 peers arrive as `::ffff:a.b.c.d`; everything above this
 *  adapter sees them as plain IPv4 (one peer, one key, whatever socket it came in on). */
const MAPPED_IPV4 = /^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i;

class NodeDatagramSocket implements DatagramSocket {
  constructor(
    private readonly socket: dgram.Socket,
    private readonly ipv6: boolean,
  ) {}

  send(chunks: Buffer | readonly Buffer[], to: PeerAddress, onSent?: () => void): void {
    // Send errors arrive as 'error' events, ignored below (a datagram service shrugs off ICMP
    // unreachable); the callback only says when the datagram left (dgram calls it on the next tick
    // for a send the kernel took at once, later for one queued in libuv), and ignores dgram's
    // arguments (error, bytes).
    const data = Buffer.isBuffer(chunks) ? chunks : (chunks as Buffer[]);
    const address = this.ipv6 && isIPv4(to.address) ? `::ffff:${to.address}` : to.address;
    if (onSent) this.socket.send(data, to.port, address, onSent);
    else this.socket.send(data, to.port, address);
  }

  onMessage(handler: DatagramHandler): void {
    this.socket.on('message', (data, rinfo) => handler(data, { address: rinfo.address.replace(MAPPED_IPV4, ''), port: rinfo.port }));
  }

  localPort(): number {
    return this.socket.address().port;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export const nodeUdp: SocketFactory = {
  bind(options: SocketOptions): Promise<DatagramSocket> {
    return new Promise((resolve, reject) => {
      const reuseAddr = options.reuseAddr ?? false;
      const ipv6 = isIPv6(options.address);
      const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4', reuseAddr, lookup: literalLookup });
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(new SocketError(`cannot bind UDP ${options.address}:${options.port}: ${err.message}`, err.code));
      };
      socket.once('error', onError);
      socket.bind({ address: options.address, port: options.port, exclusive: !reuseAddr }, () => {
        socket.off('error', onError);
        // After bind, errors are per-datagram (ICMP unreachable etc.): never fatal.
        socket.on('error', () => undefined);
        if (options.broadcast) socket.setBroadcast(true);
        if (options.joinGroup) {
          const { group, interface: link } = options.joinGroup;
          try {
            // IPv6 names the interface by a scoped address (`::%eth1`).
            if (link === null) socket.addMembership(group);
            else socket.addMembership(group, isIPv6(group) ? `::%${link}` : link);
          } catch (e) {
            socket.close();
            reject(new SocketError(`cannot join ${group}${link ? ` on ${link}` : ''}: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code));
            return;
          }
        }
        if (options.multicast) {
          socket.setMulticastTTL(options.multicast.ttl);
          // Receivers on this host (and the loopback demo) hear the group too.
          socket.setMulticastLoopback(true);
          if (options.multicast.interface) socket.setMulticastInterface(options.multicast.interface);
        }
        resolve(new NodeDatagramSocket(socket, ipv6));
      });
    });
  },
};
