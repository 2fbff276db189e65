#!/usr/bin/env node
// The e2e lab as a demo to watch: QEMU VMs with the iPXE ROM boot from pxecast over a bridge in
// network namespaces this script creates, each fetching a random image over the chosen scheme and
// proving its SHA-256 with the multiboot checker. Prints each VM's progress and pxecast's summary
// lines while it runs, then a table; everything (VMs, taps, namespaces) is removed at the end.
//
//   sudo scripts/lab.sh --vms 3 --scheme tftm [--dhcp full|proxy] [--size MiB] [--stagger S]
//
// Same lab as test/e2e (test/support/pxe-lab.ts); needs root, qemu-system-x86, ipxe-qemu, dnsmasq,
// gcc, and `npm run build` (scripts/lab.sh does that).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { findQemu, PxeLab } = await import('../build/test/support/pxe-lab.js');
const { canUseNetns, teardown } = await import('../build/test/support/netns.js');

const USAGE = 'usage: sudo scripts/lab.sh [--vms 1-8] [--scheme tftp|tftm|mtftp] [--dhcp full|proxy] [--size MiB] [--stagger S] [--max-rate Mbit/s] [--open-hold DURATION] [--timeout S] [--keep]';
let args;
try {
  args = parseArgs({
    options: {
      vms: { type: 'string', default: '3' },
      scheme: { type: 'string', default: 'tftm' },
      dhcp: { type: 'string', default: 'full' },
      size: { type: 'string', default: '1.5' },
      stagger: { type: 'string', default: '0' },
      'max-rate': { type: 'string' },
      'open-hold': { type: 'string' },
      timeout: { type: 'string', default: '180' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const vms = Number(args.vms);
const sizeMiB = Number(args.size);
const staggerS = Number(args.stagger);
const timeoutS = Number(args.timeout);
if (!Number.isInteger(vms) || vms < 1 || vms > 8) fail(`--vms must be 1..8\n${USAGE}`);
if (!['tftp', 'tftm', 'mtftp'].includes(args.scheme)) fail(`--scheme must be tftp, tftm or mtftp\n${USAGE}`);
if (!['full', 'proxy'].includes(args.dhcp)) fail(`--dhcp must be full or proxy\n${USAGE}`);
// MTFTP has 16-bit block numbers of 512 bytes: at most 65535 blocks.
const maxMiB = args.scheme === 'mtftp' ? 31 : 64;
if (!(sizeMiB > 0 && sizeMiB <= maxMiB)) fail(`--size must be in (0, ${maxMiB}] MiB for ${args.scheme}`);
if (!(staggerS >= 0 && staggerS <= 60)) fail('--stagger must be 0..60 seconds');
if (!(timeoutS >= 10 && timeoutS <= 1800)) fail('--timeout must be 10..1800 seconds');
const support = canUseNetns();
if (!support.ok) fail(`cannot build the lab: ${support.reason}`);
const setup = findQemu();
if ('missing' in setup) fail(`cannot build the lab: missing ${setup.missing}`);

const workDir = mkdtempSync(join(tmpdir(), 'pxecast-lab-'));
const settings = {
  multicast: args['max-rate'] ? { max_rate: args['max-rate'] } : {},
  mtftp: args['open-hold'] ? { open_hold: args['open-hold'] } : {},
};
const plan = { workDir, vms, scheme: args.scheme, dhcp: args.dhcp, imageBytes: Math.round(sizeMiB * 1024 * 1024) + 1, settings };
console.log(`pxecast lab: ${vms} VM(s), ${args.scheme}://, DHCP ${args.dhcp}, image ${plan.imageBytes} bytes; work dir ${workDir}`);

let lab;
let exitCode = 1;
try {
  lab = await PxeLab.start(plan, setup);
  console.log(`pxecast on ${lab.server.address}; image sha256 ${lab.imageSha256}`);
  const started = performance.now();
  const watcher = watch(lab);
  for (let i = 0; i < vms; i++) {
    if (i > 0 && staggerS > 0) await new Promise((r) => setTimeout(r, staggerS * 1000));
    lab.startVm(i);
  }
  const results = await Promise.all(Array.from({ length: vms }, (_, i) => lab.waitForVm(i, timeoutS * 1000)));
  watcher.stop();
  printTable(lab, results, performance.now() - started);
  exitCode = results.every((r) => verdict(lab, r) === 'ok') ? 0 : 1;
} catch (e) {
  console.error(`pxecast lab failed: ${e.message}`);
  if (lab) console.error(`--- pxecast ---\n${lab.daemon.outputTail().slice(-4000)}`);
} finally {
  await lab?.stop();
  teardown();
  if (args.keep) console.log(`kept ${workDir} (console logs, config, leases)`);
  else rmSync(workDir, { recursive: true, force: true });
}
process.exit(exitCode);

/** Prints a VM's status when it changes, and pxecast's summary lines as they appear. */
function watch(lab) {
  const last = new Map();
  const printed = new Set();
  const notable = / (dhcp lease|transfer|multicast session(?: sending)?|member cannot hear|mtftp pass(?: sending)?|MTFTP pass for late openers) service=/;
  const tick = () => {
    for (const line of lab.daemon.outputTail().split('\n')) {
      if (!notable.test(line) || printed.has(line)) continue;
      printed.add(line);
      console.log(`  pxecast | ${line.replace(/^\S+ info /, '')}`);
    }
    for (let i = 0; i < lab.plan.vms; i++) {
      const c = lab.console(i);
      const status = c.done ? 'checker ran' : c.failed ? 'FAILED' : c.progress || (c.address ? `address ${c.address}` : lab.isRunning(i) ? 'booting' : '');
      if (status && last.get(i) !== status) {
        last.set(i, status);
        console.log(`  vm${i}    | ${status}`);
      }
    }
  };
  const timer = setInterval(tick, 500);
  return { stop: () => { clearInterval(timer); tick(); } };
}

function verdict(lab, r) {
  if (r.image && r.image.sha256 === lab.imageSha256 && r.image.bytes === lab.image.length) return 'ok';
  if (r.image) return 'CORRUPT';
  if (r.report.failed) return 'fetch failed';
  return r.timedOut ? 'timeout' : 'no proof';
}

function printTable(lab, results, totalMs) {
  const rows = results.map((r) => [
    `vm${r.index}`, r.mac, r.report.address ?? '-', verdict(lab, r), String(r.image?.bytes ?? '-'),
    r.image ? `${r.image.sha256.slice(0, 16)}…` : '-', (r.ms / 1000).toFixed(1),
  ]);
  const head = ['VM', 'MAC', 'address', 'result', 'bytes', 'sha256', 'seconds'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log('');
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(`\nexpected sha256 ${lab.imageSha256}; all VMs done in ${(totalMs / 1000).toFixed(1)} s`);
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
