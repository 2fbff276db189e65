// A booted Linux as a test payload: Debian's signed kernel with an initramfs (test/support/initramfs.ts)
// whose /init brings up the virtio NIC, leases an address with busybox udhcpc, fetches one file
// from the server over TFTP (busybox tftp) and over HTTP (busybox wget), prints the SHA-256 and
// size of each on the console, and powers the machine off. The kernel's own Secure Boot lines are
// repeated on the console too, whatever the log level.
//
// Console lines (parsePayloadConsole reads them):
//   pxecast-payload kernel: <a dmesg line about Secure Boot or lockdown>
//   pxecast-payload address=10.213.1.100
//   pxecast-payload tftp <sha256> <bytes>      (or: pxecast-payload FAILED tftp)
//   pxecast-payload http <sha256> <bytes>
//   pxecast-payload done
import { buildInitramfs, type DebianKernel } from './initramfs.js';

/** QEMU's virtio-net-pci NIC: both are modules in Debian's kernel (with virtio, virtio_ring, failover, ...). */
export const VIRTIO_NET_MODULES = ['virtio_pci', 'virtio_net'] as const;

/** Kernel command line: the console on COM1, quiet, and a panic ends the VM at once (-no-reboot). */
export const PAYLOAD_CMDLINE = 'console=ttyS0 quiet panic=-1';

export interface FetchPayloadPlan {
  /** The server's address (TFTP on port 69, HTTP on httpPort). */
  readonly server: string;
  readonly httpPort: number;
  /** The file to fetch, relative to the served root. */
  readonly file: string;
  readonly kernel?: DebianKernel;
}

/** The lines /init runs first in any payload: busybox applets, /proc, /sys, /dev, the NIC's modules, a DHCP lease on eth0. */
export function netUpScript(): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
say() { echo "pxecast-payload $*"; }
stop() { sync; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
dmesg | grep -iE 'secure ?boot|locked down' | sed 's/^[^]]*] */pxecast-payload kernel: /'
for m in /modules/*.ko; do insmod "$m" || say "FAILED insmod $m"; done
ip link set eth0 up || { say FAILED no eth0; stop; }
udhcpc -i eth0 -f -q -n -t 5 -T 2 -s /etc/udhcpc.script || { say FAILED dhcp; stop; }
`;
}

/** udhcpc's hook: configures the address it leased and says so. */
const UDHCPC_SCRIPT = `#!/bin/busybox sh
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "\${subnet:-255.255.255.0}" up
    echo "pxecast-payload address=$ip" ;;
esac
`;

/** The udhcpc hook at the path netUpScript() names, for an initramfs plan's `files`. */
export function udhcpcScriptFile(): Record<string, { data: Buffer; mode: number }> {
  return { '/etc/udhcpc.script': { data: Buffer.from(UDHCPC_SCRIPT), mode: 0o755 } };
}

/** The /init of the fetch payload. */
export function fetchInit(plan: FetchPayloadPlan): string {
  const report = (scheme: string, local: string) =>
    `say "${scheme} $(sha256sum ${local} | cut -d' ' -f1) $(stat -c %s ${local})"`;
  return `${netUpScript()}
tftp -g -b 1468 -r '${plan.file}' -l /tmp/tftp.bin ${plan.server} && ${report('tftp', '/tmp/tftp.bin')} || say FAILED tftp
rm -f /tmp/tftp.bin
wget -q -O /tmp/http.bin 'http://${plan.server}:${plan.httpPort}/${plan.file}' && ${report('http', '/tmp/http.bin')} || say FAILED http
say done
stop
`;
}

/** The gzipped initramfs of the fetch payload. */
export function fetchInitramfs(plan: FetchPayloadPlan): Buffer {
  return buildInitramfs({
    init: fetchInit(plan),
    modules: VIRTIO_NET_MODULES,
    ...(plan.kernel ? { kernel: plan.kernel } : {}),
    files: udhcpcScriptFile(),
  });
}

export interface PayloadFetch {
  readonly sha256: string;
  readonly bytes: number;
}

export interface PayloadReport {
  readonly address: string | undefined;
  readonly tftp: PayloadFetch | undefined;
  readonly http: PayloadFetch | undefined;
  /** The kernel's lines about Secure Boot and lockdown, e.g. "Secure boot enabled". */
  readonly kernel: readonly string[];
  readonly failures: readonly string[];
  readonly done: boolean;
}

export function parsePayloadConsole(raw: string): PayloadReport {
  const text = raw.replace(/\r/g, '');
  const fetch = (scheme: string): PayloadFetch | undefined => {
    const m = new RegExp(`^pxecast-payload ${scheme} ([0-9a-f]{64}) (\\d+)$`, 'm').exec(text);
    return m ? { sha256: m[1]!, bytes: Number(m[2]) } : undefined;
  };
  return {
    address: /^pxecast-payload address=(\S+)$/m.exec(text)?.[1],
    tftp: fetch('tftp'),
    http: fetch('http'),
    kernel: [...text.matchAll(/^pxecast-payload kernel: (.*)$/gm)].map((m) => m[1]!.trim()),
    failures: [...text.matchAll(/^pxecast-payload FAILED (.*)$/gm)].map((m) => m[1]!.trim()),
    done: /^pxecast-payload done$/m.test(text),
  };
}
