// A small, bounded TFTP reader for the benchmarks in this folder (not a test peer: the tests use
// atftp, curl and tftp-hpa). It asks for one file with blksize (and windowsize when > 1),
// acknowledges like an RFC 7440 receiver (after a full window, after the last block, and once at
// the last in-order block when a gap shows), keeps only a running sha256 of what it got, and gives
// up by itself: a silent server gets the last packet again after `retryMs`, the whole download
// ends at `deadlineMs`, and `stopAfterMs` ends it early on purpose (the RSS run).
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';

const RRQ = 1;
const DATA = 3;
const ACK = 4;
const ERROR = 5;
const OACK = 6;

function rrq(file, options) {
  const parts = [file, 'octet'];
  for (const [name, value] of options) parts.push(name, String(value));
  return Buffer.concat([Buffer.from([0, RRQ]), Buffer.from(parts.join('\0') + '\0', 'latin1')]);
}

function ack(block) {
  return Buffer.from([0, ACK, (block >> 8) & 0xff, block & 0xff]);
}

/**
 * Downloads `file` from host:port. Resolves with { ok, bytes, blocks, duplicates, sha256, ms,
 * stopped, error }: `duplicates` counts DATA that repeated a block already held (server
 * retransmissions), `stopped` says `stopAfterMs` ended it with an ERROR to the server.
 */
export function readFile({ host, port, file, blksize, windowsize = 1, retryMs = 1000, deadlineMs = 60_000, stopAfterMs = null }) {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const hash = createHash('sha256');
    const started = performance.now();
    let tid = null;
    let received = 0; // blocks held, in order
    let bytes = 0;
    let duplicates = 0;
    let sinceAck = 0;
    let gapAcked = false;
    let lastSent = null;
    let lastHeard = started;
    let done = false;
    const options = [['blksize', blksize], ...(windowsize > 1 ? [['windowsize', windowsize]] : [])];
    const request = rrq(file, options);

    const send = (packet) => {
      lastSent = packet;
      socket.send(packet, tid?.port ?? port, host);
    };
    const finish = (result) => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      socket.close();
      resolve({ bytes, blocks: received, duplicates, ms: performance.now() - started, stopped: false, sha256: hash.digest('hex'), ...result });
    };
    const ticker = setInterval(() => {
      const now = performance.now();
      if (stopAfterMs !== null && now - started >= stopAfterMs) {
        if (tid) socket.send(Buffer.from([0, ERROR, 0, 0, ...Buffer.from('benchmark over', 'latin1'), 0]), tid.port, host);
        finish({ ok: true, stopped: true });
      } else if (now - started >= deadlineMs) finish({ ok: false, error: `no complete file within ${deadlineMs} ms` });
      else if (now - lastHeard >= retryMs && lastSent) {
        lastHeard = now;
        socket.send(lastSent, tid?.port ?? port, host);
      }
    }, Math.min(100, retryMs));

    socket.on('error', (err) => finish({ ok: false, error: err.message }));
    socket.on('message', (msg, rinfo) => {
      if (done || msg.length < 4 || rinfo.address !== host) return;
      if (tid === null) tid = { port: rinfo.port };
      else if (rinfo.port !== tid.port) return;
      lastHeard = performance.now();
      const op = msg.readUInt16BE(0);
      if (op === OACK) {
        if (received === 0) send(ack(0));
        return;
      }
      if (op === ERROR) {
        finish({ ok: false, error: `server ERROR ${msg.readUInt16BE(2)}: ${msg.subarray(4, msg.indexOf(0, 4)).toString('latin1')}` });
        return;
      }
      if (op !== DATA) return;
      const block = msg.readUInt16BE(2);
      if (block !== ((received + 1) & 0xffff)) {
        if (((received - block) & 0xffff) < 0x8000) duplicates++; // at or before what we hold
        else if (!gapAcked) {
          gapAcked = true; // RFC 7440 4: once per gap, the last block received in order
          sinceAck = 0;
          send(ack(received & 0xffff));
        }
        return;
      }
      received++;
      gapAcked = false;
      const data = msg.subarray(4);
      bytes += data.length;
      hash.update(data);
      if (data.length < blksize) {
        send(ack(block));
        finish({ ok: true });
      } else if (++sinceAck >= windowsize) {
        sinceAck = 0;
        send(ack(block));
      }
    });
    socket.bind(0, host, () => {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      send(request);
    });
  });
}
