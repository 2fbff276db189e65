import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestedOptions } from '../../../src/codec/tftp-options.js';
import { negotiateOptions } from '../../../src/tftp/option-negotiation.js';

const limits = { maxBlksize: 1468, maxWindowsize: 64 };
function grant(options: Array<[string, string]>, readSize: number | null = 1000, isWrite = false) {
  const requested = parseRequestedOptions(options.map(([name, value]) => ({ name, value })));
  return negotiateOptions({ requested, limits, readSize, isWrite });
}
const oack = (g: ReturnType<typeof grant>) => g.oack?.map((o) => `${o.name}=${o.value}`).join(' ') ?? null;

describe('option negotiation (RFC 2347/2348/2349/7440)', () => {
  it('answers a request without options with plain RFC 1350 (no OACK)', () => {
    const g = grant([]);
    assert.equal(g.oack, null);
    assert.equal(g.blksize, 512);
    assert.equal(g.windowsize, 1);
  });

  const table: Array<[string, Array<[string, string]>, string | null, number]> = [
    ['iPXE blksize+tsize', [['blksize', '1432'], ['tsize', '0']], 'blksize=1432 tsize=1000', 1432],
    ['blksize above the cap is lowered to the cap', [['blksize', '65464']], 'blksize=1468', 1468],
    ['blksize below 8 is omitted (transfer uses 512)', [['blksize', '4']], null, 512],
    ['non-numeric blksize is omitted', [['blksize', 'big']], null, 512],
    ['names are case-insensitive', [['BLKSIZE', '1024']], 'blksize=1024', 1024],
    ['unknown options are never echoed', [['foo', '1'], ['tsize', '0']], 'tsize=1000', 512],
    ['timeout in range is echoed exactly', [['timeout', '3']], 'timeout=3', 512],
    ['timeout 0 is omitted', [['timeout', '0']], null, 512],
    ['timeout 256 is omitted', [['timeout', '256']], null, 512],
    ['windowsize above the cap is lowered', [['windowsize', '100']], 'windowsize=64', 512],
    ['windowsize 0 is omitted', [['windowsize', '0']], null, 512],
    ['a repeated option: the first wins', [['blksize', '1024'], ['blksize', '600']], 'blksize=1024', 1024],
    ['multicast alone is not granted by unicast negotiation', [['multicast', '']], null, 512],
  ];
  for (const [name, options, expected, blksize] of table) {
    it(name, () => {
      const g = grant(options);
      assert.equal(oack(g), expected);
      assert.equal(g.blksize, blksize);
    });
  }

  it('omits tsize when the size is unknown (netascii)', () => {
    assert.equal(oack(grant([['tsize', '0']], null)), null);
  });

  it('echoes the client tsize on a write and refuses windowsize there', () => {
    const g = grant([['tsize', '4096'], ['windowsize', '8']], null, true);
    assert.equal(oack(g), 'tsize=4096');
    assert.equal(g.windowsize, 1);
  });

  it('keeps the negotiated timeout as the RTO ceiling', () => {
    assert.equal(grant([['timeout', '2']]).timeoutS, 2);
  });
});
