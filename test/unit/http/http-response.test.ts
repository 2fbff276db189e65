import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFromTarget, parseRange, planFileResponse, type ConditionalHeaders } from '../../../src/http/http-response.js';

describe('request-target to served name', () => {
  const cases: Array<[string, ReturnType<typeof nameFromTarget>]> = [
    ['/grub/grub.cfg', { ok: true, name: '/grub/grub.cfg' }],
    ['/boot.ipxe?mac=52:54:00:00:00:01', { ok: true, name: '/boot.ipxe' }],
    ['/a%20b.img', { ok: true, name: '/a b.img' }],
    ['/%2e%2e/secret', { ok: true, name: '/../secret' }], // decoded first: the path policy then refuses '..'
    ['/bad%zzescape', { ok: false, status: 400, reason: 'bad percent-encoding in the path' }],
    ['http://evil/x', { ok: false, status: 400, reason: 'request-target is not an absolute path' }],
    ['*', { ok: false, status: 400, reason: 'request-target is not an absolute path' }],
  ];
  for (const [target, expected] of cases) it(JSON.stringify(target), () => assert.deepEqual(nameFromTarget(target), expected));
});

describe('Range (one bytes= range; the rest ignored)', () => {
  const size = 1000;
  const cases: Array<[string | undefined, ReturnType<typeof parseRange>]> = [
    [undefined, { kind: 'whole' }],
    ['bytes=0-99', { kind: 'part', start: 0, end: 99 }],
    ['bytes=900-', { kind: 'part', start: 900, end: 999 }],
    ['bytes=900-5000', { kind: 'part', start: 900, end: 999 }],
    ['bytes=-100', { kind: 'part', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'part', start: 0, end: 999 }],
    ['bytes=999-999', { kind: 'part', start: 999, end: 999 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=5-1', { kind: 'whole' }],
    ['bytes=0-1,5-6', { kind: 'whole' }],
    ['bytes=-', { kind: 'whole' }],
    ['items=0-1', { kind: 'whole' }],
    ['garbage', { kind: 'whole' }],
  ];
  for (const [header, expected] of cases) it(String(header), () => assert.deepEqual(parseRange(header, size), expected));
  it('an empty file has no satisfiable range', () => assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' }));
});

describe('response plan for an opened file version', () => {
  const mtimeMs = Date.parse('2026-12-01T10:00:00.500Z');
  const file = { size: 1000, etag: '"abc"', mtimeMs };
  const lastModified = 'Tue, 01 Dec 2026 10:00:00 GMT';
  const cases: Array<[string, ConditionalHeaders, number, number, number, Record<string, string>]> = [
    ['plain GET', {}, 200, 0, 999, { 'Content-Length': '1000' }],
    ['range', { range: 'bytes=10-19' }, 206, 10, 19, { 'Content-Range': 'bytes 10-19/1000', 'Content-Length': '10' }],
    ['past the end', { range: 'bytes=2000-' }, 416, 0, -1, { 'Content-Range': 'bytes */1000' }],
    ['If-None-Match hit', { ifNoneMatch: '"abc"' }, 304, 0, -1, { ETag: '"abc"' }],
    ['If-None-Match weak hit', { ifNoneMatch: 'W/"abc", "zzz"' }, 304, 0, -1, {}],
    ['If-None-Match miss beats If-Modified-Since', { ifNoneMatch: '"old"', ifModifiedSince: lastModified }, 200, 0, 999, {}],
    ['If-Modified-Since same second', { ifModifiedSince: lastModified }, 304, 0, -1, { 'Last-Modified': lastModified }],
    ['If-Modified-Since older', { ifModifiedSince: 'Mon, 30 Nov 2026 10:00:00 GMT' }, 200, 0, 999, {}],
    ['If-Modified-Since garbage', { ifModifiedSince: 'yesterday' }, 200, 0, 999, {}],
    ['If-Range with the current ETag', { range: 'bytes=10-19', ifRange: '"abc"' }, 206, 10, 19, {}],
    ['If-Range with an old ETag: the whole new version', { range: 'bytes=10-19', ifRange: '"old"' }, 200, 0, 999, {}],
    ['If-Range with an older date', { range: 'bytes=10-19', ifRange: 'Mon, 30 Nov 2026 10:00:00 GMT' }, 200, 0, 999, {}],
  ];
  for (const [what, request, status, start, end, headers] of cases) {
    it(what, () => {
      const plan = planFileResponse(file, request);
      assert.equal(plan.status, status);
      assert.equal(plan.start, start);
      assert.equal(plan.end, end);
      for (const [name, value] of Object.entries(headers)) assert.equal(plan.headers[name], value, name);
      if (status !== 304) assert.equal(plan.headers['Accept-Ranges'], 'bytes');
    });
  }
});
