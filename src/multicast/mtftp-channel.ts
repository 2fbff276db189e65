// One PXE MTFTP channel: one catalog image, one (group, client port), served from the MTFTP server
// port (protocols.md 5). Clients listen on the group, open with a plain octet RRQ (no options: 512-
// byte blocks) and the opener that receives block 1 by unicast is the master: it ACKs, everyone
// else collects what the group carries. Each run through the file is a *pass*:
// - idle + open: the opener is master; block 1 waits `open_hold` (so openers arriving together all
//   hear the stream from block 1; well under iPXE's ~1.75 s open patience), then goes to the group
//   and by unicast to the master. Opens during the hold need nothing: they hear everything.
// - opens during a pass are not answered (their clients listen, as PXE intends), but they queue
//   another pass that starts right after this one ends, before listeners give up. Its master is
//   the host that first opened latest in the running pass: it missed the longest head, and "ACK n
//   = send n+1" lets it ask for exactly that, so every other late host completes as a listener.
//   Hosts, not ports: iPXE reopens from a new port, and a reopen must not make a host that missed
//   little the master (the others would be left with holes).
// - a host may have listened before it opened, so a master can need less than another late host
//   did: a pass for late openers owes each of them the blocks before its open, and when its master
//   is done before the group carried those, the host owed the most masters one more pass (in the
//   e2e run three iPXE VMs: the master had heard from block 921, another host opened earlier but
//   heard only from 924, and was left with 921-923 zeroed).
// - the group never stays silent longer than MTFTP_MAX_GROUP_SILENCE_MS while a pass waits on
//   its master: the block in flight goes to the group again. iPXE listeners reopen after ~250 ms
//   without a packet, and this ROM (1.0.0+git-20190125) counts every open without an answer
//   across the whole download: after a few it falls back to plain TFTP, discards its block bitmap
//   but keeps the file size, and so "completes" after one block with the rest of the image
//   missing (seen in test/e2e: imgfetch ok, SHA-256 wrong, hundreds of zeroed blocks).
// - a retransmitted open from the master while block 1 is unacknowledged resends block 1 (10.5 i).
//   ACKs from anyone but the master send nothing: PXE listeners never ACK (EFI 1.10 and iPXE
//   stay silent unless block 1 reached them by unicast), so such an ACK comes from a master of an
//   earlier pass, a master that reopened from a new port, or a forged source; none of them shows
//   that the group missed a block, and the keepalive below already covers listeners' silence.
// - the one exception: an ACK from the exact port of a master whose pass ended before it had the
//   file (silent, time limit, read error) gets an ERROR, within the per-client answer budget.
//   atftp 0.8's master stays in its receive state after such an end: it takes the group blocks of
//   whatever pass runs next as its own, ACKs each, and ends with exit status 0 at the last (short)
//   block without looking at its block bitmap, so every block it missed in that later pass is a
//   hole of zeros in a full-length file (tftp_mtftp.c, S_SEND_ACK). The ERROR makes it abort
//   cleanly. No correct client is in that state: listeners never ACK, and iPXE reopens from a new
//   port after a timeout (protocols.md 5.4).
// - a pass lasts at most `max_transfer_time`; then it ends (ERROR to the master) and late openers
//   get their pass as after any other end.
// - a silent master that answers unicast but never a group-only block is served by unicast; any
//   other silent master ends the pass. One that never ACKed at all ends it after one
//   `master_timeout`: it may be a forged open, and late openers are waiting.
// - a pass that starts soon after another ended runs at no more than half the rate that one
//   achieved (flowcontrol/follow-up-pass.ts): its listeners heard the previous pass, and atftp's
//   then fall behind a master at full speed, lose blocks and reopen for yet another pass.
// The data path (no double sends, adaptive RTO, pacing, deafness) is the RFC 2090 one: MasterStream.
import { encodeTftp, TftpErrorCode } from '../codec/tftp-packet.js';
import type { MtftpChannelConfig } from '../config/config-types.js';
import type { Clock, DatagramSocket, Logger, OpenedFile, PeerAddress } from '../io/ports.js';
import { OctetBlocks } from '../tftp/block-producer.js';
import { mtftpHoldMs } from '../flowcontrol/delayed-start.js';
import { achievedMbps, passRateCeilingMbps, type EndedPass } from '../flowcontrol/follow-up-pass.js';
import { decideMtftpOpen } from '../flowcontrol/join-running-session.js';
import type { LossMeter, TokenBucket } from '../flowcontrol/pacing.js';
import { LazyTimer } from '../tftp/lazy-timer.js';
import { MasterStream, type StreamMaster } from './master-stream.js';
import type { RtoBounds } from '../flowcontrol/rtt-estimator.js';

