// Real UEFI firmware boots from pxecast: Debian's OVMF (EDK2) in QEMU (software emulation, no
// disk), virtio-net with no option ROM so EDK2's own PXE stack runs, asking blksize=1468 and
// windowsize=4. It gets its address and boot file from pxecast's full DHCP (arch 7 -> efi-x64),
// fetches Debian's ipxe.efi over TFTP and starts it (iPXE's banner on the serial console).
// Issue 12 item 10: on a lossless bridge pxecast used to resend hundreds of blocks of such a
// transfer (a timer that fired before an ACK already received was read, then a resent window for
// every duplicate ACK EDK2 sends); under 1 % loss the resends must stay proportional to the loss.
// The same firmware with its PXE entries switched off boots by UEFI HTTP Boot instead: its
// `HTTPClient` DISCOVER gets a URL from pxecast's DHCP, and pxecast's HTTP server serves the file.
// Secure Boot (issue 15): OVMF with Microsoft's keys enrolled boots Debian's signed shim -> GRUB ->
// kernel from pxecast, over TFTP (UEFI PXE) and over HTTP (UEFI HTTP Boot); GRUB reads its config
// from pxecast, and the booted Linux (an initramfs built at test time from busybox-static) fetches
// a random image over TFTP and HTTP and prints its SHA-256 and size on the serial console.
//
// In proxy mode beside dnsmasq and Kea, the same firmware boots Debian's signed GRUB from pxecast,
// and GRUB reads its config from pxecast (the site servers apply the documented recipe).
//
// Needs root, iproute2, iptables, qemu-system-x86, ovmf, ipxe, shim-signed, grub-efi-amd64-signed,
// linux-image-amd64, busybox-static, dnsmasq-base and kea-dhcp4-server (.ci/run installs them).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canUseNetns } from '../support/netns.js';
import { parsePayloadConsole } from '../support/linux-payload.js';
import { findQemu, sha256Hex } from '../support/pxe-lab.js';
import {
  chainFiles,
  chainFinished,
  GRUB_CONFIG,
  GRUB_FILE,
  httpGrubFiles,
  httpGrubMissing,
  INITRD_FILE,
  KERNEL_FILE,
  secureBootChainMissing,
  SHIM_FILE,
} from '../support/secure-boot-chain.js';
import { BOOT_FILE, UefiLab, uefiLabMissing } from '../support/uefi-lab.js';
import { logField as field } from '../support/transfer-outcome.js';
import { labPerTest } from '../support/lab-per-test.js';

const VM_TIMEOUT_MS = 150_000;
// What the booted Linux fetches over TFTP and HTTP; odd, so both transfers end in a short block.
const PAYLOAD_IMAGE = 'image.bin';
const PAYLOAD_IMAGE_BYTES = 1_500_001;
// The size of the file in the OVMF capture of issue 12 (2,618 blocks of 1468 bytes): ipxe.efi
// padded with random bytes. Odd, so the transfer ends in a short block.
const BOOT_FILE_BYTES = 3_842_001;
const labs = labPerTest<UefiLab>('pxecast-uefi-');
const work = labs.work;
let scenario = 0;

function qemuPath(): string {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason);
  const setup = findQemu();
  assert.ok(!('missing' in setup), 'missing' in setup ? `UEFI lab needs ${setup.missing}` : '');
  const missing = uefiLabMissing(setup.qemu);
  assert.equal(missing, null, `UEFI lab needs ${missing}`);
  return setup.qemu;
}

interface Fetch {
  readonly summary: string;
  readonly blocks: number;
  readonly retransmits: number;
  readonly spuriousTimeouts: number;
}

/** Boots the VM and returns the summary of the transfer that delivered the boot file. */
async function bootOnce(tftpLoss: number): Promise<Fetch> {
  const l = labs.hold(await UefiLab.start({ workDir: join(work, `scenario${++scenario}`), tftpLoss, bootFileBytes: BOOT_FILE_BYTES }, qemuPath()));
  const result = await l.bootVm(VM_TIMEOUT_MS);
  const log = l.daemon.outputTail();
  const why = `--- console ---\n${result.console.split('\n').slice(-30).join('\n')}\n--- pxecast ---\n${log.slice(-6000)}`;
  const fetches = log.split('\n').filter((line) => line.includes('info transfer') && field(line, 'file') === BOOT_FILE && field(line, 'outcome') === 'complete');
  assert.equal(fetches.length, 1, `one complete transfer of the boot file\n${why}`);
  const summary = fetches[0]!;
  // What EDK2 asked for, and got: the windowed transfer under test.
  assert.match(field(summary, 'options') ?? '', /blksize=1468/, summary);
  assert.match(field(summary, 'options') ?? '', /windowsize=4/, summary);
  assert.equal(Number(field(summary, 'bytes')), l.bootImage.length, summary);
  assert.ok(result.started, `the firmware started ipxe.efi (its banner on the console)\n${why}`);
  return {
    summary,
    blocks: Math.floor(l.bootImage.length / 1468) + 1,
    retransmits: Number(field(summary, 'retransmits')),
    spuriousTimeouts: Number(field(summary, 'spurious_timeouts') ?? 0),
  };
}

