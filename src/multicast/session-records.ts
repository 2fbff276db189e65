// The records of an RFC 2090 session (multicast-session.ts): its members, what it needs, the
// settings of its data path, and the summary it ends with.
import type { TftpOption } from '../codec/tftp-packet.js';
import type { MulticastConfig } from '../config/config-types.js';
import type { LossMeter, TokenBucket } from '../flowcontrol/pacing.js';
import type { SessionParameters } from '../flowcontrol/qos-parameters.js';
import type { ResendLimiter } from '../flowcontrol/resend-on-unexpected.js';
import type { RtoBounds } from '../flowcontrol/rtt-estimator.js';
import type { Clock, DatagramSocket, Logger, PeerAddress } from '../io/ports.js';
import type { BlockProducer } from '../tftp/block-producer.js';
import type { TransferProgress, TransferResult } from '../tftp/transfer-types.js';
import type { DeafHosts } from './deaf-hosts.js';
import type { GroupPort } from './group-pool.js';
import type { MasterStream, MasterStreamDeps, StreamMaster, StreamStats } from './master-stream.js';
import type { KnownPosition } from './wrap-position.js';

export type SessionState = 'gathering' | 'sending' | 'closed';
export type MemberState = 'listening' | 'master' | 'done' | 'failed';

export interface Member extends StreamMaster {
  readonly peer: PeerAddress;
  readonly joinedAt: number;
  /** DATA packets the session had sent when it joined: a late joiner's missed head costs at most
   *  that many again (the summary line shows it, so bytes_per_file > 1 has a visible reason). */
  readonly joinedAfterPackets: number;
  /** What this member asked for besides `multicast`, as granted (blksize, tsize), in its order. */
  readonly granted: readonly TftpOption[];
  state: MemberState;
  /** Times it was made master and never answered. */
  passedOver: number;
  /** Its ACK 0 to its first OACK is expected and absorbed. */
  heardSinceJoin: boolean;
  strayAcks: number;
  /** When our last OACK to it went (-Infinity: none yet): the gathering keepalive reads it. */
  lastOackAt: number;
  /** Moved out of the group as too slow (flowcontrol/slow-member.ts): it finishes by unicast on
   *  its own stream, still `mc=1`, while the next member drives the group. */
  movedOut: boolean;
  /** When its last packet reached the session port (a moved-out member's silence bound). */
  lastHeardAt: number;
  /** What it holds, at least and at most, by absolute block index: places its 16-bit ACKs. */
  readonly position: KnownPosition;
  readonly oackLimiter: ResendLimiter;
}

export interface SessionSummary {
  readonly group: string;
  readonly port: number;
  readonly file: string;
  readonly blksize: number;
  readonly members: number;
  readonly dataSent: number;
  readonly bytesSent: number;
  readonly retransmits: number;
  readonly unicastBlocks: number;
  readonly masterSwitches: number;
  /** Members moved out of the group as too slow. */
  readonly movedOut: number;
  readonly congestionEvents: number;
  readonly finalRateMbps: number;
  readonly durationMs: number;
}

export interface MulticastSessionDeps {
  readonly clock: Clock;
  /** The session's own socket: OACKs and DATA (unicast and multicast) all leave from its port. */
  readonly socket: DatagramSocket;
  readonly group: GroupPort;
  readonly filename: string;
  readonly blocks: BlockProducer;
  readonly fileSize: number;
  readonly params: SessionParameters;
  readonly settings: MulticastConfig;
  readonly rto: RtoBounds;
  /** RFC 2349 timeout (s) the session was opened with (its RTO ceiling), echoed only to members
   *  that ask for exactly this value; null when the opener did not ask for a valid one. */
  readonly timeoutS: number | null;
  readonly idleTimeoutMs: number;
  readonly maxTransferTimeMs: number;
  /** Shared by every multicast session: the `max_rate` cap. */
  readonly globalBucket: TokenBucket;
  readonly lossMeter: LossMeter;
  /** Whether a packet from a source that is no member may be answered with ERROR 5: the same
   *  budget as unsolicited packets on port 69, so the session port is no reflector either. */
  readonly mayAnswerStray: (address: string) => boolean;
  /** Hosts found deaf to the group, shared by every session: noted by the stream, consulted on join. */
  readonly deafHosts: DeafHosts;
  readonly log: Logger;
  /** Hosts found unable to follow a block-number wrap, shared by every session: noted here, their
   *  next request for a file that wraps is served by unicast (rfc2090-sessions.ts). */
  readonly wrapUnableHosts?: DeafHosts;
  readonly onMemberEnd: (member: Member, result: TransferResult) => void;
  readonly onClose: (summary: SessionSummary) => void;
}

