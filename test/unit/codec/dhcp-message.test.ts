import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../src/codec/decode-error.js';
import { decodeDhcp, DhcpMessageType, encodeDhcp, MIN_REPLY_LENGTH } from '../../../src/codec/dhcp-message.js';
import { decodeMtftpSubOptions, decodePxeVendorOptions, encodePxeVendorOptions } from '../../../src/codec/pxe-options.js';
import { capture } from '../../support/fixtures.js';
import { seededRandom } from '../../support/round-trip.js';

describe('DHCP codec over the dhcp package', () => {
  it('decodes the iPXE DISCOVER capture: header, PXE options and raw 77/93/94/97/175', () => {
    const m = decodeDhcp(capture('ipxe-dhcp-discover'));
    assert.equal(m.op, 1);
    assert.equal(m.xid, 0xcd02be30);
    assert.equal(m.chaddr, '52:54:00:d7:00:00');
    assert.equal(m.flags, 0, 'iPXE leaves the broadcast flag clear');
    assert.equal(m.options[53], DhcpMessageType.DISCOVER);
    assert.equal(m.options[57], 1472);
    assert.equal(m.options[60], 'PXEClient:Arch:00000:UNDI:002001');
    assert.deepEqual(m.options[93], [0]);
    assert.equal(m.raw.get(77)?.toString(), 'iPXE');
    assert.deepEqual([...m.raw.get(94)!], [1, 2, 1]);
    assert.equal(m.raw.get(97)?.length, 17);
    assert.ok(m.raw.has(175));
  });

  it('decodes the iPXE REQUEST capture with its requested address and server identifier', () => {
    const m = decodeDhcp(capture('ipxe-dhcp-request'));
    assert.equal(m.options[53], DhcpMessageType.REQUEST);
    assert.equal(m.options[50], '10.213.7.109');
    assert.equal(m.options[54], '10.213.7.1');
  });

  it('decodes the dnsmasq OFFER capture and its option 43 MTFTP sub-options (reverse order, big-endian ports)', () => {
    const m = decodeDhcp(capture('dnsmasq-offer-pxe-option43'));
    assert.equal(m.op, 2);
    assert.equal(m.yiaddr, '10.213.7.109');
    assert.equal(m.options[54], '10.213.7.1');
    assert.deepEqual(decodeMtftpSubOptions(m.raw.get(43)!), {
      group: '239.255.9.9',
      clientPort: 3009,
      serverPort: 1769,
      openTimeoutS: 1,
      reopenDelayS: 1,
    });
  });

  it('encodes replies through the package, padded to 300 bytes, and decodes them back', () => {
    const reply = encodeDhcp({
      xid: 7,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '10.0.0.9',
      siaddr: '10.0.0.1',
      giaddr: '0.0.0.0',
      chaddr: '52:54:00:00:00:01',
      file: 'undionly.kpxe',
      options: { 53: DhcpMessageType.OFFER, 54: '10.0.0.1', 51: 3600, 1: '255.255.255.0', 60: 'PXEClient', 43: [6, 1, 8, 255] },
    });
    assert.equal(reply.length, MIN_REPLY_LENGTH);
    const back = decodeDhcp(reply);
    assert.equal(back.op, 2);
    assert.equal(back.file, 'undionly.kpxe');
    assert.equal(back.yiaddr, '10.0.0.9');
    assert.equal(back.options[51], 3600);
    assert.deepEqual([...back.raw.get(43)!], [6, 1, 8, 255]);
  });

  it('reads through pad bytes between options (the package alone skips a byte after each pad)', () => {
    const base = capture('ipxe-dhcp-request');
    const padded = Buffer.concat([base.subarray(0, 240), Buffer.from([0, 0, 0]), base.subarray(240)]);
    assert.equal(decodeDhcp(padded).options[50], '10.213.7.109');
  });

  const good = capture('ipxe-dhcp-discover');
  const mutate = (f: (b: Buffer) => Buffer) => f(Buffer.from(good));
  const malformed: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'TRUNCATED'],
    ['header only', good.subarray(0, 236), 'TRUNCATED'],
    ['bad op', mutate((b) => ((b[0] = 9), b)), 'UNKNOWN_OPCODE'],
    ['not Ethernet', mutate((b) => ((b[2] = 16), b)), 'BAD_OPTIONS'],
    ['bad cookie', mutate((b) => ((b[236] = 0), b)), 'BAD_MAGIC'],
    ['option running past the end', Buffer.concat([good.subarray(0, 240), Buffer.from([60, 200, 1, 2, 3])]), 'BAD_LENGTH'],
    ['option without its length byte', Buffer.concat([good.subarray(0, 240), Buffer.from([53])]), 'TRUNCATED'],
    ['message type of the wrong length', Buffer.concat([good.subarray(0, 240), Buffer.from([53, 2, 1, 1, 255])]), 'BAD_LENGTH'],
    ['server identifier of 3 bytes', Buffer.concat([good.subarray(0, 240), Buffer.from([54, 3, 10, 0, 0, 255])]), 'BAD_LENGTH'],
  ];
  for (const [name, bytes, code] of malformed) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(() => decodeDhcp(bytes), (e: unknown) => e instanceof DecodeError && e.code === code);
    });
  }

  it('throws nothing but DecodeError on 5,000 random and mutated datagrams (seeded), and never writes to the console', () => {
    const random = seededRandom(2131);
    const seeds = [good, capture('ipxe-dhcp-request'), capture('dnsmasq-offer-pxe-option43')];
    const originalError = console.error;
    let consoleWrites = 0;
    console.error = () => void consoleWrites++;
    try {
      for (let i = 0; i < 5000; i++) {
        const buf = Buffer.from(seeds[i % seeds.length]!);
        for (let m = 0; m < 4; m++) buf[240 + Math.floor(random() * (buf.length - 240))] = Math.floor(random() * 256);
        const cut = i % 3 === 0 ? buf.subarray(0, 240 + Math.floor(random() * (buf.length - 240))) : buf;
        try {
          decodeDhcp(cut);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `non-DecodeError: ${String(e)} for ${cut.toString('hex')}`);
        }
      }
    } finally {
      console.error = originalError;
    }
    assert.equal(consoleWrites, 0, 'unknown options must not reach the package (it logs them)');
  });

  it('encodes PXE option 43 with discovery control and the MTFTP tuple, and decodes it back', () => {
    const tuple = { group: '239.255.1.1', clientPort: 3001, serverPort: 1759, openTimeoutS: 2, reopenDelayS: 2 };
    const bytes = encodePxeVendorOptions(8, tuple);
    assert.equal(bytes.toString('hex'), '0104efff0101' + '02020bb9' + '030206df' + '040102' + '050102' + '060108' + 'ff');
    assert.deepEqual(decodeMtftpSubOptions(bytes), tuple);
    assert.deepEqual([...decodePxeVendorOptions(encodePxeVendorOptions(8, null)).keys()], [6]);
  });
});
