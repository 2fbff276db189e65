// One structured record per finished transfer: the line an operator greps for.
import type { TftpOption } from '../codec/tftp-packet.js';
import type { PeerAddress } from '../io/ports.js';
import type { TransferResult } from './transfer-types.js';

export interface TransferSummary {
  readonly client: string;
  readonly file: string;
  readonly direction: 'read' | 'write';
  readonly mode: string;
  readonly options: string;
  readonly bytes: number;
  readonly duration_ms: number;
  readonly rate_mbps: number;
  readonly retransmits: number;
  /** Only when some were seen. */
  readonly spurious_timeouts?: number;
  readonly outcome: string;
  readonly detail?: string;
  /** The transfer worker that ran it; absent when it ran in the main thread. */
  readonly worker?: number;
}

export function summarizeTransfer(
  peer: PeerAddress,
  file: string,
  direction: 'read' | 'write',
  mode: string,
  granted: readonly TftpOption[] | null,
  result: TransferResult,
  workerId?: number,
): TransferSummary {
  const seconds = result.durationMs / 1000;
  const summary: TransferSummary = {
    client: `${peer.address}:${peer.port}`,
    file,
    direction,
    mode,
    options: granted && granted.length > 0 ? granted.map((o) => `${o.name}=${o.value}`).join(',') : 'none',
    bytes: result.bytes,
    duration_ms: Math.round(result.durationMs),
    // Megabits per second, like link speeds; two decimals are plenty for a log line.
    rate_mbps: seconds > 0 ? Math.round(((result.bytes * 8) / seconds / 1e6) * 100) / 100 : 0,
    retransmits: result.retransmits,
    ...(result.spuriousTimeouts ? { spurious_timeouts: result.spuriousTimeouts } : {}),
    outcome: result.outcome,
  };
  return { ...summary, ...(result.detail ? { detail: result.detail } : {}), ...(workerId === undefined ? {} : { worker: workerId }) };
}
