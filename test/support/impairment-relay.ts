// A UDP relay that duplicates and reorders datagrams, for TFTP tests on a kernel without netem.
// Run inside a client namespace (`ip netns exec NS node impairment-relay.js ...`): clients send to
// LISTEN (on loopback), the relay forwards to UPSTREAM and relays replies back, both directions
// impaired. TFTP answers from a fresh server port (TID), so each (client, server port) pair gets
// a local socket of its own that plays that server port for the client.
//
//   impairment-relay LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT DUPLICATE REORDER MAX_DELAY_MS SEED LIFETIME_MS
//
// Prints "relay ready" once bound; on SIGTERM (or after LIFETIME_MS, the hard bound) prints one
// JSON line of counters and exits.
import dgram from 'node:dgram';
import { planDeliveries, type ImpairmentSettings } from './impairment.js';
import { seededRandom } from './round-trip.js';

const [listen, upstream, duplicate, reorder, maxDelayMs, seed, lifetimeMs] = process.argv.slice(2);
if (!listen || !upstream || lifetimeMs === undefined) {
  console.error('usage: impairment-relay LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT DUPLICATE REORDER MAX_DELAY_MS SEED LIFETIME_MS');
  process.exit(2);
}
const settings: ImpairmentSettings = { duplicate: Number(duplicate), reorder: Number(reorder), maxDelayMs: Number(maxDelayMs), seed: Number(seed) };
const random = seededRandom(settings.seed);
const [listenAddress, listenPort] = splitEndpoint(listen);
const [upstreamAddress, upstreamPort] = splitEndpoint(upstream);
const counters = { forwarded: 0, duplicated: 0, delayed: 0, flows: 0 };

/** One client endpoint: its upstream socket and the local sockets standing in for server ports. */
interface Flow {
  readonly client: { address: string; port: number };
  readonly upstream: dgram.Socket;
  readonly serverPorts: Map<number, dgram.Socket>;
}
const flows = new Map<string, Flow>();

function send(socket: dgram.Socket, msg: Buffer, port: number, address: string): void {
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
  const created: Flow = { client, upstream: up, serverPorts: new Map() };
  up.on('message', (msg, from) => {
    if (from.address !== upstreamAddress) return;
    send(standInFor(created, from.port), msg, created.client.port, created.client.address);
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
