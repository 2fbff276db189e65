// A bounded request flood for the abuse test, run inside the flooder's namespace
// (`ip netns exec NS node flooder.js JSON`): RRQs (plain and with the RFC 2090 `multicast`
// option) and PXE MTFTP opens from many local source addresses and ports that never ACK (their
// sockets never answer), and DHCPDISCOVERs with made-up MACs that never REQUEST.
// `strayAt: 'transfer' | 'session'` floods instead a transfer (TID) or multicast session port from
// stray sources: one socket opens a transfer (a plain or a multicast RRQ) and stays silent, the
// others send ACKs to the port its answer came from; the ERROR 5 replies they get are counted.
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
  /** RRQs with the `multicast` option, per second. */
  readonly multicastRrqPerS?: number;
  /** MTFTP opens (plain octet RRQ of `mtftpFile` to `mtftpPort`), per second. */
  readonly mtftpOpenPerS?: number;
  readonly mtftpPort?: number;
  readonly mtftpFile?: string;
  /** Stray mode: ACKs per second to the port that answered the opening socket. */
  readonly strayAt?: 'transfer' | 'session';
  readonly strayPerS?: number;
  readonly durationMs: number;
  readonly maxPackets: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as FloodPlan;
const TICK_MS = 10;

function rrq(file: string, options = ''): Buffer {
  return Buffer.concat([Buffer.from([0, 1]), Buffer.from(`${file}\0octet\0${options}`, 'latin1')]);
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

if (plan.strayAt) await strayFlood(plan.strayAt);
else await requestFlood();

/** Replies seen by the sockets: ERROR 5 counts. */
function countErrors5(all: dgram.Socket[]): { readonly errors5: () => number } {
  let n = 0;
  for (const s of all) s.on('message', (m) => (m.length >= 4 && m.readUInt16BE(0) === 5 && m.readUInt16BE(2) === 5 ? n++ : 0));
  return { errors5: () => n };
}

async function strayFlood(at: 'transfer' | 'session'): Promise<void> {
  const [opener, ...strays] = sockets as [dgram.Socket, ...dgram.Socket[]];
  // The stray flood needs a live transfer or session port: an ERROR (say, the opener's address
  // still at its transfer limit after an earlier flood) comes from no such port, so the opener
  // asks again, a bounded number of times, until DATA or an OACK answers.
  const request = rrq(plan.file, at === 'session' ? 'multicast\0\0' : '');
  const answered = new Promise<number>((resolve, reject) => {
    let tries = 0;
    const ask = () => {
      if (++tries > 50) return reject(new Error('no DATA or OACK answered the opening RRQ (50 tries, 10 s)'));
      opener.send(request, plan.tftpPort, plan.server);
      retry = setTimeout(ask, 200);
    };
    let retry = setTimeout(ask, 0);
    opener.on('message', (m, rinfo) => {
      const op = m.length >= 2 ? m.readUInt16BE(0) : 0;
      if (op !== 3 && op !== 6) return;
      clearTimeout(retry);
      opener.removeAllListeners('message');
      resolve(rinfo.port);
    });
  });
  const port = await answered;
  const counter = countErrors5(strays);
  const ack = Buffer.from([0, 4, 0, 1]);
  let sent = 0;
  let next = 0;
  let owed = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - started >= plan.durationMs || sent >= plan.maxPackets) {
        clearInterval(timer);
        resolve();
        return;
      }
      owed += ((plan.strayPerS ?? 0) * TICK_MS) / 1000;
      for (; owed >= 1; owed--, sent++) strays[next++ % strays.length]!.send(ack, port, plan.server);
    }, TICK_MS);
  });
  await new Promise((r) => setTimeout(r, 200)); // the last replies
  for (const s of sockets) s.close();
  process.stdout.write(JSON.stringify({ strays: sent, errors5: counter.errors5(), port, ms: Date.now() - started }) + '\n');
}

async function requestFlood(): Promise<void> {
  const dhcp = await bound('0.0.0.0', true);
  const kinds = [
    { packet: rrq(plan.file), perS: plan.rrqPerS, port: plan.tftpPort, sent: 0, owed: 0 },
    { packet: rrq(plan.file, 'multicast\0\0'), perS: plan.multicastRrqPerS ?? 0, port: plan.tftpPort, sent: 0, owed: 0 },
    { packet: rrq(plan.mtftpFile ?? plan.file), perS: plan.mtftpOpenPerS ?? 0, port: plan.mtftpPort ?? 0, sent: 0, owed: 0 },
  ];
  const [plain, multicast, mtftp] = kinds as [(typeof kinds)[0], (typeof kinds)[0], (typeof kinds)[0]];
  let discovers = 0;
  let owedDiscover = 0;
  let next = 0;
  const started = Date.now();
  const total = () => kinds.reduce((n, k) => n + k.sent, discovers);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - started >= plan.durationMs || total() >= plan.maxPackets) {
        clearInterval(timer);
        resolve();
        return;
      }
      for (const kind of kinds) {
        if (kind.perS === 0 || kind.port === 0) continue;
        kind.owed += (kind.perS * TICK_MS) / 1000;
        for (; kind.owed >= 1; kind.owed--, kind.sent++) sockets[next++ % sockets.length]!.send(kind.packet, kind.port, plan.server);
      }
      owedDiscover += (plan.discoverPerS * TICK_MS) / 1000;
      for (; owedDiscover >= 1; owedDiscover--) dhcp.send(discover(discovers++), plan.dhcpPort, '255.255.255.255');
    }, TICK_MS);
  });
  for (const s of [...sockets, dhcp]) s.close();
  const summary = { rrqs: plain.sent, multicastRrqs: multicast.sent, mtftpOpens: mtftp.sent, discovers, ms: Date.now() - started };
  process.stdout.write(JSON.stringify(summary) + '\n');
}
