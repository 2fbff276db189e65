// The lab imaging flow, end to end: diskless QEMU VMs (SeaBIOS with Debian's iPXE option ROM for
// virtio-net, software emulation) boot from pxecast (address and boot script by DHCP, Debian's
// kernel and an initramfs over TFTP), and the booted Linux (imaging-payload.ts) fetches the image
// by RFC 2090 multicast with the real atftp client, as a lab's imaging step does after PXE.
//
// The VMs sit on taps in a bridge of namespaces this process creates, pxecast in its own
// namespace (the same LAN as pxe-lab.ts), every link with the plan's MTU (an imaging network with
// jumbo frames: a block of 8192 bytes in one frame). pxecast's `[multicast] min_clients` is the number of VMs,
// so the session starts as soon as every VM has joined, however far apart they booted (a lab
// would schedule it the same way); `start_delay` bounds that wait.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debianKernel, initramfsMissing } from './initramfs.js';
import { ATFTP, imagingInitramfs, parseImagingConsole, type ImagingReport } from './imaging-payload.js';
import { PAYLOAD_CMDLINE } from './linux-payload.js';
import { startDaemonIn } from './netns-daemon.js';
import { addTap, createBridge, createNamespace, runInNamespace, spawnInNamespace, type BridgedLan, type LinkEnd, type Namespace, type ProcessHandle } from './netns.js';
import { sha256Hex } from './pxe-lab.js';

/** Debian ipxe-qemu's BIOS PXE ROM for virtio-net (the Linux side then uses virtio_net). */
export const VIRTIO_PXE_ROM = '/usr/lib/ipxe/qemu/pxe-virtio.rom';
export const IMAGING_FILE = 'image.bin';
const KERNEL_FILE = 'vmlinuz';
const INITRD_FILE = 'initrd.gz';
const SCRIPT_FILE = 'boot.ipxe';

export interface ImagingLabPlan {
  /** Folder for the TFTP root, config and console logs; the caller removes it. */
  readonly workDir: string;
  readonly vms: number;
  /** Size of the random image. */
  readonly imageBytes: number;
  /** The block size atftp asks for (pxecast's `max_blksize` too). */
  readonly blksize: number;
  /** MTU of every link, the guests' too (1500: plain Ethernet; 9000: jumbo frames). */
  readonly mtu: number;
  /** Guest RAM: the image lands in a tmpfs. */
  readonly memoryMiB: number;
  /** The longest a session waits for all VMs before it starts with those it has. */
  readonly gatherLimitS: number;
  /** More `[multicast]` settings, e.g. { enabled: 'false' }. */
  readonly multicast?: Readonly<Record<string, string>>;
}

export interface ImagingVmResult {
  readonly index: number;
  readonly mac: string;
  readonly report: ImagingReport;
  readonly ms: number;
  readonly timedOut: boolean;
  readonly console: string;
}

/** Why the lab cannot run here, or null. */
export function imagingLabMissing(): string | null {
  if (!existsSync(VIRTIO_PXE_ROM)) return `${VIRTIO_PXE_ROM} (Debian package ipxe-qemu)`;
  if (!existsSync(ATFTP)) return `${ATFTP} (Debian package atftp)`;
  return initramfsMissing();
}

export class ImagingLab {
  readonly image: Buffer;
  readonly imageSha256: string;
  private readonly vms = new Map<number, { handle: ProcessHandle; started: number; consoleFile: string }>();
  private readonly daemonOutput: Buffer[] = [];
  private daemonHandle: ProcessHandle | null = null;

  private constructor(
    readonly plan: ImagingLabPlan,
    private readonly qemu: string,
    private readonly lan: BridgedLan,
    readonly server: LinkEnd,
  ) {
    this.image = randomBytes(plan.imageBytes);
    this.imageSha256 = sha256Hex(this.image);
  }

  static async start(plan: ImagingLabPlan, qemu: string): Promise<ImagingLab> {
    const lan = createBridge([createNamespace('imgsrv')]);
    for (let i = 0; i < plan.vms; i++) addTap(lan, `tap${i}`);
    const lab = new ImagingLab(plan, qemu, lan, lan.members[0]!);
    // The ports first: a bridge takes no MTU above its smallest port's.
    const links: Array<readonly [Namespace, string]> = [
      [lab.server.namespace, lab.server.ifname], [lan.hub, 'port0'], ...Array.from({ length: plan.vms }, (_, i) => [lan.hub, `tap${i}`] as const), [lan.hub, 'br0'],
    ];
    for (const [ns, dev] of links) {
      const r = await runInNamespace(ns, 'ip', ['link', 'set', 'dev', dev, 'mtu', String(plan.mtu)], { timeoutMs: 5000 });
      if (r.exitCode !== 0) throw new Error(`ip link set ${dev} mtu ${plan.mtu}: ${r.stderr}`);
    }
    // What the bridge hands a VM waits in its tap's queue while QEMU is descheduled: room for
    // some 10,000 frames instead of 1,000 (drops there are resends the server is blamed for).
    for (let i = 0; i < plan.vms; i++) {
      const r = await runInNamespace(lan.hub, 'ip', ['link', 'set', 'dev', `tap${i}`, 'txqueuelen', '10000'], { timeoutMs: 5000 });
      if (r.exitCode !== 0) throw new Error(`ip link set tap${i} txqueuelen: ${r.stderr}`);
    }
    await lab.serve();
    return lab;
  }

