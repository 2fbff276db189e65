// The lab imaging payload: a booted Linux (Debian's kernel with an initramfs of busybox-static, as
// in linux-payload.ts) that, once it has an address, fetches one image by RFC 2090 multicast with
// the real atftp client (Debian's /usr/bin/atftp with its shared libraries and the dynamic loader,
// copied from this machine as `ldd` lists them), prints the SHA-256 and size of what it got on the
// console, and powers the machine off. This is what a lab's imaging step does after PXE (FOG and
// WDS do the same with their own multicast tools).
//
// The image lands in a tmpfs (atftp writes only to a file): the VM needs RAM for it beside the
// kernel and the unpacked initramfs.
//
// Console lines (parseImagingConsole reads them):
//   pxecast-payload address=10.213.1.100
//   pxecast-payload atftp <sha256> <bytes>      (or: pxecast-payload FAILED atftp exit=N)
//   pxecast-payload done
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildInitramfs } from './initramfs.js';
import { netUpScript, udhcpcScriptFile, VIRTIO_NET_MODULES } from './linux-payload.js';

export const ATFTP = '/usr/bin/atftp';
/** The guest's default socket receive buffer: some 2,000 jumbo frames. */
const RECEIVE_BUFFER_BYTES = 32 * 2 ** 20;

export interface ImagingPayloadPlan {
  /** pxecast's address (TFTP on port 69). */
  readonly server: string;
  /** The image, relative to the TFTP root. */
  readonly file: string;
  /** The image's size: the tmpfs it lands in is sized from it. */
  readonly bytes: number;
  /** RFC 2348 block size atftp asks for. */
  readonly blksize: number;
  /** The NIC's MTU (the LAN's: 9000 for jumbo frames). */
  readonly mtu: number;
}

/**
 * A dynamically linked program and everything the dynamic loader needs to start it, by absolute
 * path: the program, each library `ldd` resolves (at the path it names), and the loader itself
 * (at the path the program's PT_INTERP names, which is the line `ldd` prints without `=>`).
 */
export function dynamicProgramFiles(program: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([[program, readFileSync(program)]]);
  const out = execFileSync('ldd', [program], { encoding: 'utf8', timeout: 10_000 });
  for (const line of out.split('\n')) {
    // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-linux-x86-64.so.2 (0x...)";
    // linux-vdso has no file.
    const m = /^\s*(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)\s*$/.exec(line);
    if (m) files.set(m[1]!, readFileSync(m[1]!));
    else if (/=> not found/.test(line)) throw new Error(`${program}: ${line.trim()}`);
  }
  if (files.size < 2) throw new Error(`ldd found no libraries for ${program}:\n${out}`);
  return files;
}

/** The /init: address by DHCP, a route for the group, a tmpfs, atftp multicast, the checksum. */
export function imagingInit(plan: ImagingPayloadPlan): string {
  // Room for the image and some slack; the rest of RAM stays the kernel's.
  const tmpfsMiB = Math.ceil(plan.bytes / 2 ** 20) + 16;
  return `${netUpScript()}
ip link set eth0 mtu ${plan.mtu} || say FAILED mtu ${plan.mtu}
# A listener takes every block at the master's pace; an emulated VM that the host deschedules for
# a moment must find the blocks queued, not dropped (and then fetched again for it later).
echo ${RECEIVE_BUFFER_BYTES} > /proc/sys/net/core/rmem_default
echo ${RECEIVE_BUFFER_BYTES} > /proc/sys/net/core/rmem_max
# atftp joins the group without naming an interface: the kernel picks the one the route for
# 224/4 names (no route, no join: ENODEV). The lease's router would do too; be explicit.
ip route add 224.0.0.0/4 dev eth0 || say FAILED multicast route
mkdir -p /image
mount -t tmpfs -o size=${tmpfsMiB}m tmpfs /image || say FAILED tmpfs
/usr/bin/atftp --option multicast --option "blksize ${plan.blksize}" -g -r '${plan.file}' -l /image/image.bin ${plan.server} 69
status=$?
if [ "$status" = 0 ]; then
  say "atftp $(sha256sum /image/image.bin | cut -d' ' -f1) $(stat -c %s /image/image.bin)"
else
  say "FAILED atftp exit=$status"
fi
say done
stop
`;
}

/** The gzipped initramfs: busybox, the virtio NIC's modules, atftp and its libraries. */
export function imagingInitramfs(plan: ImagingPayloadPlan): Buffer {
  return buildInitramfs({
    init: imagingInit(plan),
    modules: VIRTIO_NET_MODULES,
    files: {
      ...udhcpcScriptFile(),
      ...Object.fromEntries([...dynamicProgramFiles(ATFTP)].map(([path, data]) => [path, { data, mode: 0o755 }])),
    },
  });
}

export interface ImagingReport {
  readonly address: string | undefined;
  readonly image: { readonly sha256: string; readonly bytes: number } | undefined;
  readonly failures: readonly string[];
  readonly done: boolean;
}

export function parseImagingConsole(raw: string): ImagingReport {
  const text = raw.replace(/\r/g, '');
  const m = /^pxecast-payload atftp ([0-9a-f]{64}) (\d+)$/m.exec(text);
  return {
    address: /^pxecast-payload address=(\S+)$/m.exec(text)?.[1],
    image: m ? { sha256: m[1]!, bytes: Number(m[2]) } : undefined,
    failures: [...text.matchAll(/^pxecast-payload FAILED (.*)$/gm)].map((f) => f[1]!.trim()),
    done: /^pxecast-payload done$/m.test(text),
  };
}
