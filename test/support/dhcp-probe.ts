// A one-shot raw DHCP client, run inside a test namespace (`ip netns exec NS node dhcp-probe.js`):
// binds ADDRESS:PORT, sends one datagram (hex) to TO:PORT, prints every datagram received within
// WAIT ms as one JSON line {from, port, hex}, then exits. Bounded: one send, one wait.
import dgram from 'node:dgram';

const [bind, to, hex, wait] = process.argv.slice(2);
if (!bind || !to || !hex) {
  console.error('usage: dhcp-probe BIND_ADDR:PORT TO_ADDR:PORT HEX [WAIT_MS]');
  process.exit(2);
}
const [bindAddress, bindPort] = bind.split(':');
const [toAddress, toPort] = to.split(':');
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
socket.on('message', (msg, rinfo) => {
  process.stdout.write(JSON.stringify({ from: rinfo.address, port: rinfo.port, hex: msg.toString('hex') }) + '\n');
});
socket.bind(Number(bindPort), bindAddress, () => {
  socket.setBroadcast(true);
  socket.send(Buffer.from(hex, 'hex'), Number(toPort), toAddress);
  setTimeout(() => socket.close(), Number(wait ?? 1500));
});
