// A UEFI PXE (or HTTP Boot, see `boot`) lab: one QEMU VM with Debian's OVMF (EDK2) firmware and a virtio-net NIC with no
// option ROM, so EDK2's own PXE stack (UefiPxeBcDxe + Mtftp4Dxe) boots, not iPXE. It asks for
// blksize=1468 and windowsize=4 over TFTP: the most common PXE client today. The VM sits on a tap
// in a bridge of namespaces this process creates, pxecast (full DHCP) in its own namespace.
//
// Boot order: the NIC has bootindex=1, which QEMU passes to OVMF as fw_cfg "bootorder", so EDK2
// tries PXEv4 on it first; the lab has no IPv6 router, and PXEv6 is never reached because PXEv4
// succeeds. Proof that the firmware ran what it fetched: by default the EFI binary is Debian's
// iPXE (ipxe.efi), whose banner appears on the serial console once EDK2 has started it; a plan
// may serve another payload instead (the Secure Boot chain of test/support/secure-boot-chain.ts).
//
// Secure Boot: OVMF's secboot build (SMM, q35) with the variable store Debian ships with
// Microsoft's keys enrolled (OVMF_VARS_4M.ms.fd), so only signed binaries start.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startDaemonIn } from './netns-daemon.js';
import { addTap, createBridge, createNamespace, runInNamespace, spawnInNamespace, type BridgedLan, type LinkEnd, type ProcessHandle } from './netns.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
/** The Secure Boot pair: the secboot build (needs SMM) and its 4 MiB store with Microsoft's KEK and db. */
export const OVMF_CODE_SECBOOT = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
export const OVMF_VARS_MS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';
export const IPXE_EFI = '/usr/lib/ipxe/ipxe.efi';
export const BOOT_FILE = 'bootx64.efi';

export interface UefiLabPlan {
  /** Folder for the TFTP root, config, NVRAM copy and console log; the caller removes it. */
  readonly workDir: string;
  /** Drop probability on pxecast's side for every non-DHCP UDP packet, in and out (0: none). */
  readonly tftpLoss: number;
  /** Random bytes appended to ipxe.efi up to this length (a PE loader ignores data after the
   *  sections): a boot file the size of a real bootloader+kernel bundle. */
  readonly bootFileBytes?: number;
  /** `pxe` (default): EDK2's PXEv4 over TFTP. `http`: UEFI HTTP Boot (HttpBootDxe) from the URL
   *  pxecast's DHCP gives an `HTTPClient`; OVMF's PXE entries are switched off through its fw_cfg
   *  knobs (opt/org.tianocore/IPv4PXESupport, IPv6PXESupport), so HTTPv4 is the first boot option. */
  readonly boot?: 'pxe' | 'http';
  /** What the lab serves (default: ipxe.efi padded to bootFileBytes, done at iPXE's banner). */
  readonly payload?: (server: UefiLabServer) => UefiPayload;
  /** OVMF's Secure Boot build with Microsoft's keys enrolled. */
  readonly secureBoot?: boolean;
  /** pxecast's HTTP port (default UEFI_LAB_HTTP_PORT). */
  readonly httpPort?: number;
  /** Guest RAM (default 256 MiB). */
  readonly memoryMiB?: number;
}

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

/** Why the lab cannot run here, or null. */
export function uefiLabMissing(qemu: string): string | null {
  for (const [file, pkg] of [[OVMF_CODE, 'ovmf'], [OVMF_VARS, 'ovmf'], [OVMF_CODE_SECBOOT, 'ovmf'], [OVMF_VARS_MS, 'ovmf'],
    [IPXE_EFI, 'ipxe'], [qemu, 'qemu-system-x86']] as const) {
    if (!existsSync(file)) return `${file} (Debian package ${pkg})`;
  }
  return null;
}

export interface UefiBootResult {
  /** The payload's end showed (iPXE: its banner, so EDK2 started the binary it fetched). */
  readonly finished: boolean;
  readonly ms: number;
  readonly console: string;
}

/** Debian's ipxe.efi with random bytes appended up to `bytes`; done once iPXE's banner shows. */
export function ipxePayload(bytes = 0): UefiPayload {
  const efi = readFileSync(IPXE_EFI);
  const image = Buffer.concat([efi, randomBytes(Math.max(0, bytes - efi.length))]);
  return { files: new Map([[BOOT_FILE, image]]), bootFile: BOOT_FILE, finished: ipxeStarted };
}

export class UefiLab {
  readonly payload: UefiPayload;
  private vm: ProcessHandle | null = null;
  private daemonHandle: ProcessHandle | null = null;