describe('OVMF (EDK2 UEFI PXE, windowsize 4) boots from pxecast', { concurrency: 1 }, () => {
  it('on a lossless bridge: the boot file arrives with (almost) no resent blocks, and the firmware starts it', async () => {
    const f = await bootOnce(0);
    console.log(`# lossless: ${f.retransmits} retransmits for ${f.blocks} blocks; ${f.summary}`);
    // Nothing is lost on the bridge, but the guest (TCG on a shared host) sometimes stalls longer
    // than the 10 ms floor. Each such stall may cost one window, which the ACKs then prove
    // spurious, and the timer backs off to twice the stall: every resend is one of those, and the
    // doubling bounds them (10 ms to 320 ms in 5 steps). Measured 0-8 (0-2 stalls); before the
    // fix 1,068 (a window resent for every duplicate ACK).
    assert.ok(f.retransmits <= 4 * f.spuriousTimeouts, `every resend on a lossless link is a window after a proven stall: ${f.summary}`);
    assert.ok(f.retransmits <= 20, `at most five such windows: ${f.summary}`);
  });

  it('under 1 % loss each way: resends stay proportional to the loss (no Sorcerer\'s Apprentice)', async () => {
    const f = await bootOnce(0.01);
    console.log(`# 1% loss: ${f.retransmits} retransmits for ${f.blocks} blocks; ${f.summary}`);
    // Every lost datagram (DATA or ACK) costs at most the rest of one window of 4.
    assert.ok(f.blocks + f.retransmits < 1.1 * f.blocks, `DATA sent ${f.blocks + f.retransmits} for ${f.blocks} blocks: ${f.summary}`);
  });
});

describe('OVMF UEFI HTTP Boot from the URL pxecast\'s DHCP gives it', { concurrency: 1 }, () => {
  it('HTTPClient DISCOVER -> URL on pxecast\'s HTTP server -> the firmware downloads and starts the binary', async () => {
    const l = labs.hold(await UefiLab.start({ workDir: join(work, `scenario${++scenario}`), tftpLoss: 0, bootFileBytes: BOOT_FILE_BYTES, boot: 'http' }, qemuPath()));
    const result = await l.bootVm(VM_TIMEOUT_MS);
    const log = l.daemon.outputTail();
    const why = `--- console ---\n${result.console.split('\n').slice(-30).join('\n')}\n--- pxecast ---\n${log.slice(-6000)}`;
    assert.match(result.console, /Start HTTP Boot over IPv4/, `HttpBootDxe ran\n${why}`);
    // EDK2 asks HEAD (or GET) for the size, then GETs the file: one complete body of the whole file.
    const bodies = log.split('\n').filter((line) => line.includes('info transfer service=http') && field(line, 'file') === `/${BOOT_FILE}` && field(line, 'outcome') === 'complete');
    assert.ok(bodies.some((line) => Number(field(line, 'bytes')) === l.bootImage.length), `the whole boot file over HTTP\n${why}`);
    assert.equal(log.split('\n').filter((line) => line.includes('service=tftp') && line.includes(`file=${BOOT_FILE}`)).length, 0, 'nothing over TFTP');
    assert.ok(result.started, `the firmware started ipxe.efi (its banner on the console)\n${why}`);
    console.log(`# UEFI HTTP Boot: started in ${(result.ms / 1000).toFixed(1)} s; ${bodies.join(' | ')}`);
  });
});

