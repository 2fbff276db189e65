// Real ARM64 UEFI firmware boots from pxecast: Debian's AAVMF (EDK2 ArmVirtQemu) in
// qemu-system-aarch64 `-M virt` under TCG, virtio-net with no option ROM, so EDK2's own PXE stack
// runs. Its DISCOVER carries option 93 = 11 (ARM64 UEFI); pxecast's catalog maps `efi-arm64` to
// the ARM64 image (the default image is a decoy for every other architecture), serves it over
// TFTP, and the firmware starts it. The image is generated per run (test/support/arm64-efi-app.ts):
// it prints a per-run nonce and the FNV-1a of its own loaded bytes, a few hundred KiB of random
// payload included, and the test compares that with the value computed here over the file served.
// The same firmware with its PXE entries switched off (fw_cfg knobs, as for OVMF) boots by UEFI
// HTTP Boot instead: option 93 = 19 (ARM64 HTTP), `HTTPClient`, the URL from pxecast's DHCP and
// the file from pxecast's HTTP server.
//
// Needs root, iproute2, qemu-system-arm and qemu-efi-aarch64 (.ci/run installs them).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canUseNetns } from '../support/netns.js';
import { UefiLab, uefiLabMissing, uefiQemu, type UefiBootResult } from '../support/uefi-lab.js';
import { logField as field } from '../support/transfer-outcome.js';
import { labPerTest } from '../support/lab-per-test.js';

// Measured 10.5-12.8 s to the line on the 2-core machine; the bound leaves room for a slow host
// and makes a firmware that never gets (or never runs) the right image fail instead of hanging.
const VM_TIMEOUT_MS = 150_000;
// Random payload in the image: 274 blocks of 1468 bytes (69 windows of 4); odd, so the transfer
// ends in a short block.
const PAYLOAD_BYTES = 400_001;
const labs = labPerTest<UefiLab>('pxecast-arm64-');
const work = labs.work;
let scenario = 0;

function qemuPath(): string {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason);
  const qemu = uefiQemu('arm64');
  const missing = uefiLabMissing(qemu, 'arm64');
  assert.equal(missing, null, `ARM64 UEFI lab needs ${missing}`);
  return qemu!;
}

function explain(l: UefiLab, result: UefiBootResult): string {
  return `--- console ---\n${result.console.split('\n').slice(-30).join('\n')}\n--- pxecast ---\n${l.daemon.outputTail().slice(-6000)}`;
}

/** The application printed this run's nonce and the checksum of the bytes it was built from. */
function assertProof(l: UefiLab, result: UefiBootResult): void {
  const app = l.arm64App!;
  assert.ok(result.proof, `the firmware started the ARM64 application (its line on the console)\n${explain(l, result)}`);
  assert.equal(`pxecast-arm64 nonce=${result.proof.nonce} fnv1a32=${result.proof.checksum}`, app.expectedLine, `the line of this run's image, with the checksum of the bytes served\n${explain(l, result)}`);
}

describe('AAVMF (EDK2 ARM64 UEFI PXE) boots from pxecast', { concurrency: 1 }, () => {
  it('arch 11 -> the efi-arm64 image over TFTP -> the firmware runs it and prints the checksum of the bytes it got', async () => {
    const l = labs.hold(await UefiLab.start({ workDir: join(work, `scenario${++scenario}`), tftpLoss: 0, bootFileBytes: PAYLOAD_BYTES, machine: 'arm64' }, qemuPath()));
    const result = await l.bootVm(VM_TIMEOUT_MS);
    const log = l.daemon.outputTail();
    assertProof(l, result);
    assert.match(log, /info dhcp lease service=dhcp mac=52:54:00:e2:ef:01 .*pxe=true arch=efi-arm64/, `DHCP classified the firmware as arch 11 (efi-arm64)\n${explain(l, result)}`);
    const fetches = log.split('\n').filter((line) => line.includes('info transfer') && field(line, 'file') === l.bootFile && field(line, 'outcome') === 'complete');
    assert.equal(fetches.length, 1, `one complete TFTP transfer of ${l.bootFile}\n${explain(l, result)}`);
    const summary = fetches[0]!;
    assert.equal(Number(field(summary, 'bytes')), l.bootImage.length, summary);
    console.log(`# ARM64 UEFI PXE: line after ${(result.ms / 1000).toFixed(1)} s; ${summary}`);
  });
});

describe('AAVMF UEFI HTTP Boot from the URL pxecast\'s DHCP gives it', { concurrency: 1 }, () => {
  it('arch 19 HTTPClient DISCOVER -> URL on pxecast\'s HTTP server -> the firmware downloads and runs the ARM64 image', async () => {
    const l = labs.hold(await UefiLab.start({ workDir: join(work, `scenario${++scenario}`), tftpLoss: 0, bootFileBytes: PAYLOAD_BYTES, machine: 'arm64', boot: 'http' }, qemuPath()));
    const result = await l.bootVm(VM_TIMEOUT_MS);
    const log = l.daemon.outputTail();
    assert.match(result.console, /Start HTTP Boot over IPv4/, `HttpBootDxe ran\n${explain(l, result)}`);
    assertProof(l, result);
    assert.match(log, /info dhcp lease service=dhcp mac=52:54:00:e2:ef:01 .*arch=efi-arm64-http/, `DHCP classified the firmware as arch 19 (efi-arm64-http)\n${explain(l, result)}`);
    const bodies = log.split('\n').filter((line) => line.includes('info transfer service=http') && field(line, 'file') === `/${l.bootFile}` && field(line, 'outcome') === 'complete');
    assert.ok(bodies.some((line) => Number(field(line, 'bytes')) === l.bootImage.length), `the whole boot file over HTTP\n${explain(l, result)}`);
    assert.equal(log.split('\n').filter((line) => line.includes('service=tftp') && line.includes('file=')).length, 0, 'nothing over TFTP');
    console.log(`# ARM64 UEFI HTTP Boot: line after ${(result.ms / 1000).toFixed(1)} s; ${bodies.join(' | ')}`);
  });
});
