// The RFC 2090 side of the TFTP port: an RRQ with the multicast option joins a running session of
// the same file version (RFC 2090 10.2) or opens a new one on a (group, port) of the pool; its
// members live in the TFTP server's session table like unicast transfers (so the same admission
// limits and operator views apply), through a Transfer facade. The session itself is
// multicast-session.ts; this is its glue: socket, group pool, counters and summary lines.
import { decodeTftp, type RequestPacket } from '../codec/tftp-packet.js';
import type { RequestedOptions } from '../codec/tftp-options.js';
import type { MulticastConfig, TftpConfig } from '../config/config-types.js';
import { decideJoin } from '../flowcontrol/join-running-session.js';
import type { LossMeter, TokenBucket } from '../flowcontrol/pacing.js';
import { chooseSessionParameters } from '../flowcontrol/qos-parameters.js';
import { rtoBounds } from '../flowcontrol/rtt-estimator.js';
import type { LimitGate } from '../admission/limit-gate.js';
import { peerKey, type Clock, type DatagramHandler, type DatagramSocket, type Logger, type OpenedFile, type SocketFactory } from '../io/ports.js';
import { countIn } from '../metrics/counters.js';
import { OctetBlocks } from '../tftp/block-producer.js';
import type { SessionEntry, SessionTable } from '../tftp/session-table.js';
import { summarizeTransfer } from '../tftp/transfer-summary.js';
import type { Transfer, TransferResult } from '../tftp/transfer-types.js';
import { DeafHosts } from './deaf-hosts.js';
import { GroupPool } from './group-pool.js';
import { MulticastSession } from './multicast-session.js';
import type { Member, SessionSummary } from './session-records.js';
import { multicastListenAddress, multicastSendOptions } from './multicast-socket.js';
import { wraps } from './wrap-position.js';

/** The TFTP server's counters this side adds to (tftp-server.ts TftpCounters). */
export interface MulticastCounters {
  outcomes: Record<string, number>;
  bytesSent: number;
  retransmits: number;
  multicastSessions: number;
  multicastFallbacks: Record<string, number>;
  /** The RFC 2090 part of `outcomes` (one per member), `bytesSent` and `retransmits` (per session). */
  multicastOutcomes: Record<string, number>;
  multicastBytesSent: number;
  multicastRetransmits: number;
}

/** What the TFTP server passes on from its own deps (tftp-server.ts TftpServerDeps extends it). */
export interface MulticastDoorDeps {
  readonly clock: Clock;
  readonly sockets: SocketFactory;
  readonly logger: Logger;
  /** Read per request, so a reload changes limits without a restart. */
  readonly settings: () => TftpConfig;
  readonly multicastSettings: () => MulticastConfig;
  /** Event-loop delay (ms), one of the conditions multicast sessions are sized by. */
  readonly loopLagMs: () => number;
  /** Shared with the MTFTP server: one `max_rate` and one loss picture for all multicast. */
  readonly globalBucket: TokenBucket;
  readonly lossMeter: LossMeter;
}

export interface Rfc2090Deps extends MulticastDoorDeps {
  readonly limits: LimitGate;
  /** The TFTP server's table: members are entries in it. */
  readonly sessions: SessionTable;
  readonly counters: MulticastCounters;
  /** The TFTP server's socket guard (decode errors counted per port). */
  readonly guard: (where: string, handle: DatagramHandler) => DatagramHandler;
}

interface LiveMulticastSession {
  readonly identity: string;
  readonly session: MulticastSession;
  /** Session-table entries of the members, by peer key. */
  readonly members: Map<string, SessionEntry>;
}

export class Rfc2090Sessions {
  private readonly live = new Set<LiveMulticastSession>();
  private groupPool: GroupPool | null = null;
  /** Hosts found deaf to the group, served by unicast at once for `deaf_memory`. */
  private readonly deafHosts: DeafHosts;
  /** Hosts found unable to follow a block-number wrap in multicast: files that wrap go to them by
   *  unicast (which they follow) for `deaf_memory`. */
  private readonly wrapUnableHosts: DeafHosts;

  constructor(private readonly deps: Rfc2090Deps) {
    this.deafHosts = new DeafHosts(deps.clock, () => deps.multicastSettings().deafMemoryMs);
    this.wrapUnableHosts = new DeafHosts(deps.clock, () => deps.multicastSettings().deafMemoryMs);
  }

  start(): void {
    const mc = this.deps.multicastSettings();
    this.groupPool = new GroupPool(mc.groupFirst, mc.groupLast, mc.portFirst, mc.portLast);
  }

