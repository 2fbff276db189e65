// Real UEFI firmware boots from pxecast over IPv6 only: Debian's OVMF (EDK2) in QEMU on a lab link
// where pxecast's namespace has no IPv4 address and no DHCPv4 runs; OVMF's IPv4 boot entries are
// switched off (fw_cfg opt/org.tianocore/IPv4PXESupport=no), so its PXEv6 entry boots. EDK2's
// PXEv6 gets its address (IA_NA) and the boot file URL (option 59, `tftp://[fd00:213:6::1]/...`)
// from pxecast's stateful DHCPv6 (no router advertisement needed: EDK2 takes the address with a
// /64 and the server is on that link), fetches ipxe.efi over TFTPv6 (a tsize probe, then
// blksize/windowsize 4) and starts it: iPXE's banner on the serial console. The transfer summary
// must show every byte of the image delivered to the firmware's IPv6 address.
//
// Needs root, iproute2, qemu-system-x86, ovmf and ipxe (.ci/run installs them).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { canUseNetns, teardown } from '../support/netns.js';
import { findQemu } from '../support/pxe-lab.js';
import { BOOT_FILE, UefiLab, uefiLabMissing } from '../support/uefi-lab.js';
import { logField as field } from '../support/transfer-outcome.js';

const VM_TIMEOUT_MS = 150_000;
const work = mkdtempSync(join(tmpdir(), 'pxecast-uefi6-'));
let lab: UefiLab | null = null;

function qemuPath(): string {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason);
  const setup = findQemu();
  assert.ok(!('missing' in setup), 'missing' in setup ? `UEFI lab needs ${setup.missing}` : '');
  const missing = uefiLabMissing(setup.qemu);
  assert.equal(missing, null, `UEFI lab needs ${missing}`);
  return setup.qemu;
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

describe('UEFI (OVMF) boot over IPv6 only', () => {
  it('PXEv6: stateful DHCPv6 (IA_NA + option 59) from pxecast, the boot file over TFTPv6, started by the firmware', async () => {
    lab = await UefiLab.start({ workDir: join(work, 'pxe6'), tftpLoss: 0, family: 'ipv6' }, qemuPath());
    const result = await lab.bootVm(VM_TIMEOUT_MS);
    const log = lab.daemon.outputTail();
    const why = `--- console ---\n${result.console.split('\n').slice(-30).join('\n')}\n--- pxecast ---\n${log.slice(-6000)}`;
    assert.match(result.console, /Start PXE over IPv6/, why);
    assert.doesNotMatch(result.console, /Start PXE over IPv4/, why);
    // The DHCPv6 REPLY that bound the firmware's address carried the boot URL.
    const lease = log.split('\n').find((l) => l.includes('info dhcp6 lease') && field(l, 'addresses') !== 'none');
    assert.ok(lease, `a DHCPv6 binding\n${why}`);
    assert.equal(field(lease, 'boot_url'), `tftp://[fd00:213:6::1]/${BOOT_FILE}`);
    assert.equal(field(lease, 'arch'), '7', 'EDK2 sends option 61 = 7 (x64 UEFI)');
    const address = field(lease, 'addresses')!;
    const fetches = log.split('\n').filter((l) => l.includes('info transfer') && field(l, 'file') === BOOT_FILE && field(l, 'outcome') === 'complete');
    assert.equal(fetches.length, 1, `one complete transfer of the boot file\n${why}`);
    const summary = fetches[0]!;
    assert.ok(field(summary, 'client')!.startsWith(`${address}:`), `fetched by the address pxecast bound: ${summary}`);
    assert.equal(Number(field(summary, 'bytes')), lab.bootImage.length, summary);
    assert.match(field(summary, 'options') ?? '', /windowsize=4/, summary);
    assert.ok(result.started, `the firmware started ipxe.efi (its banner on the console)\n${why}`);
  });
});
