// The data path both multicast protocols share: one master client drives a stream of blocks to a
// group with its ACKs, where "ACK n" means "send n+1" (RFC 2090 as written; PXE MTFTP as atftp
// and iPXE masters use it), so a master can ask for any block it is missing. This object owns
// what happens between the master's ACK and the bytes on the wire (protocols.md 10):
// - no Sorcerer's Apprentice: duplicate ACKs explained by our own retransmissions send nothing;
//   one more proves loss and resends once (AckAccounting);
// - adaptive retransmission timeout with back-off (RttEstimator, Karn's rule);
// - pacing: a per-stream token bucket whose rate is AIMD, under a global bucket;
// - rate-limited resend of the current block on unexpected packets;
// - masters that cannot hear the group are served by unicast from the same socket.
// Who the master is, and what happens when it finishes or goes silent, is the caller's business.
import { encodeDataHeader } from '../codec/tftp-packet.js';
import type { Clock, DatagramSocket, Logger, PeerAddress } from '../io/ports.js';
import { AckAccounting } from '../flowcontrol/ack-accounting.js';
import type { BlockProducer } from '../tftp/block-producer.js';
import { mbpsToBytesPerMs, TokenBucket, type LossMeter } from '../flowcontrol/pacing.js';
import { AimdRate, type CongestionSignal } from '../flowcontrol/rate-reduction.js';
import { ResendLimiter } from '../flowcontrol/resend-on-unexpected.js';
import { LazyTimer } from '../tftp/lazy-timer.js';
import { RttEstimator, type RtoBounds } from '../flowcontrol/rtt-estimator.js';
import { judgeReAsk } from './deafness.js';
import { cannotFollowWrap, groupMayCarry, WIRE_SPAN } from './wrap-position.js';

/** What the stream needs to know about the client currently driving it. */
export interface StreamMaster {
  readonly peer: PeerAddress;
  /** It cannot hear the group: its blocks go to it by unicast. */
  unicast: boolean;
  /** It has acknowledged a block that reached it only through the group. */
  heardGroup: boolean;
  /** It has acknowledged a block past a block-number wrap (index 65536 or more). */
  followsWrap?: boolean;
  retransmits: number;
}

export interface MasterStreamDeps {
  readonly clock: Clock;
  /** All DATA leaves from this socket's port, unicast and multicast alike. */
  readonly socket: DatagramSocket;
  readonly group: { readonly address: string; readonly port: number };
  readonly blocks: BlockProducer;
  readonly blksize: number;
  readonly fileSize: number;
  readonly rto: RtoBounds;
  readonly initialRateMbps: number;
  readonly minRateMbps: number;
  readonly maxRateMbps: number;
  readonly globalBucket: TokenBucket;
  readonly lossMeter: LossMeter;
  /** Group sends of a block a master may re-ask for, before it is taken to be deaf. */
  readonly deafAfter: number;
  /** PXE MTFTP: block 1 also goes by unicast to the master (that is how a client learns it is). */
  readonly firstBlockAlsoUnicast: boolean;
  /**
   * Longest the group may stay silent while the stream waits on its master; the block in flight
   * is sent to the group again when it has been silent this long (null: never). For listeners
   * that time out on silence even when they are not the master (iPXE MTFTP: see mtftp-channel.ts).
   * Such keepalives are not retransmissions: no back-off, no congestion signal, no deafness
   * evidence.
   */
  readonly groupKeepaliveMs: number | null;
  readonly log: Logger;
  /** The master was found deaf to the group (deafness.ts) and is served by unicast from now on. */
  readonly onDeaf?: (master: StreamMaster, why: string) => void;
  /** Whether every live listener follows a block-number wrap (wrap-position.ts): until then a
   *  block past 65535 goes to the master alone. Absent: files that never wrap (PXE MTFTP). */
  readonly everyMemberFollowsWrap?: () => boolean;
  /** The master was sent the block after a wrap and asked again for the one before it: it cannot
   *  follow the wrap (wrap-position.ts). The stream sends nothing more for it; the caller ends it. */
  readonly onCannotFollowWrap?: (master: StreamMaster, block: number) => void;
  /** Block `index` left, to the group or to the master alone (a member's known position). */
  readonly onTransmit?: (index: number, toGroup: boolean, master: StreamMaster) => void;
  /** The retransmission timer expired with a block outstanding: return false to take over (the
   *  caller ends the stream, or has something else to resend). */
  readonly beforeRetransmit: () => boolean;
  /** Reading a block failed: the stream cannot go on. */
  readonly onReadError: (error: Error) => void;
}

