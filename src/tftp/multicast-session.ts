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
//   blocks by unicast from the same session.
import { encodeDataHeader, encodeTftp, TftpErrorCode, type TftpOption, type TftpPacket } from '../codec/tftp-packet.js';
import type { RequestedOptions } from '../codec/tftp-options.js';
import type { MulticastConfig } from '../config/config-types.js';
import type { Clock, DatagramSocket, Logger, PeerAddress } from '../io/ports.js';
import { AckAccounting } from './ack-accounting.js';
import type { BlockProducer } from './block-producer.js';
import { AimdRate, mbpsToBytesPerMs, RateLimiter, TokenBucket, type LossMeter, type SessionParameters } from './flow-control.js';
import type { GroupPort } from './group-pool.js';
import { LazyTimer } from './lazy-timer.js';
import { RttEstimator, type RtoBounds } from './rtt-estimator.js';
import type { TransferOutcome, TransferProgress, TransferResult } from './transfer-types.js';

export type SessionState = 'gathering' | 'sending' | 'closed';
export type MemberState = 'listening' | 'master' | 'done' | 'failed';

/** OACK mc=0 answers to a member's stray ACKs before it is dropped (protocols.md 10.5 g, S5). */
export const MAX_STRAY_ACKS = 5;

export interface Member {
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
  /** It cannot hear the group: its blocks go to it by unicast. */
  unicast: boolean;
  /** It has acknowledged a block that reached it only through the group. */
  heardGroup: boolean;
  retransmits: number;
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
  readonly log: Logger;
  readonly onMemberEnd: (member: Member, result: TransferResult) => void;
  readonly onClose: (summary: SessionSummary) => void;
}

const peerKey = (p: PeerAddress) => `${p.address}|${p.port}`;

export class MulticastSession {
  private state: SessionState = 'gathering';
  private readonly members: Member[] = [];
  private master: Member | null = null;
  private readonly startedAt: number;
  private lastHeardAt: number;
  private readonly finalIndex: number;

  /** The block the master last asked for and we sent (0: none yet this master). */
  private current = 0;
  /** The master has sent ACK 0 (or any ACK) since it was made master. */
  private masterAnswered = false;
  private masterSince = 0;
  private readonly acks = new AckAccounting();
  /** Transmissions of each block to the group during this master's turn (deafness evidence). */
  private readonly groupSends = new Map<number, number>();
  private readonly firstSentAt = new Map<number, number>();

  private readonly rtt: RttEstimator;
  private readonly rate: AimdRate;
  private readonly bucket: TokenBucket;
  private readonly resendLimiter: RateLimiter;
  private readonly retransmitTimer: LazyTimer;
  private readonly masterTimer: LazyTimer;
  private gatherTimer: { cancel(): void } | null = null;
  private paceTimer: { cancel(): void } | null = null;
  private pendingSend: number | null = null;

  private dataSent = 0;
  private bytesSent = 0;
  private retransmits = 0;
  private unicastBlocks = 0;
  private masterSwitches = 0;
  private hadMaster = false;

