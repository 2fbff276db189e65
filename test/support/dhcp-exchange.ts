// DHCP exchanges from inside a test namespace through dhcp-probe.js (one datagram out, replies
// collected for a bounded wait), and minimal client packets to send with it.
import { decodeDhcp, type DhcpMessage } from '../../src/codec/dhcp-message.js';
import { repoRoot } from './fixtures.js';
import { join } from 'node:path';
import { runInNamespace, type LinkEnd } from './netns.js';

const probe = join(repoRoot, 'build/test/support/dhcp-probe.js');

export interface DhcpReply {
  readonly from: string;
  readonly port: number;
  readonly msg: DhcpMessage;
}

/** Sends `packet` from inside the client's namespace and returns the BOOTREPLYs it got. */
export async function dhcpExchange(end: LinkEnd, packet: Buffer, opts: { from?: string; to?: string; waitMs?: number } = {}): Promise<DhcpReply[]> {
  const r = await runInNamespace(end.namespace, process.execPath, [probe, opts.from ?? '0.0.0.0:68', opts.to ?? '255.255.255.255:67', packet.toString('hex'), String(opts.waitMs ?? 1500)], { timeoutMs: 10_000 });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { from: string; port: number; hex: string })
    .map((x) => ({ from: x.from, port: x.port, msg: decodeDhcp(Buffer.from(x.hex, 'hex')) }))
    .filter((x) => x.msg.op === 2);
}

/** The MAC plainDhcpPacket gives client number `mac`. */
export const testMac = (mac: number): string => `52:54:00:ee:00:${mac.toString(16).padStart(2, '0')}`;

/** A minimal non-PXE request: header + cookie + option 53 + extra options + end; xid 0x52000000+mac. */
export function plainDhcpPacket(type: number, mac: number, options: number[] = [], fields: { ciaddr?: string; giaddr?: string } = {}): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x52000000 + mac, 4);
  const ip = (s: string, at: number) => s.split('.').forEach((o, i) => (b[at + i] = Number(o)));
  if (fields.ciaddr) ip(fields.ciaddr, 12);
  if (fields.giaddr) ip(fields.giaddr, 24);
  Buffer.from([0x52, 0x54, 0x00, 0xee, 0x00, mac]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([b, Buffer.from([53, 1, type, ...options, 255])]);
}

export const ipBytes = (s: string): number[] => s.split('.').map(Number);