  private constructor(
    readonly plan: UefiLabPlan,
    private readonly qemu: string,
    private readonly lan: BridgedLan,
    readonly server: LinkEnd,
  ) {
    const reach = { address: this.server.address, httpPort: this.httpPort };
    this.payload = plan.payload ? plan.payload(reach) : ipxePayload(plan.bootFileBytes);
  }

  get httpPort(): number {
    return this.plan.httpPort ?? UEFI_LAB_HTTP_PORT;
  }

  /** The file the firmware fetches. */
  get bootImage(): Buffer {
    return this.payload.files.get(this.payload.bootFile)!;
  }

  static async start(plan: UefiLabPlan, qemu: string): Promise<UefiLab> {
    const serverNs = createNamespace('uefisrv');
    const lan = createBridge([serverNs]);
    addTap(lan, 'tap0');
    const lab = new UefiLab(plan, qemu, lan, lan.members[0]!);
    await lab.boot();
    return lab;
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
    for (const [path, data] of this.payload.files) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), data);
    }
    copyFileSync(this.plan.secureBoot ? OVMF_VARS_MS : OVMF_VARS, join(this.plan.workDir, 'vars.fd'));
    const p = this.server.address.split('.').slice(0, 3).join('.');
    const configFile = join(this.plan.workDir, 'pxecast.ini');
    writeFileSync(configFile, [
      '[log]', 'level = info',
      '[tftp]', `listen = ${this.server.address}`, `root = ${root}`,
      '[dhcp]', 'mode = full', `interface = ${this.server.address}`, 'lease_time = 1h',
      `state_file = ${join(this.plan.workDir, 'leases.json')}`,
      '[pool lab]', `first = ${p}.100`, `last = ${p}.149`, `router = ${this.server.address}`,
      // Always on: HTTP Boot's URL, and what a booted payload fetches over HTTP.
      '[http]', 'enabled = true', `listen = ${this.server.address}`, `port = ${this.httpPort}`,
      // DHCP option 93 = 7 (EFI x64): EDK2's PXEv4 gets this file; 16 (x64 HTTP Boot) its URL.
      '[image uefi]', `file = ${this.payload.bootFile}`, `http_file = ${this.payload.bootFile}`, 'arch = efi-x64', 'default = true', '',
    ].join('\n'));
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
    this.daemonHandle = await startDaemonIn(this.server.namespace, configFile, /pxecast started/, 20_000);
  }

  /** Powers the VM on and waits until the payload's end shows (or the VM stops, or the time is up). */
  async bootVm(timeoutMs: number): Promise<UefiBootResult> {
    writeFileSync(this.consoleFile, '');
    const started = performance.now();
    this.vm = spawnInNamespace(this.lan.hub, this.qemu, [
      '-accel', 'tcg', '-m', String(this.plan.memoryMiB ?? 256), '-display', 'none', '-vga', 'none', '-no-reboot',
      // The secboot build keeps its variable store behind SMM, so the OS cannot rewrite the keys.
      ...(this.plan.secureBoot ? ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${this.plan.secureBoot ? OVMF_CODE_SECBOOT : OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${join(this.plan.workDir, 'vars.fd')}`,
      ...(this.plan.boot === 'http'
        ? ['-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=no', '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no']
        : []),
      '-netdev', 'tap,id=lan,ifname=tap0,script=no,downscript=no',
      // romfile= (empty): no iPXE option ROM, EDK2's own virtio-net driver and PXE stack.
      '-device', 'virtio-net-pci,netdev=lan,mac=52:54:00:e2:ef:01,romfile=,bootindex=1',
      '-serial', `file:${this.consoleFile}`, '-monitor', 'none',
    ]);
    const deadline = started + timeoutMs;
    let text = this.console();
    while (!this.payload.finished(text) && this.vm.isRunning() && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      text = this.console();
    }
    const ms = performance.now() - started;
    await this.vm.kill(1000);
    text = this.console();
    return { finished: this.payload.finished(text), ms, console: text };
  }

  console(): string {
    return existsSync(this.consoleFile) ? readFileSync(this.consoleFile, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') : '';
  }

  async stop(): Promise<void> {
    await this.vm?.kill(1000);
    await this.daemonHandle?.kill();
  }
}

/** iPXE's banner: printed once the firmware has handed control to ipxe.efi. */
function ipxeStarted(console: string): boolean {
  return /iPXE \S+ -- Open Source Network Boot Firmware/.test(console) || /iPXE initialising devices/.test(console);
}