/** PXE MTFTP has no option negotiation. */
export const MTFTP_BLKSIZE = 512;

/** Below iPXE's minimum retry timeout (250 ms), with room for a busy client's clock. */
export const MTFTP_MAX_GROUP_SILENCE_MS = 150;

export type ChannelState = 'idle' | 'opening' | 'holding' | 'sending';

export interface MtftpSettings {
  readonly openHoldMs: number;
  /** `[tftp] max_transfer_time`: the longest a pass may run. */
  readonly maxTransferTimeMs: number;
  readonly masterTimeoutMs: number;
  readonly deafAfter: number;
  readonly minRateMbps: number;
  readonly maxRateMbps: number;
}

export interface PassSummary {
  readonly image: string;
  readonly group: string;
  readonly master: string;
  readonly outcome: 'complete' | 'master-silent' | 'master-error' | 'aborted' | 'io-error' | 'time-limit';
  readonly blocks: number;
  readonly dataSent: number;
  readonly bytesSent: number;
  readonly retransmits: number;
  readonly unicastBlocks: number;
  /** Group sends only to keep listeners from timing out while the master was slow. */
  readonly keepalives: number;
  readonly lateOpeners: number;
  readonly durationMs: number;
  /** The pass's rate ceiling: `max_rate`, or less for a pass that followed another at once. */
  readonly ceilingMbps: number;
  /** DATA bytes over the time from block 1 to the end. */
  readonly achievedMbps: number;
}

/** A running pass as status displays show it. */
export interface PassProgress {
  readonly image: string;
  /** `group:client-port` */
  readonly group: string;
  readonly master: PeerAddress;
  readonly state: ChannelState;
  /** Blocks the master has acknowledged, in bytes. */
  readonly bytes: number;
  readonly totalBytes: number;
  readonly retransmits: number;
  readonly ageMs: number;
  /** Late openers waiting for the next pass. */
  readonly waiting: number;
}

export interface MtftpChannelDeps {
  readonly clock: Clock;
  /** The MTFTP server-port socket: every DATA leaves from it (EFI 1.10 accepts no other source). */
  readonly socket: DatagramSocket;
  readonly image: string;
  readonly channel: MtftpChannelConfig;
  /** Opens the image's file for one pass (each pass reads the catalog's current file). */
  readonly openFile: () => Promise<OpenedFile>;
  readonly settings: MtftpSettings;
  readonly rto: RtoBounds;
  readonly globalBucket: TokenBucket;
  readonly lossMeter: LossMeter;
  readonly log: Logger;
  readonly onPassEnd: (summary: PassSummary) => void;
  /** Whether an unsolicited answer to `address` is within its budget (limit-gate.ts). */
  readonly mayAnswer: (address: string) => boolean;
}

/** Masters of unfinished passes remembered per channel: a stale one ACKs within seconds. */
const MAX_ORPHANED_MASTERS = 8;

/** A host that opened during a pass: it heard the stream from `missedThrough` on. */
interface LateOpener {
  /** Where its latest open came from: the port it listens on now. */
  peer: PeerAddress;
  readonly missedThrough: number;
}

interface Pass {
  readonly master: StreamMaster;
  /** Late openers of the previous pass this one must carry the missed heads of (master excluded). */
  readonly owed: readonly LateOpener[];
  /** Blocks 1..coveredThrough went to the group this pass (the master ACKed them in order). */
  coveredThrough: number;
  readonly stream: MasterStream;
  readonly file: OpenedFile;
  readonly startedAt: number;
  /** When block 1 went out (null while held). */
  sendingSince: number | null;
  readonly ceilingMbps: number;
  lateOpeners: number;
  /** The master has ACKed something this pass: its address is real. */
  masterAnswered: boolean;
  /** Ends the pass at `max_transfer_time`. */
  readonly timeLimit: { cancel(): void };
}

