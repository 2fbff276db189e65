// A UEFI PXE (or HTTP Boot, see `boot`) lab: one QEMU VM with Debian's EDK2 firmware and a virtio-net NIC with no
// option ROM, so EDK2's own PXE stack (UefiPxeBcDxe + Mtftp4Dxe) boots, not iPXE. It asks for
// blksize=1468 and windowsize=4 over TFTP: the most common PXE client today. The VM sits on a tap
// in a bridge of namespaces this process creates, pxecast in its own namespace: full DHCP, or
// proxyDHCP beside the site's DHCP server (dnsmasq or Kea, site-dhcp.ts) in a second one.
//
// Two machines (`machine`): x64, OVMF in qemu-system-x86_64 (DHCP arch 7, or 16 for HTTP Boot),
// and arm64, AAVMF (EDK2 ArmVirtQemu) in qemu-system-aarch64 `-M virt` (arch 11, or 19).
// Boot order: the NIC has bootindex=1, which QEMU passes to the firmware as fw_cfg "bootorder", so EDK2
// tries the NIC's entries first, in the order it creates them: PXEv4, PXEv6, HTTPv4, HTTPv6. The
// entries before the one under test are switched off through OVMF's fw_cfg knobs, except PXEv6
// before HTTPv6 (firmwareSwitches says why). Proof that the firmware ran what it fetched: on x64
// the EFI binary is Debian's iPXE (ipxe.efi), whose banner appears on the serial console once EDK2 has started it, or Debian's
// signed GRUB (grubnetx64.efi), whose config (GRUB_CONFIG) must come from pxecast: it prints a
// marker with a nonce written at test time and the network values GRUB holds, then halts; on arm64
// it is an application generated here (arm64-efi-app.ts) that prints a per-run nonce and the
// FNV-1a of its own loaded bytes, which the test compares with the value computed over the file served.
// A plan may serve another payload instead (the Secure Boot chain of test/support/secure-boot-chain.ts).
//
// Secure Boot: OVMF's secboot build (SMM, q35) with the variable store Debian ships with
// Microsoft's keys enrolled (OVMF_VARS_4M.ms.fd), so only signed binaries start.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { buildArm64EfiApp, parseArm64Proof, type Arm64EfiApp } from './arm64-efi-app.js';
import { startDaemonIn } from './netns-daemon.js';
import { addIpv6Address, addTap, createBridge, createNamespace, runInNamespace, spawnInNamespace, type BridgedLan, type LinkEnd, type ProcessHandle } from './netns.js';
import { GRUB_CONFIG, GRUB_NET_SIGNED as GRUB_EFI } from './secure-boot-chain.js';
import { startSiteDhcp, type SiteServerKind } from './site-dhcp.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
export const AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd';
export const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';
/** The Secure Boot pair: the secboot build (needs SMM) and its 4 MiB store with Microsoft's KEK and db. */
export const OVMF_CODE_SECBOOT = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
export const OVMF_VARS_MS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';
export const IPXE_EFI = '/usr/lib/ipxe/ipxe.efi';
export const BOOT_FILE = 'bootx64.efi';
export const ARM64_BOOT_FILE = 'bootaa64.efi';
/** The arm64 lab's default image, for every architecture the catalog does not list: the same kind
 *  of application with another nonce, so an ARM64 machine given it instead of its own prints a
 *  line that fails the comparison at once (rather than a file it cannot load, then a timeout). */
export const ARM64_DECOY_FILE = 'other.efi';

export type UefiMachine = 'x64' | 'arm64';

/** What differs between the two machines: QEMU, firmware, machine options, catalog architecture. */
interface MachineProfile {
  readonly qemuBinary: string;
  readonly qemuPackage: string;
  readonly code: string;
  readonly vars: string;
  readonly firmwarePackage: string;
  readonly machineArgs: readonly string[];
  readonly arch: 'efi-x64' | 'efi-arm64';
  readonly bootFile: string;
}

