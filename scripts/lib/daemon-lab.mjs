// A pxecast daemon in a lab of network namespaces, for the long-running reliability scripts
// (scripts/fuzz, scripts/soak): the namespaces, the config, the daemon with every output line
// scanned, and the probes they share (RSS, the namespace's UDP counters, the control socket, a
// DHCP DISCOVER-OFFER-REQUEST-ACK, a checked TFTP download).
//
// Why namespaces even for unicast: fuzzed DHCP requests make the daemon broadcast replies and
// unicast them to whatever giaddr/ciaddr a request names, and RFC 2090/MTFTP sessions send to
// multicast groups; on the host's loopback that traffic would leave through the default route.
// Inside a lab namespace it can only reach the lab LAN. Each namespace also has its own UDP
// counters, so /proc/<daemon pid>/net/snmp counts exactly what the daemon's sockets received.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { repo } from '../bench/lib.mjs';

export const TFTP_PORT = 69;
export const DHCP_PORT = 67;
export const PXE_PORT = 4011;
export const MTFTP = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759 };

const DHCP_PROBE = join(repo, 'build/test/support/dhcp-probe.js');

/**
 * A server namespace and `clients` client namespaces on one bridge (10.213.N.0/24); `client` is the
 * first. It gets a route for 255.255.255.255 so plain UDP sockets there can broadcast (see
 * test/netns/dhcp.test.ts).
 */
export async function createLab(netns, { clients = 1 } = {}) {
  const support = netns.canUseNetns();
  if (!support.ok) throw new Error(support.reason);
  const serverNs = netns.createNamespace('srv');
  const clientNs = Array.from({ length: clients }, (_, i) => netns.createNamespace(`cli${i + 1}`));
  const [server, ...clientEnds] = netns.createBridge([serverNs, ...clientNs]).members;
  const client = clientEnds[0];
  const route = await netns.runInNamespace(client.namespace, 'ip', ['route', 'add', '255.255.255.255/32', 'dev', client.ifname], { timeoutMs: 5000 });
  if (route.exitCode !== 0) throw new Error(`cannot add the broadcast route: ${route.stderr}`);
  return { server, client, clients: clientEnds, subnet: server.address.split('.').slice(0, 3).join('.') };
}

/** The config: TFTP (uploads on), RFC 2090, MTFTP and full DHCP on the lab LAN; `overrides` per section. */
export function writeLabConfig(file, { lab, root, stateFile, image, level = 'info', overrides = {} }) {
  const sections = {
    log: { level, format: 'text' },
    tftp: { listen: lab.server.address, port: TFTP_PORT, root },
    multicast: { interface: lab.server.address },
    dhcp: { mode: 'full', interface: lab.server.address, port: DHCP_PORT, proxy_port: PXE_PORT, lease_time: '1h', state_file: stateFile },
    'pool lab': { first: `${lab.subnet}.10`, last: `${lab.subnet}.250`, router: lab.server.address },
    [`image ${image.name}`]: {
      file: image.file, arch: 'bios, efi-x64', default: 'true', mtftp: 'true',
      mtftp_group: MTFTP.group, mtftp_client_port: MTFTP.clientPort, mtftp_server_port: MTFTP.serverPort,
    },
  };
  for (const [section, keys] of Object.entries(overrides)) sections[section] = { ...sections[section], ...keys };
  const text = Object.entries(sections)
    .map(([section, keys]) => [`[${section}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`)].join('\n'))
    .join('\n\n');
  writeFileSync(file, `${text}\n`);
}

/**
 * Scans the daemon's output line by line: error-level lines (winston text: `time level message`),
 * stack-trace lines (an uncaught exception prints them on stderr) and a count of warn lines by message.
 */
export function createLogScan() {
  let partial = '';
  const scan = { lines: 0, errors: [], stackLines: [], warnings: new Map() };
  const keep = (list, line) => list.length < 20 && list.push(line);
  scan.push = (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      scan.lines++;
      const level = /^\S+ (\w+) (.*?)(?: \w+=|$)/.exec(line);
      if (level?.[1] === 'error') keep(scan.errors, line);
      else if (level?.[1] === 'warn') scan.warnings.set(level[2], (scan.warnings.get(level[2]) ?? 0) + 1);
      if (/^\s+at .+[:)]/.test(line) || /^\w*Error\b/.test(line) || /uncaught|unhandled/i.test(line)) keep(scan.stackLines, line);
    }
  };
  return scan;
}

