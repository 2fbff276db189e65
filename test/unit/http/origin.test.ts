import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpOrigin } from '../../../src/http/origin.js';

describe('the HTTP origin in boot URLs', () => {
  it('leaves out the default port 80: GRUB 2.06 booted by HTTP Boot takes `HOST:80` for a host name', () => {
    assert.equal(httpOrigin('10.213.1.1', 80), 'http://10.213.1.1');
  });
  it('keeps any other port', () => {
    assert.equal(httpOrigin('10.213.1.1', 8080), 'http://10.213.1.1:8080');
    assert.equal(httpOrigin('127.0.0.1', 443), 'http://127.0.0.1:443');
  });
  it('brackets an IPv6 address', () => {
    assert.equal(httpOrigin('fd00::1', 8080), 'http://[fd00::1]:8080');
    assert.equal(httpOrigin('fd00::1', 80), 'http://[fd00::1]');
  });
});
