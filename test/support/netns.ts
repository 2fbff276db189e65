// Network namespaces for tests and benchmarks: isolated lab networks on 10.213.<n>.0/24 that
// exist only inside namespaces this process creates, plus processes started inside them.
// Everything created is tracked and removed by teardown(), which also runs on exit, SIGINT and
// SIGTERM. Nothing here touches the host's own namespace, links or firewall.
//
// Needs root and iproute2; loss injection also needs iptables with the `statistic` match.
// canUseNetns() tells whether all of that is available, so tests can skip with its reason.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** A namespace created by this module; only these can be used with the functions below. */
export interface Namespace {
  readonly name: string;
}

/** One end of a link: the interface inside `namespace` and its IPv4 address (no prefix). */
export interface LinkEnd {
  readonly namespace: Namespace;
  readonly ifname: string;
  readonly address: string;
}

export interface VethLink {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  /** e.g. "10.213.1.0/24" */
  readonly subnet: string;
}

export interface BridgedLan {
  /** Namespace holding the bridge, so the host namespace never gets one. */
  readonly hub: Namespace;
  /** members[i] is the end inside the i-th member namespace, address 10.213.<n>.<i + 1>. */
  readonly members: readonly LinkEnd[];
  readonly subnet: string;
}

export interface RunOptions {
  /** The command is killed (SIGKILL, its PID only) when this expires. */
  readonly timeoutMs: number;
  readonly cwd?: string;
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** The last few KiB of stdout and stderr, for error messages. */
  outputTail(): string;
  /** SIGTERM to this PID only, SIGKILL after `graceMs`; resolves once it has exited. */
  kill(graceMs?: number): Promise<ExitStatus>;
}

export interface RandomDropRule {
  /** Drop probability per packet, 0 < p <= 1. */
  readonly probability: number;
  readonly chain: 'INPUT' | 'OUTPUT';
  readonly protocol: 'udp';
  /** Only packets from this IPv4 source (INPUT). Drops in OUTPUT fail the sender's sendto() with
   *  EPERM instead of losing the packet, so "loss toward the server" is an INPUT rule there. */
  readonly source?: string;
}