const samePeer = (a: PeerAddress, b: PeerAddress) => a.address === b.address && a.port === b.port;

export class MtftpChannel {
  private state: ChannelState = 'idle';
  private pass: Pass | null = null;
  /** Hosts that opened during the running pass, each once: they want another pass. */
  private pending: LateOpener[] = [];
  private holdTimer: { cancel(): void } | null = null;
  /** The pass being set up (its file being opened); abort() or a later set-up replaces it, and an
   *  open that completes after that is discarded. */
  private opening: object | null = null;
  private readonly masterTimer: LazyTimer;
  /** Masters whose pass ended before they had the file (newest last): see the top. */
  private orphaned: PeerAddress[] = [];
  /** The last pass that sent anything: a pass starting soon after it is paced for its listeners. */
  private lastEnded: EndedPass | null = null;

  constructor(private readonly deps: MtftpChannelDeps) {
    this.masterTimer = new LazyTimer(deps.clock, () => this.onMasterSilent());
  }

  get channelState(): ChannelState {
    return this.state;
  }

  /** The peer currently driving the channel, if any. */
  masterPeer(): PeerAddress | null {
    return this.pass?.master.peer ?? null;
  }

  /** Whether `peer` (address and port) mastered a pass of this channel that ended unfinished. */
  orphanedMaster(peer: PeerAddress): boolean {
    return this.orphaned.some((p) => samePeer(p, peer));
  }

  /** The running pass, if any. */
  passProgress(): PassProgress | null {
    const pass = this.pass;
    if (pass === null) return null;
    return {
      image: this.deps.image,
      group: `${this.deps.channel.group}:${this.deps.channel.clientPort}`,
      master: pass.master.peer,
      state: this.state,
      bytes: Math.min(pass.file.size, Math.max(0, pass.stream.inFlight - 1) * MTFTP_BLKSIZE),
      totalBytes: pass.file.size,
      retransmits: pass.stream.stats().retransmits,
      ageMs: this.deps.clock.now() - pass.startedAt,
      waiting: this.pending.length,
    };
  }

  /** An open (plain octet RRQ for this channel's file). */
  onOpen(from: PeerAddress): void {
    this.forgetOrphan(from); // it opens: it has left its receive state
    const pass = this.pass;
    const fromMaster = pass !== null && samePeer(from, pass.master.peer);
    switch (decideMtftpOpen(this.state, fromMaster, pass?.stream.inFlight ?? 0)) {
      case 'start-pass':
        void this.beginPass(from, mtftpHoldMs(this.deps.settings.openHoldMs, false), []);
        return;
      case 'hears-whole-pass':
      case 'ignore':
        return;
      case 'resend-first-block':
        // A retransmitted open: block 1 (both ways) may be lost (10.5 i).
        pass!.stream.resendOnUnexpected();
        return;
      case 'next-pass': {
        const known = this.pending.find((p) => p.peer.address === from.address);
        if (known) {
          known.peer = from; // a reopen: same gap, new port
          return;
        }
        this.pending.push({ peer: from, missedThrough: pass!.stream.inFlight });
        pass!.lateOpeners++;
        this.deps.log.debug('open during a pass: another pass will follow', { peer: `${from.address}:${from.port}`, block: pass!.stream.inFlight });
        return;
      }
    }
  }

  onAck(from: PeerAddress, block: number): void {
    const pass = this.pass;
    if (this.orphanedMaster(from) && !(pass !== null && samePeer(from, pass.master.peer))) {
      this.answerOrphan(from, block);
      return;
    }
    if (pass === null || this.state !== 'sending') return;
    if (!samePeer(from, pass.master.peer)) return; // only the master ACKs (see the top)
    pass.masterAnswered = true;
    if (block === pass.coveredThrough + 1) pass.coveredThrough = block;
    this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
    if (pass.stream.onAck(block)) this.endPass('complete');
  }

