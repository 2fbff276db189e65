#!/usr/bin/env node
// Enforces the dependency rule of the design: pure layers (codec, config, catalog, sessions) never
// import I/O modules or concrete adapters. Run by `npm test`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const IO_MODULES = /^(node:)?(dgram|fs|fs\/promises|net|child_process|http|https|os|cluster|worker_threads|readline|tty|dns)$/;
const ADAPTER_PACKAGES = /^(winston|node-ipc|ini|dhcp|prom-client)$/;
// The metrics endpoint's HTTP server and exposition format: src/io/metrics-http.ts only.
const HTTP_METRICS = /^((node:)?https?|prom-client)$/;

// [folder, what it may not import, allowed exceptions]
const rules = [
  // Our own layers by relative path; the `dhcp` package (and its lib/ files) only in codec.
  ['src/codec', (spec) => IO_MODULES.test(spec) || (spec.startsWith('.') && /\/(io|tftp|multicast|flowcontrol|admission|dhcp|catalog|config|control)\//.test(spec)) || (ADAPTER_PACKAGES.test(spec) && spec !== 'dhcp')],
  ['src/config', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || /^(winston|node-ipc|dhcp)$/.test(spec)],
  ['src/catalog', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  ['src/tftp', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  ['src/multicast', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  ['src/flowcontrol', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  // Limiters are pure state machines shared by the TFTP and DHCP sides.
  ['src/admission', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  // The HTTP glue and its pure decisions: node:http lives in io/node-http.ts.
  ['src/http', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  ['src/dhcp', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  // The control protocol, handler and formatting reach the socket only through io/ports.ts, so
  // node-ipc stays replaceable (design.md section 6).
  ['src/control', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  // The metrics snapshot reads the servers and stays pure; prom-client lives in io/metrics-http.ts.
  ['src/metrics', (spec) => IO_MODULES.test(spec) || /\/io\/(?!ports\.js)/.test(spec) || ADAPTER_PACKAGES.test(spec)],
  // Everywhere outside src/io (main.ts, cli.ts, daemon.ts included): no HTTP server, no prom-client.
  ['src', (spec, file) => HTTP_METRICS.test(spec) && !file.startsWith('src/io/')],
];

function walk(dir) {
  let out = [];
  let names;
  try {
    names = readdirSync(join(root, dir));
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(join(root, p)).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const importRe = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
const violations = [];
for (const [dir, forbidden] of rules) {
  for (const file of walk(dir)) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (forbidden(spec, file)) violations.push(`${relative(root, join(root, file))}: imports '${spec}'`);
    }
  }
}
if (violations.length) {
  console.error('layer check failed (see design.md "Dependency rule"):\n  ' + [...new Set(violations)].join('\n  '));
  process.exit(1);
}
console.log('layer check: ok');
