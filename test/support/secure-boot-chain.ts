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
//
// Debian's signed GRUB images have no http module, so a GRUB booted by UEFI HTTP Boot reads its
// config over HTTP only when it is built with one: httpGrubFiles builds such a GRUB at test time
// (grub-mkimage, unsigned: no Secure Boot) to serve the same Linux stage over HTTP alone.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianKernel, initramfsMissing } from './initramfs.js';
import { fetchInitramfs, parsePayloadConsole, PAYLOAD_CMDLINE } from './linux-payload.js';

export const SHIM_SIGNED = '/usr/lib/shim/shimx64.efi.signed';
export const GRUB_NET_SIGNED = '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed';
export const SHIM_FILE = 'shimx64.efi';
export const GRUB_FILE = 'grubx64.efi';
export const GRUB_CONFIG = 'grub/grub.cfg';
export const KERNEL_FILE = 'vmlinuz';
export const INITRD_FILE = 'initrd.gz';
export const GRUB_MODULES_DIR = '/usr/lib/grub/x86_64-efi';

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
  return new Map([[SHIM_FILE, readFileSync(SHIM_SIGNED)], [GRUB_FILE, readFileSync(GRUB_NET_SIGNED)], ...linuxStage(plan)]);
}

/** Why httpGrubFiles cannot build its GRUB here, or null. */
export function httpGrubMissing(): string | null {
  if (!existsSync(join(GRUB_MODULES_DIR, 'http.mod'))) return `${GRUB_MODULES_DIR}/http.mod (Debian package grub-efi-amd64-bin)`;
  return initramfsMissing();
}

/** The lists GRUB's normal mode reads first from $prefix/x86_64-efi/. Served empty: GRUB 2.06's http
 *  reads a 404 as a body of unknown length and waits about 35 s for its end, each. */
export const GRUB_LISTS = ['command.lst', 'fs.lst', 'crypto.lst', 'terminal.lst'].map((name) => `grub/x86_64-efi/${name}`);

/** grubx64.efi built with `http` (prefix `/grub` on the server it was booted from), then the Linux stage. */
export function httpGrubFiles(plan: ChainPlan): Map<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'pxecast-grub-'));
  try {
    const out = join(dir, GRUB_FILE);
    execFileSync('grub-mkimage', ['-O', 'x86_64-efi', '-d', GRUB_MODULES_DIR, '-p', '/grub', '-o', out,
      'normal', 'configfile', 'echo', 'test', 'linux', 'efinet', 'net', 'http', 'tftp'], { stdio: 'pipe', timeout: 60_000 });
    return new Map([[GRUB_FILE, readFileSync(out)], ...GRUB_LISTS.map((list): [string, Buffer] => [list, Buffer.alloc(0)]), ...linuxStage(plan)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What GRUB reads after itself: its config, the kernel, the initrd, and the file the payload fetches. */
function linuxStage(plan: ChainPlan): Map<string, Buffer> {
  const kernel = debianKernel();
  return new Map([
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
