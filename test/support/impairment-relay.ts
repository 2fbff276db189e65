// A UDP relay that duplicates and reorders datagrams, for TFTP tests on a kernel without netem.
// Run inside a client namespace (`ip netns exec NS node impairment-relay.js ...`): clients send to
// LISTEN (on loopback), the relay forwards to UPSTREAM and relays replies back, both directions
// impaired. TFTP answers from a fresh server port (TID), so each (client, server port) pair gets
// a local socket of its own that plays that server port for the client.
//
//   impairment-relay LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT DUPLICATE REORDER MAX_DELAY_MS SEED LIFETIME_MS [OACK]
//
// The option exchange (RRQ, WRQ, OACK) passes once and on time, or with OACK=late-copy each OACK
// reaches the client a second time, right after the third DATA: a case of its own, since atftp 0.8
// aborts on a second OACK and curl 7.88 restarts at block 0 on one that comes after DATA
// (tftp_rx), whatever the server does. Each late copy is printed as "late OACK copy".
// Prints "relay ready" once bound; on SIGTERM (or after LIFETIME_MS, the hard bound) prints one
// JSON line of counters and exits.
import dgram from 'node:dgram';
import { planDeliveries, type ImpairmentSettings } from './impairment.js';
import { seededRandom } from './round-trip.js';

const [listen, upstream, duplicate, reorder, maxDelayMs, seed, lifetimeMs, oackMode = 'once'] = process.argv.slice(2);
if (!listen || !upstream || lifetimeMs === undefined || !['once', 'late-copy'].includes(oackMode)) {
  console.error('usage: impairment-relay LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT DUPLICATE REORDER MAX_DELAY_MS SEED LIFETIME_MS [once|late-copy]');
  process.exit(2);
}
/** The late OACK copy follows this DATA packet of its flow. */
const LATE_OACK_AFTER_DATA = 3;
const OP_RRQ = 1;
const OP_WRQ = 2;
const OP_DATA = 3;
const OP_OACK = 6;
const settings: ImpairmentSettings = { duplicate: Number(duplicate), reorder: Number(reorder), maxDelayMs: Number(maxDelayMs), seed: Number(seed) };
const random = seededRandom(settings.seed);
const [listenAddress, listenPort] = splitEndpoint(listen);
const [upstreamAddress, upstreamPort] = splitEndpoint(upstream);
const counters = { forwarded: 0, duplicated: 0, delayed: 0, flows: 0, lateOackCopies: 0 };

/** One client endpoint: its upstream socket and the local sockets standing in for server ports. */
interface Flow {
  readonly client: { address: string; port: number };
  readonly upstream: dgram.Socket;
  readonly serverPorts: Map<number, dgram.Socket>;
  /** DATA packets relayed toward the client. */
  dataRelayed: number;
  /** OACK=late-copy: the copy waiting for its DATA. */
  heldOack: Buffer | null;
}
const flows = new Map<string, Flow>();

const opcode = (msg: Buffer) => (msg.length >= 2 ? msg.readUInt16BE(0) : -1);

function send(socket: dgram.Socket, msg: Buffer, port: number, address: string): void {
  const op = opcode(msg);
  if (op === OP_RRQ || op === OP_WRQ || op === OP_OACK) {
    counters.forwarded++;
    socket.send(msg, port, address, () => undefined);
    return;
  }
  const delays = planDeliveries(settings, random);
  if (delays.length > 1) counters.duplicated++;
  for (const delay of delays) {
    counters.forwarded++;
    const go = () => socket.send(msg, port, address, () => undefined);
    if (delay === 0) go();
    else {
      counters.delayed++;
      setTimeout(go, delay);
    }
  }
}

function flowFor(client: { address: string; port: number }): Flow {
  const key = `${client.address}:${client.port}`;
  let flow = flows.get(key);
  if (flow) return flow;
  const up = dgram.createSocket('udp4');
  up.bind(0);
  const created: Flow = { client, upstream: up, serverPorts: new Map(), dataRelayed: 0, heldOack: null };
  up.on('message', (msg, from) => {
    if (from.address !== upstreamAddress) return;
    const local = standInFor(created, from.port);
    send(local, msg, created.client.port, created.client.address);
    if (opcode(msg) === OP_OACK && oackMode === 'late-copy') created.heldOack = msg;
    if (opcode(msg) === OP_DATA && ++created.dataRelayed === LATE_OACK_AFTER_DATA && created.heldOack) {
      const copy = created.heldOack;
      created.heldOack = null;
      counters.lateOackCopies++;
      console.log(`late OACK copy to client port ${created.client.port}`);
      setTimeout(() => local.send(copy, created.client.port, created.client.address, () => undefined), 5); // after that DATA
    }
  });
  flows.set(key, created);
  counters.flows++;
  return created;
}

/** The local socket the client sees as server port `serverPort`; what it receives goes there. */
function standInFor(flow: Flow, serverPort: number): dgram.Socket {
  let local = flow.serverPorts.get(serverPort);
  if (local) return local;
  local = dgram.createSocket('udp4');
  local.bind(0, listenAddress);
  local.on('message', (msg) => send(flow.upstream, msg, serverPort, upstreamAddress));
  flow.serverPorts.set(serverPort, local);
  return local;
}

const front = dgram.createSocket('udp4');
front.on('message', (msg, from) => send(flowFor(from).upstream, msg, upstreamPort, upstreamAddress));
front.bind(listenPort, listenAddress, () => console.log('relay ready'));

function finish(): void {
  console.log(JSON.stringify(counters));
  process.exit(0);
}
process.on('SIGTERM', finish);
setTimeout(finish, Number(lifetimeMs)).unref();

function splitEndpoint(text: string): [string, number] {
  const at = text.lastIndexOf(':');
  return [text.slice(0, at), Number(text.slice(at + 1))];
}