/** Starts pxecast in the lab's server namespace with `scan` reading all of its output. */
export async function startLabDaemon(lab, configFile, scan) {
  const { startDaemonIn } = await import(join(repo, 'build/test/support/netns-daemon.js'));
  return startDaemonIn(lab.server.namespace, configFile, /control socket listening/, 15_000, { onOutput: scan.push });
}

/** Resident set size of a process in KiB (VmRSS), or null once it is gone. */
export function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The Udp counters (InDatagrams, RcvbufErrors, NoPorts...) of the network namespace `pid` lives in. */
export function udpCounters(pid) {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

/** One request on the control socket (pxecast's framing: one JSON text per line); the parsed reply. */
export function controlRequest(socketPath, request, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no control reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('data', (d) => {
      text += d.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(JSON.parse(text.slice(0, end)));
    });
    socket.write(`${JSON.stringify(request)}\n`);
  });
}

/** A minimal PXE BOOTREQUEST (iPXE-like: options 53, 60, 93, 55 and extras) from MAC `mac` (6 bytes). */
export function pxeRequest(type, mac, xid, extraOptions = []) {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(xid >>> 0, 4);
  Buffer.from(mac).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const vendor = Buffer.from('PXEClient:Arch:00000:UNDI:002001');
  return Buffer.concat([b, Buffer.from([53, 1, type, 60, vendor.length, ...vendor, 93, 2, 0, 0, 55, 4, 1, 3, 66, 67, ...extraOptions, 255])]);
}

/** Sends `packet` from the client namespace (dhcp-probe.js) and returns the BOOTREPLYs heard. */
async function dhcpExchange(netns, lab, packet, decodeDhcp) {
  const r = await netns.runInNamespace(lab.client.namespace, process.execPath,
    [DHCP_PROBE, '0.0.0.0:68', `255.255.255.255:${DHCP_PORT}`, packet.toString('hex'), '1500'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').filter(Boolean)
    .map((line) => decodeDhcp(Buffer.from(JSON.parse(line).hex, 'hex')))
    .filter((msg) => msg.op === 2);
}

/** DISCOVER -> OFFER -> REQUEST -> ACK for a fresh MAC; { ok, detail }. */
export async function dhcpDora(netns, lab, mac) {
  const { decodeDhcp } = await import(join(repo, 'build/src/codec/dhcp-message.js'));
  const xid = (Date.now() & 0x7fffffff) >>> 0;
  const [offer] = await dhcpExchange(netns, lab, pxeRequest(1, mac, xid), decodeDhcp);
  if (offer?.options[53] !== 2 || offer.xid !== xid) return { ok: false, detail: 'no OFFER' };
  const ip = (s) => s.split('.').map(Number);
  const request = pxeRequest(3, mac, xid, [50, 4, ...ip(offer.yiaddr), 54, 4, ...ip(lab.server.address)]);
  const [ack] = await dhcpExchange(netns, lab, request, decodeDhcp);
  if (ack?.options[53] !== 5 || ack.yiaddr !== offer.yiaddr) return { ok: false, detail: `no ACK for ${offer.yiaddr}` };
  return { ok: true, detail: `${offer.yiaddr}, boot file ${ack.file || 'none'}` };
}

export function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** atftp from the client namespace; ok when it exits 0 and the bytes hash to `expected`. */
export async function checkedDownload(peers, lab, { remote, local, expected, blksize = 1428, timeoutMs = 30_000 }) {
  const r = await peers.downloadWithAtftp({ host: lab.server.address, port: TFTP_PORT, remote, local, netns: lab.client.namespace, blksize, timeoutMs });
  if (!r.ok) return { ok: false, ms: r.ms, detail: r.timedOut ? 'timed out' : r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}` };
  const got = sha256(local);
  return { ok: got === expected, ms: r.ms, detail: got === expected ? 'sha256 ok' : `sha256 ${got.slice(0, 12)} != ${expected.slice(0, 12)}` };
}
