import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../src/codec/decode-error.js';
import {
  decodeTftp,
  encodeDataHeader,
  encodeTftp,
  MAX_ERROR_MESSAGE,
  tftpEncodingLength,
  type TftpPacket,
} from '../../../src/codec/tftp-packet.js';
import { capture } from '../../support/fixtures.js';
import { assertRoundTrip, seededRandom } from '../../support/round-trip.js';

const rt = (p: TftpPacket) => assertRoundTrip(p, encodeTftp, decodeTftp, tftpEncodingLength);

describe('tftp packet codec', () => {
  it('round-trips every packet kind', () => {
    rt({ op: 'RRQ', filename: 'undionly.kpxe', mode: 'octet', options: [{ name: 'blksize', value: '1432' }, { name: 'tsize', value: '0' }] });
    rt({ op: 'WRQ', filename: 'up/load.bin', mode: 'netascii', options: [] });
    rt({ op: 'DATA', block: 65535, data: Buffer.from('hello') });
    rt({ op: 'DATA', block: 0, data: Buffer.alloc(0) });
    rt({ op: 'ACK', block: 7 });
    rt({ op: 'ERROR', code: 1, message: 'File not found' });
    rt({ op: 'ERROR', code: 0, message: 'transfer time limit exceeded' });
    rt({ op: 'OACK', options: [{ name: 'blksize', value: '1428' }] });
  });

  it('sends RFC 1350\'s wording for the standard errors 1-7 whatever the caller wrote; 0 and 8 keep the reason', () => {
    const wire = (code: number, message: string) => decodeTftp(encodeTftp({ op: 'ERROR', code, message }));
    const rfc1350: Array<[number, string]> = [
      [1, 'File not found'],
      [2, 'Access violation'],
      [3, 'Disk full or allocation exceeded'],
      [4, 'Illegal TFTP operation'],
      [5, 'Unknown transfer ID'],
      [6, 'File already exists'],
      [7, 'No such user'],
    ];
    for (const [code, text] of rfc1350) assert.deepEqual(wire(code, 'our detailed reason'), { op: 'ERROR', code, message: text });
    assert.deepEqual(wire(0, 'server busy'), { op: 'ERROR', code: 0, message: 'server busy' });
    assert.deepEqual(wire(8, 'blksize 3 refused'), { op: 'ERROR', code: 8, message: 'blksize 3 refused' });
  });

  it('decodes the iPXE boot-file RRQ capture byte for byte', () => {
    const bytes = capture('ipxe-tftp-rrq-bootfile');
    assert.deepEqual(decodeTftp(bytes), {
      op: 'RRQ',
      filename: 'boot.ipxe',
      mode: 'octet',
      options: [
        { name: 'blksize', value: '1432' },
        { name: 'tsize', value: '0' },
      ],
    });
    assert.deepEqual(encodeTftp(decodeTftp(bytes)), bytes);
  });

  it('decodes the iPXE tftm:// RRQ with an empty multicast value', () => {
    const p = decodeTftp(capture('ipxe-tftm-rrq-multicast'));
    assert.equal(p.op, 'RRQ');
    assert.deepEqual(p.op === 'RRQ' && p.options.map((o) => [o.name, o.value]), [
      ['blksize', '1432'],
      ['tsize', '0'],
      ['multicast', ''],
    ]);
  });

  it('decodes the iPXE mtftp:// RRQ, which has no options', () => {
    assert.deepEqual(decodeTftp(capture('ipxe-mtftp-rrq')), { op: 'RRQ', filename: 'test.img', mode: 'octet', options: [] });
  });

  it('tolerates trailing junk after the last complete OACK pair (IBM Tivoli, per iPXE)', () => {
    const good = encodeTftp({ op: 'OACK', options: [{ name: 'blksize', value: '512' }] });
    const p = decodeTftp(Buffer.concat([good, Buffer.from('junk')]));
    assert.deepEqual(p, { op: 'OACK', options: [{ name: 'blksize', value: '512' }] });
  });

  it('ignores NUL padding after a request', () => {
    const rrq = Buffer.concat([encodeTftp({ op: 'RRQ', filename: 'a', mode: 'octet', options: [] }), Buffer.alloc(8)]);
    assert.deepEqual(decodeTftp(rrq), { op: 'RRQ', filename: 'a', mode: 'octet', options: [] });
  });

  it('sanitises and bounds error messages sent to peers', () => {
    const bytes = encodeTftp({ op: 'ERROR', code: 0, message: 'bad\x01\n' + 'x'.repeat(1000) });
    const p = decodeTftp(bytes);
    assert.equal(p.op, 'ERROR');
    assert.ok(p.op === 'ERROR' && p.message.length === MAX_ERROR_MESSAGE && p.message.startsWith('bad??'));
  });

  it('builds DATA headers with the block number modulo 65536', () => {
    assert.deepEqual(encodeDataHeader(65536 + 5), Buffer.from([0, 3, 0, 5]));
  });

  const malformed: Array<[string, Buffer, string]> = [
    ['empty datagram', Buffer.alloc(0), 'TRUNCATED'],
    ['one byte', Buffer.from([0]), 'TRUNCATED'],
    ['unknown opcode 9', Buffer.from([0, 9, 0, 0]), 'UNKNOWN_OPCODE'],
    ['EFI DIR opcode 7', Buffer.from([0, 7, 0x61, 0]), 'UNKNOWN_OPCODE'],
    ['RRQ without terminator', Buffer.from('\x00\x01file\x00octet', 'latin1'), 'MISSING_NUL'],
    ['RRQ with empty filename', Buffer.from('\x00\x01\x00octet\x00', 'latin1'), 'EMPTY_FILENAME'],
    ['RRQ missing mode', Buffer.from('\x00\x01file\x00', 'latin1'), 'MISSING_NUL'],
    ['RRQ option without value', Buffer.from('\x00\x01f\x00octet\x00blksize\x00', 'latin1'), 'MISSING_NUL'],
    ['RRQ empty option name', Buffer.from('\x00\x01f\x00octet\x00\x001\x00', 'latin1'), 'BAD_OPTIONS'],
    ['RRQ control char in name', Buffer.from('\x00\x01a\x07b\x00octet\x00', 'latin1'), 'NOT_NETASCII'],
    ['DATA without block', Buffer.from([0, 3, 0]), 'TRUNCATED'],
    ['ACK without block', Buffer.from([0, 4]), 'TRUNCATED'],
    ['ERROR without code', Buffer.from([0, 5, 1]), 'TRUNCATED'],
  ];
  for (const [name, bytes, code] of malformed) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(() => decodeTftp(bytes), (e: unknown) => e instanceof DecodeError && e.code === code);
    });
  }

  it('throws nothing but DecodeError on 20,000 random and mutated datagrams (seeded)', () => {
    const random = seededRandom(2090);
    const seeds = [capture('ipxe-tftp-rrq-bootfile'), capture('ipxe-tftm-rrq-multicast'), encodeTftp({ op: 'ACK', block: 1 })];
    for (let i = 0; i < 20000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        buf = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
      } else {
        buf = Buffer.from(seeds[i % seeds.length]!);
        for (let m = 0; m < 3; m++) buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
        buf = buf.subarray(0, Math.floor(random() * (buf.length + 1)));
      }
      try {
        decodeTftp(buf);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `non-DecodeError for ${buf.toString('hex')}: ${String(e)}`);
      }
    }
  });
});
