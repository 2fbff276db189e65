// The Secure Boot chain every Debian-family distribution signs, served from pxecast: Microsoft-
// signed shim -> Debian-signed GRUB (the network image, grubnetx64) -> Debian-signed kernel with
// the fetch payload's initramfs (test/support/linux-payload.ts). Under OVMF with Microsoft's keys
// enrolled, the firmware verifies shim, shim verifies GRUB, and GRUB (through shim) the kernel.
//
// Served tree (the recipe of docs/uefi.md):
//   shimx64.efi      the image's `file` and `http_file`: the firmware starts it
//   grubx64.efi      shim loads this name from the folder it was loaded from, by the same protocol
//   grub/grub.cfg    grubnetx64's prefix is `/grub` on the server it was loaded from: it asks for
//                    `/grub/x86_64-efi/grub.cfg`, then `/grub/grub.cfg`, with the leading `/`
//   vmlinuz, initrd.gz, and the file the payload fetches
import { existsSync, readFileSync } from 'node:fs';
import { debianKernel, initramfsMissing } from './initramfs.js';
import { fetchInitramfs, parsePayloadConsole, PAYLOAD_CMDLINE } from './linux-payload.js';

export const SHIM_SIGNED = '/usr/lib/shim/shimx64.efi.signed';
export const GRUB_NET_SIGNED = '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed';
export const SHIM_FILE = 'shimx64.efi';
export const GRUB_FILE = 'grubx64.efi';
export const GRUB_CONFIG = 'grub/grub.cfg';
export const KERNEL_FILE = 'vmlinuz';
export const INITRD_FILE = 'initrd.gz';

/** Why the chain cannot be built here, or null. */
export function secureBootChainMissing(): string | null {
  for (const [file, pkg] of [[SHIM_SIGNED, 'shim-signed'], [GRUB_NET_SIGNED, 'grub-efi-amd64-signed']] as const) {
    if (!existsSync(file)) return `${file} (Debian package ${pkg})`;
  }
  return initramfsMissing();
}

export interface ChainPlan {
  readonly server: string;
  readonly httpPort: number;
  /** The file the booted payload fetches over TFTP and HTTP, and its bytes. */
  readonly imageFile: string;
  readonly image: Buffer;
}

/** The grub.cfg: no menu, the kernel and initrd from wherever GRUB was loaded from ($root). */
export function grubConfig(): string {
  return [
    'set timeout=0',
    'echo "pxecast-grub: config read from $root"',
    `linux /${KERNEL_FILE} ${PAYLOAD_CMDLINE}`,
    `initrd /${INITRD_FILE}`,
    'boot',
    '',
  ].join('\n');
}

/** Every file of the chain, by path under the served root. */
export function chainFiles(plan: ChainPlan): Map<string, Buffer> {
  const kernel = debianKernel();
  return new Map([
    [SHIM_FILE, readFileSync(SHIM_SIGNED)],
    [GRUB_FILE, readFileSync(GRUB_NET_SIGNED)],
    [GRUB_CONFIG, Buffer.from(grubConfig())],
    [KERNEL_FILE, readFileSync(kernel.vmlinuz)],
    [INITRD_FILE, fetchInitramfs({ server: plan.server, httpPort: plan.httpPort, file: plan.imageFile, kernel })],
    [plan.imageFile, plan.image],
  ]);
}

/** The chain is over, one way or another: the payload finished, or a stage stopped at a prompt or a refusal. */
export function chainFinished(console: string): boolean {
  return parsePayloadConsole(console).done || CHAIN_STUCK.test(console);
}

// GRUB without a config waits at its prompt; a verification failure stops shim or GRUB for good.
const CHAIN_STUCK = /grub rescue>|^grub> |Security Violation|bad shim signature|Kernel panic|reboot: Power down/m;
