// A UEFI PXE (or HTTP Boot, see `boot`) lab: one QEMU VM with Debian's OVMF (EDK2) firmware and a virtio-net NIC with no
// option ROM, so EDK2's own PXE stack (UefiPxeBcDxe + Mtftp4Dxe) boots, not iPXE. It asks for
// blksize=1468 and windowsize=4 over TFTP: the most common PXE client today. The VM sits on a tap
// in a bridge of namespaces this process creates, pxecast (full DHCP) in its own namespace.
//
// Boot order: the NIC has bootindex=1, which QEMU passes to OVMF as fw_cfg "bootorder", so EDK2
// tries PXEv4 on it first; the lab has no IPv6 router, and PXEv6 is never reached because PXEv4
// succeeds. Proof that the firmware ran what it fetched: the EFI binary is Debian's iPXE
// (ipxe.efi), whose banner appears on the serial console once EDK2 has started it.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemonIn } from './netns-daemon.js';
import { addIpv6Address, addTap, createBridge, createNamespace, runInNamespace, spawnInNamespace, type BridgedLan, type LinkEnd, type ProcessHandle } from './netns.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
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
  /** `ipv6`: an IPv6-only lab link (the server's IPv4 address removed), pxecast's stateful
   *  `[dhcp6]`, TFTP/HTTP on `::`; OVMF's IPv4 entries are switched off through its fw_cfg knobs. */
  readonly family?: 'ipv4' | 'ipv6';
}

/** The lab server's IPv6 address in `ipv6` mode. */
export const UEFI_LAB_SERVER6 = 'fd00:213:6::1';

/** The lab's HTTP port in `http` mode. */
export const UEFI_LAB_HTTP_PORT = 8080;

/** Why the lab cannot run here, or null. */
export function uefiLabMissing(qemu: string): string | null {
  for (const [file, pkg] of [[OVMF_CODE, 'ovmf'], [OVMF_VARS, 'ovmf'], [IPXE_EFI, 'ipxe'], [qemu, 'qemu-system-x86']] as const) {
    if (!existsSync(file)) return `${file} (Debian package ${pkg})`;
  }
  return null;
}

export interface UefiBootResult {
  /** iPXE's banner appeared: EDK2 started the binary it fetched. */
  readonly started: boolean;
  readonly ms: number;
  readonly console: string;
}

export class UefiLab {
  readonly bootImage: Buffer;
  private vm: ProcessHandle | null = null;
  private daemonHandle: ProcessHandle | null = null;

  private constructor(
    readonly plan: UefiLabPlan,
    private readonly qemu: string,
    private readonly lan: BridgedLan,
    readonly server: LinkEnd,
  ) {
    const efi = readFileSync(IPXE_EFI);
    this.bootImage = Buffer.concat([efi, randomBytes(Math.max(0, (plan.bootFileBytes ?? 0) - efi.length))]);
  }

  static async start(plan: UefiLabPlan, qemu: string): Promise<UefiLab> {
    const serverNs = createNamespace('uefisrv');
    const lan = createBridge([serverNs]);
    addTap(lan, 'tap0');
    const lab = new UefiLab(plan, qemu, lan, lan.members[0]!);
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
    writeFileSync(join(root, BOOT_FILE), this.bootImage);
    copyFileSync(OVMF_VARS, join(this.plan.workDir, 'vars.fd'));
    const p = this.server.address.split('.').slice(0, 3).join('.');
    const configFile = join(this.plan.workDir, 'pxecast.ini');
    const ipv6 = this.plan.family === 'ipv6';
    writeFileSync(configFile, ipv6 ? [
      '[log]', 'level = debug',
      '[tftp]', 'listen = ::', `root = ${root}`,
      '[mtftp]', 'enabled = false',
      '[dhcp6]', 'mode = stateful', `address = ${UEFI_LAB_SERVER6}`, `link = ${this.server.ifname}`,
      'pool_first = fd00:213:6::100', 'pool_last = fd00:213:6::1ff', `state_file = ${join(this.plan.workDir, 'leases6.json')}`,
      ...(this.plan.boot === 'http' ? ['[http]', 'enabled = true', 'listen = ::', `port = ${UEFI_LAB_HTTP_PORT}`] : []),
      '[image uefi]', `file = ${BOOT_FILE}`, `http_file = ${BOOT_FILE}`, 'arch = efi-x64', 'default = true', '',
    ].join('\n') : [
      '[log]', 'level = info',
      '[tftp]', `listen = ${this.server.address}`, `root = ${root}`,
      '[dhcp]', 'mode = full', `interface = ${this.server.address}`, 'lease_time = 1h',
      `state_file = ${join(this.plan.workDir, 'leases.json')}`,
      '[pool lab]', `first = ${p}.100`, `last = ${p}.149`, `router = ${this.server.address}`,
      ...(this.plan.boot === 'http' ? ['[http]', 'enabled = true', `listen = ${this.server.address}`, `port = ${UEFI_LAB_HTTP_PORT}`] : []),
      // DHCP option 93 = 7 (EFI x64): EDK2's PXEv4 gets this file; 16 (x64 HTTP Boot) its URL.
      '[image uefi]', `file = ${BOOT_FILE}`, `http_file = ${BOOT_FILE}`, 'arch = efi-x64', 'default = true', '',
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

  /** Powers the VM on and waits until iPXE's banner shows (or the VM stops, or the time is up). */
  async bootVm(timeoutMs: number): Promise<UefiBootResult> {
    writeFileSync(this.consoleFile, '');
    const started = performance.now();
    this.vm = spawnInNamespace(this.lan.hub, this.qemu, [
      '-accel', 'tcg', '-m', '256', '-display', 'none', '-vga', 'none', '-no-reboot',
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${join(this.plan.workDir, 'vars.fd')}`,
      ...(this.plan.boot === 'http' || this.plan.family === 'ipv6'
        ? ['-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=no']
        : []),
      ...(this.plan.boot === 'http' ? ['-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no'] : []),
      '-netdev', 'tap,id=lan,ifname=tap0,script=no,downscript=no',
      // romfile= (empty): no iPXE option ROM, EDK2's own virtio-net driver and PXE stack.
      '-device', 'virtio-net-pci,netdev=lan,mac=52:54:00:e2:ef:01,romfile=,bootindex=1',
      '-serial', `file:${this.consoleFile}`, '-monitor', 'none',
    ]);
    const deadline = started + timeoutMs;
    let text = this.console();
    while (!ipxeStarted(text) && this.vm.isRunning() && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      text = this.console();
    }
    const ms = performance.now() - started;
    await this.vm.kill(1000);
    text = this.console();
    return { started: ipxeStarted(text), ms, console: text };
  }

  console(): string {
    return existsSync(this.consoleFile) ? readFileSync(this.consoleFile, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') : '';
  }

  async stop(): Promise<void> {
    await this.vm?.kill(1000);
    await this.daemonHandle?.kill();
  }
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
