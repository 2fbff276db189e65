// The datagram half of scripts/fuzz/run.mjs, run by it inside the lab's client namespace (Node
// cannot enter a namespace itself). Sends COUNT generated, mutated and random datagrams to the
// daemon's TFTP, MTFTP, DHCP and PXE (4011) ports and to the transfer ports (TIDs) it answers
// from, at up to RATE per second (paced by the daemon's
// kernel drop counter, see below) from SOCKETS source ports,
// drains whatever the daemon answers, and prints one JSON line per second ({"progress":...}) and
// one at the end ({"done":...}). Bounded by COUNT and MAX_SECONDS; it only sends to TARGET, an
// address of the lab the parent created.
//
// Usage (by run.mjs): node sender.mjs '{"target":"10.213.1.1","seed":1,"count":1000,"maxSeconds":60,
//                      "daemonPid":123,"rate":10000,"sockets":16,"files":["demo.img"],"ports":{...}}'
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendPaced } from './aimd-pacer.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const support = (name) => import(join(repo, 'build/test/support', name));
const { seededRandom } = await support('round-trip.js');
const { fuzzDhcpDatagram, fuzzTftpDatagram, dhcpSeeds, tftpCaptures } = await support('fuzz-corpus.js');

const plan = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['target', 'daemonPid', 'seed', 'count', 'maxSeconds', 'rate', 'sockets', 'files', 'ports']) {
  if (plan[key] === undefined) throw new Error(`sender: missing ${key}`);
}
if (!/^10\.213\.\d+\.\d+$/.test(plan.target) && !plan.target.startsWith('127.')) throw new Error(`sender: ${plan.target} is not a lab address`);

const random = seededRandom(plan.seed);
const tftpSeeds = tftpCaptures();
const dhcpSeedDatagrams = dhcpSeeds();

/** Which service gets the next datagram, with its share of the traffic. */
const SERVICES = [
  { name: 'tftp', share: 0.3, port: plan.ports.tftp, make: () => fuzzTftpDatagram(random, plan.files, tftpSeeds) },
  // Into running transfers: the server ports (TIDs) replies came from, so ACK/DATA/ERROR/OACK
  // mutations reach the transfer state machines, not only the request parser.
  { name: 'tid', share: 0.1, port: null, make: () => fuzzTftpDatagram(random, plan.files, tftpSeeds) },
  { name: 'mtftp', share: 0.15, port: plan.ports.mtftp, make: () => fuzzTftpDatagram(random, plan.files, tftpSeeds) },
  { name: 'dhcp', share: 0.3, port: plan.ports.dhcp, make: () => fuzzDhcpDatagram(random, dhcpSeedDatagrams) },
  { name: 'pxe', share: 0.15, port: plan.ports.pxe, make: () => fuzzDhcpDatagram(random, dhcpSeedDatagrams) },
];

const stats = { sent: 0, bytes: 0, sendErrors: 0, replies: 0, byService: Object.fromEntries(SERVICES.map((s) => [s.name, 0])) };

/** Recent transfer ports of the daemon, with the socket that talks to each (bounded ring). */
const WELL_KNOWN = new Set(Object.values(plan.ports));
const tids = [];
const MAX_TIDS = 64;
const TID_LIFETIME_MS = 3000;

const sockets = await Promise.all(Array.from({ length: plan.sockets }, (_, index) => new Promise((resolve) => {
  const s = createSocket('udp4');
  s.on('message', (msg, from) => {
    stats.replies++;
    // DATA, OACK and an upload's ACK come from a live transfer (an ERROR's port closes at once).
    const live = msg.length >= 2 && msg[0] === 0 && (msg[1] === 3 || msg[1] === 4 || msg[1] === 6);
    if (live && !WELL_KNOWN.has(from.port) && !tids.some((t) => t.port === from.port)) {
      tids.push({ port: from.port, socket: index, at: performance.now() });
      if (tids.length > MAX_TIDS) tids.shift();
    }
  });
  s.on('error', () => stats.sendErrors++);
  s.bind(0, () => resolve(s));
})));

const onSent = (err) => {
  if (err) stats.sendErrors++;
};

function sendOne() {
  let r = random();
  const service = SERVICES.find((s) => (r -= s.share) < 0) ?? SERVICES[0];
  const datagram = service.make();
  // UDP carries at most 65507 bytes; a longer mutation is cut there rather than refused by send().
  const payload = datagram.length > 65507 ? datagram.subarray(0, 65507) : datagram;
  let socket = sockets[stats.sent % sockets.length];
  let port = service.port;
  if (port === null) {
    // Transfers idle out within seconds (run.mjs sets idle_timeout = 3s): forget older ports.
    while (tids.length && performance.now() - tids[0].at > TID_LIFETIME_MS) tids.shift();
    const tid = tids.length ? tids[Math.floor(random() * tids.length)] : { port: plan.ports.tftp, socket: 0 };
    port = tid.port;
    // Mostly from the transfer's own client, sometimes from a stranger (the unknown-TID path).
    if (random() < 0.8) socket = sockets[tid.socket];
  }
  socket.send(payload, port, plan.target, onSent);
  stats.sent++;
  stats.bytes += payload.length;
  stats.byService[service.name]++;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kernel drops on the daemon's full socket buffers: its namespace's Udp RcvbufErrors (procfs is shared). */
function daemonDrops() {
  const lines = readFileSync(`/proc/${plan.daemonPid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

// Sent in bursts between 1 ms sleeps, so replies are drained and the send queue stays short.
const sendSeconds = await sendPaced({
  ceiling: plan.rate,
  maxSeconds: plan.maxSeconds,
  drops: daemonDrops,
  remaining: () => plan.count - stats.sent,
  sendBurst: (n) => {
    for (let i = 0; i < n; i++) sendOne();
  },
  sliceMs: 1,
  onSecond: (seconds, rate) => console.log(JSON.stringify({ progress: { ...stats, seconds, rate } })),
});
await sleep(500); // late replies
for (const s of sockets) s.close();
console.log(JSON.stringify({ done: { ...stats, seconds: sendSeconds, timeBound: stats.sent < plan.count } }));