export interface StreamStats {
  readonly dataSent: number;
  readonly bytesSent: number;
  readonly retransmits: number;
  readonly unicastBlocks: number;
  /** Group sends made only to keep listeners from timing out. */
  readonly keepalives: number;
  readonly congestionEvents: number;
  readonly rateMbps: number;
}

type SendKind = 'first' | 'retransmit' | 'keepalive';

export class MasterStream {
  readonly finalIndex: number;
  private master: StreamMaster | null = null;
  /** The block the master last asked for and we sent (0: none yet this turn). */
  private current = 0;
  /** The first block sent in this master's turn (0: none yet): its opening ACK asked for it. */
  private turnFirst = 0;
  private readonly acks = new AckAccounting();
  /** Group transmissions of each block during this master's turn (deafness evidence). */
  private readonly groupSends = new Map<number, number>();
  private readonly firstSentAt = new Map<number, number>();
  readonly rtt: RttEstimator;
  private readonly rate: AimdRate;
  private readonly bucket: TokenBucket;
  private readonly resendLimiter: ResendLimiter;
  private readonly timer: LazyTimer;
  private readonly keepaliveTimer: LazyTimer;
  private paceTimer: { cancel(): void } | null = null;
  private stopped = false;

  private dataSent = 0;
  private bytesSent = 0;
  private retransmits = 0;
  private unicastBlocks = 0;
  private keepalives = 0;

  constructor(private readonly deps: MasterStreamDeps) {
    this.finalIndex = Math.floor(deps.fileSize / deps.blksize) + 1;
    this.rtt = new RttEstimator(deps.rto);
    this.rate = new AimdRate(deps.initialRateMbps, deps.minRateMbps, deps.maxRateMbps);
    // A few blocks of burst: Node timers are ~1 ms coarse, so pacing sends in small bursts.
    this.bucket = new TokenBucket(mbpsToBytesPerMs(this.rate.mbps), deps.blksize * 8, deps.clock.now());
    this.resendLimiter = new ResendLimiter(() => this.rtt.rtoMs() / 2);
    this.timer = new LazyTimer(deps.clock, () => this.onTimeout());
    this.keepaliveTimer = new LazyTimer(deps.clock, () => this.onGroupSilent());
  }

  /** The block in flight (0 before the first one of this turn). */
  get inFlight(): number {
    return this.current;
  }

  /** A new master takes over: what the previous one acknowledged says nothing about this one. */
  beginTurn(master: StreamMaster): void {
    this.master = master;
    this.current = 0;
    this.turnFirst = 0;
    this.acks.reset();
    this.groupSends.clear();
    this.firstSentAt.clear();
    this.cancelPacedSend();
    this.timer.disarm();
  }

  /** Ends the current turn without a successor (master finished, silent or gone). */
  endTurn(): void {
    this.master = null;
    this.cancelPacedSend();
    this.timer.disarm();
  }

  /** An OACK (or open answer) to the master counts as a send of "block 0": copies of ACK 0 up to
   *  that many are explained by it. */
  countOackSend(): void {
    this.acks.sent(0);
  }

  /** The master's first ACK of its turn counts as acknowledging `index` (0: the OACK or open),
   *  so its repeats are judged against our sends of it. */
  acknowledgeStart(index: number): void {
    this.acks.advance(index);
  }

  /** Starts (or restarts) the turn's data at `index`. */
  start(index: number): void {
    this.send(index);
  }

