#!/usr/bin/env node
// The HTTP half of the fuzz run, started by run.mjs inside the client namespace: seeded requests to
// the daemon's HTTP port, one connection each (bounded in count and time), of these kinds:
//   good     GET/HEAD of a served file with a random Range (absurd numbers, suffixes, several
//            ranges, garbage), If-None-Match/If-Range, and a percent-encoded or tricked path;
//   mangled  a good request with bytes flipped, cut, or spliced (malformed request lines, headers);
//   flood    a head larger than the 16 KiB limit;
//   body     a GET declaring or sending a body;
//   slow     a head that never completes (a few of these, held open until the server cuts them).
// Every answer must be an HTTP/1.1 status line with a status the server is allowed to give for its
// kind; a connection that the server neither answers nor closes within 15 s counts as a stall.
// Prints one JSON line: {"done": {...}}.
//
// Usage (run.mjs does this): node scripts/fuzz/http-sender.mjs '{"target":..,"port":..,"seed":..,
//   "count":..,"maxSeconds":..,"files":[..]}'
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const plan = JSON.parse(process.argv[2] ?? '{}');
const repo = fileURLToPath(new URL('../../', import.meta.url));
const { seededRandom } = await import(join(repo, 'build/test/support/round-trip.js'));
const random = seededRandom(Number(plan.seed) + 7);
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (n) => Math.floor(random() * n);

/** Statuses a well-behaved server may give each kind (a cut connection is also fine for mangled). */
const ALLOWED = {
  good: new Set([200, 206, 304, 403, 404, 416, 429, 503]),
  mangled: new Set([200, 206, 304, 400, 403, 404, 405, 413, 416, 429, 431, 503, 505]),
  flood: new Set([431, 400]),
  body: new Set([413, 400]),
  slow: new Set([408, 400]),
};

function rangeHeader() {
  const n = () => pick([0, 1, 99, 511, 512, 65535, 1e6, 2 ** 31, 2 ** 53, '99999999999999999999999']);
  return pick([
    `bytes=${n()}-${n()}`,
    `bytes=${n()}-`,
    `bytes=-${n()}`,
    `bytes=${n()}-${n()},${n()}-${n()}`,
    'bytes=-',
    'bytes=--1',
    `items=0-${n()}`,
    'bytes=\u00ff-1',
    '',
  ]);
}

function goodRequest() {
  const file = pick(plan.files);
  const path = pick([`/${file}`, `//${file}`, `/${encodeURIComponent(file)}`, `/../${file}`, `/%2e%2e/${file}`, `/${file}?x=${int(1e6)}`, '/', '/nope', `/${file}/x`]);
  const headers = [`Host: ${plan.target}`];
  if (random() < 0.7) headers.push(`Range: ${rangeHeader()}`);
  if (random() < 0.2) headers.push(`If-None-Match: ${pick(['*', '"x"', 'W/"y", "z"', ''])}`);
  if (random() < 0.2) headers.push(`If-Range: ${pick(['"x"', 'Mon, 30 Nov 2026 10:00:00 GMT', 'garbage'])}`);
  if (random() < 0.1) headers.push(`If-Modified-Since: ${pick(['Mon, 30 Nov 2026 10:00:00 GMT', 'yesterday'])}`);
  return `${pick(['GET', 'GET', 'GET', 'HEAD'])} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\nConnection: close\r\n\r\n`;
}

function mangle(text) {
  const bytes = Buffer.from(text, 'latin1');
  switch (int(4)) {
    case 0:
      for (let i = 0; i < 1 + int(4); i++) bytes[int(bytes.length)] = int(256);
      return bytes;
    case 1:
      return Buffer.concat([bytes.subarray(0, int(bytes.length)), Buffer.from('\r\n\r\n')]);
    case 2:
      return Buffer.concat([Buffer.from(`${pick(['GET', 'BREW', 'G\0T', ''])} ${pick(['/', '*', 'http://x/', '\x7f'])} ${pick(['HTTP/1.1', 'HTTP/9.9', 'HTTP/1', ''])}\r\n`), bytes.subarray(text.indexOf('\r\n') + 2)]);
    default:
      return Buffer.concat([bytes.subarray(0, text.indexOf('\r\n') + 2), Buffer.from(`${pick(['X', ':', 'Transfer-Encoding', 'Content-Length'])}: ${pick(['chunked', '-1', 'x', '1e9'])}\r\n`), bytes.subarray(text.indexOf('\r\n') + 2)]);
  }
}

function request(kind) {
  switch (kind) {
    case 'good':
      return { bytes: Buffer.from(goodRequest(), 'latin1'), complete: true };
    case 'mangled':
      return { bytes: mangle(goodRequest()), complete: true };
    case 'flood':
      return { bytes: Buffer.from(`GET /${plan.files[0]} HTTP/1.1\r\nHost: x\r\n${`X-F${int(1000)}: ${'a'.repeat(4000)}\r\n`.repeat(6)}\r\n`), complete: true };
    case 'body':
      return { bytes: Buffer.from(`GET /${plan.files[0]} HTTP/1.1\r\nHost: x\r\nContent-Length: ${pick([100000, 1e9])}\r\n\r\n${'b'.repeat(int(5000))}`), complete: true };
    default:
      return { bytes: Buffer.from(`GET /${plan.files[0]} HTTP/1.1\r\nHost: x\r\n`), complete: false };
  }
}

/** One connection: the first status code, or 'cut' (closed without one), or 'stall'. */
function exchange(bytes) {
  return new Promise((resolve) => {
    const socket = connect(plan.port, plan.target);
    let head = '';
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('stall'), 15_000);
    socket.on('data', (d) => {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      if (m) done(Number(m[1]));
      else if (head.length > 64) done('garbage');
    });
    socket.on('error', () => done('cut'));
    socket.on('close', () => done(head ? 'garbage' : 'cut'));
    socket.write(bytes);
  });
}

const started = performance.now();
const stats = { sent: 0, byKind: {}, statuses: {}, wrong: [], stalls: 0, cut: 0 };
const slow = [];
const deadline = started + plan.maxSeconds * 1000;
for (let i = 0; i < plan.count && performance.now() < deadline; i++) {
  const kind = pick(['good', 'good', 'good', 'mangled', 'mangled', 'flood', 'body', ...(slow.length < 4 ? ['slow'] : [])]);
  const { bytes } = request(kind);
  stats.sent++;
  stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
  const answer = exchange(bytes).then((result) => {
    stats.statuses[result] = (stats.statuses[result] ?? 0) + 1;
    if (result === 'stall') stats.stalls++;
    else if (result === 'cut') stats.cut++;
    if (typeof result === 'number' ? !ALLOWED[kind].has(result) : result === 'garbage' || (result === 'stall') || (result === 'cut' && kind !== 'mangled')) {
      if (stats.wrong.length < 10) stats.wrong.push({ kind, result, request: bytes.toString('latin1').slice(0, 120) });
    }
  });
  if (kind === 'slow') slow.push(answer);
  else await answer;
}
await Promise.all(slow);
stats.seconds = Math.round((performance.now() - started) / 100) / 10;
console.log(JSON.stringify({ done: stats }));
