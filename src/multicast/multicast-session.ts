// One RFC 2090 multicast session: one file, one (group, port), one server source port, many
// members. The master (oldest unfinished member, told mc=1) drives it with its ACKs, where
// "ACK n" means "send n+1" so a master can ask for any block it is missing; everyone else
// (mc=0) listens. pxecast's flow control rides on top (protocols.md 4.4 and 10):
// - gathering: DATA 1 waits for `start_delay` or `min_clients`, and for the master's ACK 0; the
//   members' own timer retries are answered with their OACK so they wait (a scheduled start);
// - join: later requesters get mc=0 and the rest of the stream, their head when they are master;
// - pacing: a token bucket per session (AIMD on congestion) under a global bucket;
// - resend on unexpected packets, rate-limited; no Sorcerer's Apprentice on duplicate ACKs;
// - a silent master is passed over and dropped after `master_tries`; one deaf to the group gets its
//   blocks by unicast from the same session (deafness.ts), known deaf hosts from the start;
// - a master too slow for the group (flowcontrol/slow-member.ts) is moved out: it finishes on its
//   own unicast stream from the session port, from where it was, and the next member drives the
//   group.
// - block numbers past 65535 (wrap-position.ts): absolute indices inside, index mod 65536 on the
//   wire, every ACK placed by its member's known position; a wrapped block goes to the group only
//   once every member hearing it has followed a wrap, and a master that cannot is ended.
import { encodeTftp, TftpErrorCode, type TftpPacket } from '../codec/tftp-packet.js';
import type { RequestedOptions } from '../codec/tftp-options.js';
import type { PeerAddress } from '../io/ports.js';
import { decideDelayedStart } from '../flowcontrol/delayed-start.js';
import { answersGatheringRetry } from '../flowcontrol/gathering-keepalive.js';
import type { RunningSession } from '../flowcontrol/join-running-session.js';
import { decideListenerAck, MAX_STRAY_ACKS } from '../flowcontrol/resend-on-unexpected.js';
import { PaceWatch } from '../flowcontrol/slow-member.js';
import { LazyTimer } from '../tftp/lazy-timer.js';
import { grantMemberOptions } from '../tftp/option-negotiation.js';
import type { TransferOutcome, TransferProgress } from '../tftp/transfer-types.js';
import { MasterStream } from './master-stream.js';
import { SessionMembers } from './session-members.js';
import { combinedStats, memberProgress, sessionStreamSettings, sessionSummary, type Member, type MulticastSessionDeps, type SessionState } from './session-records.js';
import { noteAcknowledged, noteReached, placeReport, WIRE_SPAN, wireBlock, wraps } from './wrap-position.js';

export class MulticastSession {
  private state: SessionState = 'gathering';
  private readonly members = new SessionMembers();
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
  /** The slow-member rule's accounting, and the timer that closes each window of a turn. */
  private readonly pace: PaceWatch<Member>;
  private readonly paceTimer: LazyTimer;
  /** Members moved out of the group, each on its own unicast stream; every such stream ever made
   *  (the summary counts their packets). */
  private readonly ownStreams = new Map<Member, MasterStream>();
  private readonly movedOutStreams: MasterStream[] = [];