const MACHINES: Readonly<Record<UefiMachine, MachineProfile>> = {
  x64: {
    qemuBinary: 'qemu-system-x86_64', qemuPackage: 'qemu-system-x86', code: OVMF_CODE, vars: OVMF_VARS, firmwarePackage: 'ovmf',
    machineArgs: ['-vga', 'none'], arch: 'efi-x64', bootFile: BOOT_FILE,
  },
  arm64: {
    qemuBinary: 'qemu-system-aarch64', qemuPackage: 'qemu-system-arm', code: AAVMF_CODE, vars: AAVMF_VARS, firmwarePackage: 'qemu-efi-aarch64',
    // cortex-a57, not `max`: `max` brings pointer authentication, which TCG emulates slowly.
    machineArgs: ['-M', 'virt', '-cpu', 'cortex-a57'], arch: 'efi-arm64', bootFile: ARM64_BOOT_FILE,
  },
};


export interface UefiLabPlan {
  /** Folder for the TFTP root, config, NVRAM copy and console log; the caller removes it. */
  readonly workDir: string;
  /** Drop probability on pxecast's side for every non-DHCP UDP packet, in and out (0: none). */
  readonly tftpLoss: number;
  /** Random bytes appended to ipxe.efi up to this length (a PE loader ignores data after the
   *  sections): a boot file the size of a real bootloader+kernel bundle. */
  readonly bootFileBytes?: number;
  /** `pxe` (default): EDK2's PXE over TFTP. `http`: UEFI HTTP Boot (HttpBootDxe) from the URL
   *  pxecast's DHCP (or DHCPv6) gives an `HTTPClient`; the firmware's PXE entries are switched off through its fw_cfg
   *  knobs (opt/org.tianocore/IPv4PXESupport, IPv6PXESupport; OVMF and AAVMF alike), so HTTPv4 is
   *  the first boot option; in an `ipv6` lab PXEv6 (given no URL) runs before HTTPv6. */
  readonly boot?: 'pxe' | 'http';
  /** `x64` (default): OVMF, Debian's ipxe.efi. `arm64`: AAVMF and the generated ARM64 application
   *  carrying `bootFileBytes` of random payload. */
  readonly machine?: UefiMachine;
  /** `full` (default): pxecast gives address and boot file. `proxy`: the site server gives the
   *  address, pxecast (proxyDHCP) the boot file. */
  readonly dhcp?: 'full' | 'proxy';
  /** In proxy mode: the site's DHCP server (default dnsmasq) ... */
  readonly siteServer?: SiteServerKind;
  /** ... and whether it applies the GRUB recipe: next-server = pxecast for PXE clients. */
  readonly siteNextServer?: boolean;
  /** What BOOT_FILE is: `ipxe` (default) ipxe.efi padded to bootFileBytes, `grub` Debian's signed
   *  GRUB with GRUB_CONFIG beside it. */
  readonly loader?: 'ipxe' | 'grub';
  /** `ipv6`: an IPv6-only lab link (the server's IPv4 address removed), pxecast's stateful
   *  `[dhcp6]`, TFTP/HTTP on `::`; OVMF's IPv4 stack is switched off through its fw_cfg knob
   *  (opt/org.tianocore/IPv4Support), so it has no IPv4 boot entries at all. */
  readonly family?: 'ipv4' | 'ipv6';
  /** What the lab serves (default: ipxe.efi padded to bootFileBytes, done at iPXE's banner). */
  readonly payload?: (server: UefiLabServer) => UefiPayload;
  /** OVMF's Secure Boot build with Microsoft's keys enrolled. */
  readonly secureBoot?: boolean;
  /** pxecast's HTTP port (default UEFI_LAB_HTTP_PORT). */
  readonly httpPort?: number;
  /** Guest RAM (default 256 MiB). */
  readonly memoryMiB?: number;
}

/** The lab server's IPv6 address in `ipv6` mode. */
export const UEFI_LAB_SERVER6 = 'fd00:213:6::1';

/** Where the payload's later stages find pxecast. */
export interface UefiLabServer {
  readonly address: string;
  readonly httpPort: number;
}

/** The files a lab serves and how it knows the VM has done its job. */
export interface UefiPayload {
  /** By path under the served root. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** What the firmware fetches and starts: the image's `file` (PXE) and `http_file` (HTTP Boot). */
  readonly bootFile: string;
  /** The console shows the payload's end (or that it is stuck): the VM is stopped then. */
  finished(console: string): boolean;
}

/** The lab's default HTTP port: HTTP Boot's URL, and what a payload fetches over HTTP. */
export const UEFI_LAB_HTTP_PORT = 8080;

