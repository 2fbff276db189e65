// A PXE lab of real firmware: QEMU virtual machines with no disk, booting Debian's iPXE option ROM
// over tap devices on a bridge in network namespaces this process creates, from pxecast in its own
// namespace. Used by test/e2e and by scripts/lab.sh (through scripts/lab.mjs).
//
// Proof of the bytes: iPXE fetches test/e2e/checker (a tiny multiboot kernel, always over plain
// TFTP) and the image under test (over the scheme under test) as its module, then boots the
// checker, which prints the module's length and SHA-256 on COM1 and leaves QEMU through
// isa-debug-exit. The firmware's own "ok" is never trusted.
//
// Lab LAN (10.213.<n>.0/24 on one bridge):
//   .1    pxecast (full DHCP or proxyDHCP) + an IPv6 router advertiser (dnsmasq, RA only: iPXE
//         otherwise waits ~16 s for a router on every boot)
//   .2    the site's DHCP server (dnsmasq) in proxy mode
//   taps  one per VM, addresses from whichever server gives them
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoRoot } from './fixtures.js';
import { startDaemonIn } from './netns-daemon.js';
import { startSiteDhcp, type SiteServerKind } from './site-dhcp.js';
import {
  addIpv6Address,
  addTap,
  createBridge,
  createNamespace,
  runInNamespace,
  spawnInNamespace,
  type BridgedLan,
  type LinkEnd,
  type ProcessHandle,
} from './netns.js';

/** How iPXE fetches the image; `http`: the boot script itself is rendered per VM by pxecast's
 *  HTTP server (`ipxe_script`), and the checker and image come over HTTP too. */
export type BootScheme = 'tftp' | 'tftm' | 'mtftp' | 'http';
export type DhcpRole = 'full' | 'proxy';

export interface LabPlan {
  /** Folder for the TFTP root, configs and console logs; the caller removes it. */
  readonly workDir: string;
  readonly vms: number;
  readonly scheme: BootScheme;
  readonly dhcp: DhcpRole;
  /** The site's DHCP server beside pxecast in proxy mode (default dnsmasq). */
  readonly siteServer?: SiteServerKind;
  /** Size of the random test image. */
  readonly imageBytes: number;
  /** Fetches of the image before the one under test, each freed again (e.g. a plain `tftp`
   *  baseline, or a first `tftm` fetch that teaches the server something); the server's
   *  transfer lines time them. */
  readonly warmUpFetches?: readonly Exclude<BootScheme, 'http'>[];
  /** Extra settings by section, e.g. { multicast: { max_rate: '2' }, mtftp: { open_hold: '0' } }. */
  readonly settings?: Readonly<Partial<Record<'multicast' | 'mtftp', Readonly<Record<string, string>>>>>;
}

export interface QemuSetup {
  readonly qemu: string;
  /** Debian ipxe-qemu's BIOS PXE ROM for the e1000 NIC. */
  readonly rom: string;
}

export interface CheckerModule {
  readonly bytes: number;
  readonly sha256: string;
  readonly cmdline: string;
}

/** What one VM's serial console says so far. */
export interface ConsoleReport {
  readonly modules: readonly CheckerModule[];
  /** The checker ran to its end. */
  readonly done: boolean;
  /** The boot script gave up (a fetch failed). */
  readonly failed: boolean;
  /** iPXE's last progress line, e.g. "tftm://10.213.1.1/image.bin... 42%". */
  readonly progress: string;
  /** The IPv4 address iPXE configured, once it has one. */
  readonly address: string | undefined;
  /** The checker's block-tag lines: which blocks of a tagged image hold the wrong data. */
  readonly blockReport: readonly string[];
}

export interface VmResult {
  readonly index: number;
  readonly mac: string;
  readonly report: ConsoleReport;
  /** The module fetched over the scheme under test, if the checker saw it. */
  readonly image: CheckerModule | undefined;
  readonly ms: number;
  readonly timedOut: boolean;
  readonly consoleFile: string;
}

export const IMAGE_FILE = 'image.bin';
const CHECKER_FILE = 'checker.elf';
const SCRIPT_FILE = 'boot.ipxe';
const SCRIPT_TEMPLATE_FILE = 'boot.ipxe.tmpl';
export const LAB_HTTP_PORT = 8080;
const ROM_OVERRIDE = 'PXECAST_IPXE_ROM';
const DEFAULT_ROM = '/usr/lib/ipxe/qemu/pxe-e1000.rom';