  /** The session each member entry belongs to. */
  sessionsOfMembers(): Map<SessionEntry, MulticastSession> {
    const sessionOf = new Map<SessionEntry, MulticastSession>();
    for (const live of this.live) for (const member of live.members.values()) sessionOf.set(member, live.session);
    return sessionOf;
  }

  stop(reason: string): void {
    for (const live of [...this.live]) live.session.abort(reason);
  }

  /**
   * RFC 2090: join a running session of the same file version (10.2) or open a new one. Returns
   * false when the request must be served unicast instead (file too large for 16-bit block
   * numbers at that block size without `rollover`, or for a host found unable to follow a wrap;
   * pool exhausted): never an ERROR just because multicast is unavailable.
   */
  async serve(
    entry: SessionEntry,
    request: RequestPacket,
    requested: RequestedOptions,
    file: OpenedFile,
    log: Logger,
  ): Promise<boolean> {
    const order = request.options.map((o) => o.name.toLowerCase());
    const fallback = (reason: string) => {
      countIn(this.deps.counters.multicastFallbacks, reason);
      log.info('multicast request served unicast', { reason });
      return false;
    };
    const cannotWrap = this.wrapUnableHosts.has(entry.peer.address);
    const WRAP_UNABLE = 'host cannot follow a block-number wrap in multicast';
    for (const live of this.live) {
      if (decideJoin({ sameFile: live.identity === file.identity, ...live.session.joinFacts() }, requested.blksize)) {
        if (cannotWrap && live.session.wrapsBlockNumbers) return fallback(WRAP_UNABLE);
        file.release(); // the session reads through its own handle of the same file
        this.addMember(live, entry, requested, order);
        return true;
      }
    }
    const mc = this.deps.multicastSettings();
    const tftp = this.deps.settings();
    const params = chooseSessionParameters(requested.blksize, file.size, { ...tftp, ...mc }, this.conditions());
    if (params === null) return fallback('more than 65535 blocks at the requested block size');
    if (cannotWrap && wraps(Math.floor(file.size / params.blksize) + 1)) return fallback(WRAP_UNABLE);
    const pair = this.groupPool?.allocate() ?? null;
    if (pair === null) {
      // RFC 2090: the server may answer without the multicast option; the client then reads by
      // unicast. Every (group, port) pair busy is a limit episode, logged once, not per request.
      countIn(this.deps.counters.multicastFallbacks, 'multicast group pool exhausted');
      this.deps.limits.hit('multicast-groups', '*', { pool_size: this.groupPool?.size ?? 0 }, true);
      return false;
    }
    const timeoutS = requested.timeout !== undefined && requested.timeout >= 1 && requested.timeout <= 255 ? requested.timeout : null;
    let socket: DatagramSocket;
    try {
      socket = await this.deps.sockets.bind({ address: multicastListenAddress(tftp), port: 0, multicast: multicastSendOptions(tftp, mc) });
    } catch (e) {
      this.groupPool?.release(pair);
      throw e;
    }
    const sessionLog = this.deps.logger.child({ group: `${pair.group}:${pair.port}`, file: request.filename });
    const live: LiveMulticastSession = {
      identity: file.identity,
      members: new Map(),
      session: new MulticastSession({
        clock: this.deps.clock,
        socket,
        group: pair,
        filename: request.filename,
        blocks: new OctetBlocks(file, params.blksize),
        fileSize: file.size,
        params,
        settings: mc,
        rto: rtoBounds(tftp, timeoutS),
        timeoutS,
        idleTimeoutMs: tftp.idleTimeoutMs,
        maxTransferTimeMs: tftp.maxTransferTimeMs,
        globalBucket: this.deps.globalBucket,
        lossMeter: this.deps.lossMeter,
        mayAnswerStray: (address) => this.deps.limits.mayAnswerUnsolicited(address),
        deafHosts: this.deafHosts,
        wrapUnableHosts: this.wrapUnableHosts,
        log: sessionLog,
        onMemberEnd: (member, result) => this.onMemberEnd(live, member, result),
        onClose: (summary) => {
          this.live.delete(live);
          this.groupPool?.release(pair);
          socket.close();
          this.logSessionSummary(summary, file.size);
        },
      }),
    };
    socket.onMessage(
      this.deps.guard('multicast session port', (data, src) => {
        // Anything from a member's own address and port at the session port (its ACK of our
        // OACK, at the latest) shows the address is real, as an answer on a TID does.
        const member = live.members.get(peerKey(src));
        if (member) this.deps.sessions.confirm(member);
        live.session.onPacket(decodeTftp(data), src);
      }),
    );
    this.live.add(live);
    this.deps.counters.multicastSessions++;
    sessionLog.info('multicast session opened', {
      blksize: params.blksize,
      requested_blksize: requested.blksize ?? 'none',
      rto_floor_ms: params.rtoMinMs,
      rate_mbps: Math.round(params.initialRateMbps),
      start_delay_ms: mc.startDelayMs,
      why: params.reasons.length > 0 ? params.reasons.join('; ') : 'as requested',
    });
    this.addMember(live, entry, requested, order);
    return true;
  }