export type NetnsSupport = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const PREFIX = `pxc-${process.pid}-`;
const OUTPUT_TAIL_BYTES = 64 * 1024;
const TOOL_TIMEOUT_MS = 10_000;
// ip and iptables live in sbin, which a non-login PATH may lack.
const TOOL_ENV = { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` };

const namespaces = new Set<string>();
const processes = new Set<ChildProcess>();
let namespaceCounter = 0;
let subnetCounter = 0;
let cleanupRegistered = false;
let support: NetnsSupport | undefined;

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Probes once (cached) whether namespaces, veth links and random-drop rules work here, by
 * building and removing a throwaway namespace.
 */
export function canUseNetns(): NetnsSupport {
  support ??= probeSupport();
  return support;
}

function probeSupport(): NetnsSupport {
  if (!isRoot()) return { ok: false, reason: 'network namespaces need root' };
  const created: Namespace[] = [];
  try {
    const client = createNamespace('probe');
    created.push(client);
    const server = createNamespace('probe');
    created.push(server);
    connectVeth(server, client);
    addRandomDrop(client, { probability: 0.5, chain: 'INPUT', protocol: 'udp' });
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `network namespaces unusable: ${(err as Error).message}` };
  } finally {
    for (const ns of created) deleteNamespace(ns.name);
  }
}

/** Creates `pxc-<pid>-<n>[-label]` with its loopback up. */
export function createNamespace(label = ''): Namespace {
  if (label && !/^[a-z0-9]{1,12}$/.test(label)) throw new Error(`bad namespace label '${label}'`);
  registerCleanup();
  const name = `${PREFIX}${++namespaceCounter}${label ? `-${label}` : ''}`;
  tool('ip', ['netns', 'add', name]);
  namespaces.add(name);
  tool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return { name };
}

/** Joins two namespaces with a veth pair: a gets 10.213.<n>.1/24, b gets 10.213.<n>.2/24. */
export function connectVeth(a: Namespace, b: Namespace): VethLink {
  assertOwned(a);
  assertOwned(b);
  const n = nextSubnet();
  const aEnd = { namespace: a, ifname: `veth${n}a`, address: `10.213.${n}.1` };
  const bEnd = { namespace: b, ifname: `veth${n}b`, address: `10.213.${n}.2` };
  // Created directly inside the namespaces: the host never sees these interfaces.
  tool('ip', ['-n', a.name, 'link', 'add', aEnd.ifname, 'type', 'veth', 'peer', 'name', bEnd.ifname, 'netns', b.name]);
  configureEnd(aEnd);
  configureEnd(bEnd);
  return { a: aEnd, b: bEnd, subnet: `10.213.${n}.0/24` };
}

/**
 * Puts the member namespaces on one Ethernet segment: a bridge in a new hub namespace with a veth
 * to each member. Multicast snooping is off so multicast floods to every member like on a dumb
 * switch, without needing IGMP queriers.
 */
export function createBridge(members: readonly Namespace[]): BridgedLan {
  if (members.length === 0 || members.length > 250) throw new Error('a bridge needs 1..250 members');
  members.forEach(assertOwned);
  const hub = createNamespace('hub');
  const n = nextSubnet();
  tool('ip', ['-n', hub.name, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
  tool('ip', ['-n', hub.name, 'link', 'set', 'br0', 'up']);
  const ends = members.map((member, i) => {
    const port = `port${i}`;
    const end = { namespace: member, ifname: `lan${n}`, address: `10.213.${n}.${i + 1}` };
    tool('ip', ['-n', hub.name, 'link', 'add', port, 'type', 'veth', 'peer', 'name', end.ifname, 'netns', member.name]);
    tool('ip', ['-n', hub.name, 'link', 'set', port, 'master', 'br0', 'up']);
    configureEnd(end);
    // Receivers join groups on the interface the route for 224/4 names, senders send there:
    // on this one-interface LAN that is the LAN port, as on a real boot network.
    tool('ip', ['-n', member.name, 'route', 'add', '224.0.0.0/4', 'dev', end.ifname]);
    return end;
  });
  return { hub, members: ends, subnet: `10.213.${n}.0/24` };
}

/**
 * Adds a tap device named `name` to the LAN's bridge (inside the hub namespace) for a virtual
 * machine: QEMU started in `lan.hub` with `-netdev tap,ifname=<name>` is then a host on the LAN.
 */
export function addTap(lan: BridgedLan, name: string): void {
  assertOwned(lan.hub);
  if (!/^tap[0-9]{1,3}$/.test(name)) throw new Error(`bad tap name '${name}'`);
  tool('ip', ['-n', lan.hub.name, 'tuntap', 'add', name, 'mode', 'tap']);
  tool('ip', ['-n', lan.hub.name, 'link', 'set', name, 'master', 'br0', 'up']);
}

/** Gives a LAN end an extra IPv6 address (e.g. "fd00:213::1/64"), usable at once (no DAD). */
export function addIpv6Address(end: LinkEnd, cidr: string): void {
  assertOwned(end.namespace);
  tool('ip', ['-n', end.namespace.name, '-6', 'addr', 'add', cidr, 'dev', end.ifname, 'nodad']);
}

/** Bytes an interface inside `ns` has transmitted so far (its kernel counter). */
export function txBytes(end: LinkEnd): number {
  const out = execFileSync('ip', ['-n', end.namespace.name, '-s', '-j', 'link', 'show', 'dev', end.ifname], {
    env: TOOL_ENV,
    timeout: TOOL_TIMEOUT_MS,
    encoding: 'utf8',
  });
  const [link] = JSON.parse(out) as Array<{ stats64: { tx: { bytes: number } } }>;
  if (!link) throw new Error(`no link ${end.ifname} in ${end.namespace.name}`);
  return link.stats64.tx.bytes;
}

/**
 * Drops the first IPv4 UDP datagram `ns` sends whose payload is exactly these 4 bytes (a TFTP ACK:
 * "00040000" is ACK 0), and no later one: one loss exactly where a test wants it. Returns the
 * rule's removal.
 */
export function dropFirstAck(ns: Namespace, payloadHex: string): () => void {
  assertOwned(ns);
  if (!/^[0-9a-f]{8}$/.test(payloadHex)) throw new Error(`bad 4-byte payload '${payloadHex}'`);
  // 32 bytes = IPv4 header (20, no options) + UDP header (8) + payload (4); the payload is at 28.
  // statistic nth with --packet 0 matches the first packet counted and then one in a million.
  const rule = ['OUTPUT', '-p', 'udp', '-m', 'length', '--length', '32', '-m', 'u32', '--u32', `28=0x${payloadHex}`,
    '-m', 'statistic', '--mode', 'nth', '--every', '1000000', '--packet', '0', '-j', 'DROP'];
  tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-A', ...rule]);
  return () => tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-D', ...rule]);
}

/** Appends `-p udp [-s SOURCE] -m statistic --mode random --probability P -j DROP` to a chain of `ns`. */
export function addRandomDrop(ns: Namespace, rule: RandomDropRule): void {
  assertOwned(ns);
  if (!(rule.probability > 0 && rule.probability <= 1)) throw new Error(`bad drop probability ${rule.probability}`);
  tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-A', rule.chain, '-p', rule.protocol,
    ...(rule.source === undefined ? [] : ['-s', rule.source]), '-m', 'statistic', '--mode', 'random', '--probability', String(rule.probability), '-j', 'DROP']);
}

/**
 * Throttles the UDP `ns` receives to `perSecond` datagrams a second (a burst of `burst`), the rest
 * dropped: a client on a slow link. `-m limit` then DROP at the end of INPUT. Returns the removal.
 */
export function throttleInboundUdp(ns: Namespace, perSecond: number, burst: number): () => void {
  assertOwned(ns);
  if (!(Number.isInteger(perSecond) && perSecond > 0 && Number.isInteger(burst) && burst > 0)) throw new Error(`bad throttle ${perSecond}/s burst ${burst}`);
  const accept = ['INPUT', '-p', 'udp', '-m', 'limit', '--limit', `${perSecond}/second`, '--limit-burst', String(burst), '-j', 'ACCEPT'];
  const drop = ['INPUT', '-p', 'udp', '-j', 'DROP'];
  tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-A', ...accept]);
  tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-A', ...drop]);
  return () => {
    tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-D', ...drop]);
    tool('ip', ['netns', 'exec', ns.name, 'iptables', '-w', '-D', ...accept]);
  };
}

/**
 * Runs a command to completion inside `ns` (null: the current namespace), capturing its output.
 * Never rejects for the command's own failure: see exitCode, signal and timedOut.
 */
export function runInNamespace(
  ns: Namespace | null,
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const started = performance.now();
  const child = spawnTracked(ns, command, args, options.cwd);
  const stdout = collectTail(child.stdout);
  const stderr = collectTail(child.stderr);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  return new Promise((resolve) => {
    child.on('error', (err) => stderr.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        ms: performance.now() - started,
      });
    });
  });
}

/** Starts a long-running process inside `ns` (null: the current namespace). */
export function spawnInNamespace(
  ns: Namespace | null,
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly onOutput?: (chunk: Buffer) => void } = {},
): ProcessHandle {
  const child = spawnTracked(ns, command, args, options.cwd);
  const output = collectTail(child.stdout);
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
  // Long runs (fuzzing, soak) read every line, not only the tail.
  if (options.onOutput) for (const stream of [child.stdout, child.stderr]) stream.on('data', options.onOutput);
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on('error', (err) => output.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  return {
    pid,
    exited,
    isRunning,
    outputTail: () => output.text(),
    async kill(graceMs = 2000) {
      if (!isRunning()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
}

/**
 * Kills every process started here that is still running (SIGKILL, by PID) and deletes every
 * namespace created here, which also removes their links and firewall rules. Idempotent and
 * synchronous, so it can run from an exit handler.
 */
export function teardown(): void {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  processes.clear();
  for (const name of [...namespaces]) deleteNamespace(name);
}

function spawnTracked(ns: Namespace | null, command: string, args: readonly string[], cwd: string | undefined) {
  if (ns) assertOwned(ns);
  registerCleanup();
  // `ip netns exec` execs the command in place, so the PID we get is the command's own.
  const [file, argv] = ns ? ['ip', ['netns', 'exec', ns.name, command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: TOOL_ENV, ...(cwd ? { cwd } : {}) });
  processes.add(child);
  child.on('close', () => processes.delete(child));
  return child;
}

function collectTail(stream: NodeJS.ReadableStream) {
  let chunks: Buffer[] = [];
  let size = 0;
  const push = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > 2 * OUTPUT_TAIL_BYTES) {
      const kept = Buffer.concat(chunks).subarray(-OUTPUT_TAIL_BYTES);
      chunks = [kept];
      size = kept.length;
    }
  };
  stream.on('data', push);
  return { push, text: () => Buffer.concat(chunks).subarray(-OUTPUT_TAIL_BYTES).toString('utf8') };
}

function configureEnd(end: LinkEnd): void {
  const ns = end.namespace.name;
  tool('ip', ['-n', ns, 'addr', 'add', `${end.address}/24`, 'dev', end.ifname]);
  tool('ip', ['-n', ns, 'link', 'set', end.ifname, 'up']);
}

function nextSubnet(): number {
  // Namespaces isolate the links, so reusing a subnet across processes is harmless.
  subnetCounter = (subnetCounter % 254) + 1;
  return subnetCounter;
}

function deleteNamespace(name: string): void {
  namespaces.delete(name);
  try {
    tool('ip', ['netns', 'del', name]);
  } catch {
    // Already gone: teardown must not fail halfway.
  }
}

function assertOwned(ns: Namespace): void {
  if (!namespaces.has(ns.name)) throw new Error(`namespace ${ns.name} was not created by this process`);
}

function tool(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: TOOL_ENV, timeout: TOOL_TIMEOUT_MS });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`${command} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

function registerCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.once('exit', teardown);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      teardown();
      // Exiting (rather than re-raising) lets other 'exit' handlers, e.g. temp-dir removal, run.
      process.exit(128 + constants.signals[signal]);
    });
  }
}