  constructor(private readonly deps: MulticastSessionDeps) {
    this.startedAt = deps.clock.now();
    this.lastHeardAt = this.startedAt;
    this.finalIndex = Math.floor(deps.fileSize / deps.params.blksize) + 1;
    this.rtt = new RttEstimator({ ...deps.rto, minMs: Math.max(deps.rto.minMs, deps.params.rtoMinMs) });
    this.rate = new AimdRate(deps.params.initialRateMbps, deps.settings.minRateMbps, deps.settings.maxRateMbps);
    // A few blocks of burst: Node timers are ~1 ms coarse, so pacing sends in small bursts.
    this.bucket = new TokenBucket(mbpsToBytesPerMs(this.rate.mbps), deps.params.blksize * 8, this.startedAt);
    this.resendLimiter = new RateLimiter(() => this.rtt.rtoMs() / 2);
    this.retransmitTimer = new LazyTimer(deps.clock, () => this.onRetransmitTimeout());
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
    // The same host from a new port is a new attempt: its old entry is finished (10.2 rule 3).
    for (const old of this.members) {
      if (old.peer.address === peer.address && (old.state === 'listening' || old.state === 'master')) {
        this.endMember(old, 'aborted-by-client', 'replaced by a new request from the same host');
      }
    }
    const member: Member = {
      peer,
      joinedAt: this.deps.clock.now(),
      granted: this.grantFor(requested, optionOrder),
      state: 'listening',
      passedOver: 0,
      heardSinceJoin: false,
      strayAcks: 0,
      unicast: false,
      heardGroup: false,
      retransmits: 0,
      oackLimiter: new RateLimiter(() => this.rtt.rtoMs()),
    };
    this.members.push(member);
    this.deps.log.debug('member joined', { peer: `${peer.address}:${peer.port}`, members: this.memberCount() });
    if (this.master === null) this.makeMaster(member);
    else this.sendOack(member, false);
    this.maybeStart(false);
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
      if (packet.op !== 'ERROR') this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.UNKNOWN_TID, message: 'unknown transfer ID' }), from);
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
      bytes: isMaster ? Math.min(this.deps.fileSize, Math.max(0, this.current - 1) * this.blksize) : 0,
      totalBytes: this.deps.fileSize,
      retransmits: this.retransmits,
      rtoMs: this.rtt.rtoMs(),
    };
  }

  // ----------------------------------------------------------------------------------------------
  // Master handling

  private makeMaster(member: Member): void {
    if (this.hadMaster) this.masterSwitches++;
    this.hadMaster = true;
    this.master = member;
    member.state = 'master';
    this.current = 0;
    this.masterAnswered = false;
    this.masterSince = this.deps.clock.now();
    this.acks.reset();
    this.groupSends.clear();
    this.firstSentAt.clear();
    this.sendOack(member, true);
    this.retransmitTimer.arm(this.rtt.rtoMs());
  }

  private onMasterAck(n: number): void {
    const master = this.master!;
    const now = this.deps.clock.now();
    if (!this.masterAnswered) {
      this.masterAnswered = true;
      master.heardSinceJoin = true;
    }
    if (now - this.startedAt > this.deps.maxTransferTimeMs) {
      this.abort('transfer time limit exceeded');
      return;
    }
    if (this.state === 'gathering') {
      this.maybeStart(false); // ACK 0 while gathering: absorbed (10.1 T2)
      return;
    }
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
    if (n >= this.finalIndex) {
      this.endMember(master, 'complete', '');
      return;
    }
    const want = n + 1;
    if (want === this.current + 1 && this.current > 0) {
      // Progress: the master has the block we sent.
      this.onMasterProgress(master, this.current);
      this.acks.advance(this.current);
      this.send_(want);
      return;
    }
    if (want === this.current) {
      // The master asks again for what we last sent. Explained by our own retransmissions, or
      // proof that it was lost (then resent once), and evidence of deafness.
      if (this.acks.duplicateProvesLoss(n)) {
        this.rate.congestion();
        this.noteReRequest(master, want);
        this.resend(want);
      }
      return;
    }
    // Any other block: RFC 2090's "ACK n = send n+1" lets a master fill its own gaps.
    if (this.current > 0 && want > this.current) this.onMasterProgress(master, this.current);
    this.acks.advance(n);
    this.send_(want);
  }

  private onMasterProgress(master: Member, block: number): void {
    const sentAt = this.firstSentAt.get(block);
    if (sentAt !== undefined && this.acks.sendsOf(block) === 1) this.rtt.sample(this.deps.clock.now() - sentAt);
    this.rtt.progress();
    this.rate.progress();
    if (!master.unicast) master.heardGroup = true;
  }

  /** A master that never acknowledged a group-only block keeps re-asking: it cannot hear the group. */
  private noteReRequest(master: Member, block: number): void {
    if (master.unicast || master.heardGroup) return;
    if ((this.groupSends.get(block) ?? 0) < this.deps.settings.deafAfter) return;
    this.markDeaf(master, block, `asked again for block ${block} after ${this.groupSends.get(block)} group sends`);
  }

  private markDeaf(member: Member, block: number, why: string): void {
    member.unicast = true;
    this.deps.log.info('member cannot hear the group: serving it by unicast', {
      peer: `${member.peer.address}:${member.peer.port}`,
      block,
      why,
    });
  }

  private onRetransmitTimeout(): void {
    if (this.master === null || this.state === 'closed') return;
    if (!this.masterAnswered) {
      // The OACK that made it master may be lost: say it again until the master timer decides.
      this.rtt.expired();
      this.sendOack(this.master, true);
      this.retransmitTimer.arm(this.rtt.rtoMs());
      return;
    }
    if (this.state !== 'sending' || this.current === 0) return;
    if (this.deps.clock.now() - this.lastHeardAt >= this.deps.idleTimeoutMs) {
      this.abort('no client answered');
      return;
    }
    this.rtt.expired();
    this.rate.congestion();
    this.noteReRequest(this.master, this.current);
    this.resend(this.current);
  }

  private onMasterSilent(): void {
    const master = this.master;
    if (master === null || this.state === 'closed') return;
    if (this.masterAnswered && this.current > 0 && !master.heardGroup && !master.unicast) {
      // It answers our unicast OACKs but never a block sent to the group: it cannot hear the
      // group (IGMP snooping, a client bug, a wrong interface). Clients that re-ask slower than
      // master_timeout (atftp: 5 s) reach this rule before the re-ask rule.
      this.markDeaf(master, this.current, 'silent after group DATA, yet answered its OACK');
      this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
      this.resend(this.current);
      return;
    }
    master.passedOver++;
    this.rate.congestion();
    if (master.passedOver >= this.deps.settings.masterTries) {
      this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'no answer as master; dropped' }), master.peer);
      this.endMember(master, 'timeout', `silent as master ${master.passedOver} time(s)`);
    } else {
      this.deps.log.info('master silent: passed over', { peer: `${master.peer.address}:${master.peer.port}`, times: master.passedOver });
      master.state = 'listening';
      this.master = null;
      this.promote();
    }
  }

  /** The oldest unfinished member becomes master; those passed over come after the others. */
  private promote(): void {
    this.retransmitTimer.disarm();
    this.masterTimer.disarm();
    this.cancelPacedSend();
    const candidates = this.members
      .filter((m) => m.state === 'listening')
      .sort((a, b) => a.passedOver - b.passedOver || a.joinedAt - b.joinedAt);
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
      member.heardSinceJoin = true; // its ACK of our OACK: expected, nothing to do
      return;
    }
    member.strayAcks++;
    if (member.strayAcks > MAX_STRAY_ACKS) {
      this.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'not the master: stop sending ACKs' }), member.peer);
      this.endMember(member, 'protocol-error', `${member.strayAcks} ACKs while not master`);
      return;
    }
    // Its most recent packet from us was an OACK mc=0; resend it (rate-limited), and take the ACK
    // as a hint that the master's last block may need a push (10.5 g).
    if (member.oackLimiter.allow(this.deps.clock.now())) this.sendOack(member, false);
    this.resendOnUnexpected();
  }

  private resendOnUnexpected(): void {
    if (this.state !== 'sending' || this.current === 0) return;
    if (!this.resendLimiter.allow(this.deps.clock.now())) return;
    this.resend(this.current);
  }

  // ----------------------------------------------------------------------------------------------
  // Gathering and sending

  private maybeStart(deadlinePassed: boolean): void {
    if (this.state !== 'gathering') return;
    const gathered = this.deps.settings.minClients > 0 && this.memberCount() >= this.deps.settings.minClients;
    const timeUp = deadlinePassed || this.gatherTimer === null;
    if (!gathered && !timeUp) return;
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
      reason: gathered ? `min_clients ${this.deps.settings.minClients} reached` : 'start_delay over',
    });
    this.acks.advance(0); // repeats of the master's ACK 0 are explained by our OACK sends
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
    this.send_(1);
  }

  /** Sends block `index` when the pacers allow (now, or after a short wait). */
  private send_(index: number): void {
    this.cancelPacedSend();
    // Decided now, even if the read or the pacer delays the bytes: an ACK arriving meanwhile must
    // see this block as the one in flight, or it would be taken for progress and sent twice.
    this.current = index;
    const now = this.deps.clock.now();
    this.bucket.setRate(mbpsToBytesPerMs(this.rate.mbps), now);
    const size = this.blksize + 4;
    const wait = Math.max(this.bucket.take(size, now), this.deps.globalBucket.take(size, now));
    if (wait === 0) {
      void this.transmit(index, false);
      return;
    }
    this.pendingSend = index;
    this.paceTimer = this.deps.clock.setTimer(wait, () => {
      this.paceTimer = null;
      const pending = this.pendingSend;
      this.pendingSend = null;
      if (pending !== null && this.state === 'sending') this.send_(pending);
    });
  }

  private cancelPacedSend(): void {
    this.paceTimer?.cancel();
    this.paceTimer = null;
    this.pendingSend = null;
  }

  private resend(index: number): void {
    this.cancelPacedSend();
    this.current = index;
    void this.transmit(index, true);
  }

  private async transmit(index: number, isRetransmit: boolean): Promise<void> {
    const master = this.master;
    if (master === null) return;
    let data: Buffer;
    try {
      const pending = this.deps.blocks.block(index);
      data = pending instanceof Promise ? await pending : pending;
    } catch (e) {
      this.abort(`read failed: ${(e as Error).message}`);
      return;
    }
    if (this.state !== 'sending' || this.master !== master || this.current !== index) return;
    const count = this.acks.sent(index);
    if (count === 1) this.firstSentAt.set(index, this.deps.clock.now());
    if (isRetransmit) {
      this.retransmits++;
      master.retransmits++;
    }
    const packet = [encodeDataHeader(index), data];
    if (master.unicast) {
      this.unicastBlocks++;
      this.deps.socket.send(packet, master.peer);
    } else {
      this.groupSends.set(index, (this.groupSends.get(index) ?? 0) + 1);
      this.deps.socket.send(packet, { address: this.deps.group.group, port: this.deps.group.port });
    }
    this.dataSent++;
    this.bytesSent += data.length;
    this.deps.lossMeter.record(this.deps.clock.now(), 1, isRetransmit ? 1 : 0);
    this.retransmitTimer.arm(this.rtt.rtoMs());
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
    this.cancelPacedSend();
    this.retransmitTimer.stop();
    this.masterTimer.stop();
    this.deps.blocks.close();
    this.deps.onClose({
      group: this.deps.group.group,
      port: this.deps.group.port,
      file: this.deps.filename,
      blksize: this.blksize,
      members: this.members.length,
      dataSent: this.dataSent,
      bytesSent: this.bytesSent,
      retransmits: this.retransmits,
      unicastBlocks: this.unicastBlocks,
      masterSwitches: this.masterSwitches,
      congestionEvents: this.rate.congestionEvents,
      finalRateMbps: Math.round(this.rate.mbps),
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
    if (isMaster) this.acks.sent(0);
    this.send(encodeTftp({ op: 'OACK', options }), member.peer);
  }

  private send(packet: Buffer, to: PeerAddress): void {
    this.deps.socket.send(packet, to);
  }
}