/** Where QEMU and the iPXE ROM are, or why the lab cannot run here. */
export function findQemu(): QemuSetup | { readonly missing: string } {
  const rom = process.env[ROM_OVERRIDE] ?? DEFAULT_ROM;
  if (!existsSync(rom)) return { missing: `iPXE ROM ${rom} (Debian package ipxe-qemu)` };
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/bin'])) {
    const qemu = join(dir, 'qemu-system-x86_64');
    try {
      accessSync(qemu, constants.X_OK);
      return { qemu, rom };
    } catch {
      // next
    }
  }
  return { missing: 'qemu-system-x86_64 (Debian package qemu-system-x86)' };
}

/** Compiles the multiboot checker (gcc -m32 + ld) into `outFile`. */
export function buildChecker(outFile: string): void {
  const dir = join(repoRoot, 'test/e2e/checker');
  const object = `${outFile}.o`;
  execFileSync('gcc', ['-m32', '-ffreestanding', '-fno-pic', '-fno-stack-protector', '-fno-asynchronous-unwind-tables',
    '-O2', '-Wall', '-Wextra', '-Werror', '-c', join(dir, 'checker.c'), '-o', object], { stdio: 'pipe', timeout: 60_000 });
  execFileSync('ld', ['-m', 'elf_i386', '-T', join(dir, 'checker.ld'), '--build-id=none', '--no-warn-rwx-segments',
    '-o', outFile, object], { stdio: 'pipe', timeout: 60_000 });
}

