// One RFC 2090 multicast session: one file, one (group, port), one server source port, many
// members. The master (oldest unfinished member, told mc=1) drives it with its ACKs, where
// "ACK n" means "send n+1" so a master can ask for any block it is missing; everyone else
// (mc=0) listens. pxecast's flow control rides on top (protocols.md 4.4 and 10):
// - gathering: DATA 1 waits for `start_delay` or `min_clients`, and for the master's ACK 0;
// - join: later requesters get mc=0 and the rest of the stream, their head when they are master;
// - pacing: a token bucket per session (AIMD on congestion) under a global bucket;
// - resend on unexpected packets, rate-limited; no Sorcerer's Apprentice on duplicate ACKs;
// - a silent master is passed over and dropped after `master_tries`; a master that cannot hear
//   the group (it never ACKs a block sent only to the group and keeps re-asking) is served its
//   blocks by unicast from the same session (deafness.ts decides); such hosts are remembered
//   (deaf-hosts.ts), so their next request is served by unicast at once, and a session whose
//   members are all known deaf does not gather.
import { encodeTftp, TftpErrorCode, type TftpOption, type TftpPacket } from '../codec/tftp-packet.js';
import type { RequestedOptions } from '../codec/tftp-options.js';
import type { MulticastConfig } from '../config/config-types.js';
import { peerKey, type Clock, type DatagramSocket, type Logger, type PeerAddress } from '../io/ports.js';
import type { BlockProducer } from '../tftp/block-producer.js';
import { RateLimiter, type LossMeter, type SessionParameters, type TokenBucket } from '../flowcontrol/flow-control.js';
import type { GroupPort } from './group-pool.js';
import { LazyTimer } from '../tftp/lazy-timer.js';
import { MasterStream, type StreamMaster } from './master-stream.js';
import type { DeafHosts } from './deaf-hosts.js';
import type { RtoBounds } from '../flowcontrol/rtt-estimator.js';
import type { TransferOutcome, TransferProgress, TransferResult } from '../tftp/transfer-types.js';

export type SessionState = 'gathering' | 'sending' | 'closed';
export type MemberState = 'listening' | 'master' | 'done' | 'failed';

/** OACK mc=0 answers to a member's stray ACKs before it is dropped (protocols.md 10.5 g, S5). */
export const MAX_STRAY_ACKS = 5;

export interface Member extends StreamMaster {
  readonly peer: PeerAddress;
  readonly joinedAt: number;
  /** What this member asked for besides `multicast`, as granted (blksize, tsize), in its order. */
  readonly granted: readonly TftpOption[];
  state: MemberState;
  /** Times it was made master and never answered. */
  passedOver: number;
  /** Its ACK 0 to its first OACK is expected and absorbed. */
  heardSinceJoin: boolean;
  strayAcks: number;
  readonly oackLimiter: RateLimiter;
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
  /** Hosts found deaf to the group, shared by every session: noted here, consulted on join. */
  readonly deafHosts: DeafHosts;
  readonly log: Logger;
  readonly onMemberEnd: (member: Member, result: TransferResult) => void;
  readonly onClose: (summary: SessionSummary) => void;
}

export class MulticastSession {
  private state: SessionState = 'gathering';
  private readonly members: Member[] = [];
  private master: Member | null = null;
  private readonly startedAt: number;
  private lastHeardAt: number;
  private readonly finalIndex: number;

  /** The master has sent ACK 0 (or any ACK) since it was made master. */
  private masterAnswered = false;
  private readonly stream: MasterStream;
  /** Resends the OACK to a new master until it answers (the OACK may be lost). */
  private readonly oackTimer: LazyTimer;
  private readonly masterTimer: LazyTimer;
  private gatherTimer: { cancel(): void } | null = null;
  private masterSwitches = 0;
  private hadMaster = false;