/** The session's data path (master-stream.ts) as the session's parameters and settings set it. */
export function sessionStreamSettings(deps: MulticastSessionDeps): Omit<MasterStreamDeps, 'beforeRetransmit' | 'onReadError'> {
  return {
    clock: deps.clock,
    socket: deps.socket,
    group: { address: deps.group.group, port: deps.group.port },
    blocks: deps.blocks,
    blksize: deps.params.blksize,
    fileSize: deps.fileSize,
    rto: { ...deps.rto, minMs: Math.max(deps.rto.minMs, deps.params.rtoMinMs) },
    initialRateMbps: deps.params.initialRateMbps,
    minRateMbps: deps.settings.minRateMbps,
    maxRateMbps: deps.settings.maxRateMbps,
    globalBucket: deps.globalBucket,
    lossMeter: deps.lossMeter,
    deafAfter: deps.settings.deafAfter,
    firstBlockAlsoUnicast: false,
    groupKeepaliveMs: null, // RFC 2090 members time out on their own schedule (atftp: seconds)
    log: deps.log,
    onDeaf: (master) => deps.deafHosts.note(master.peer.address),
  };
}

export function sessionSummary(
  deps: MulticastSessionDeps,
  stats: StreamStats,
  session: { readonly members: number; readonly masterSwitches: number; readonly movedOut: number; readonly durationMs: number },
): SessionSummary {
  return {
    group: deps.group.group,
    port: deps.group.port,
    file: deps.filename,
    blksize: deps.params.blksize,
    members: session.members,
    dataSent: stats.dataSent,
    bytesSent: stats.bytesSent,
    retransmits: stats.retransmits,
    unicastBlocks: stats.unicastBlocks,
    masterSwitches: session.masterSwitches,
    movedOut: session.movedOut,
    congestionEvents: stats.congestionEvents,
    finalRateMbps: Math.round(stats.rateMbps),
    durationMs: session.durationMs,
  };
}

/** The stats of the group's stream and of the moved-out members' own streams together (the
 *  rate is the group's). */
export function combinedStats(group: StreamStats, own: readonly StreamStats[]): StreamStats {
  const sum = (f: (s: StreamStats) => number) => own.reduce((n, s) => n + f(s), f(group));
  return {
    dataSent: sum((s) => s.dataSent),
    bytesSent: sum((s) => s.bytesSent),
    retransmits: sum((s) => s.retransmits),
    unicastBlocks: sum((s) => s.unicastBlocks),
    keepalives: sum((s) => s.keepalives),
    congestionEvents: sum((s) => s.congestionEvents),
    rateMbps: group.rateMbps,
  };
}

/** What the operator sees of one member (`pxecast sessions`); only the master's bytes move. */
export function memberProgress(
  deps: MulticastSessionDeps,
  state: SessionState,
  member: Member | undefined,
  isMaster: boolean,
  stream: Pick<MasterStream, 'inFlight' | 'rtt'>,
): TransferProgress {
  return {
    state: `${state}/${member?.state ?? 'gone'}${member?.unicast ? '/unicast' : ''}`,
    bytes: isMaster ? Math.min(deps.fileSize, Math.max(0, stream.inFlight - 1) * deps.params.blksize) : 0,
    totalBytes: deps.fileSize,
    retransmits: member?.retransmits ?? 0,
    rtoMs: stream.rtt.rtoMs(),
    blksize: deps.params.blksize,
  };
}