/** Parses a console log: checker lines, the script's failure marker and iPXE's progress. */
export function parseConsole(raw: string): ConsoleReport {
  // iPXE redraws progress with backspaces and ANSI escapes; keep the text.
  const text = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  const modules: CheckerModule[] = [];
  for (const m of text.matchAll(/^pxecast-checker module=\d+ bytes=(\d+) sha256=([0-9a-f]{64}) cmdline=(.*)$/gm)) {
    modules.push({ bytes: Number(m[1]), sha256: m[2]!, cmdline: m[3]!.trim() });
  }
  const fetchLines = text.split('\n').filter((l) => /^(tftp|tftm|mtftp):\/\//.test(l));
  const last = fetchLines.at(-1) ?? '';
  const percents = [...last.matchAll(/(\d+)%/g)];
  const status = /\.\.\. ?(ok|[A-Z][^%]*?)\s*$/.exec(last.replace(/\x08/g, ''))?.[1];
  const url = last.split('...')[0] ?? '';
  const progress = !last ? '' : `${url}... ${status ?? (percents.length ? `${percents.at(-1)![1]}%` : '')}`.trim();
  return {
    modules,
    done: /^pxecast-checker done modules=\d+$/m.test(text),
    failed: /^pxecast-lab: FAILED/m.test(text),
    progress,
    address: /^net0: (\d+\.\d+\.\d+\.\d+)\//m.exec(text)?.[1],
    blockReport: text.match(/^pxecast-checker module=\d+ (?:wrong-block|tagged-blocks)=.*$/gm) ?? [],
  };
}

/**
 * Random bytes in which every 512-byte block (an MTFTP block) starts with "PXB" and its 0-based
 * index (u32 little-endian): the checker then names misplaced blocks, not only a bad hash.
 */
export function taggedImage(length: number): Buffer {
  const image = randomBytes(length);
  for (let offset = 0, index = 0; offset + 7 <= length; offset += 512, index++) {
    image.write('PXB', offset, 'latin1');
    image.writeUInt32LE(index, offset + 3);
  }
  return image;
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Runs the checker under QEMU's own multiboot loader (no network, no firmware) with `files` as
 * modules, and returns what it printed: proves the checker against node:crypto on its own.
 */
export async function runCheckerDirectly(setup: QemuSetup, checker: string, files: readonly string[], timeoutMs = 60_000): Promise<ConsoleReport> {
  const consoleFile = `${checker}.direct.log`;
  writeFileSync(consoleFile, '');
  const r = await runInNamespace(null, setup.qemu, [
    '-accel', 'tcg', '-m', '128', '-display', 'none', '-no-reboot', '-net', 'none',
    '-kernel', checker, '-initrd', files.join(','),
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-serial', `file:${consoleFile}`, '-monitor', 'none',
  ], { timeoutMs });
  // isa-debug-exit: status (value << 1) | 1, and the checker writes 0 when it is done.
  if (r.exitCode !== 1) throw new Error(`checker under QEMU: exit ${r.exitCode} ${r.signal ?? ''} ${r.stderr}`);
  return parseConsole(readFileSync(consoleFile, 'latin1'));
}

/** A running lab: pxecast (and in proxy mode the site's dnsmasq) on a bridge, VMs on taps. */
export class PxeLab {
  readonly image: Buffer;
  readonly imageSha256: string;
  readonly root: string;
  private readonly vmsRunning = new Map<number, { handle: ProcessHandle; started: number; consoleFile: string }>();
  private daemonHandle: ProcessHandle | null = null;
  private helpers: ProcessHandle[] = [];

  private constructor(
    readonly plan: LabPlan,
    private readonly setup: QemuSetup,
    private readonly lan: BridgedLan,
    readonly server: LinkEnd,
    private readonly site: LinkEnd,
  ) {
    this.root = join(plan.workDir, 'root');
    this.image = taggedImage(plan.imageBytes);
    this.imageSha256 = sha256Hex(this.image);
  }

  /** Builds the network, files and config, and starts pxecast (plus dnsmasq helpers). */
  static async start(plan: LabPlan, setup: QemuSetup): Promise<PxeLab> {
    const serverNs = createNamespace('pxesrv');
    const siteNs = createNamespace('site');
    const lan = createBridge([serverNs, siteNs]);
    for (let i = 0; i < plan.vms; i++) addTap(lan, `tap${i}`);
    const lab = new PxeLab(plan, setup, lan, lan.members[0]!, lan.members[1]!);
    await lab.boot();
    return lab;
  }

  get daemon(): ProcessHandle {
    if (!this.daemonHandle) throw new Error('pxecast is not running');
    return this.daemonHandle;
  }

  get subnetPrefix(): string {
    return this.server.address.split('.').slice(0, 3).join('.');
  }

  private async boot(): Promise<void> {
    mkdirSync(this.root, { recursive: true });
    buildChecker(join(this.root, CHECKER_FILE));
    writeFileSync(join(this.root, IMAGE_FILE), this.image);
    writeFileSync(join(this.root, SCRIPT_FILE), this.bootScript());
    if (this.plan.scheme === 'http') writeFileSync(join(this.root, SCRIPT_TEMPLATE_FILE), this.bootScriptTemplate());
    const configFile = join(this.plan.workDir, 'pxecast.ini');
    writeFileSync(configFile, this.config());

    addIpv6Address(this.server, 'fd00:213::1/64');
    this.helpers.push(spawnInNamespace(this.server.namespace, 'dnsmasq', [
      '--keep-in-foreground', '--user=root', '--port=0', '--no-resolv', '--no-hosts', '--log-facility=-',
      `--interface=${this.server.ifname}`, '--bind-interfaces', '--enable-ra',
      `--dhcp-range=::,constructor:${this.server.ifname},ra-only`,
      `--pid-file=${join(this.plan.workDir, 'ra.pid')}`,
    ]));
    if (this.plan.dhcp === 'proxy') {
      const p = this.subnetPrefix;
      this.helpers.push(await startSiteDhcp(this.site, { kind: this.plan.siteServer ?? 'dnsmasq', workDir: this.plan.workDir, first: `${p}.150`, last: `${p}.199` }));
    }
    this.daemonHandle = await startDaemonIn(this.server.namespace, configFile, /pxecast started/, 20_000);
  }

  /** For `http`: the script pxecast renders per VM; everything it names comes over HTTP. */
  private bootScriptTemplate(): string {
    return [
      '#!ipxe',
      `echo pxecast-lab: http fetch of ${IMAGE_FILE} for {{mac}} ({{arch}}) at {{ip}}`,
      `kernel {{base_url}}/${CHECKER_FILE} || goto failed`,
      `module {{base_url}}/${IMAGE_FILE} || goto failed`,
      'boot || goto failed',
      ':failed',
      'echo pxecast-lab: FAILED',
      '',
    ].join('\n');
  }

  /** The iPXE script: checker over plain TFTP, image over the scheme under test, then boot. */
  private bootScript(): string {
    const server = this.server.address;
    return [
      '#!ipxe',
      `echo pxecast-lab: ${this.plan.scheme} fetch of ${IMAGE_FILE}`,
      `kernel tftp://${server}/${CHECKER_FILE} || goto failed`,
      ...(this.plan.warmUpFetches ?? []).flatMap((scheme, i) => [
        `imgfetch --name warmup${i} ${scheme}://${server}/${IMAGE_FILE} || goto failed`,
        `imgfree warmup${i} || goto failed`,
      ]),
      `module ${this.plan.scheme}://${server}/${IMAGE_FILE} || goto failed`,
      'boot || goto failed',
      ':failed',
      'echo pxecast-lab: FAILED',
      '',
    ].join('\n');
  }

  private config(): string {
    const p = this.subnetPrefix;
    const extra = (section: 'multicast' | 'mtftp') =>
      [`[${section}]`, ...Object.entries(this.plan.settings?.[section] ?? {}).map(([k, v]) => `${k} = ${v}`)];
    return [
      '[log]',
      'level = info',
      '[tftp]',
      `listen = ${this.server.address}`,
      `root = ${this.root}`,
      ...extra('multicast'),
      ...extra('mtftp'),
      ...(this.plan.scheme === 'http' ? ['[http]', 'enabled = true', `listen = ${this.server.address}`, `port = ${LAB_HTTP_PORT}`] : []),
      '[dhcp]',
      `mode = ${this.plan.dhcp}`,
      `interface = ${this.server.address}`,
      'lease_time = 1h',
      `state_file = ${join(this.plan.workDir, 'leases.json')}`,
      ...(this.plan.dhcp === 'full'
        ? ['[pool lab]', `first = ${p}.100`, `last = ${p}.149`, `router = ${this.server.address}`]
        : []),
      // The image under test is the catalog image: MTFTP serves only catalog images, on the
      // channel iPXE has compiled in (239.255.1.1:3001, server port 1759: the default image's).
      '[image lab]',
      `file = ${IMAGE_FILE}`,
      `ipxe_file = ${SCRIPT_FILE}`,
      ...(this.plan.scheme === 'http' ? [`ipxe_script = ${SCRIPT_TEMPLATE_FILE}`] : []),
      'arch = bios',
      'default = true',
      'mtftp = true',
      '',
    ].join('\n');
  }

  macOf(index: number): string {
    return `52:54:00:e2:e0:${index.toString(16).padStart(2, '0')}`;
  }

  /** Powers on VM `index` (0-based): no disk, boots from the network through the iPXE ROM. */
  startVm(index: number): void {
    if (index < 0 || index >= this.plan.vms) throw new Error(`no VM ${index} in a lab of ${this.plan.vms}`);
    if (this.vmsRunning.has(index)) throw new Error(`VM ${index} already started`);
    const consoleFile = join(this.plan.workDir, `vm${index}.console.log`);
    writeFileSync(consoleFile, '');
    const handle = spawnInNamespace(this.lan.hub, this.setup.qemu, [
      '-accel', 'tcg', // KVM resets iPXE on this machine, and CI has none
      '-m', '128',
      '-nographic', '-vga', 'none', // SeaBIOS then mirrors the text console, iPXE's too, to COM1
      '-no-reboot',
      '-boot', 'n',
      '-netdev', `tap,id=lan,ifname=tap${index},script=no,downscript=no`,
      '-device', `e1000,netdev=lan,mac=${this.macOf(index)},romfile=${this.setup.rom}`,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-serial', `file:${consoleFile}`,
      '-monitor', 'none',
    ]);
    this.vmsRunning.set(index, { handle, started: performance.now(), consoleFile });
  }

  console(index: number): ConsoleReport {
    const vm = this.vmsRunning.get(index);
    return parseConsole(vm ? readFileSync(vm.consoleFile, 'latin1') : '');
  }

  isRunning(index: number): boolean {
    return this.vmsRunning.get(index)?.handle.isRunning() ?? false;
  }

  /** Waits until VM `index` has run the checker, failed, or powered off; then powers it off. */
  async waitForVm(index: number, timeoutMs: number): Promise<VmResult> {
    const vm = this.vmsRunning.get(index);
    if (!vm) throw new Error(`VM ${index} was not started`);
    const deadline = performance.now() + timeoutMs;
    let report = this.console(index);
    while (!report.done && !report.failed && vm.handle.isRunning() && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      report = this.console(index);
    }
    const ms = performance.now() - vm.started;
    await vm.handle.kill(1000);
    report = this.console(index);
    return {
      index,
      mac: this.macOf(index),
      report,
      image: report.modules.find((m) => m.cmdline.includes(`/${IMAGE_FILE}`)),
      ms,
      timedOut: !report.done && !report.failed && performance.now() >= deadline,
      consoleFile: vm.consoleFile,
    };
  }

  /** Stops VMs, pxecast and helpers (namespaces go with netns.teardown()). */
  async stop(): Promise<void> {
    await Promise.all([...this.vmsRunning.values()].map((vm) => vm.handle.kill(1000)));
    await this.daemonHandle?.kill();
    await Promise.all(this.helpers.map((h) => h.kill()));
  }
}