  private addMember(live: LiveMulticastSession, entry: SessionEntry, requested: RequestedOptions, order: readonly string[]): void {
    const peer = entry.peer;
    // A member stays unconfirmed until it sends something to the session port, like a unicast
    // transfer until its peer answers on the TID: a forged RRQ can then be evicted quietly when
    // room is needed (after unconfirmed unicast transfers) instead of holding a slot.
    live.members.set(peerKey(peer), entry);
    this.deps.sessions.markMember(entry);
    const transfer: Transfer = {
      filename: entry.filename,
      start: () => undefined,
      // Members talk to the session's own port; nothing arrives through this facade.
      onPacket: () => undefined,
      onDuplicateRequest: () => live.session.join(peer, requested, order),
      abort: (reason) => live.session.dropMember(peer, reason),
      abandon: (reason) => live.session.abandonMember(peer, reason),
      progress: () => live.session.memberProgress(peer),
    };
    entry.transfer = transfer;
    live.session.join(peer, requested, order);
    // No unconfirmed_timeout for members: a listener may rightly stay silent (iPXE sends nothing
    // after an mc=0 OACK). A silent one is evicted only when room is needed, and a master that
    // never answers is passed over and dropped after master_tries.
  }

  private onMemberEnd(live: LiveMulticastSession, member: Member, result: TransferResult): void {
    const entry = live.members.get(peerKey(member.peer));
    if (!entry) return;
    const neverAnswered = this.deps.sessions.isUnconfirmed(entry) || result.outcome === 'unconfirmed';
    live.members.delete(peerKey(member.peer));
    this.deps.sessions.remove(entry);
    countIn(this.deps.counters.outcomes, result.outcome);
    countIn(this.deps.counters.multicastOutcomes, result.outcome);
    const granted = [{ name: 'multicast', value: 'group' }, ...member.granted];
    const summary = summarizeTransfer(member.peer, entry.filename, 'read', 'octet+multicast', granted, result);
    // As for unicast (onEnd): what a flood leaves behind (members that never answered, however
    // they ended) is counted, and logged per episode by the limit gate.
    const fields = { ...summary, unicast_fallback: member.unicast, moved_out: member.movedOut, joined_after_packets: member.joinedAfterPackets };
    if (neverAnswered) this.deps.logger.debug('transfer', fields);
    else this.deps.logger.info('transfer', fields);
  }

  private logSessionSummary(s: SessionSummary, fileSize: number): void {
    this.deps.counters.bytesSent += s.bytesSent;
    this.deps.counters.retransmits += s.retransmits;
    this.deps.counters.multicastBytesSent += s.bytesSent;
    this.deps.counters.multicastRetransmits += s.retransmits;
    this.deps.logger.info('multicast session', {
      group: `${s.group}:${s.port}`,
      file: s.file,
      blksize: s.blksize,
      members: s.members,
      bytes_sent: s.bytesSent,
      // How many copies of the file the network carried for all members together.
      bytes_per_file: fileSize > 0 ? Math.round((s.bytesSent / fileSize) * 100) / 100 : 0,
      data_packets: s.dataSent,
      retransmits: s.retransmits,
      unicast_blocks: s.unicastBlocks,
      master_switches: s.masterSwitches,
      moved_out: s.movedOut,
      congestion_events: s.congestionEvents,
      final_rate_mbps: s.finalRateMbps,
      duration_ms: Math.round(s.durationMs),
    });
  }

  private conditions() {
    let members = 0;
    for (const live of this.live) members += live.session.memberCount();
    return {
      activeSessions: this.live.size,
      activeMembers: members,
      lossRatio: this.deps.lossMeter.ratio(this.deps.clock.now()),
      loopLagMs: this.deps.loopLagMs(),
    };
  }
}