  constructor(private readonly deps: MulticastSessionDeps) {
    this.startedAt = deps.clock.now();
    this.lastHeardAt = this.startedAt;
    this.stream = new MasterStream({
      ...sessionStreamSettings(deps),
      beforeRetransmit: () => {
        if (this.deps.clock.now() - this.lastHeardAt < this.deps.idleTimeoutMs) return true;
        this.abort('no client answered');
        return false;
      },
      onReadError: (e) => this.abort(`read failed: ${e.message}`),
      everyMemberFollowsWrap: () => this.members.all().every((m) => !(m.state === 'listening' || m.state === 'master') || m.unicast || m.followsWrap),
      onTransmit: (index, toGroup, master) => this.noteSent(index, toGroup, master as Member),
      onCannotFollowWrap: (master, block) => this.cannotFollowWrap(master as Member, block),
    });
    this.finalIndex = this.stream.finalIndex;
    this.oackTimer = new LazyTimer(deps.clock, () => this.onOackTimeout());
    this.masterTimer = new LazyTimer(deps.clock, () => this.onMasterSilent());
    this.pace = new PaceWatch(
      { absoluteMbps: deps.settings.slowRateMbps, sharePercent: deps.settings.slowSharePercent, windowMs: deps.settings.slowAfterMs },
      deps.params.blksize,
    );
    this.paceTimer = new LazyTimer(deps.clock, () => this.onPaceWindow());
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

  /** Its block numbers go past 65535 (wrap-position.ts). */
  get wrapsBlockNumbers(): boolean {
    return wraps(this.finalIndex);
  }

  memberCount(): number {
    return this.members.liveCount();
  }

  /** What the join decision (flowcontrol/join-running-session.ts) reads of this session; the
   *  caller knows whether it serves the same file. */
  joinFacts(): Omit<RunningSession, 'sameFile'> {
    return { closed: this.state === 'closed', members: this.memberCount(), maxClients: this.deps.settings.maxClients, blksize: this.blksize };
  }

  /** Adds a requester (or answers a repeated request from a member) with its OACK. */
  join(peer: PeerAddress, requested: RequestedOptions, optionOrder: readonly string[]): void {
    const known = this.members.at(peer);
    if (known && (known.state === 'listening' || known.state === 'master')) {
      this.sendOack(known, known === this.master || known.movedOut);
      return;
    }
    if (known) this.members.remove(known); // finished: a new transfer
    const granted = grantMemberOptions(requested, optionOrder, { blksize: this.blksize, fileSize: this.deps.fileSize, timeoutS: this.deps.timeoutS });
    const member = SessionMembers.create(peer, this.deps.clock.now(), this.stream.stats().dataSent, granted, () => this.stream.rtt.rtoMs(), this.deps.deafHosts.has(peer.address));
    if (member.unicast) this.deps.log.info('member known deaf to the group: serving it by unicast', { peer: `${peer.address}:${peer.port}` });
    // Added before the same host's older entry ends, so that ending it (it may be the master, or
    // the only member) promotes this one instead of closing the session under it.
    this.members.add(member);
    // The same host from a new port is a new attempt: its old entry is finished (10.2 rule 3). An
    // entry that has answered is replaced only once the new one answers too: a forged request
    // from its address must not end a real client's membership.
    this.replaceOlderEntries(member, (old) => !old.heardSinceJoin);
    this.deps.log.debug('member joined', { peer: `${peer.address}:${peer.port}`, members: this.memberCount() });
    if (this.master === null) this.makeMaster(member);
    else if (this.master !== member) this.sendOack(member, false);
    this.maybeStart(false);
  }

  /** Ends the live entries of `member`'s host that joined before it (and pass `which`). */
  private replaceOlderEntries(member: Member, which: (old: Member) => boolean): void {
    for (const old of this.members.olderLiveEntriesOf(member)) {
      if (which(old)) this.endMember(old, 'aborted-by-client', 'replaced by a new request from the same host');
    }
  }

  /** The member's first packet: its address is real, and its host's older entries are done. */
  private firstHeard(member: Member): void {
    member.heardSinceJoin = true;
    this.replaceOlderEntries(member, () => true);
  }

  onPacket(packet: TftpPacket, from: PeerAddress): void {
    if (this.state === 'closed') return;
    const member = this.members.at(from);
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
    member.lastHeardAt = this.lastHeardAt;
    switch (packet.op) {
      case 'ACK': {
        // The 16-bit number placed by what this member holds and was sent (wrap-position.ts).
        const index = placeReport(packet.block, member.position);
        if (index === null) {
          this.deps.log.debug('ACK not placed: its block number fits more than one block this member may hold', {
            peer: `${from.address}:${from.port}`,
            block: packet.block,
            floor: member.position.floor,
            ceiling: member.position.ceiling,
          });
          return;
        }
        noteAcknowledged(member.position, index);
        if (index >= WIRE_SPAN) member.followsWrap = true;
        if (member.movedOut) this.onMovedOutAck(member, index);
        else if (member === this.master) this.onMasterAck(index);
        else this.onListenerAck(member, index);
        return;
      }
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
    for (const m of this.members.all()) {
      if (m.state === 'listening' || m.state === 'master') {
        this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: reason }), m.peer);
        this.endMember(m, 'dropped', reason, false);
      }
    }
    this.close();
  }

  /** Ends a member that never answered, without an ERROR (its address may be forged). */
  abandonMember(peer: PeerAddress, reason: string): void {
    const m = this.members.at(peer);
    if (!m || (m.state !== 'listening' && m.state !== 'master')) return;
    this.endMember(m, 'unconfirmed', reason);
  }

  /** Drops one member (operator request). */
  dropMember(peer: PeerAddress, reason: string): void {
    const m = this.members.at(peer);
    if (!m || (m.state !== 'listening' && m.state !== 'master')) return;
    this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: reason }), m.peer);
    this.endMember(m, 'dropped', reason);
  }

  memberProgress(peer: PeerAddress): TransferProgress {
    const m = this.members.at(peer);
    const own = m === undefined ? undefined : this.ownStreams.get(m);
    return memberProgress(this.deps, this.state, m, m !== undefined && (m === this.master || own !== undefined), own ?? this.stream);
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
    if (this.state === 'sending') this.beginPacedTurn();
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
      this.maybeStart(false);
      // Still gathering: its ACK 0 repeats are absorbed (10.1 T2), but a retry from its own timer
      // gets the OACK again, so that it keeps waiting.
      if (this.state === 'gathering') this.keepAlive(master);
      return;
    }
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
    // ACK n with n at or past the block in flight: the group moved one block under this master.
    const inFlight = this.stream.inFlight;
    if (inFlight > 0 && n >= inFlight) this.pace.delivered();
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
    this.stream.congestion('master-passed-over');
    // One that never answered at all may be a forged request: no line each.
    this.passOver(master, 'master silent: passed over', this.masterAnswered ? 'info' : 'debug');
  }

  /** The master loses its turn; after `master_tries` turns without an answer it is dropped. */
  private passOver(master: Member, why: string, level: 'info' | 'debug'): void {
    this.pace.endTurn(master, this.deps.clock.now());
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
    this.paceTimer.disarm();
    const next = this.members.nextMaster();
    if (!next) {
      this.master = null;
      if (this.ownStreams.size === 0) this.close(); // else the last moved-out member closes it
      return;
    }
    this.makeMaster(next);
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
  }

  // ----------------------------------------------------------------------------------------------
  // Slow members (flowcontrol/slow-member.ts)

  /** The master's turn starts moving data: its pace is measured from now, one window at a time. */
  private beginPacedTurn(): void {
    if (!this.pace.enabled || this.master === null) return;
    this.pace.beginTurn(this.deps.clock.now());
    this.paceTimer.arm(this.pace.windowMs);
  }

  private onPaceWindow(): void {
    const master = this.master;
    if (master === null || this.state !== 'sending') return;
    const verdict = this.pace.judge(master, this.deps.clock.now(), this.members.othersOnTheGroup(master));
    if (verdict.slow && this.stream.inFlight > 0) this.moveOut(master, verdict.why);
    else this.paceTimer.arm(this.pace.windowMs);
  }

  /** The master leaves the group: it keeps `mc=1` and gets the rest, from the block in flight, on
   *  its own stream by unicast from the session port (the path a deaf master takes, master-stream.ts);
   *  the next member drives the group. */
  private moveOut(master: Member, why: string): void {
    const at = this.stream.inFlight;
    this.pace.endTurn(master, this.deps.clock.now());
    master.movedOut = true;
    master.unicast = true;
    this.deps.log.info('member too slow for the group: serving it by unicast', { peer: `${master.peer.address}:${master.peer.port}`, block: at, why });
    const own = new MasterStream({
      ...sessionStreamSettings(this.deps),
      beforeRetransmit: () => {
        if (this.deps.clock.now() - master.lastHeardAt < this.deps.idleTimeoutMs) return true;
        this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'no answer; dropped' }), master.peer);
        this.endMember(master, 'timeout', 'silent while served by unicast after leaving the group');
        return false;
      },
      onReadError: (e) => this.abort(`read failed: ${e.message}`),
      onTransmit: (index) => noteReached(master.position, index),
      onCannotFollowWrap: (_, block) => this.cannotFollowWrap(master, block),
    });
    this.ownStreams.set(master, own);
    this.movedOutStreams.push(own);
    own.beginTurn(master);
    own.acknowledgeStart(at - 1); // its ACKs asking for `at` again are judged against our sends
    own.start(at);
    this.master = null;
    this.promote();
  }

  private onMovedOutAck(member: Member, n: number): void {
    const own = this.ownStreams.get(member);
    if (!own) return;
    if (this.deps.clock.now() - this.startedAt > this.deps.maxTransferTimeMs) {
      this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'transfer time limit exceeded' }), member.peer);
      this.endMember(member, 'dropped', 'transfer time limit exceeded');
      return;
    }
    if (own.onAck(n)) this.endMember(member, 'complete', '');
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
    if (this.state === 'gathering') {
      this.keepAlive(member); // nothing to push yet, and waiting is no misbehaviour
      return;
    }
    // Its most recent packet from us was an OACK mc=0; resend it (rate-limited), and take the ACK
    // as a hint that the master's last block may need a push (10.5 g). Only ACKs that come after
    // such a repeat had time to arrive count against it: a master just passed over (its own ACK
    // lost) still has a stream of ACKs in flight, one per DATA, and must not be dropped for them.
    const decision = decideListenerAck(member.oackLimiter.allow(this.deps.clock.now()), member.strayAcks);
    if (decision !== 'rate-limited') member.strayAcks++;
    if (decision === 'drop-member') {
      this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'not the master: stop sending ACKs' }), member.peer);
      this.endMember(member, 'protocol-error', `ACKs went on after ${MAX_STRAY_ACKS} OACKs with mc=0`);
      return;
    }
    if (decision === 'resend-oack') this.sendOack(member, false);
    this.resendOnUnexpected();
  }

  private resendOnUnexpected(): void {
    if (this.state === 'sending') this.stream.resendOnUnexpected();
  }

  // ----------------------------------------------------------------------------------------------
  // Block numbers past 65535

  /** Block `index` went to the group (every live member that hears it) or to the master alone. */
  private noteSent(index: number, toGroup: boolean, master: Member): void {
    if (!toGroup) {
      noteReached(master.position, index);
      return;
    }
    for (const m of this.members.all()) {
      if ((m.state === 'listening' || m.state === 'master') && !m.unicast) noteReached(m.position, index);
    }
  }

  /** The master rejected the block after a wrap: nothing past 65535 can reach it in this transfer
   *  (atftp 0.8), so it ends with an ERROR saying so, and its host's next request for a file that
   *  wraps is served by unicast, which it follows. */
  private cannotFollowWrap(master: Member, block: number): void {
    this.deps.wrapUnableHosts?.note(master.peer.address);
    this.deps.log.info('member cannot follow a block-number wrap: ended, its next request is served by unicast', {
      peer: `${master.peer.address}:${master.peer.port}`,
      block,
      wire_block: wireBlock(block),
      blocks: this.finalIndex,
    });
    this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'block numbers wrap past 65535 here; ask again without multicast' }), master.peer);
    this.endMember(master, 'protocol-error', `cannot follow the block-number wrap at block ${block}`);
  }

  // ----------------------------------------------------------------------------------------------
  // Gathering

  /** A gathering member's retry: its OACK again once it cannot be its answer to our last one. */
  private keepAlive(member: Member): void {
    if (answersGatheringRetry(this.deps.clock.now(), member.lastOackAt)) this.sendOack(member, member === this.master);
  }

  private maybeStart(deadlinePassed: boolean): void {
    if (this.state !== 'gathering') return;
    const decision = decideDelayedStart({
      minClients: this.deps.settings.minClients,
      members: this.memberCount(),
      delayOver: deadlinePassed || this.gatherTimer === null,
      masterAnswered: this.masterAnswered,
      allKnownDeaf: this.members.allLiveUnicast(),
    });
    if (!decision.start) {
      // Waiting for the master's ACK 0 is bounded by the master timer.
      if (decision.waitingFor === 'master-ack' && !this.masterTimer.armed) this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
      return;
    }
    this.gatherTimer?.cancel();
    this.gatherTimer = null;
    this.state = 'sending';
    this.beginPacedTurn();
    this.deps.log.info('multicast session sending', {
      members: this.memberCount(),
      waited_ms: Math.round(this.deps.clock.now() - this.startedAt),
      reason: decision.reason,
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
    if (wasMaster) this.pace.endTurn(member, this.deps.clock.now());
    this.ownStreams.get(member)?.stop();
    this.ownStreams.delete(member);
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
    } else if (member.movedOut && this.master === null && this.members.liveCount() === 0) {
      this.close(); // the group was done; this was the last member on its own stream
    }
  }

  /** 10.1 rule 2: an ERROR from the master while gathering promotes the next client; the
   *  deadline keeps running. */
  private promoteDuringGathering(): void {
    const next = this.members.firstListening();
    if (!next) this.close();
    else this.makeMaster(next);
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.gatherTimer?.cancel();
    this.stream.stop();
    for (const own of this.ownStreams.values()) own.stop();
    this.ownStreams.clear();
    this.oackTimer.stop();
    this.masterTimer.stop();
    this.paceTimer.stop();
    this.deps.blocks.close();
    const stats = combinedStats(this.stream.stats(), this.movedOutStreams.map((s) => s.stats()));
    this.deps.onClose(sessionSummary(this.deps, stats, {
      members: this.members.total,
      masterSwitches: this.masterSwitches,
      movedOut: this.movedOutStreams.length,
      durationMs: this.deps.clock.now() - this.startedAt,
    }));
  }

  /** OACK `addr,port,mc` from the session port; the full address every time (EDK2 and iPXE both
   *  accept it, and it is the only form that lets a client that missed the first one join). */
  private sendOack(member: Member, isMaster: boolean): void {
    const value = `${this.deps.group.group},${this.deps.group.port},${isMaster ? 1 : 0}`;
    const options = [{ name: 'multicast', value }, ...member.granted];
    if (isMaster) this.stream.countOackSend();
    member.lastOackAt = this.deps.clock.now();
    this.send(encodeTftp({ op: 'OACK', options }), member.peer);
  }

  private send(packet: Buffer, to: PeerAddress): void {
    this.deps.socket.send(packet, to);
  }
}