  constructor(private readonly deps: MulticastSessionDeps) {
    this.startedAt = deps.clock.now();
    this.lastHeardAt = this.startedAt;
    this.stream = new MasterStream({
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
      beforeRetransmit: () => {
        if (this.deps.clock.now() - this.lastHeardAt < this.deps.idleTimeoutMs) return true;
        this.abort('no client answered');
        return false;
      },
      onReadError: (e) => this.abort(`read failed: ${e.message}`),
    });
    this.finalIndex = this.stream.finalIndex;
    this.oackTimer = new LazyTimer(deps.clock, () => this.onOackTimeout());
    this.masterTimer = new LazyTimer(deps.clock, () => this.onMasterSilent());
    // No delay, no gathering: DATA 1 follows the master's ACK 0 at once.
    if (deps.settings.startDelayMs > 0) {
      this.gatherTimer = deps.clock.setTimer(deps.settings.startDelayMs, () => {
        this.gatherTimer = null;
        this.maybeStart(true);
      });
    }
  }

  get blksize(): number {
    return this.deps.params.blksize;
  }

  get sessionState(): SessionState {
    return this.state;
  }

  memberCount(): number {
    return this.members.filter((m) => m.state === 'listening' || m.state === 'master').length;
  }

  /** Whether a new requester may join (10.2): same file checked by the caller; block size and room here. */
  canJoin(requested: RequestedOptions): boolean {
    if (this.state === 'closed') return false;
    if (this.memberCount() >= this.deps.settings.maxClients) return false;
    const asked = requested.blksize ?? 512;
    return this.blksize <= asked;
  }

  /** Adds a requester (or answers a repeated request from a member) with its OACK. */
  join(peer: PeerAddress, requested: RequestedOptions, optionOrder: readonly string[]): void {
    const known = this.memberAt(peer);
    if (known && (known.state === 'listening' || known.state === 'master')) {
      this.sendOack(known, known === this.master);
      return;
    }
    if (known) this.members.splice(this.members.indexOf(known), 1); // finished: a new transfer
    const knownDeaf = this.deps.deafHosts.has(peer.address);
    const member: Member = {
      peer,
      joinedAt: this.deps.clock.now(),
      granted: this.grantFor(requested, optionOrder),
      state: 'listening',
      passedOver: 0,
      heardSinceJoin: false,
      strayAcks: 0,
      unicast: knownDeaf,
      heardGroup: false,
      retransmits: 0,
      oackLimiter: new RateLimiter(() => this.stream.rtt.rtoMs()),
    };
    // Added before the same host's older entry ends, so that ending it (it may be the master, or
    // the only member) promotes this one instead of closing the session under it.
    this.members.push(member);
    // The same host from a new port is a new attempt: its old entry is finished (10.2 rule 3). An
    // entry that has answered is replaced only once the new one answers too: a forged request
    // from its address must not end a real client's membership.
    this.replaceOlderEntries(member, (old) => !old.heardSinceJoin);
    this.deps.log.debug('member joined', { peer: `${peer.address}:${peer.port}`, members: this.memberCount() });
    if (knownDeaf) this.deps.log.info('member known deaf to the group: serving it by unicast', { peer: `${peer.address}:${peer.port}` });
    if (this.master === null) this.makeMaster(member);
    else if (this.master !== member) this.sendOack(member, false);
    this.maybeStart(false);
  }

  /** Ends the live entries of `member`'s host that joined before it (and pass `which`). */
  private replaceOlderEntries(member: Member, which: (old: Member) => boolean): void {
    for (const old of this.members) {
      if (old === member || old.joinedAt > member.joinedAt || old.peer.address !== member.peer.address) continue;
      if ((old.state === 'listening' || old.state === 'master') && which(old)) {
        this.endMember(old, 'aborted-by-client', 'replaced by a new request from the same host');
      }
    }
  }

  /** The member's first packet: its address is real, and its host's older entries are done. */
  private firstHeard(member: Member): void {
    member.heardSinceJoin = true;
    this.replaceOlderEntries(member, () => true);
  }

  /** The options of the member's OACK besides `multicast`: only what it asked for (RFC 2347). */
  private grantFor(requested: RequestedOptions, order: readonly string[]): TftpOption[] {
    const granted: TftpOption[] = [];
    for (const name of order) {
      if (name === 'blksize' && requested.blksize !== undefined) granted.push({ name, value: String(this.blksize) });
      if (name === 'tsize' && requested.tsize !== undefined) granted.push({ name, value: String(this.deps.fileSize) });
      // RFC 2349 allows only "as asked" or "omitted", and the session has one timer for all.
      if (name === 'timeout' && requested.timeout !== undefined && requested.timeout === this.deps.timeoutS) {
        granted.push({ name, value: String(this.deps.timeoutS) });
      }
    }
    return granted;
  }