// Issue 15: in proxy mode Debian's signed GRUB (2.06) configures its network from the firmware's
// cached DHCPACK only (efinet.c hands EFI_PXE_BASE_CODE_MODE.DhcpAck to
// grub_net_configure_by_dhcp_ack; ProxyOffer and PxeReply are never read), and that ACK is the
// site server's: pxecast's proxy offer sits in ProxyOffer. GRUB takes its server (`$root`,
// `tftp,SERVER`) from that ACK's siaddr, else its option 66, else sname. So the site server must
// name pxecast as next-server for PXE clients (docs/dhcp.md, "GRUB in proxy mode"); these runs
// apply that recipe to dnsmasq and to Kea and prove the whole chain: EDK2 takes pxecast's proxy
// offer (address from the site range), fetches GRUB from pxecast, GRUB fetches grub.cfg from
// pxecast and runs it (the marker with this run's nonce, then `halt`).
describe('OVMF in proxy mode: Debian\'s signed GRUB from pxecast reads its config from pxecast', { concurrency: 1 }, () => {
  for (const siteServer of ['dnsmasq', 'kea'] as const) {
    it(`beside ${siteServer} with next-server = pxecast for PXE clients`, async () => {
      const l = labs.hold(await UefiLab.start(
        { workDir: join(work, `scenario${++scenario}`), tftpLoss: 0, dhcp: 'proxy', siteServer, siteNextServer: true, loader: 'grub' },
        qemuPath(),
      ));
      const result = await l.bootVm(VM_TIMEOUT_MS);
      const log = l.daemon.outputTail();
      const why = `--- console ---\n${result.console.split('\n').slice(-30).join('\n')}\n--- pxecast ---\n${log.slice(-6000)}\n--- ${siteServer} ---\n${l.siteLog.slice(-3000)}`;
      const complete = (file: string) => log.split('\n').filter((line) => line.includes('info transfer') && field(line, 'file') === file && field(line, 'outcome') === 'complete');
      // The firmware: pxecast's proxy offer named the boot file, pxecast served all of it.
      const boot = complete(BOOT_FILE);
      assert.ok(boot.some((line) => Number(field(line, 'bytes')) === l.bootImage.length), `the whole of GRUB over TFTP\n${why}`);
      assert.match(result.console, /Welcome to GRUB!/, `the firmware started GRUB\n${why}`);
      // GRUB: its config came from pxecast, byte for byte, and GRUB ran it.
      assert.ok(complete(`/${GRUB_CONFIG}`).some((line) => Number(field(line, 'bytes')) === l.grubConfig.length), `grub.cfg from pxecast\n${why}`);
      const marker = l.grubMarker(result.console);
      assert.ok(marker, `GRUB ran the config from pxecast (its marker with this run's nonce)\n${why}`);
      assert.equal(marker.root, `tftp,${l.server.address}`, why);
      // The address is the site server's (its range .150-.199): pxecast only added the boot data.
      const host = Number(marker.ip.split('.')[3]);
      assert.ok(marker.ip.startsWith(l.server.address.replace(/\.\d+$/, '.')) && host >= 150 && host <= 199, `address from ${siteServer}: ${marker.ip}\n${why}`);
      console.log(`# GRUB in proxy mode beside ${siteServer}: config run ${(result.ms / 1000).toFixed(1)} s after power-on; root=${marker.root} ip=${marker.ip}`);
    });
  }
});

/** A lab serving a GRUB -> Linux chain (by default signed shim -> signed GRUB under Secure Boot), booted once. */
async function bootSecureChain(boot: 'pxe' | 'http', image: Buffer, grub: 'signed' | 'http-built' = 'signed') {
  const missing = grub === 'signed' ? secureBootChainMissing() : httpGrubMissing();
  assert.equal(missing, null, `the GRUB chain needs ${missing}`);
  const files = grub === 'signed' ? chainFiles : httpGrubFiles;
  const l = labs.hold(await UefiLab.start({
    workDir: join(work, `scenario${++scenario}`),
    tftpLoss: 0,
    boot,
    secureBoot: grub === 'signed',
    // Debian's kernel stub cannot decompress itself in 256 MiB beside OVMF and GRUB.
    memoryMiB: 512,
    // HTTP's own port, as a site serving GRUB over HTTP would.
    httpPort: 80,
    payload: (server) => ({
      files: files({ server: server.address, httpPort: server.httpPort, imageFile: PAYLOAD_IMAGE, image }),
      bootFile: grub === 'signed' ? SHIM_FILE : GRUB_FILE,
      finished: chainFinished,
    }),
  }, qemuPath()));
  const result = await l.bootVm(VM_TIMEOUT_MS);
  const log = l.daemon.outputTail();
  const why = `--- console ---\n${result.console.split('\n').filter((line) => !line.includes('Downloading...')).slice(-40).join('\n')}\n--- pxecast ---\n${log.slice(-6000)}`;
  // Transfers of `file` by `service` that completed (a leading '/' or two, as GRUB and shim ask, ignored).
  const complete = (service: string, file: string) =>
    log.split('\n').filter((line) => line.includes(`info transfer service=${service}`) && field(line, 'outcome') === 'complete'
      && (field(line, 'file') ?? '').replace(/^\/+/, '') === file);
  return { l, result, log, why, complete, report: parsePayloadConsole(result.console) };
}