  /** The master's ACK n. Returns true when the master has the whole file. */
  onAck(n: number): boolean {
    const master = this.master;
    if (master === null) return false;
    if (n >= this.finalIndex) {
      if (this.current > 0) this.onProgress(master, this.current);
      return true;
    }
    const want = n + 1;
    if (this.current > 0 && want === this.current + 1) {
      this.onProgress(master, this.current); // it has the block we sent
      this.acks.advance(this.current);
      this.send(want);
    } else if (want === this.current) {
      // It asks again for what we last sent: explained by our own retransmissions, or proof of
      // loss (resent once), and evidence that it may not hear the group (then resent by unicast).
      const provesLoss = this.acks.duplicateProvesLoss(n);
      if (cannotFollowWrap({ followsWrap: master.followsWrap === true, askedAgain: want, unexplainedCopy: this.acks.unexplainedCopy(n) })) {
        this.cancelPacedSend();
        this.timer.disarm();
        this.deps.onCannotFollowWrap?.(master, want);
        return false;
      }
      if (provesLoss) this.rate.congestion('re-requested-block');
      const deaf = this.acks.unexplainedCopy(n) && this.judgeDeafness(master, want, true);
      if (provesLoss || deaf) this.resend(want);
    } else {
      // Any other block: the master fills its own gaps (or skips what it already has).
      if (this.current > 0 && want > this.current) this.onProgress(master, this.current);
      this.acks.advance(n);
      this.send(want);
    }
    return false;
  }

  /** Something arrived that shows a peer is waiting: push the current block again, rate-limited
   *  so it cannot be used to amplify (10.5). */
  resendOnUnexpected(): void {
    if (this.master === null || this.current === 0) return;
    if (!this.resendLimiter.allow(this.deps.clock.now())) return;
    this.resend(this.current);
  }

  /** A congestion signal the caller saw (a master passed over). */
  congestion(signal: CongestionSignal): void {
    this.rate.congestion(signal);
  }

  /** The master went quiet although it answered unicast: if it never acknowledged a group-only
   *  block, it cannot hear the group. Returns true when it was switched to unicast (and the
   *  current block resent to it). */
  rescueSilentMaster(): boolean {
    const master = this.master;
    if (master === null || this.current === 0 || master.heardGroup || master.unicast) return false;
    this.markDeaf(master, this.current, 'silent after group DATA, yet answers unicast');
    this.resend(this.current);
    return true;
  }

  stats(): StreamStats {
    return {
      dataSent: this.dataSent,
      bytesSent: this.bytesSent,
      retransmits: this.retransmits,
      unicastBlocks: this.unicastBlocks,
      keepalives: this.keepalives,
      congestionEvents: this.rate.congestionEvents,
      rateMbps: this.rate.mbps,
    };
  }

  stop(): void {
    this.stopped = true;
    this.master = null;
    this.cancelPacedSend();
    this.timer.stop();
    this.keepaliveTimer.stop();
  }

  private onProgress(master: StreamMaster, block: number): void {
    const sentAt = this.firstSentAt.get(block);
    if (sentAt !== undefined && this.acks.sendsOf(block) === 1) this.rtt.sample(this.deps.clock.now() - sentAt);
    this.rtt.progress();
    this.rate.progress();
    const reachedByUnicast = master.unicast || (block === 1 && this.deps.firstBlockAlsoUnicast) || !this.toGroup(block);
    if (!reachedByUnicast) master.heardGroup = true;
    if (block >= WIRE_SPAN) master.followsWrap = true;
  }

  /** Asks deafness.ts whether this re-ask (or our own timer's resend) shows the master cannot hear
   *  the group; if so it is served by unicast from now on. */
  private judgeDeafness(master: StreamMaster, block: number, unexplainedReAsk: boolean): boolean {
    const firstSentAt = this.firstSentAt.get(block);
    const verdict = judgeReAsk({
      unicast: master.unicast,
      heardGroup: master.heardGroup,
      openingBlock: block === this.turnFirst,
      alsoUnicast: block === 1 && this.deps.firstBlockAlsoUnicast,
      groupSends: this.groupSends.get(block) ?? 0,
      unexplainedReAsk,
      sinceFirstSendMs: firstSentAt === undefined ? 0 : this.deps.clock.now() - firstSentAt,
      // No RTT sample of a deaf master exists (it never ACKs group data): rto_min bounds it below.
      crossingMs: Math.max(2 * (this.rtt.minRttMs() ?? 0), this.deps.rto.minMs),
      deafAfter: this.deps.deafAfter,
    });
    if (!verdict.deaf) return false;
    this.markDeaf(master, block, verdict.why);
    return true;
  }

