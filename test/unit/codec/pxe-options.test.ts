// Options 60 and 93 as the client classifier reads them: what real firmware sends is read, other
// vendor classes are simply not boot clients, and a boot class or architecture list that cannot be
// read throws DecodeError (the classifier then takes the option as absent).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../src/codec/decode-error.js';
import { decodeBootVendorClass, decodeClientArchitectures } from '../../../src/codec/pxe-options.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('option 60 as a boot client class', () => {
  it('reads what real clients send', () => {
    for (const [sent, expected] of [
      ['PXEClient:Arch:00000:UNDI:002001', 'PXEClient'], // iPXE, BIOS PXE ROMs
      ['PXEClient:Arch:00007:UNDI:003016', 'PXEClient'], // EDK2 (OVMF), x64
      ['PXEClient:Arch:00011:UNDI:003000', 'PXEClient'], // ARM64 UEFI, U-Boot
      ['HTTPClient:Arch:00016:UNDI:003001', 'HTTPClient'], // EDK2 HTTP Boot
      ['PXEClient', 'PXEClient'], // no fields at all
      ['PXEClient:Arch:00000:UNDI:002001\0', 'PXEClient'], // a C string's NUL
    ] as const) {
      assert.equal(decodeBootVendorClass(latin1(sent)), expected, sent);
    }
  });

  it('is null for vendor classes that are not boot clients, whatever their bytes', () => {
    for (const sent of ['MSFT 5.0', 'android-dhcp-13', 'udhcp 1.36.1', 'PXE', 'pxeclient', '\xff\xfe\x00\x01', '']) {
      assert.equal(decodeBootVendorClass(latin1(sent)), null, JSON.stringify(sent));
    }
  });

  it('throws DecodeError for a boot class whose fields cannot be read', () => {
    for (const sent of ['PXEClient:Arch:', 'PXEClient:Arch:abcde', 'PXEClient:Arch:0x007', 'PXEClient:Arch:65536', 'PXEClient:Arch:-0001',
      'PXEClient:Arch:00007:UNDI:3.0', 'PXEClient:Arch:00007:UNDI:', 'PXEClient:Arch:00007\xff', 'HTTPClient\x80:Arch:00016', 'PXEClient\x00:Arch:00007']) {
      assert.throws(() => decodeBootVendorClass(latin1(sent)), DecodeError, JSON.stringify(sent));
    }
  });
});

describe('option 93 as architecture types', () => {
  it('reads a list of 16-bit types', () => {
    assert.deepEqual(decodeClientArchitectures(Buffer.from([0, 7])), [7]);
    assert.deepEqual(decodeClientArchitectures(Buffer.from([0, 16, 0, 7])), [16, 7]);
  });

  it('throws DecodeError when empty or of odd length', () => {
    for (const length of [0, 1, 3, 5]) assert.throws(() => decodeClientArchitectures(Buffer.alloc(length)), DecodeError, `${length} bytes`);
  });
});
