// Real UEFI firmware boots from pxecast: Debian's OVMF (EDK2) in QEMU (software emulation, no
// disk), virtio-net with no option ROM so EDK2's own PXE stack runs, asking blksize=1468 and
// windowsize=4. It gets its address and boot file from pxecast's full DHCP (arch 7 -> efi-x64),
// fetches Debian's ipxe.efi over TFTP and starts it (iPXE's banner on the serial console).
// Issue 12 item 10: on a lossless bridge pxecast used to resend hundreds of blocks of such a
// transfer (a timer that fired before an ACK already received was read, then a resent window for
// every duplicate ACK EDK2 sends); under 1 % loss the resends must stay proportional to the loss.
// The same firmware with its PXE entries switched off boots by UEFI HTTP Boot instead: its
// `HTTPClient` DISCOVER gets a URL from pxecast's DHCP, and pxecast's HTTP server serves the file.
//
// In proxy mode beside dnsmasq and Kea, the same firmware boots Debian's signed GRUB from pxecast,
// and GRUB reads its config from pxecast (the site servers apply the documented recipe).
//
// Needs root, iproute2, iptables, qemu-system-x86, ovmf, ipxe, grub-efi-amd64-signed, dnsmasq-base
// and kea-dhcp4-server (.ci/run installs them).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { canUseNetns, teardown } from '../support/netns.js';
import { findQemu } from '../support/pxe-lab.js';
import { BOOT_FILE, GRUB_CONFIG, UefiLab, uefiLabMissing } from '../support/uefi-lab.js';

const VM_TIMEOUT_MS = 150_000;
// The size of the file in the OVMF capture of issue 12 (2,618 blocks of 1468 bytes): ipxe.efi
// padded with random bytes. Odd, so the transfer ends in a short block.
const BOOT_FILE_BYTES = 3_842_001;
const work = mkdtempSync(join(tmpdir(), 'pxecast-uefi-'));
let lab: UefiLab | null = null;
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

function field(line: string, key: string): string | undefined {
  return new RegExp(`(?:^| )${key}=("[^"]*"|\\S+)`).exec(line)?.[1]?.replace(/"/g, '');
}

interface Fetch {
  readonly summary: string;
  readonly blocks: number;
  readonly retransmits: number;
  readonly spuriousTimeouts: number;
}

/** Boots the VM and returns the summary of the transfer that delivered the boot file. */
async function bootOnce(tftpLoss: number): Promise<Fetch> {
  lab = await UefiLab.start({ workDir: join(work, `scenario${++scenario}`), tftpLoss, bootFileBytes: BOOT_FILE_BYTES }, qemuPath());
  const l = lab;
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

afterEach(async () => {
  await lab?.stop();
  lab = null;
  teardown();
});

after(() => {
  teardown();
  rmSync(work, { recursive: true, force: true });
});

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
    lab = await UefiLab.start({ workDir: join(work, `scenario${++scenario}`), tftpLoss: 0, bootFileBytes: BOOT_FILE_BYTES, boot: 'http' }, qemuPath());
    const l = lab;
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
      lab = await UefiLab.start(
        { workDir: join(work, `scenario${++scenario}`), tftpLoss: 0, dhcp: 'proxy', siteServer, siteNextServer: true, loader: 'grub' },
        qemuPath(),
      );
      const l = lab;
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