/** Where the QEMU binary for `machine` is on PATH, or null. */
export function uefiQemu(machine: UefiMachine): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/bin'])) {
    const qemu = join(dir, MACHINES[machine].qemuBinary);
    try {
      accessSync(qemu, constants.X_OK);
      return qemu;
    } catch {
      // next
    }
  }
  return null;
}

/** Why the lab cannot run here, or null. */
export function uefiLabMissing(qemu: string | null, machine: UefiMachine = 'x64'): string | null {
  const m = MACHINES[machine];
  if (qemu === null || !existsSync(qemu)) return `${m.qemuBinary} (Debian package ${m.qemuPackage})`;
  const files: Array<readonly [string, string]> = [[m.code, m.firmwarePackage], [m.vars, m.firmwarePackage]];
  if (machine === 'x64') files.push([OVMF_CODE_SECBOOT, 'ovmf'], [OVMF_VARS_MS, 'ovmf'], [IPXE_EFI, 'ipxe'], [GRUB_EFI, 'grub-efi-amd64-signed']);
  for (const [file, pkg] of files) {
    if (!existsSync(file)) return `${file} (Debian package ${pkg})`;
  }
  return null;
}

export interface UefiBootResult {
  /** The loader's proof appeared: iPXE's banner (x64: EDK2 started the binary it fetched), the
   *  marker of GRUB_CONFIG (GRUB read its config from pxecast and ran it), the ARM64 app's line, or
   *  the end of a plan's own payload. */
  readonly started: boolean;
  /** arm64: what the application printed (nonce and checksum), if it ran. */
  readonly proof: { readonly nonce: string; readonly checksum: string } | null;
  readonly ms: number;
  readonly console: string;
}

/** What the GRUB_CONFIG marker line reports, once GRUB has run the config. */
export interface GrubMarker {
  readonly nonce: string;
  /** GRUB's `$root`, e.g. `tftp,10.213.4.1`: the server GRUB took from the firmware. */
  readonly root: string;
  readonly server: string;
  readonly ip: string;
}

/** Debian's ipxe.efi with random bytes appended up to `bytes`. */
function paddedIpxe(bytes = 0): Buffer {
  const efi = readFileSync(IPXE_EFI);
  return Buffer.concat([efi, randomBytes(Math.max(0, bytes - efi.length))]);
}

export class UefiLab {
  readonly bootImage: Buffer;
  /** A plan's own payload (files, boot file, when it is done), or null for the built-in loaders. */
  readonly payload: UefiPayload | null;
  /** arm64: the application served, with the nonce and checksum it must print. */
  readonly arm64App: Arm64EfiApp | null;
  private readonly profile: MachineProfile;
  /** Written into GRUB_CONFIG's marker: only a config read from this lab's pxecast prints it. */
  readonly grubNonce = randomBytes(8).toString('hex');
  readonly grubConfig: Buffer;
  private vm: ProcessHandle | null = null;
  private daemonHandle: ProcessHandle | null = null;
  private siteHandle: ProcessHandle | null = null;

  private constructor(
    readonly plan: UefiLabPlan,
    private readonly qemu: string,
    private readonly lan: BridgedLan,
    readonly server: LinkEnd,
    private readonly site: LinkEnd | null,
  ) {
    this.profile = MACHINES[plan.machine ?? 'x64'];
    this.payload = plan.payload ? plan.payload({ address: this.server.address, httpPort: this.httpPort }) : null;
    this.arm64App = plan.machine === 'arm64' ? buildArm64EfiApp(randomBytes(4).toString('hex'), randomBytes(plan.bootFileBytes ?? 0)) : null;
    if (this.payload) this.bootImage = this.payload.files.get(this.payload.bootFile)!;
    else if (this.arm64App) this.bootImage = this.arm64App.image;
    else if (plan.loader === 'grub') this.bootImage = readFileSync(GRUB_EFI);
    else this.bootImage = paddedIpxe(plan.bootFileBytes);
    // Two short lines: the firmware console wraps at 80 columns. `halt` powers the VM off (QEMU
    // exits), so a run ends as soon as GRUB has acted on the config.
    this.grubConfig = Buffer.from([
      `echo "pxecast-grub nonce=${this.grubNonce} root=$root"`,
      `echo "pxecast-grub server=$net_default_server ip=$net_default_ip"`,
      'halt',
      '',
    ].join('\n'));
  }

