// The DHCPv6 half of the network fuzz, run by test/netns/fuzz.test.ts inside a lab client namespace
// (Node cannot enter a namespace itself). Two modes:
//   fuzz     COUNT seeded datagrams to TARGET port 547: real client messages (dhclient -6 captures,
//            EDK2-shaped SOLICITs, RELAY-FORW chains), mutations of them (bit flips, boundary
//            values, truncation, splices, option-length lies, relay nesting up to 40) and noise,
//            at up to RATE per second (halved whenever the daemon's socket dropped datagrams for a
//            full buffer, as scripts/fuzz/sender.mjs paces), bounded by COUNT and MAX_SECONDS;
//   hostile  the named cases of test/support/dhcp6-corpus.ts (truncated options, lengths past the
//            end, option-length loops, relay nesting of 33/64/1000, zero-length and huge
//            datagrams), each once, in order.
// For every datagram it asks our own codec whether the daemon must refuse it (decodeDhcp6 throws
// DecodeError), so the test can compare the daemon's pxecast_decode_errors_total{service="dhcp6"}
// with what was sent. Replies are drained and counted (on the source port: RELAY-REPL; on 546:
// answers to client messages). Prints one JSON line at the end ({"done":...}).
//
// Usage: node dhcp6-sender.mjs '{"mode":"fuzz","target":"fd00:213:6::1","port":547,"seed":6,
//                               "count":6000,"maxSeconds":30,"rate":2000,"daemonPid":123}'
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendPaced } from './aimd-pacer.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const load = (path) => import(join(repo, 'build', path));
const { seededRandom } = await load('test/support/round-trip.js');
const { dhclientCaptures, dhcp6HostileCases, dhcp6Seeds, fuzzDhcp6Datagram, MAX_UDP6_PAYLOAD } = await load('test/support/dhcp6-corpus.js');
const { decodeDhcp6 } = await load('src/codec/dhcp6-message.js');
const { DecodeError } = await load('src/codec/decode-error.js');

const plan = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['mode', 'target', 'port', 'seed']) if (plan[key] === undefined) throw new Error(`dhcp6-sender: missing ${key}`);
// Only into a lab the test created (its fd00:213::/32 ULAs) or loopback.
if (!/^fd00:213:/i.test(plan.target) && plan.target !== '::1') throw new Error(`dhcp6-sender: ${plan.target} is not a lab address`);

const stats = { mode: plan.mode, sent: 0, bytes: 0, sendErrors: 0, codecRejects: {}, rejected: 0, accepted: 0, replies: { relay: 0, client: 0 }, seconds: 0 };

const source = await bound(0);
// Answers to client messages go to port 546 of their source; listen there so they are drained.
const clientPort = await bound(plan.port - 1);
source.on('message', () => stats.replies.relay++);
clientPort.on('message', () => stats.replies.client++);

function bound(port) {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp6', reuseAddr: true });
    s.on('error', () => stats.sendErrors++);
    s.bind(port, '::', () => resolve(s));
  });
}

/** The codec's verdict, then the datagram on its way; resolves once the kernel took it. */
function send(datagram) {
  try {
    decodeDhcp6(datagram);
    stats.accepted++;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e; // a codec bug: fail loudly
    stats.rejected++;
    stats.codecRejects[e.code] = (stats.codecRejects[e.code] ?? 0) + 1;
  }
  stats.sent++;
  stats.bytes += datagram.length;
  return new Promise((resolve) => source.send(datagram, plan.port, plan.target, (err) => {
    if (err) stats.sendErrors++;
    resolve();
  }));
}

/** Datagrams the kernel dropped for the daemon's socket on PORT (procfs is shared; the file is per namespace). */
function daemonDrops() {
  const local = `:${plan.port.toString(16).toUpperCase().padStart(4, '0')}`;
  const fields = readFileSync(`/proc/${plan.daemonPid}/net/udp6`, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[1]?.endsWith(local));
  return fields ? Number(fields[fields.length - 1]) : 0;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;

if (plan.mode === 'hostile') {
  stats.cases = [];
  for (const c of dhcp6HostileCases()) {
    await send(c.bytes);
    stats.cases.push({ name: c.name, bytes: c.bytes.length, reason: c.reason });
    await sleep(5); // one at a time: a 64 KiB datagram must not meet a full receive buffer
  }
} else if (plan.mode === 'fuzz') {
  for (const key of ['count', 'maxSeconds', 'rate', 'daemonPid']) if (plan[key] === undefined) throw new Error(`dhcp6-sender: missing ${key}`);
  const random = seededRandom(plan.seed);
  const seeds = [...dhclientCaptures(), ...dhcp6Seeds()];
  // Sent in 10 ms slices whose sends complete before the next.
  await sendPaced({
    ceiling: plan.rate,
    maxSeconds: plan.maxSeconds,
    drops: daemonDrops,
    remaining: () => plan.count - stats.sent,
    sendBurst: (n) =>
      Promise.all(
        Array.from({ length: n }, () => {
          const datagram = fuzzDhcp6Datagram(random, seeds);
          return send(datagram.length > MAX_UDP6_PAYLOAD ? datagram.subarray(0, MAX_UDP6_PAYLOAD) : datagram);
        }),
      ),
    sliceMs: 10,
  });
  stats.timeBound = stats.sent < plan.count;
} else {
  throw new Error(`dhcp6-sender: unknown mode ${plan.mode}`);
}
stats.seconds = Math.round(elapsedS() * 10) / 10;
await sleep(300); // late replies
source.close();
clientPort.close();
console.log(JSON.stringify({ done: stats }));
