import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataHeaders } from '../../../src/tftp/data-headers.js';

describe('DataHeaders', () => {
  it('writes opcode 3 and the low 16 bits of the block index', () => {
    const headers = new DataHeaders();
    assert.deepEqual(headers.take(1), Buffer.from([0, 3, 0, 1]));
    assert.deepEqual(headers.take(0x1234), Buffer.from([0, 3, 0x12, 0x34]));
    assert.deepEqual(headers.take(65536 + 5), Buffer.from([0, 3, 0, 5]));
    assert.deepEqual(headers.take(2 ** 33 + 65535), Buffer.from([0, 3, 0xff, 0xff]));
  });

  it('reuses a header given back, and never one still out', () => {
    const headers = new DataHeaders();
    const a = headers.take(1);
    const b = headers.take(2);
    assert.notEqual(a, b);
    assert.deepEqual(a, Buffer.from([0, 3, 0, 1]), 'taking another left the first alone');
    headers.give(a);
    const c = headers.take(3);
    assert.equal(c, a);
    assert.deepEqual(c, Buffer.from([0, 3, 0, 3]));
    assert.deepEqual(b, Buffer.from([0, 3, 0, 2]));
  });
});