  get httpPort(): number {
    return this.plan.httpPort ?? UEFI_LAB_HTTP_PORT;
  }

  /** The boot file's name in the TFTP root (and its HTTP path). */
  get bootFile(): string {
    return this.payload?.bootFile ?? this.profile.bootFile;
  }

  static async start(plan: UefiLabPlan, qemu: string): Promise<UefiLab> {
    const serverNs = createNamespace('uefisrv');
    const proxy = plan.dhcp === 'proxy';
    const lan = createBridge(proxy ? [serverNs, createNamespace('uefisite')] : [serverNs]);
    addTap(lan, 'tap0');
    const lab = new UefiLab(plan, qemu, lan, lan.members[0]!, proxy ? lan.members[1]! : null);
    if (plan.family === 'ipv6') {
      const end = lab.server;
      const del = await runInNamespace(end.namespace, 'ip', ['addr', 'del', `${end.address}/24`, 'dev', end.ifname], { timeoutMs: 5000 });
      if (del.exitCode !== 0) throw new Error(`ip addr del: ${del.stderr}`);
      addIpv6Address(end, `${UEFI_LAB_SERVER6}/64`);
      await linkLocalReady(end);
    }
    await lab.boot();
    return lab;
  }

  /** The site server's output (proxy mode). */
  get siteLog(): string {
    return this.siteHandle?.outputTail() ?? '';
  }

  get daemon(): ProcessHandle {
    if (!this.daemonHandle) throw new Error('pxecast is not running');
    return this.daemonHandle;
  }

  private get consoleFile(): string {
    return join(this.plan.workDir, 'vm.console.log');
  }

