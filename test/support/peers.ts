// Real TFTP programs to test and benchmark against: where they are, which version, and one-shot
// downloads with each client under a hard time limit.
//
// A program is found through an override variable (e.g. PXECAST_ATFTPD=/opt/atftpd/usr/sbin/atftpd,
// useful because Debian's atftpd and tftpd-hpa packages conflict), else PATH plus /usr/sbin and
// /sbin. It only counts if its version output names the expected implementation: on Debian
// /usr/sbin/in.tftpd belongs to whichever TFTP server package is installed.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runInNamespace, type Namespace } from './netns.js';

export type PeerName = 'atftp' | 'tftp-hpa' | 'curl' | 'tftpd-hpa' | 'atftpd';

export interface PeerProgram {
  readonly name: PeerName;
  readonly path: string;
  /** First line of the version output, e.g. "atftp-0.8.0 (client)". */
  readonly version: string;
}

/** Download helpers throw when their client is not installed; check findPeer() first. */
export interface DownloadRequest {
  readonly host: string;
  readonly port: number;
  readonly remote: string;
  /** Local file written by the client; may be left partial or empty on failure. */
  readonly local: string;
  /** The client is killed (by PID) after this long. Default 60 s. */
  readonly timeoutMs?: number;
  /** Run the client inside this namespace instead of the current one. */
  readonly netns?: Namespace;
}

export interface DownloadResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  /** What the client reported; for tftp-hpa this includes stdout, where it prints errors. */
  readonly stderr: string;
  readonly ms: number;
  readonly timedOut: boolean;
}

export interface AtftpOptions {
  readonly blksize?: number;
  /** RFC 7440; atftp 0.8.0 and later. */
  readonly windowsize?: number;
  readonly tsize?: boolean;
}

export interface CurlOptions {
  readonly blksize?: number;
  /** Send a plain RFC 1350 request with no options at all. */
  readonly noOptions?: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;

const KNOWN: Readonly<Record<PeerName, { binary: string; override: string; versionArgs: string[]; identity: RegExp }>> = {
  atftp: { binary: 'atftp', override: 'PXECAST_ATFTP', versionArgs: ['--version'], identity: /^atftp-.*client/ },
  'tftp-hpa': { binary: 'tftp', override: 'PXECAST_TFTP', versionArgs: ['-V'], identity: /^tftp-hpa / },
  curl: { binary: 'curl', override: 'PXECAST_CURL', versionArgs: ['--version'], identity: /^curl / },
  'tftpd-hpa': { binary: 'in.tftpd', override: 'PXECAST_IN_TFTPD', versionArgs: ['-V'], identity: /^tftp-hpa / },
  atftpd: { binary: 'atftpd', override: 'PXECAST_ATFTPD', versionArgs: ['--version'], identity: /^atftp-.*server/ },
};

const found = new Map<PeerName, PeerProgram | null>();

/** Locates one peer program (cached); null when absent or not the expected implementation. */
export function findPeer(name: PeerName): PeerProgram | null {
  if (!found.has(name)) found.set(name, locate(name));
  return found.get(name) ?? null;
}

export function findPeers(): Readonly<Record<PeerName, PeerProgram | null>> {
  return {
    atftp: findPeer('atftp'),
    'tftp-hpa': findPeer('tftp-hpa'),
    curl: findPeer('curl'),
    'tftpd-hpa': findPeer('tftpd-hpa'),
    atftpd: findPeer('atftpd'),
  };
}

/** `atftp -g -r REMOTE -l LOCAL [--option "blksize N"] [--option "windowsize W"] HOST PORT` */
export function downloadWithAtftp(request: DownloadRequest & AtftpOptions): Promise<DownloadResult> {
  const args = ['-g', '-r', request.remote, '-l', request.local];
  if (request.blksize !== undefined) args.push('--option', `blksize ${request.blksize}`);
  if (request.windowsize !== undefined) args.push('--option', `windowsize ${request.windowsize}`);
  // atftp takes "tsize enable", not an RFC-style "tsize 0".
  if (request.tsize) args.push('--option', 'tsize enable');
  args.push(request.host, String(request.port));
  return download('atftp', args, request, (r) => r.exitCode === 0);
}

/**
 * `tftp -m binary HOST PORT -c get REMOTE LOCAL`. tftp-hpa 5.2 has no way to request blksize,
 * windowsize or any other option, so it always does a plain 512-byte lock-step transfer.
 */
export function downloadWithTftpHpa(request: DownloadRequest & { readonly verbose?: boolean }): Promise<DownloadResult> {
  const args = [...(request.verbose ? ['-v'] : []), '-m', 'binary', request.host, String(request.port)];
  args.push('-c', 'get', request.remote, request.local);
  // It exits 0 even after receiving an ERROR packet, timing out or failing a send, reporting it only
  // as "Error code N: ...", "Transfer timed out." or "tftp: sendto: ..." on stdout/stderr.
  return download('tftp-hpa', args, request, (r) => r.exitCode === 0 && !/^(Error code|Transfer timed out|tftp: )/m.test(r.output));
}

/** `curl -sS -o LOCAL [--tftp-blksize N] [--tftp-no-options] tftp://HOST:PORT/REMOTE` */
export function downloadWithCurl(request: DownloadRequest & CurlOptions): Promise<DownloadResult> {
  const args = ['-sS', '-o', request.local];
  if (request.blksize !== undefined) args.push('--tftp-blksize', String(request.blksize));
  if (request.noOptions) args.push('--tftp-no-options');
  const host = request.host.includes(':') ? `[${request.host}]` : request.host;
  args.push(`tftp://${host}:${request.port}/${request.remote}`);
  return download('curl', args, request, (r) => r.exitCode === 0);
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

async function download(
  client: PeerName,
  args: readonly string[],
  request: DownloadRequest,
  succeeded: (result: { exitCode: number | null; output: string }) => boolean,
): Promise<DownloadResult> {
  const program = findPeer(client);
  if (!program) throw new Error(`${client} is not installed`);
  const result = await runInNamespace(request.netns ?? null, program.path, args, {
    timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const output = `${result.stdout}${result.stderr}`;
  const ok = !result.timedOut && succeeded({ exitCode: result.exitCode, output });
  const stderr = client === 'tftp-hpa' ? output : result.stderr;
  return { ok, exitCode: result.exitCode, stderr, ms: result.ms, timedOut: result.timedOut };
}

function locate(name: PeerName): PeerProgram | null {
  const { binary, override, versionArgs, identity } = KNOWN[name];
  const path = process.env[override] || searchPath(binary);
  if (!path) return null;
  const probe = spawnSync(path, versionArgs, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 3000, encoding: 'utf8' });
  const version = `${probe.stdout ?? ''}${probe.stderr ?? ''}`.trim().split('\n')[0]?.trim() ?? '';
  return identity.test(version) ? { name, path, version } : null;
}

function searchPath(binary: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}
