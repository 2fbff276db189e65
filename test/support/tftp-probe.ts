// A scripted TFTP reader that walks away mid-stream, run inside a test namespace
// (`ip netns exec NS node tftp-probe.js ...`): it requests FILE (blksize 1428, plus the RFC 2090
// multicast option when asked), acknowledges blocks while it is master, and once it holds
// ERROR_AFTER blocks sends ERROR to the server's TID. It then listens for LINGER_MS and prints one
// JSON line: what it heard before and after its ERROR. Bounded: exits after GIVE_UP_MS at the latest.
//
//   tftp-probe SERVER_ADDR FILE ERROR_AFTER unicast|multicast LINGER_MS GIVE_UP_MS
import dgram from 'node:dgram';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../src/codec/tftp-packet.js';

const [server, file, errorAfterText, kind, lingerText, giveUpText] = process.argv.slice(2);
if (!server || !file || !errorAfterText || (kind !== 'unicast' && kind !== 'multicast') || !lingerText || !giveUpText) {
  console.error('usage: tftp-probe SERVER_ADDR FILE ERROR_AFTER unicast|multicast LINGER_MS GIVE_UP_MS');
  process.exit(2);
}
const errorAfter = Number(errorAfterText);
const result = { master: kind === 'unicast', blocks: 0, dataAfterError: 0, oacks: 0, erroredAt: null as number | null, serverError: null as string | null };
const have = new Set<number>();
let tid: { address: string; port: number } | null = null;
let group: dgram.Socket | null = null;
let errored = false;

const socket = dgram.createSocket('udp4');
const send = (p: TftpPacket) => tid && socket.send(encodeTftp(p), tid.port, tid.address);

function finish(): void {
  console.log(JSON.stringify(result));
  process.exit(0);
}

function onPacket(msg: Buffer, from: dgram.RemoteInfo, viaGroup: boolean): void {
  let p: TftpPacket;
  try {
    p = decodeTftp(msg);
  } catch {
    return;
  }
  if (!viaGroup && from.address === server) tid ??= { address: from.address, port: from.port };
  if (errored) {
    if (p.op === 'DATA') result.dataAfterError++;
    return;
  }
  if (p.op === 'ERROR') {
    result.serverError = p.message;
    finish();
  }
  if (p.op === 'OACK') {
    result.oacks++;
    const mc = p.options.find((o) => o.name.toLowerCase() === 'multicast')?.value;
    if (mc !== undefined) {
      const [address, port, master] = mc.split(',');
      result.master = master === '1';
      if (group === null && address && port) joinGroup(address, Number(port));
    }
    if (result.master) send({ op: 'ACK', block: contiguous() });
    return;
  }
  if (p.op !== 'DATA') return;
  have.add(p.block);
  result.blocks = have.size;
  if (have.size >= errorAfter) {
    errored = true;
    result.erroredAt = p.block;
    send({ op: 'ERROR', code: 0, message: 'probe walks away' });
    setTimeout(finish, Number(lingerText));
    return;
  }
  if (result.master) send({ op: 'ACK', block: contiguous() });
}

/** ACK n = "I have everything up to n" (RFC 2090 masters, and lock-step unicast alike). */
function contiguous(): number {
  let n = 0;
  while (have.has(n + 1)) n++;
  return n;
}

function joinGroup(address: string, port: number): void {
  group = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  group.on('message', (msg, from) => onPacket(msg, from, true));
  group.bind(port, () => group!.addMembership(address));
}

socket.on('message', (msg, from) => onPacket(msg, from, false));
socket.bind(0, () => {
  const options = [{ name: 'blksize', value: '1428' }, ...(kind === 'multicast' ? [{ name: 'multicast', value: '' }] : [])];
  socket.send(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options }), 69, server);
});
setTimeout(finish, Number(giveUpText)).unref();