  private markDeaf(master: StreamMaster, block: number, why: string): void {
    master.unicast = true;
    this.deps.log.info('member cannot hear the group: serving it by unicast', {
      peer: `${master.peer.address}:${master.peer.port}`,
      block,
      why,
    });
    this.deps.onDeaf?.(master, why);
  }

  private onTimeout(): void {
    const master = this.master;
    if (master === null || this.current === 0 || this.stopped) return;
    if (!this.deps.beforeRetransmit()) return;
    this.rtt.expired();
    this.rate.congestion('retransmission-timeout');
    this.judgeDeafness(master, this.current, false);
    this.resend(this.current);
  }

  private onGroupSilent(): void {
    const master = this.master;
    if (master === null || this.current === 0 || this.stopped || master.unicast) return;
    void this.transmit(this.current, 'keepalive');
  }

  /** Block `index` may go to the group: it does not wrap, or every listener follows a wrap. */
  private toGroup(index: number): boolean {
    return groupMayCarry(index, this.deps.everyMemberFollowsWrap?.() ?? false);
  }

  /** Sends block `index` when the pacers allow (now, or after a short wait). */
  private send(index: number): void {
    this.cancelPacedSend();
    // Decided now, even if the read or the pacer delays the bytes: an ACK arriving meanwhile must
    // see this block as the one in flight, or it would be taken for progress and sent twice.
    this.current = index;
    if (this.turnFirst === 0) this.turnFirst = index;
    const now = this.deps.clock.now();
    this.bucket.setRate(mbpsToBytesPerMs(this.rate.mbps), now);
    const size = this.deps.blksize + 4;
    // Both pacers are asked before either is charged: tokens are spent only by a packet that goes.
    const wait = Math.max(this.bucket.delay(size, now), this.deps.globalBucket.delay(size, now));
    if (wait === 0) {
      this.bucket.charge(size, now);
      this.deps.globalBucket.charge(size, now);
      void this.transmit(index, 'first');
      return;
    }
    this.paceTimer = this.deps.clock.setTimer(wait, () => {
      this.paceTimer = null;
      if (this.master !== null && this.current === index) this.send(index);
    });
  }

  private cancelPacedSend(): void {
    this.paceTimer?.cancel();
    this.paceTimer = null;
  }

  private resend(index: number): void {
    this.cancelPacedSend();
    this.current = index;
    void this.transmit(index, 'retransmit');
  }

  private async transmit(index: number, kind: SendKind): Promise<void> {
    const master = this.master;
    if (master === null) return;
    let data: Buffer;
    try {
      const pending = this.deps.blocks.block(index);
      data = pending instanceof Promise ? await pending : pending;
    } catch (e) {
      this.deps.onReadError(e as Error);
      return;
    }
    if (this.stopped || this.master !== master || this.current !== index) return;
    if (kind === 'keepalive' && master.unicast) return;
    if (this.acks.sent(index) === 1) this.firstSentAt.set(index, this.deps.clock.now());
    if (kind === 'retransmit') {
      this.retransmits++;
      master.retransmits++;
    }
    const packet = [encodeDataHeader(index), data];
    const toGroup = !master.unicast && this.toGroup(index);
    if (kind === 'keepalive') {
      if (!toGroup) return;
      this.keepalives++;
      this.deps.socket.send(packet, this.deps.group);
    } else if (!toGroup) {
      this.unicastBlocks++;
      this.deps.socket.send(packet, master.peer);
    } else {
      // The unicast copy first: an MTFTP opener that reads the group copy first concludes that
      // someone else is master and goes back to listening (EFI 1.10 and atftp clients do).
      if (index === 1 && this.deps.firstBlockAlsoUnicast) this.deps.socket.send(packet, master.peer);
      this.groupSends.set(index, (this.groupSends.get(index) ?? 0) + 1);
      this.deps.socket.send(packet, this.deps.group);
    }
    this.deps.onTransmit?.(index, toGroup, master);
    this.dataSent++;
    this.bytesSent += data.length;
    if (!master.unicast && this.deps.groupKeepaliveMs !== null) this.keepaliveTimer.arm(this.deps.groupKeepaliveMs);
    if (kind === 'keepalive') return; // the retransmission schedule stays as it was
    this.deps.lossMeter.record(this.deps.clock.now(), 1, kind === 'retransmit' ? 1 : 0);
    this.timer.arm(this.rtt.rtoMs());
  }
}
