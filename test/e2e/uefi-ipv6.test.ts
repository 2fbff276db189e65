// Real UEFI firmware boots from pxecast over IPv6 only: Debian's OVMF (EDK2) in QEMU on a lab link
// where pxecast's namespace has no IPv4 address and no DHCPv4 runs; OVMF's IPv4 stack is switched
// off (fw_cfg opt/org.tianocore/IPv4Support=no: no IPv4 boot entries at all), so its PXEv6 entry
// boots first. EDK2's PXEv6 gets its address (IA_NA) and the boot file URL (option 59,
// `tftp://[fd00:213:6::1]/...`) from pxecast's stateful DHCPv6 (no router advertisement needed:
// EDK2 takes the address with a /64 and the server is on that link), fetches ipxe.efi over TFTPv6
// (a tsize probe, then blksize/windowsize 4) and starts it: iPXE's banner on the serial console.
// The transfer summary must show every byte of the image delivered to the firmware's IPv6 address.
//
// UEFI HTTP Boot over IPv6: HttpBootDxe's SOLICIT (vendor class `HTTPClient`, arch 16) gets an
// address, option 59 `http://[fd00:213:6::1]:8080/...` and `HTTPClient` echoed (without the echo
// EDK2 takes the offer for a plain address and boots nothing); the firmware GETs the file from
// pxecast's HTTP server over IPv6 and starts it. The catalog serves arch 16 only, so the PXEv6
// entry before it gets no URL and gives up: it must run first, because this OVMF's HTTPv6 does not
// wait for the link-local address (uefi-lab.ts, firmwareSwitches).
//
// Needs root, iproute2, qemu-system-x86, ovmf and ipxe (.ci/run installs them).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canUseNetns } from '../support/netns.js';
import { findQemu } from '../support/pxe-lab.js';
import { BOOT_FILE, UEFI_LAB_SERVER6, UefiLab, uefiLabMissing } from '../support/uefi-lab.js';
import { logField as field } from '../support/transfer-outcome.js';
import { labPerTest } from '../support/lab-per-test.js';

const VM_TIMEOUT_MS = 150_000;
// ipxe.efi padded with random bytes (new ones every run), odd so the body ends off any boundary.
const BOOT_FILE_BYTES = 2_000_001;
const labs = labPerTest<UefiLab>('pxecast-uefi6-');
const work = labs.work;

function qemuPath(): string {
  const support = canUseNetns();
  assert.ok(support.ok, support.ok ? '' : support.reason);
  const setup = findQemu();
  assert.ok(!('missing' in setup), 'missing' in setup ? `UEFI lab needs ${setup.missing}` : '');
  const missing = uefiLabMissing(setup.qemu);
  assert.equal(missing, null, `UEFI lab needs ${missing}`);
  return setup.qemu;
}

/** An IPv6 address as HttpBootDxe prints it (HttpBootShowIp6Addr): eight groups, no `::`,
 *  no leading zeros, upper-case hex. */
function edk2Ip6(address: string): string {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16).toString(16).toUpperCase()).join(':');
}

describe('UEFI (OVMF) boot over IPv6 only', () => {
  it('PXEv6: stateful DHCPv6 (IA_NA + option 59) from pxecast, the boot file over TFTPv6, started by the firmware', async () => {
    const lab = labs.hold(await UefiLab.start({ workDir: join(work, 'pxe6'), tftpLoss: 0, family: 'ipv6' }, qemuPath()));
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

  it('HTTP Boot: the HTTPClient SOLICIT gets an address, option 59 http://[addr]:port/... and HTTPClient echoed; the firmware fetches the binary from pxecast over IPv6 and starts it', async () => {
    const l = labs.hold(await UefiLab.start({ workDir: join(work, 'http6'), tftpLoss: 0, family: 'ipv6', boot: 'http', bootFileBytes: BOOT_FILE_BYTES }, qemuPath()));
    const result = await l.bootVm(VM_TIMEOUT_MS);
    const log = l.daemon.outputTail();
    const why = `--- console ---\n${result.console.split('\n').slice(-30).join('\n')}\n--- pxecast ---\n${log.slice(-6000)}`;
    // PXEv6 first (the catalog has no image for its arch 7, so it gets no URL and gives up), then HTTPv6.
    assert.match(result.console, /Start PXE over IPv6[^]*Start HTTP Boot over IPv6/, `HttpBootDxe ran over IPv6, after PXEv6\n${why}`);
    assert.doesNotMatch(result.console, /over IPv4/, `the firmware has no IPv4 stack\n${why}`);
    const lease = log.split('\n').find((line) => line.includes('info dhcp6 lease') && field(line, 'addresses') !== 'none');
    assert.ok(lease, `a DHCPv6 binding\n${why}`);
    assert.equal(field(lease, 'boot_url'), `http://[${UEFI_LAB_SERVER6}]:${l.httpPort}/${BOOT_FILE}`);
    assert.equal(field(lease, 'arch'), '16', 'HttpBootDxe sends option 61 = 16 (x64 UEFI HTTP)');
    const address = field(lease, 'addresses')!;
    // The firmware printed the address it took from pxecast's REPLY.
    assert.match(result.console, new RegExp(`Station IPv6 address is ${edk2Ip6(address)}\\b`, 'i'), `the firmware took ${address}\n${why}`);
    // One complete body of the whole file, sent to the address pxecast bound; nothing over TFTP.
    const bodies = log.split('\n').filter((line) => line.includes('info transfer service=http') && field(line, 'file') === `/${BOOT_FILE}` && field(line, 'outcome') === 'complete');
    const whole = bodies.filter((line) => Number(field(line, 'bytes')) === l.bootImage.length);
    assert.equal(whole.length, 1, `the whole boot file over HTTP, once\n${why}`);
    assert.ok(field(whole[0]!, 'client')!.startsWith(`${address}:`), `fetched by the address pxecast bound: ${whole[0]}`);
    assert.equal(log.split('\n').filter((line) => line.includes('service=tftp') && line.includes('file=')).length, 0, `nothing over TFTP\n${why}`);
    assert.ok(result.started, `the firmware started ipxe.efi (its banner on the console)\n${why}`);
    console.log(`# UEFI HTTP Boot over IPv6: started in ${(result.ms / 1000).toFixed(1)} s; ${whole[0]}`);
  });
});
