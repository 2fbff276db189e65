// The initramfs builder's pure parts: the newc writer the kernel unpacks, the module load order
// from modules.dep, and the static-binary check. (The kernel itself unpacking and running one is
// the e2e Secure Boot scenario.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newcArchive } from '../../support/cpio-newc.js';
import { isStaticElf, moduleLoadOrder } from '../../support/initramfs.js';

/** Reads a newc archive back: name, mode, size, rdev and data of each entry, checking alignment. */
function readNewc(archive: Buffer) {
  const entries: Array<{ name: string; mode: number; data: string; nlink: number; rdev: [number, number] }> = [];
  let at = 0;
  for (;;) {
    assert.equal(at % 4, 0, 'every header starts 4-aligned');
    assert.equal(archive.toString('latin1', at, at + 6), '070701');
    const field = (i: number) => parseInt(archive.toString('latin1', at + 6 + 8 * i, at + 14 + 8 * i), 16);
    const [mode, nlink, size, rdevMajor, rdevMinor, nameSize] = [field(1), field(4), field(6), field(9), field(10), field(11)];
    const name = archive.toString('latin1', at + 110, at + 110 + nameSize - 1);
    assert.equal(archive[at + 110 + nameSize - 1], 0, 'names are NUL-terminated');
    const dataAt = Math.ceil((at + 110 + nameSize) / 4) * 4;
    if (name === 'TRAILER!!!') {
      assert.equal(dataAt, archive.length, 'nothing after the trailer');
      return entries;
    }
    entries.push({ name, mode, nlink, data: archive.toString('latin1', dataAt, dataAt + size), rdev: [rdevMajor, rdevMinor] });
    at = Math.ceil((dataAt + size) / 4) * 4;
  }
}

describe('newc cpio writer', () => {
  it('writes each kind of entry with its type bits, sizes and padding, then the trailer', () => {
    const archive = newcArchive([
      { type: 'dir', path: '/bin' },
      { type: 'file', path: '/init', data: Buffer.from('#!/bin/busybox sh\n'), mode: 0o755 },
      { type: 'file', path: 'bin/x', data: Buffer.from('abcde') },
      { type: 'symlink', path: '/bin/sh', target: 'busybox' },
      { type: 'chardev', path: '/dev/console', major: 5, minor: 1 },
    ]);
    assert.deepEqual(readNewc(archive), [
      { name: 'bin', mode: 0o040755, nlink: 2, data: '', rdev: [0, 0] },
      { name: 'init', mode: 0o100755, nlink: 1, data: '#!/bin/busybox sh\n', rdev: [0, 0] },
      { name: 'bin/x', mode: 0o100644, nlink: 1, data: 'abcde', rdev: [0, 0] },
      { name: 'bin/sh', mode: 0o120777, nlink: 1, data: 'busybox', rdev: [0, 0] },
      { name: 'dev/console', mode: 0o020600, nlink: 1, data: '', rdev: [5, 1] },
    ]);
  });

  it('refuses paths that climb out or name the root', () => {
    assert.throws(() => newcArchive([{ type: 'dir', path: '/' }]), /bad cpio path/);
    assert.throws(() => newcArchive([{ type: 'file', path: '/a/../../etc/x', data: Buffer.alloc(0) }]), /bad cpio path/);
  });
});

describe('module load order from modules.dep', () => {
  // An excerpt of Debian 6.1's modules.dep: each line lists every dependency, deepest last.
  const dep = [
    'kernel/drivers/virtio/virtio_ring.ko:',
    'kernel/drivers/virtio/virtio.ko:',
    'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
    'kernel/drivers/virtio/virtio_pci_legacy_dev.ko:',
    'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/net/core/failover.ko:',
    'kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko',
    'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    '',
  ].join('\n');

  it('puts every dependency before its user, each module once', () => {
    const order = moduleLoadOrder(dep, ['virtio_pci', 'virtio-net']).map((f) => f.replace(/^.*\//, ''));
    assert.deepEqual(order, ['virtio_ring.ko', 'virtio.ko', 'virtio_pci_modern_dev.ko', 'virtio_pci_legacy_dev.ko', 'virtio_pci.ko', 'failover.ko', 'net_failover.ko', 'virtio_net.ko']);
  });

  it('names a module it cannot find', () => {
    assert.throws(() => moduleLoadOrder(dep, ['e1000']), /no module e1000/);
  });
});

describe('static ELF check', () => {
  /** An ELF64 little-endian header with the given program header types. */
  function elf(types: number[]): Buffer {
    const phoff = 64;
    const b = Buffer.alloc(phoff + 56 * types.length);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = 2; // ELFCLASS64
    b[5] = 1; // little-endian
    b.writeBigUInt64LE(BigInt(phoff), 0x20);
    b.writeUInt16LE(56, 0x36);
    b.writeUInt16LE(types.length, 0x38);
    types.forEach((t, i) => b.writeUInt32LE(t, phoff + 56 * i));
    return b;
  }
  it('a binary without PT_INTERP is static; with one it needs a loader', () => {
    assert.equal(isStaticElf(elf([1, 1, 4])), true); // LOAD, LOAD, NOTE
    assert.equal(isStaticElf(elf([6, 3, 1])), false); // PHDR, INTERP, LOAD
  });
  it('anything else is not a static ELF64', () => {
    assert.equal(isStaticElf(Buffer.from('#!/bin/sh\n')), false);
    assert.equal(isStaticElf(elf([1]).subarray(0, 70)), false);
  });
});