  onError(from: PeerAddress): void {
    const pass = this.pass;
    if (pass !== null && samePeer(from, pass.master.peer)) this.endPass('master-error');
    this.pending = this.pending.filter((p) => !samePeer(p.peer, from));
    this.forgetOrphan(from);
  }

  /** Shutdown: the pass ends, nothing follows. */
  abort(): void {
    this.opening = null;
    this.pending = [];
    this.holdTimer?.cancel();
    this.holdTimer = null;
    if (this.pass) this.endPass('aborted');
    this.state = 'idle';
    this.masterTimer.stop();
  }

  /** A master of an ended pass still ACKs: it is taking a later pass's blocks for its own. */
  private answerOrphan(from: PeerAddress, block: number): void {
    if (!this.deps.mayAnswer(from.address)) return;
    this.deps.log.debug('ACK from the master of an ended pass: told it ended', { peer: `${from.address}:${from.port}`, block });
    this.deps.socket.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'MTFTP pass ended' }), from);
  }

  private forgetOrphan(peer: PeerAddress): void {
    if (this.orphaned.length > 0) this.orphaned = this.orphaned.filter((p) => !samePeer(p, peer));
  }

  private async beginPass(master: PeerAddress, holdMs: number, owed: readonly LateOpener[]): Promise<void> {
    this.state = 'opening';
    const attempt = {};
    this.opening = attempt;
    let file: OpenedFile;
    try {
      file = await this.deps.openFile();
    } catch (e) {
      this.deps.log.warn('cannot open the image for an MTFTP pass', { error: (e as Error).message });
      if (this.opening === attempt) {
        this.opening = null;
        this.state = 'idle';
      }
      return;
    }
    if (this.opening !== attempt) {
      file.release(); // aborted meanwhile (and maybe another pass is being set up since)
      return;
    }
    this.opening = null;
    const { openTimeoutS, reopenDelayS } = this.deps.channel;
    const settings = this.deps.settings;
    const ceilingMbps = passRateCeilingMbps(this.lastEnded, this.deps.clock.now(), (openTimeoutS + reopenDelayS) * 1000, settings.minRateMbps, settings.maxRateMbps);
    const streamMaster: StreamMaster = { peer: master, unicast: false, heardGroup: false, retransmits: 0 };
    const stream = new MasterStream({
      clock: this.deps.clock,
      socket: this.deps.socket,
      group: { address: this.deps.channel.group, port: this.deps.channel.clientPort },
      blocks: new OctetBlocks(file, MTFTP_BLKSIZE),
      blksize: MTFTP_BLKSIZE,
      fileSize: file.size,
      rto: this.deps.rto,
      initialRateMbps: ceilingMbps,
      minRateMbps: Math.min(settings.minRateMbps, ceilingMbps),
      maxRateMbps: ceilingMbps,
      globalBucket: this.deps.globalBucket,
      lossMeter: this.deps.lossMeter,
      deafAfter: this.deps.settings.deafAfter,
      firstBlockAlsoUnicast: true,
      groupKeepaliveMs: MTFTP_MAX_GROUP_SILENCE_MS,
      log: this.deps.log,
      beforeRetransmit: () => true,
      onReadError: (e) => {
        this.deps.log.warn('MTFTP read failed', { error: e.message });
        this.endPass('io-error');
      },
    });
    const timeLimit = this.deps.clock.setTimer(this.deps.settings.maxTransferTimeMs, () => {
      if (this.pass?.stream !== stream) return;
      this.deps.socket.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message: 'transfer time limit exceeded' }), master);
      this.endPass('time-limit');
    });
    this.pass = { master: streamMaster, owed, coveredThrough: 0, stream, file, startedAt: this.deps.clock.now(), sendingSince: null, ceilingMbps, lateOpeners: 0, masterAnswered: false, timeLimit };
    const pass = this.pass;
    const send = () => {
      this.holdTimer = null;
      this.state = 'sending';
      pass.sendingSince = this.deps.clock.now();
      this.deps.log.info('mtftp pass sending', { master: `${master.address}:${master.port}`, bytes: file.size, held_ms: holdMs, ceiling_mbps: round2(ceilingMbps) });
      stream.beginTurn(streamMaster);
      this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
      stream.start(1);
    };
    if (holdMs > 0) {
      this.state = 'holding';
      this.holdTimer = this.deps.clock.setTimer(holdMs, send);
    } else send();
  }

  private onMasterSilent(): void {
    const pass = this.pass;
    if (pass === null || this.state !== 'sending') return;
    // It answered unicast but never acknowledged a group-only block: it cannot hear the group.
    if (pass.masterAnswered && pass.stream.rescueSilentMaster()) {
      this.masterTimer.arm(this.deps.settings.masterTimeoutMs);
      return;
    }
    this.endPass('master-silent');
  }

  private endPass(outcome: PassSummary['outcome']): void {
    const pass = this.pass;
    if (pass === null) return;
    this.pass = null;
    // A pass can end during its hold (the opener sent ERROR): block 1 must then never go out.
    this.holdTimer?.cancel();
    this.holdTimer = null;
    this.masterTimer.disarm();
    pass.timeLimit.cancel();
    pass.stream.stop();
    pass.file.release();
    const stats = pass.stream.stats();
    const now = this.deps.clock.now();
    const achieved = pass.sendingSince === null ? 0 : achievedMbps(stats.bytesSent, now - pass.sendingSince);
    if (stats.dataSent > 0) this.lastEnded = { endedAt: now, achievedMbps: achieved };
    if (pass.masterAnswered && (outcome === 'master-silent' || outcome === 'time-limit' || outcome === 'io-error')) {
      this.forgetOrphan(pass.master.peer);
      this.orphaned.push(pass.master.peer);
      if (this.orphaned.length > MAX_ORPHANED_MASTERS) this.orphaned.shift();
    }
    this.deps.onPassEnd({
      image: this.deps.image,
      group: `${this.deps.channel.group}:${this.deps.channel.clientPort}`,
      master: `${pass.master.peer.address}:${pass.master.peer.port}`,
      outcome,
      blocks: pass.stream.finalIndex,
      dataSent: stats.dataSent,
      bytesSent: stats.bytesSent,
      retransmits: stats.retransmits,
      unicastBlocks: stats.unicastBlocks,
      keepalives: stats.keepalives,
      lateOpeners: pass.lateOpeners,
      durationMs: now - pass.startedAt,
      ceilingMbps: pass.ceilingMbps,
      achievedMbps: achieved,
    });
    this.state = 'idle';
    // Late openers get their pass now, before they give up listening, and so do hosts this pass
    // owed a head it did not carry. The host that missed the most masters it; the others missed
    // less and complete as its listeners, or are owed the rest by the pass after.
    const stillOwed = pass.owed.filter((o) => o.missedThrough - 1 > pass.coveredThrough);
    const waiting = outcome === 'aborted' ? [] : byHost([...stillOwed, ...this.pending]);
    this.pending = [];
    const next = waiting.reduce<LateOpener | null>((most, o) => (most === null || o.missedThrough >= most.missedThrough ? o : most), null);
    if (next) {
      this.deps.log.info('MTFTP pass for late openers', {
        master: `${next.peer.address}:${next.peer.port}`,
        missed_through: next.missedThrough,
        waiting: waiting.length,
      });
      const owed = waiting.filter((o) => o !== next);
      void this.beginPass(next.peer, mtftpHoldMs(this.deps.settings.openHoldMs, true), owed);
    }
  }
}

/** One entry per host: its newest port (entries come oldest first) and the most it may have missed. */
function byHost(openers: readonly LateOpener[]): LateOpener[] {
  const hosts = new Map<string, LateOpener>();
  for (const o of openers) {
    const known = hosts.get(o.peer.address);
    hosts.set(o.peer.address, { peer: o.peer, missedThrough: Math.max(o.missedThrough, known?.missedThrough ?? 0) });
  }
  return [...hosts.values()];
}

const round2 = (n: number) => Math.round(n * 100) / 100;