  private async boot(): Promise<void> {
    const root = join(this.plan.workDir, 'root');
    mkdirSync(root, { recursive: true });
    for (const [path, data] of this.payload?.files ?? new Map([[this.bootFile, this.bootImage]])) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), data);
    }
    if (this.plan.loader === 'grub') {
      mkdirSync(join(root, 'grub'), { recursive: true });
      writeFileSync(join(root, GRUB_CONFIG), this.grubConfig);
    }
    copyFileSync(this.plan.secureBoot ? OVMF_VARS_MS : this.profile.vars, join(this.plan.workDir, 'vars.fd'));
    const p = this.server.address.split('.').slice(0, 3).join('.');
    const configFile = join(this.plan.workDir, 'pxecast.ini');
    const proxy = this.plan.dhcp === 'proxy';
    const ipv6 = this.plan.family === 'ipv6';
    writeFileSync(configFile, ipv6 ? [
      '[log]', 'level = debug',
      '[tftp]', 'listen = ::', `root = ${root}`,
      '[mtftp]', 'enabled = false',
      '[dhcp6]', 'mode = stateful', `address = ${UEFI_LAB_SERVER6}`, `link = ${this.server.ifname}`,
      'pool_first = fd00:213:6::100', 'pool_last = fd00:213:6::1ff', `state_file = ${join(this.plan.workDir, 'leases6.json')}`,
      '[http]', 'enabled = true', 'listen = ::', `port = ${this.httpPort}`,
      ...this.images(),
    ].join('\n') : [
      '[log]', 'level = info',
      '[tftp]', `listen = ${this.server.address}`, `root = ${root}`,
      '[dhcp]', `mode = ${proxy ? 'proxy' : 'full'}`, `interface = ${this.server.address}`, 'lease_time = 1h',
      `state_file = ${join(this.plan.workDir, 'leases.json')}`,
      ...(proxy ? [] : ['[pool lab]', `first = ${p}.100`, `last = ${p}.149`, `router = ${this.server.address}`]),
      // Always on: HTTP Boot's URL, and what a booted payload fetches over HTTP.
      '[http]', 'enabled = true', `listen = ${this.server.address}`, `port = ${this.httpPort}`,
      ...this.images(),
    ].join('\n'));
    if (this.plan.machine === 'arm64') writeFileSync(join(root, ARM64_DECOY_FILE), buildArm64EfiApp('decoy', Buffer.alloc(0)).image);
    if (this.plan.tftpLoss > 0) {
      // Loss on pxecast's side of the link for TFTP only (DHCP keeps its own retry pace out of
      // the measurement): ACKs and requests in, DATA and OACKs out. A drop in OUTPUT fails
      // sendto() with EPERM: to the client that is a lost datagram all the same.
      const ns = this.server.namespace.name;
      for (const [chain, port] of [['INPUT', '--dport'], ['OUTPUT', '--sport']] as const) {
        const r = await runInNamespace(null, 'ip', ['netns', 'exec', ns, 'iptables', '-w', '-A', chain, '-p', 'udp', '!', port, '67',
          '-m', 'statistic', '--mode', 'random', '--probability', String(this.plan.tftpLoss), '-j', 'DROP'], { timeoutMs: 10_000 });
        if (r.exitCode !== 0) throw new Error(`iptables ${chain}: ${r.stderr}`);
      }
    }
    if (this.site) {
      this.siteHandle = await startSiteDhcp(this.site, {
        kind: this.plan.siteServer ?? 'dnsmasq',
        workDir: this.plan.workDir,
        first: `${p}.150`,
        last: `${p}.199`,
        ...(this.plan.siteNextServer ? { bootServer: this.server.address } : {}),
      });
    }
    this.daemonHandle = await startDaemonIn(this.server.namespace, configFile, /pxecast started/, 20_000);
  }

  /** The catalog: the machine's image by architecture (DHCP option 93 = 7 or 11: EDK2's PXEv4
   *  gets this file; 16 or 19, HTTP Boot, its URL). On x64 it is also the default image; on arm64
   *  the default is the decoy, so only the architecture rule gives the ARM64 image. */
  private images(): string[] {
    if (this.plan.family === 'ipv6' && this.plan.boot === 'http') {
      // HTTP Boot clients only (arch 16): the firmware's PXEv6 entry, which runs before HTTPv6,
      // gets an address but no boot URL and gives up (see firmwareSwitches for why it must run).
      return ['[image uefi-http]', `file = ${this.bootFile}`, `http_file = ${this.bootFile}`, 'arch = efi-x64-http', ''];
    }
    const image = ['[image uefi]', `file = ${this.bootFile}`, `http_file = ${this.bootFile}`, `arch = ${this.profile.arch}`];
    if (this.plan.machine !== 'arm64') return [...image, 'default = true', ''];
    return ['[image other]', `file = ${ARM64_DECOY_FILE}`, 'arch = efi-x64', 'default = true', ...image, ''];
  }

  /** Powers the VM on and waits until the loader's proof shows, the firmware or GRUB gives up,
   *  the VM stops, or the time is up. */
  async bootVm(timeoutMs: number): Promise<UefiBootResult> {
    writeFileSync(this.consoleFile, '');
    const started = performance.now();
    this.vm = spawnInNamespace(this.lan.hub, this.qemu, [
      '-accel', 'tcg', '-m', String(this.plan.memoryMiB ?? 256), '-display', 'none', ...this.profile.machineArgs, '-no-reboot',
      // The secboot build keeps its variable store behind SMM, so the OS cannot rewrite the keys.
      ...(this.plan.secureBoot ? ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${this.plan.secureBoot ? OVMF_CODE_SECBOOT : this.profile.code}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${join(this.plan.workDir, 'vars.fd')}`,
      ...firmwareSwitches(this.plan.boot ?? 'pxe', this.plan.family ?? 'ipv4').flatMap((knob) => ['-fw_cfg', `name=opt/org.tianocore/${knob},string=no`]),
      '-netdev', 'tap,id=lan,ifname=tap0,script=no,downscript=no',
      // romfile= (empty): no iPXE option ROM, EDK2's own virtio-net driver and PXE stack.
      '-device', 'virtio-net-pci,netdev=lan,mac=52:54:00:e2:ef:01,romfile=,bootindex=1',
      '-serial', `file:${this.consoleFile}`, '-monitor', 'none',
    ]);
    const deadline = started + timeoutMs;
    const proven = (text: string) => (this.payload ? this.payload.finished(text) : this.arm64App ? parseArm64Proof(text) !== null : this.plan.loader === 'grub' ? this.grubMarker(text) !== null : ipxeStarted(text));
    let text = this.console();
    while (!proven(text) && !firmwareGaveUp(text, bootOptionName(this.plan.boot ?? 'pxe', this.plan.family ?? 'ipv4')) && !grubGaveUp(text) && this.vm.isRunning() && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      text = this.console();
    }
    const ms = performance.now() - started;
    await this.vm.kill(1000);
    text = this.console();
    return { started: proven(text), proof: this.arm64App ? parseArm64Proof(text) : null, ms, console: text };
  }

  /** The marker GRUB_CONFIG prints, if it ran (with this lab's nonce). */
  grubMarker(console: string): GrubMarker | null {
    const m = new RegExp(`^pxecast-grub nonce=${this.grubNonce} root=(\\S*)\\s*^pxecast-grub server=(\\S*) ip=(\\S*)`, 'm').exec(console);
    return m ? { nonce: this.grubNonce, root: m[1]!, server: m[2]!, ip: m[3]! } : null;
  }

  console(): string {
    return existsSync(this.consoleFile) ? readFileSync(this.consoleFile, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') : '';
  }

  async stop(): Promise<void> {
    await this.vm?.kill(1000);
    await this.daemonHandle?.kill();
    await this.siteHandle?.kill();
  }
}

/** The fw_cfg knobs (opt/org.tianocore/NAME = no) that leave the option under test first among
 *  the NIC's boot options, which EDK2 creates in the order PXEv4, PXEv6, HTTPv4, HTTPv6.
 *  IPv4Support keeps Ip4Dxe from starting (OvmfPkg/NetworkComponents.dsc.inc): an IPv6 lab's
 *  firmware has no IPv4 stack, hence no IPv4 entry at all (an HTTPv4 entry would spend 60 s on
 *  DHCPv4 retries, 4+8+16+32 s in HttpBootDhcp4.c, before HTTPv6 ran). */
function firmwareSwitches(boot: 'pxe' | 'http', family: 'ipv4' | 'ipv6'): string[] {
  if (family === 'ipv6') {
    // PXEv6 stays on before HTTPv6: OVMF 2022.11's HttpBootDxe starts DHCPv6 without waiting for
    // the link-local address's duplicate address detection, and a fresh NIC's first IPv6 boot
    // option then fails at once (Dhcp6->Start: EFI_NO_MAPPING, no SOLICIT sent; EDK2 fixed it in
    // 2025, commit 11f1d28bcb). PxeBcDxe waits for DAD, so after a PXEv6 attempt HTTPv6 works.
    return ['IPv4Support'];
  }
  return boot === 'http' ? ['IPv4PXESupport', 'IPv6PXESupport'] : [];
}

/** How EDK2 names the boot option under test: `UEFI PXEv4 (MAC:...)`, `UEFI HTTPv6 (MAC:...)`. */
function bootOptionName(boot: 'pxe' | 'http', family: 'ipv4' | 'ipv6'): string {
  return `${boot === 'http' ? 'HTTP' : 'PXE'}${family === 'ipv6' ? 'v6' : 'v4'}`;
}

/** EDK2 reported that the boot option under test (its first: the NIC has bootindex=1) failed,
 *  or its boot manager fell through to its menu (UiApp): nothing the lab serves will run now.
 *  Without this a failed boot would wait for the firmware's other options (PXEv6, HTTP) to time
 *  out, then for the deadline. */
function firmwareGaveUp(console: string, option: string): boolean {
  return new RegExp(`BdsDxe: failed to (?:load|start) Boot[0-9A-F]{4} "UEFI ${option} `).test(console) || /BdsDxe: starting Boot[0-9A-F]{4} "UiApp"/.test(console);
}

/** GRUB found no config to run and waits at its shell: nothing more will happen. */
function grubGaveUp(console: string): boolean {
  return /^grub> ?/m.test(console) || /^grub rescue> ?/m.test(console);
}

/** Waits until the interface's link-local address has finished duplicate address detection. */
async function linkLocalReady(end: LinkEnd): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await runInNamespace(end.namespace, 'ip', ['-6', 'addr', 'show', 'dev', end.ifname, 'scope', 'link'], { timeoutMs: 5000 });
    if (/inet6 fe80::/.test(r.stdout) && !/tentative/.test(r.stdout)) return;
    if (Date.now() > deadline) throw new Error(`no usable link-local address on ${end.ifname}: ${r.stdout}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** iPXE's banner: printed once the firmware has handed control to ipxe.efi. */
function ipxeStarted(console: string): boolean {
  return /iPXE \S+ -- Open Source Network Boot Firmware/.test(console) || /iPXE initialising devices/.test(console);
}