  onPacket(packet: TftpPacket, from: PeerAddress): void {
    if (this.state === 'closed') return;
    const member = this.memberAt(from);
    if (!member || member.state === 'done' || member.state === 'failed') {
      // RFC 1350 4: not a transfer of ours. Tell the stray source, and take it as a hint that
      // the master's last packet may be lost (10.5).
      if (packet.op !== 'ERROR' && this.deps.mayAnswerStray(from.address)) {
        this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.UNKNOWN_TID, message: 'unknown transfer ID' }), from);
      }
      this.resendOnUnexpected();
      return;
    }
    this.lastHeardAt = this.deps.clock.now();
    switch (packet.op) {
      case 'ACK':
        if (member === this.master) this.onMasterAck(packet.block);
        else this.onListenerAck(member, packet.block);
        return;
      case 'ERROR':
        this.endMember(member, 'aborted-by-client', `client sent ERROR ${packet.code}: ${packet.message}`);
        return;
      default:
        this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.ILLEGAL_OPERATION, message: `unexpected ${packet.op}` }), member.peer);
        this.endMember(member, 'protocol-error', `unexpected ${packet.op} during a multicast read`);
    }
  }

  /** Operator drop or shutdown: every member gets an ERROR. */
  abort(reason: string): void {
    for (const m of [...this.members]) {
      if (m.state === 'listening' || m.state === 'master') {
        this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: reason }), m.peer);
        this.endMember(m, 'dropped', reason, false);
      }
    }
    this.close();
  }

  /** Ends a member that never answered, without an ERROR (its address may be forged). */
  abandonMember(peer: PeerAddress, reason: string): void {
    const m = this.memberAt(peer);
    if (!m || (m.state !== 'listening' && m.state !== 'master')) return;
    this.endMember(m, 'unconfirmed', reason);
  }

  /** Drops one member (operator request). */
  dropMember(peer: PeerAddress, reason: string): void {
    const m = this.memberAt(peer);
    if (!m || (m.state !== 'listening' && m.state !== 'master')) return;
    this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: reason }), m.peer);
    this.endMember(m, 'dropped', reason);
  }

  memberProgress(peer: PeerAddress): TransferProgress {
    const m = this.memberAt(peer);
    const isMaster = m !== undefined && m === this.master;
    return {
      state: `${this.state}/${m?.state ?? 'gone'}${m?.unicast ? '/unicast' : ''}`,
      bytes: isMaster ? Math.min(this.deps.fileSize, Math.max(0, this.stream.inFlight - 1) * this.blksize) : 0,
      totalBytes: this.deps.fileSize,
      retransmits: m?.retransmits ?? 0,
      rtoMs: this.stream.rtt.rtoMs(),
      blksize: this.blksize,
    };
  }

  /** `group:port` the session's DATA goes to. */
  get destination(): string {
    return `${this.deps.group.group}:${this.deps.group.port}`;
  }

  /** The member whose ACKs drive the session now, if any. */
  masterPeer(): PeerAddress | null {
    return this.master?.peer ?? null;
  }

  // ----------------------------------------------------------------------------------------------
  // Master handling

  private makeMaster(member: Member): void {
    if (this.hadMaster) this.masterSwitches++;
    this.hadMaster = true;
    this.master = member;
    member.state = 'master';
    this.masterAnswered = false;
    this.stream.beginTurn(member);
    this.sendOack(member, true);
    this.oackTimer.arm(this.stream.rtt.rtoMs());
  }

  private onMasterAck(n: number): void {
    const master = this.master!;
    if (!this.masterAnswered) {
      this.masterAnswered = true;
      this.oackTimer.disarm();
    }
    if (!master.heardSinceJoin) this.firstHeard(master);
    if (this.deps.clock.now() - this.startedAt > this.deps.maxTransferTimeMs) {
      this.abort('transfer time limit exceeded');
      return;
    }
    if (this.state === 'gathering') {
      this.maybeStart(false); // ACK 0 while gathering: absorbed (10.1 T2)
      return;
    }
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
    if (this.stream.onAck(n)) this.endMember(master, 'complete', '');
  }

  /** The OACK that made it master may be lost: say it again until it answers or the master timer
   *  decides. */
  private onOackTimeout(): void {
    if (this.master === null || this.masterAnswered || this.state === 'closed') return;
    this.stream.rtt.expired();
    this.sendOack(this.master, true);
    this.oackTimer.arm(this.stream.rtt.rtoMs());
  }

  private onMasterSilent(): void {
    const master = this.master;
    if (master === null || this.state === 'closed') return;
    // It answers our unicast OACKs but never a block sent to the group: it cannot hear the group
    // (IGMP snooping, a client bug, a wrong interface). Clients that re-ask slower than
    // master_timeout (atftp: 5 s) reach this rule before the re-ask rule.
    if (this.masterAnswered && this.stream.rescueSilentMaster()) {
      this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
      return;
    }
    this.stream.congestion();
    // One that never answered at all may be a forged request: no line each.
    this.passOver(master, 'master silent: passed over', this.masterAnswered ? 'info' : 'debug');
  }

  /** The master loses its turn; after `master_tries` turns without an answer it is dropped. */
  private passOver(master: Member, why: string, level: 'info' | 'debug'): void {
    master.passedOver++;
    if (master.passedOver >= this.deps.settings.masterTries) {
      this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'no answer as master; dropped' }), master.peer);
      this.endMember(master, 'timeout', `silent as master ${master.passedOver} time(s)`);
    } else {
      this.deps.log[level](why, { peer: `${master.peer.address}:${master.peer.port}`, times: master.passedOver });
      master.state = 'listening';
      this.master = null;
      this.promote();
    }
  }

  /** The oldest unfinished member becomes master; members that have answered come first (a forged
   *  request never answers), those passed over after the others. */
  private promote(): void {
    this.stream.endTurn();
    this.oackTimer.disarm();
    this.masterTimer.disarm();
    const candidates = this.members
      .filter((m) => m.state === 'listening')
      .sort((a, b) => Number(b.heardSinceJoin) - Number(a.heardSinceJoin) || a.passedOver - b.passedOver || a.joinedAt - b.joinedAt);
    const next = candidates[0];
    if (!next) {
      this.master = null;
      this.close();
      return;
    }
    this.makeMaster(next);
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
  }

  // ----------------------------------------------------------------------------------------------
  // Listeners

  private onListenerAck(member: Member, n: number): void {
    if (n >= this.finalIndex) {
      this.endMember(member, 'complete', '');
      return;
    }
    if (!member.heardSinceJoin) {
      this.firstHeard(member); // its ACK of our OACK: expected
      // A master that never answered its OACK (a forged request does not) does not keep a member
      // that has answered waiting for master_timeout: it is passed over now.
      const master = this.master;
      if (master !== null && !this.masterAnswered) this.passOver(master, 'master never answered while a member did: passed over', 'debug'); // a flood's doing: no line each
      return;
    }
    // Its most recent packet from us was an OACK mc=0; resend it (rate-limited), and take the ACK
    // as a hint that the master's last block may need a push (10.5 g). Only ACKs that come after
    // such a repeat had time to arrive count against it: a master just passed over (its own ACK
    // lost) still has a stream of ACKs in flight, one per DATA, and must not be dropped for them.
    if (member.oackLimiter.allow(this.deps.clock.now())) {
      member.strayAcks++;
      if (member.strayAcks > MAX_STRAY_ACKS) {
        this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'not the master: stop sending ACKs' }), member.peer);
        this.endMember(member, 'protocol-error', `ACKs went on after ${MAX_STRAY_ACKS} OACKs with mc=0`);
        return;
      }
      this.sendOack(member, false);
    }
    this.resendOnUnexpected();
  }

  private resendOnUnexpected(): void {
    if (this.state === 'sending') this.stream.resendOnUnexpected();
  }

  // ----------------------------------------------------------------------------------------------
  // Gathering

  private maybeStart(deadlinePassed: boolean): void {
    if (this.state !== 'gathering') return;
    const gathered = this.deps.settings.minClients > 0 && this.memberCount() >= this.deps.settings.minClients;
    // Members known deaf are served by unicast: there is no group for others to gather on.
    const allDeaf = this.members.every((m) => m.unicast || (m.state !== 'listening' && m.state !== 'master'));
    const timeUp = deadlinePassed || this.gatherTimer === null;
    if (!gathered && !timeUp && !allDeaf) return;
    if (!this.masterAnswered) {
      // No ACK 0 from the master yet: wait for it, bounded by the master timer.
      if (!this.masterTimer.armed) this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
      return;
    }
    this.gatherTimer?.cancel();
    this.gatherTimer = null;
    this.state = 'sending';
    this.deps.log.info('multicast session sending', {
      members: this.memberCount(),
      waited_ms: Math.round(this.deps.clock.now() - this.startedAt),
      reason: gathered ? `min_clients ${this.deps.settings.minClients} reached` : timeUp ? 'start_delay over' : 'every member known deaf',
    });
    this.stream.acknowledgeStart(0); // repeats of the master's ACK 0 are explained by our OACK sends
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
    this.stream.start(1);
  }

  // ----------------------------------------------------------------------------------------------
  // Members ending, session ending

  private endMember(member: Member, outcome: TransferOutcome, detail: string, promoteNext = true): void {
    if (member.state === 'done' || member.state === 'failed') return;
    const wasMaster = member === this.master;
    member.state = outcome === 'complete' || outcome === 'aborted-by-client' ? 'done' : 'failed';
    this.deps.onMemberEnd(member, {
      outcome,
      detail,
      bytes: outcome === 'complete' ? this.deps.fileSize : 0,
      blocks: outcome === 'complete' ? this.finalIndex : 0,
      retransmits: member.retransmits,
      durationMs: this.deps.clock.now() - member.joinedAt,
    });
    if (wasMaster) {
      this.master = null;
      if (promoteNext && this.state !== 'closed') {
        if (this.state === 'gathering') this.promoteDuringGathering();
        else this.promote();
      }
    }
  }

  /** 10.1 rule 2: an ERROR from the master while gathering promotes the next client; the
   *  deadline keeps running. */
  private promoteDuringGathering(): void {
    const next = this.members.find((m) => m.state === 'listening');
    if (!next) this.close();
    else this.makeMaster(next);
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.gatherTimer?.cancel();
    this.stream.stop();
    this.oackTimer.stop();
    this.masterTimer.stop();
    this.deps.blocks.close();
    const stats = this.stream.stats();
    this.deps.onClose({
      group: this.deps.group.group,
      port: this.deps.group.port,
      file: this.deps.filename,
      blksize: this.blksize,
      members: this.members.length,
      dataSent: stats.dataSent,
      bytesSent: stats.bytesSent,
      retransmits: stats.retransmits,
      unicastBlocks: stats.unicastBlocks,
      masterSwitches: this.masterSwitches,
      congestionEvents: stats.congestionEvents,
      finalRateMbps: Math.round(stats.rateMbps),
      durationMs: this.deps.clock.now() - this.startedAt,
    });
  }

  // ----------------------------------------------------------------------------------------------

  private memberAt(peer: PeerAddress): Member | undefined {
    const key = peerKey(peer);
    return this.members.find((m) => peerKey(m.peer) === key);
  }

  /** OACK `addr,port,mc` from the session port; the full address every time (EDK2 and iPXE both
   *  accept it, and it is the only form that lets a client that missed the first one join). */
  private sendOack(member: Member, isMaster: boolean): void {
    const value = `${this.deps.group.group},${this.deps.group.port},${isMaster ? 1 : 0}`;
    const options = [{ name: 'multicast', value }, ...member.granted];
    if (isMaster) this.stream.countOackSend();
    this.send(encodeTftp({ op: 'OACK', options }), member.peer);
  }

  private send(packet: Buffer, to: PeerAddress): void {
    this.deps.socket.send(packet, to);
  }
}
