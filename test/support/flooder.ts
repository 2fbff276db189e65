// A bounded request flood for the abuse test, run inside the flooder's namespace
// (`ip netns exec NS node flooder.js JSON`): RRQs from many local source addresses and ports
// that never ACK (their sockets never answer), and DHCPDISCOVERs with made-up MACs that never
// REQUEST.
// Bounded in both count and time; prints one JSON summary line when done.
import dgram from 'node:dgram';

interface FloodPlan {
  readonly server: string;
  readonly tftpPort: number;
  readonly dhcpPort: number;
  readonly sources: readonly string[];
  /** Sockets (source ports) per source address: each (address, port) is a distinct client TID,
   *  as with spoofed sources; a repeated TID would only count as a retransmitted RRQ. */
  readonly portsPerSource: number;
  readonly file: string;
  readonly rrqPerS: number;
  readonly discoverPerS: number;
  readonly durationMs: number;
  readonly maxPackets: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as FloodPlan;
const TICK_MS = 10;

function rrq(file: string): Buffer {
  return Buffer.concat([Buffer.from([0, 1]), Buffer.from(`${file}\0octet\0`, 'latin1')]);
}

function discover(n: number): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE((0x7a000000 + n) >>> 0, 4);
  b.writeUInt16BE(0x8000, 10); // broadcast reply
  Buffer.from([0x02, 0xf1, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([b, Buffer.from([53, 1, 1, 255])]);
}

async function bound(address: string, broadcast = false): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('error', () => undefined); // a full send buffer under flood is not a reason to stop
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  if (broadcast) s.setBroadcast(true);
  return s;
}

const sockets = await Promise.all(plan.sources.flatMap((a) => Array.from({ length: plan.portsPerSource }, () => bound(a))));
const dhcp = await bound('0.0.0.0', true);
const request = rrq(plan.file);
let rrqs = 0;
let discovers = 0;
let next = 0;
const started = Date.now();
let owedRrq = 0;
let owedDiscover = 0;

const done = () => {
  clearInterval(timer);
  for (const s of [...sockets, dhcp]) s.close();
  process.stdout.write(JSON.stringify({ rrqs, discovers, ms: Date.now() - started }) + '\n');
};
const timer = setInterval(() => {
  if (Date.now() - started >= plan.durationMs || rrqs + discovers >= plan.maxPackets) return done();
  owedRrq += (plan.rrqPerS * TICK_MS) / 1000;
  owedDiscover += (plan.discoverPerS * TICK_MS) / 1000;
  for (; owedRrq >= 1; owedRrq--) {
    sockets[next++ % sockets.length]!.send(request, plan.tftpPort, plan.server);
    rrqs++;
  }
  for (; owedDiscover >= 1; owedDiscover--) dhcp.send(discover(discovers++), plan.dhcpPort, '255.255.255.255');
}, TICK_MS);
