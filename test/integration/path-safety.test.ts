// Every path trick of the shared corpus, sent as an RRQ (and a WRQ, with uploads enabled) to the
// real daemon on loopback. A secret file lives OUTSIDE the served root and outside upload_dir,
// and symlinks inside both point at it. Every RRQ must be answered with a TFTP ERROR (never a DATA
// block, let alone one carrying the secret); no WRQ may create anything outside upload_dir.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../src/codec/tftp-packet.js';
import { DaemonProcess, freeUdpPort, rawExchange, writeTempConfig } from '../support/daemon-process.js';
import { PATH_TRICKS } from '../support/path-tricks.js';
import { downloadWithAtftp, downloadWithTftpHpa } from '../support/peers.js';

const work = mkdtempSync(join(tmpdir(), 'pxecast-paths-'));
const root = join(work, 'root');
const uploads = join(work, 'uploads');
const outside = join(work, 'outside');
const GRUB_CFG = 'set timeout=1\nmenuentry "lab" { linux /vmlinuz }\n';
const marker = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
let daemon: DaemonProcess;
let port: number;

before(async () => {
  for (const d of [root, uploads, outside]) mkdirSync(d);
  writeFileSync(join(outside, 'secret.txt'), `${marker}\n`);
  writeFileSync(join(root, 'boot.img'), 'a real boot file\n');
  mkdirSync(join(root, 'grub'));
  writeFileSync(join(root, 'grub', 'grub.cfg'), GRUB_CFG);
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-to-secret'));
  symlinkSync(outside, join(root, 'link-to-outside'));
  symlinkSync('link-to-secret', join(root, 'link-to-link'));
  symlinkSync('../outside/secret.txt', join(root, 'relative-escape'));
  symlinkSync(outside, join(uploads, 'link-to-outside'));
  port = await freeUdpPort();
  // Generous request limits: this test is about paths, and sends ~200 requests from one address.
  const config = writeTempConfig(
    [
      '[tftp]',
      'listen = 127.0.0.1',
      `port = ${port}`,
      `root = ${root}`,
      `upload_dir = ${uploads}`,
      'client_request_rate = 10000',
      'client_request_burst = 10000',
      'max_transfers_per_client = 1000',
      '[multicast]',
      'enabled = false',
    ].join('\n'),
  );
  daemon = await DaemonProcess.start(config);
});

after(async () => {
  await daemon?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function ask(op: 'RRQ' | 'WRQ', name: string): Promise<{ raw: Buffer; packet: TftpPacket | null }> {
  const reply = await rawExchange(encodeTftp({ op, filename: name, mode: 'octet', options: [] }), port);
  assert.ok(reply, `no answer to ${op} ${JSON.stringify(name)} (silence is not a refusal)`);
  let packet: TftpPacket | null = null;
  try {
    packet = decodeTftp(reply);
  } catch {
    packet = null;
  }
  return { raw: reply, packet };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('path tricks against the real daemon', () => {
  it('serves a real file (so the harness can see DATA at all)', async () => {
    const { packet } = await ask('RRQ', 'boot.img');
    assert.equal(packet?.op, 'DATA');
  });

  it('serves a root-relative name (leading "/", as GRUB and shim ask) byte for byte, and logs that once', async () => {
    for (const [i, remote] of ['/grub/grub.cfg', '//grub/grub.cfg', '/grub/grub.cfg'].entries()) {
      const local = join(work, `grub-${i}.cfg`);
      const r = await downloadWithAtftp({ host: '127.0.0.1', port, remote, local, timeoutMs: 10_000 });
      assert.ok(r.ok, `${remote}: ${r.stderr}`);
      assert.equal(readFileSync(local, 'utf8'), GRUB_CFG, `${remote}: the root's grub/grub.cfg`);
    }
    const tftpHpa = join(work, 'grub-hpa.cfg');
    const r = await downloadWithTftpHpa({ host: '127.0.0.1', port, remote: '/grub/grub.cfg', local: tftpHpa, timeoutMs: 10_000 });
    assert.ok(r.ok, r.stderr);
    assert.equal(readFileSync(tftpHpa, 'utf8'), GRUB_CFG);
    assert.equal(daemon.output.match(/leading "\/" is read from the served root/g)?.length, 1, 'logged once');
  });

  it(`answers every one of ${PATH_TRICKS.length} tricks as an RRQ with a TFTP ERROR, never the secret`, async () => {
    const wrong: string[] = [];
    const codes = new Map<number, number>();
    for (const t of PATH_TRICKS) {
      const { raw, packet } = await ask('RRQ', t.name);
      if (raw.includes(marker)) wrong.push(`${t.label}: THE SECRET WAS SENT`);
      else if (packet?.op !== 'ERROR') wrong.push(`${t.label}: ${packet?.op ?? 'undecodable'} instead of ERROR`);
      else codes.set(packet.code, (codes.get(packet.code) ?? 0) + 1);
    }
    assert.deepEqual(wrong, []);
    console.log(`RRQ tricks: ${PATH_TRICKS.length}, ERROR codes ${JSON.stringify(Object.fromEntries(codes))}`);
  });

  it('refuses every refused trick as a WRQ, and no WRQ creates anything outside upload_dir', async () => {
    const outsideBefore = filesUnder(outside);
    const rootBefore = filesUnder(root);
    const wrong: string[] = [];
    for (const t of PATH_TRICKS) {
      const { packet } = await ask('WRQ', t.name);
      // Confined names may be accepted (ACK 0) into upload_dir; the client never sends DATA, and
      // the daemon drops the part file when the transfer times out.
      if (t.expect === 'refused' && packet?.op !== 'ERROR') wrong.push(`${t.label}: ${packet?.op ?? 'undecodable'} instead of ERROR`);
    }
    // The symlinked directory inside upload_dir leads outside: refused.
    const through = await ask('WRQ', 'link-to-outside/planted.txt');
    if (through.packet?.op !== 'ERROR') wrong.push(`WRQ through a symlinked directory: ${through.packet?.op}`);
    assert.deepEqual(wrong, []);
    // The daemon has finished with the last request (its refusal is logged) before the trees are
    // compared.
    const deadline = Date.now() + 5000;
    while (!/file=link-to-outside\/planted\.txt.*cannot create upload/.test(daemon.output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(filesUnder(outside), outsideBefore, 'nothing appeared outside upload_dir');
    assert.deepEqual(filesUnder(root), rootBefore, 'uploads never land in the served root');
    assert.match(daemon.output, /file=link-to-outside\/planted\.txt.*cannot create upload \(EACCES\)/);
  });
});