describe('Secure Boot: OVMF with Microsoft\'s keys boots Debian\'s signed shim -> GRUB (-> Linux) from pxecast', { concurrency: 1 }, () => {
  it('over TFTP (UEFI PXE): shim, GRUB, GRUB\'s /grub/grub.cfg, kernel and initrd from pxecast; Secure Boot enforced; Linux sees the image\'s SHA-256 over TFTP and HTTP', async () => {
    const image = randomBytes(PAYLOAD_IMAGE_BYTES);
    const { result, log, why, complete, report } = await bootSecureChain('pxe', image);
    console.log(`# Secure Boot over TFTP: ${(result.ms / 1000).toFixed(1)} s from power-on to the payload's last line; ${JSON.stringify(report)}`);
    for (const file of [SHIM_FILE, GRUB_FILE, GRUB_CONFIG, KERNEL_FILE, INITRD_FILE]) assert.ok(complete('tftp', file).length > 0, `${file} over TFTP\n${why}`);
    // GRUB's prefix is /grub on the server it came from, asked for with the leading '/'.
    assert.ok(log.split('\n').some((line) => /info transfer service=tftp .*file=\/grub\/grub\.cfg .*outcome=complete/.test(line)), `GRUB read /grub/grub.cfg\n${why}`);
    // Enforced, not merely present: the kernel itself says it booted under Secure Boot (and GRUB
    // only starts a kernel shim's keys verify).
    assert.ok(report.kernel.some((line) => /Secure boot enabled/.test(line)), `the kernel saw Secure Boot enabled\n${why}`);
    assert.deepEqual(report.failures, [], why);
    assert.ok(report.done, `the payload ran to its end\n${why}`);
    const expected = { sha256: sha256Hex(image), bytes: image.length };
    assert.deepEqual(report.tftp, expected, `the image over TFTP, as Linux saw it\n${why}`);
    assert.deepEqual(report.http, expected, `the image over HTTP, as Linux saw it\n${why}`);
  });

  it('over HTTP (UEFI HTTP Boot): shim and GRUB over HTTP, nothing over TFTP, and GRUB starts', async () => {
    const { result, log, why, complete } = await bootSecureChain('http', randomBytes(1001));
    console.log(`# Secure Boot over HTTP: ${(result.ms / 1000).toFixed(1)} s from power-on to GRUB's prompt`);
    // shim fetches grubx64.efi from its own URL's folder (it asks for `//grubx64.efi`).
    for (const file of [SHIM_FILE, GRUB_FILE]) assert.ok(complete('http', file).length > 0, `${file} over HTTP\n${why}`);
    assert.equal(log.split('\n').filter((line) => line.includes('service=tftp') && line.includes('file=')).length, 0, `nothing over TFTP\n${why}`);
    assert.match(result.console, /Welcome to GRUB!/, `shim verified and started GRUB\n${why}`);
    // Where it ends with Debian 12's signed GRUB: its root is (http,SERVER), and the signed image
    // has no http module (nor may it load one under Secure Boot), so it reads no config and
    // waits at its prompt: see docs/uefi.md. Recorded, not asserted, so a GRUB that can will pass.
    console.log(`# HTTP-booted GRUB asked for: ${log.split('\n').filter((line) => /service=http .*file=\/grub/.test(line)).length} files under /grub`);
  });
});

describe('UEFI HTTP Boot -> GRUB with its http module -> Linux, everything over HTTP (no Secure Boot)', { concurrency: 1 }, () => {
  it('GRUB reads /grub/grub.cfg, the kernel and the initrd from pxecast over HTTP on port 80; Linux sees the image\'s SHA-256 over TFTP and HTTP', async () => {
    const image = randomBytes(PAYLOAD_IMAGE_BYTES);
    const { result, why, complete, report } = await bootSecureChain('http', image, 'http-built');
    console.log(`# HTTP Boot -> GRUB (http) -> Linux: ${(result.ms / 1000).toFixed(1)} s from power-on to the payload's last line; ${JSON.stringify(report)}`);
    for (const file of [GRUB_FILE, GRUB_CONFIG, KERNEL_FILE, INITRD_FILE]) {
      assert.ok(complete('http', file).length > 0, `${file} over HTTP\n${why}`);
      assert.equal(complete('tftp', file).length, 0, `${file} not over TFTP`);
    }
    assert.deepEqual(report.failures, [], why);
    assert.ok(report.done, `the payload ran to its end\n${why}`);
    const expected = { sha256: sha256Hex(image), bytes: image.length };
    assert.deepEqual(report.tftp, expected, `the image over TFTP, as Linux saw it\n${why}`);
    assert.deepEqual(report.http, expected, `the image over HTTP, as Linux saw it\n${why}`);
  });
});