  private async serve(): Promise<void> {
    const root = join(this.plan.workDir, 'root');
    mkdirSync(root, { recursive: true });
    const server = this.server.address;
    writeFileSync(join(root, IMAGING_FILE), this.image);
    writeFileSync(join(root, KERNEL_FILE), readFileSync(debianKernel().vmlinuz));
    writeFileSync(join(root, INITRD_FILE), imagingInitramfs({ server, file: IMAGING_FILE, bytes: this.plan.imageBytes, blksize: this.plan.blksize, mtu: this.plan.mtu }));
    writeFileSync(join(root, SCRIPT_FILE), [
      '#!ipxe',
      // mitigations=off: under TCG the kernel's speculation mitigations double the guests' cost
      // per received block (measured: 64 MiB to 3 VMs at blksize 1428 in 70 s with them, 36 s without).
      `kernel tftp://${server}/${KERNEL_FILE} ${PAYLOAD_CMDLINE} mitigations=off || goto failed`,
      `initrd tftp://${server}/${INITRD_FILE} || goto failed`,
      'boot || goto failed',
      ':failed',
      'echo pxecast-payload FAILED ipxe',
      '',
    ].join('\n'));
    const p = server.split('.').slice(0, 3).join('.');
    const configFile = join(this.plan.workDir, 'pxecast.ini');
    writeFileSync(configFile, [
      '[log]', 'level = info',
      '[tftp]', `listen = ${server}`, `root = ${root}`, `max_blksize = ${Math.max(1468, this.plan.blksize)}`,
      '[multicast]', `min_clients = ${this.plan.vms}`, `start_delay = ${this.plan.gatherLimitS}s`,
      ...Object.entries(this.plan.multicast ?? {}).map(([k, v]) => `${k} = ${v}`),
      '[dhcp]', 'mode = full', `interface = ${server}`, 'lease_time = 1h', `state_file = ${join(this.plan.workDir, 'leases.json')}`,
      '[pool lab]', `first = ${p}.100`, `last = ${p}.149`, `router = ${server}`,
      // The ROM is iPXE already: every client gets the script, which boots Linux.
      '[image imaging]', `file = ${SCRIPT_FILE}`, 'arch = bios', 'default = true',
      '',
    ].join('\n'));
    this.daemonHandle = await startDaemonIn(this.server.namespace, configFile, /pxecast started/, 20_000, {
      onOutput: (chunk) => this.daemonOutput.push(chunk),
    });
  }

  /** Everything pxecast has logged so far (not only the tail a ProcessHandle keeps). */
  daemonLog(): string {
    return Buffer.concat(this.daemonOutput).toString('utf8');
  }

  macOf(index: number): string {
    return `52:54:00:1a:9e:${index.toString(16).padStart(2, '0')}`;
  }

  /** Powers on every VM: no disk, boots from the network through the iPXE ROM. */
  startVms(): void {
    for (let index = 0; index < this.plan.vms; index++) {
      const consoleFile = join(this.plan.workDir, `vm${index}.console.log`);
      writeFileSync(consoleFile, '');
      const handle = spawnInNamespace(this.lan.hub, this.qemu, [
        '-accel', 'tcg', '-m', String(this.plan.memoryMiB),
        '-nographic', '-vga', 'none', // SeaBIOS then mirrors its and iPXE's text console to COM1
        '-no-reboot', '-boot', 'n',
        '-netdev', `tap,id=lan,ifname=tap${index},script=no,downscript=no`,
        // Modern-only virtio (PCI device 1af4:1041): the ROM is built for that ID, not the transitional 1af4:1000.
        '-device', `virtio-net-pci,disable-legacy=on,rx_queue_size=1024,netdev=lan,mac=${this.macOf(index)},romfile=${VIRTIO_PXE_ROM}`,
        '-serial', `file:${consoleFile}`, '-monitor', 'none',
      ]);
      this.vms.set(index, { handle, started: performance.now(), consoleFile });
    }
  }

  console(index: number): string {
    const vm = this.vms.get(index);
    return vm ? readFileSync(vm.consoleFile, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '') : '';
  }

  /** Waits until every VM has reported its image (or failed, or powered off); then powers them off. */
  async waitForVms(timeoutMs: number): Promise<ImagingVmResult[]> {
    const deadline = performance.now() + timeoutMs;
    return Promise.all([...this.vms].map(async ([index, vm]) => {
      let report = parseImagingConsole(this.console(index));
      while (!report.done && !firmwareGaveUp(this.console(index)) && vm.handle.isRunning() && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        report = parseImagingConsole(this.console(index));
      }
      const ms = performance.now() - vm.started;
      const timedOut = !report.done && vm.handle.isRunning() && performance.now() >= deadline;
      await vm.handle.kill(1000);
      const console = this.console(index);
      return { index, mac: this.macOf(index), report: parseImagingConsole(console), ms, timedOut, console };
    }));
  }

  /** Stops the VMs and pxecast (the namespaces go with netns.teardown()). */
  async stop(): Promise<void> {
    await Promise.all([...this.vms.values()].map((vm) => vm.handle.kill(1000)));
    await this.daemonHandle?.kill();
  }
}

/** SeaBIOS ran out of boot devices (the ROM found nothing to boot, or the script failed): nothing more will happen. */
function firmwareGaveUp(console: string): boolean {
  return /No bootable device/.test(console);
}
