// The ARM64 UEFI application generator of the e2e test (test/support/arm64-efi-app.ts): its
// checksum, its PE32+ headers and its hand-encoded instructions, here without QEMU. That the
// firmware loads and runs it is proven by test/e2e/uefi-arm64-boot.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arm64AppAssembly, buildArm64EfiApp, fnv1a32, parseArm64Proof } from '../../support/arm64-efi-app.js';

// `llvm-mc -triple=aarch64 -filetype=obj` of arm64AppAssembly() (with `length: .word 0` and
// `message:` appended for its two data labels), .text only: the code the encoders must produce.
const LLVM_MC_CODE =
  'fd7bbea9f35301a9fd030091ff8300d1332040f962ffff1003050018a4b893528423b072653280520520a072c3000034' +
  '461440388400064a847c051b63040051fbffff17e703009108018052897c1c532ac100112b5d01113f29007149318b1a' +
  'e9240078846c1c530805005108ffff35a9018052e924007849018052e9240078ff000079e00313aaa1010010690640f9' +
  '20013fd6e00313aae1030091690640f920013fd6000080d2bf030091f35341a9fd7bc2a8c0035fd6';
const SECTION_FILE_OFFSET = 0x200;

describe('ARM64 UEFI application generator', () => {
  it('fnv1a32 matches the published FNV-1a 32-bit vectors', () => {
    assert.equal(fnv1a32(Buffer.alloc(0)), 0x811c9dc5);
    assert.equal(fnv1a32(Buffer.from('a')), 0xe40c292c);
    assert.equal(fnv1a32(Buffer.from('foobar')), 0xbf9cf968);
  });

  it('encodes the program exactly as llvm-mc assembles its assembly text', () => {
    const app = buildArm64EfiApp('n0nce', Buffer.alloc(0));
    const instructions = arm64AppAssembly().split('\n').filter((l) => l.startsWith('  ')).length;
    assert.equal(app.image.subarray(SECTION_FILE_OFFSET, SECTION_FILE_OFFSET + instructions * 4).toString('hex'), LLVM_MC_CODE);
  });

  it('writes a PE32+ EFI application for AArch64 whose section holds code, length, message and payload', () => {
    const payload = Buffer.from(Array.from({ length: 3001 }, (_, i) => (i * 7) & 0xff));
    const app = buildArm64EfiApp('abc123', payload);
    const img = app.image;
    assert.equal(img.toString('latin1', 0, 2), 'MZ');
    const pe = img.readUInt32LE(0x3c);
    assert.equal(img.toString('latin1', pe, pe + 4), 'PE\0\0');
    assert.equal(img.readUInt16LE(pe + 4), 0xaa64, 'machine ARM64');
    assert.equal(img.readUInt16LE(pe + 22) & 0x0001, 0, 'RELOCS_STRIPPED clear: EDK2 may load it anywhere');
    const opt = pe + 24;
    assert.equal(img.readUInt16LE(opt), 0x20b, 'PE32+');
    assert.equal(img.readUInt16LE(opt + 68), 10, 'EFI application');
    const section = opt + img.readUInt16LE(pe + 20);
    const rva = img.readUInt32LE(section + 12);
    assert.equal(img.readUInt32LE(opt + 16), rva, 'entry point: the first instruction of the section');
    const virtualSize = img.readUInt32LE(section + 8);
    const raw = img.readUInt32LE(section + 20);
    assert.ok(img.readUInt32LE(opt + 56) >= rva + virtualSize, 'SizeOfImage covers the section');
    assert.equal(img.length, raw + img.readUInt32LE(section + 16), 'the file ends with the section');
    const loaded = img.subarray(raw, raw + virtualSize);
    assert.equal(app.expectedChecksum, fnv1a32(loaded).toString(16).padStart(8, '0'));
    assert.ok(loaded.subarray(-payload.length).equals(payload), 'the payload closes the section');
    assert.ok(loaded.includes(Buffer.from('pxecast-arm64 nonce=abc123 fnv1a32=\0', 'utf16le')), 'the message, UTF-16 and NUL-terminated');
    assert.equal(app.expectedLine, `pxecast-arm64 nonce=abc123 fnv1a32=${app.expectedChecksum}`);
  });

  it('parses the line from a console, and nothing from a partial one', () => {
    assert.deepEqual(parseArm64Proof('BdsDxe: starting Boot0001\r\npxecast-arm64 nonce=abc123 fnv1a32=0badf00d\r\nBdsDxe: loading'), { nonce: 'abc123', checksum: '0badf00d' });
    assert.equal(parseArm64Proof('pxecast-arm64 nonce=abc123 fnv1a32=0badf0'), null);
    assert.throws(() => buildArm64EfiApp('Bad nonce', Buffer.alloc(0)), /nonce/);
  });
});
