#!/usr/bin/env node
// Enforces the dependency rule of the design (design.md "Dependency rule") over EVERY folder and
// root file of src/: pure layers (codec, config, catalog, decisions, state machines) never import
// I/O modules or concrete adapters; adapters (src/io) import ports and codecs, never policy. A
// folder or root file without a rule here fails the check, so a new one must say where it stands.
// Run by the test runner before any test.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const IO_MODULES = /^(node:)?(dgram|fs|fs\/promises|net|child_process|http|https|os|cluster|worker_threads|readline|tty|dns|perf_hooks)$/;
const ADAPTER_PACKAGES = /^(winston|node-ipc|ini|dhcp|prom-client)$/;
// The metrics endpoint's HTTP server and exposition format: src/io/metrics-http.ts only.
const HTTP_METRICS = /^((node:)?https?|prom-client)$/;
// Our folders reached by relative path.
const imports = (spec, ...folders) => spec.startsWith('.') && new RegExp(`(^|/)(${folders.join('|')})/`).test(spec);
// Outside src/io, only the ports (interfaces) of src/io may be imported.
const adapter = (spec) => /(^|\/)io\/(?!ports\.js$)/.test(spec);
const pure = (spec) => IO_MODULES.test(spec) || ADAPTER_PACKAGES.test(spec) || adapter(spec);

// [folder or root file, is this import forbidden there?]
const rules = [
  // Bytes ⇄ values; the `dhcp` package (and its lib/ files) only here.
  ['src/codec', (spec) => IO_MODULES.test(spec) || (ADAPTER_PACKAGES.test(spec) && spec !== 'dhcp') ||
    imports(spec, 'io', 'tftp', 'multicast', 'flowcontrol', 'admission', 'dhcp', 'catalog', 'config', 'control', 'http', 'metrics')],
  // The config scanner wraps `ini`.
  ['src/config', (spec) => IO_MODULES.test(spec) || /^(winston|node-ipc|dhcp|prom-client)$/.test(spec) || adapter(spec) ||
    imports(spec, 'tftp', 'multicast', 'flowcontrol', 'admission', 'dhcp', 'catalog', 'control', 'http', 'metrics')],
  ['src/catalog', (spec) => pure(spec) || imports(spec, 'tftp', 'multicast', 'flowcontrol', 'admission', 'dhcp', 'control', 'http', 'metrics')],
  // The five flow-control decisions and their toolbox: below the state machines that consult them.
  ['src/flowcontrol', (spec) => pure(spec) || imports(spec, 'tftp', 'multicast', 'admission', 'dhcp', 'catalog', 'control', 'http', 'metrics')],
  // Limiters are pure state machines shared by the TFTP, MTFTP and DHCP sides.
  ['src/admission', (spec) => pure(spec) || imports(spec, 'tftp', 'multicast', 'flowcontrol', 'dhcp', 'catalog', 'control', 'http')],
  // Unicast transfers and the port-69 front door (which opens RFC 2090 sessions).
  ['src/tftp', (spec) => pure(spec) || imports(spec, 'dhcp', 'control', 'http')],
  // RFC 2090 sessions, MTFTP channels and server: they share the unicast block producers and timer.
  ['src/multicast', (spec) => pure(spec) || imports(spec, 'dhcp', 'control', 'http') || /(^|\/)tftp\/tftp-server\.js$/.test(spec)],
  ['src/dhcp', (spec) => pure(spec) || imports(spec, 'tftp', 'flowcontrol', 'control', 'http')],
  // The DHCPv6 responder: the DHCPv4 catalog rules (dhcp/boot-policy, client-class) are shared.
  ['src/dhcp6', (spec) => pure(spec) || imports(spec, 'tftp', 'multicast', 'flowcontrol', 'control', 'http')],
  // The HTTP glue and its pure decisions: node:http lives in io/node-http.ts.
  ['src/http', (spec) => pure(spec) || imports(spec, 'tftp', 'multicast', 'flowcontrol', 'dhcp', 'control')],
  // The control protocol, handler and formatting reach the socket only through io/ports.ts, so
  // node-ipc stays replaceable (design.md section 6).
  ['src/control', (spec) => pure(spec)],
  // The metrics snapshot reads the servers and stays pure; prom-client lives in io/metrics-http.ts.
  ['src/metrics', (spec) => pure(spec)],
  // Adapters: Node built-ins and adapter packages, the ports they implement, codecs; never policy.
  ['src/io', (spec) => spec.startsWith('..') && !/^\.\.\/codec\//.test(spec)],
  // Lifecycle and the socket guard: no I/O of their own, adapters only through their ports.
  ['src/daemon.ts', pure],
  ['src/datagram-guard.ts', pure],
  // Composition roots (the daemon's and the CLI's) and the version read from package.json.
  ['src/main.ts', () => false],
  ['src/cli.ts', () => false],
  ['src/control-cli.ts', () => false],
  // The transfer worker thread's composition root (tftp/transfer-pool.ts starts it).
  ['src/transfer-worker.ts', () => false],
  ['src/version.ts', (spec) => spec.startsWith('.')],
];
// Everywhere outside src/io (main.ts, cli.ts, daemon.ts included): no HTTP server, no prom-client.
const everywhere = (spec, file) => HTTP_METRICS.test(spec) && !file.startsWith('src/io/');

function walk(path) {
  if (!statSync(join(root, path)).isDirectory()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(join(root, path)).flatMap((name) => walk(`${path}/${name}`));
}

const violations = [];
const covered = new Set(rules.map(([where]) => where));
for (const name of readdirSync(join(root, 'src'))) {
  const where = `src/${name}`;
  const isDir = statSync(join(root, where)).isDirectory();
  if ((isDir || name.endsWith('.ts')) && !covered.has(where)) violations.push(`${where}: no rule in scripts/check-layers.mjs`);
}
const importRe = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
for (const [where, forbidden] of rules) {
  for (const file of walk(where)) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (forbidden(spec, file) || everywhere(spec, file)) violations.push(`${file}: imports '${spec}'`);
    }
  }
}
if (violations.length) {
  console.error('layer check failed (see design.md "Dependency rule"):\n  ' + [...new Set(violations)].join('\n  '));
  process.exit(1);
}
console.log(`layer check: ok (${rules.length} rules: every folder and root file of src/)`);
