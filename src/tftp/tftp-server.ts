// Glue for the TFTP port: datagram -> codec -> policy -> transfer, and back. The only TFTP code
// that touches sockets. Decode errors are counted and dropped (answered with ERROR 4 where the
// RFC says so); any other exception is a bug that is logged while the server keeps serving.
import { DecodeError } from '../codec/decode-error.js';
import { decodeTftp, encodeTftp, TftpErrorCode, type RequestPacket, type TftpOption } from '../codec/tftp-packet.js';
import { parseRequestedOptions, type RequestedOptions } from '../codec/tftp-options.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { checkRequestedPath } from '../catalog/path-policy.js';
import { resolveInRoot } from '../catalog/served-tree.js';
import type { MulticastConfig, TftpConfig } from '../config/config-types.js';
import { guarded } from '../datagram-guard.js';
import type { Clock, DatagramHandler, DatagramSocket, FileSystem, Logger, OpenedFile, PeerAddress, SocketFactory, UploadStore } from '../io/ports.js';
import { NetasciiBlocks, OctetBlocks, type BlockProducer } from './block-producer.js';
import { chooseSessionParameters, type LossMeter, type TokenBucket } from './flow-control.js';
import { GroupPool } from './group-pool.js';
import type { KeyedRateLimiter } from '../limits/keyed-rate-limiter.js';
import { LimitGate } from './limit-gate.js';
import { MulticastSession, type Member, type SessionSummary } from './multicast-session.js';
import { negotiateOptions } from './option-negotiation.js';
import { ReadTransfer } from './read-transfer.js';
import { rtoBounds } from './rtt-estimator.js';
import { peerKey, SessionTable, type SessionEntry } from './session-table.js';
import { PeerDelayMemory } from './peer-delay-memory.js';
import { summarizeTransfer } from './transfer-summary.js';
import type { Transfer, TransferContext, TransferProgress, TransferResult } from './transfer-types.js';
import { WriteTransfer } from './write-transfer.js';

export interface TftpServerDeps {
  readonly clock: Clock;
  readonly sockets: SocketFactory;
  readonly fs: FileSystem;
  /** Where uploads go when `[tftp] upload_dir` is set; null refuses every WRQ. */
  readonly uploads: UploadStore | null;
  readonly catalog: CatalogStore;
  readonly logger: Logger;
  /** Read per request, so a reload changes limits without a restart. */
  readonly settings: () => TftpConfig;
  readonly multicastSettings: () => MulticastConfig;
  /** Event-loop delay (ms), one of the conditions multicast sessions are sized by. */
  readonly loopLagMs: () => number;
  /** Shared with the MTFTP server: one `max_rate` and one loss picture for all multicast. */
  readonly globalBucket: TokenBucket;
  readonly lossMeter: LossMeter;
  /** Per-client request budget, shared with the MTFTP port (`client_request_rate`/`_burst`). */
  readonly requestRate: KeyedRateLimiter;
}

export interface TftpCounters {
  requests: number;
  refused: number;
  decodeErrors: Record<string, number>;
  wrongTid: number;
  outcomes: Record<string, number>;
  bytesSent: number;
  retransmits: number;
  multicastSessions: number;
  multicastFallbacks: Record<string, number>;
  /** The RFC 2090 part of `outcomes` (one per member), `bytesSent` and `retransmits` (per session). */
  multicastOutcomes: Record<string, number>;
  multicastBytesSent: number;
  multicastRetransmits: number;
  /** Abuse-limit hits by limit name (limit-gate.ts). */
  limited: Record<string, number>;
}

export interface TransferInfo extends TransferProgress {
  readonly client: string;
  readonly file: string;
  readonly direction: 'read' | 'write';
  readonly ageMs: number;
  /** Set for a member of an RFC 2090 session: where the session's DATA goes and who drives it. */
  readonly multicast: { readonly group: string; readonly master: string | null } | null;
}

interface LiveMulticastSession {
  readonly identity: string;
  readonly session: MulticastSession;
  /** Session-table entries of the members, by peer key. */
  readonly members: Map<string, SessionEntry>;
}

class RequestRefused extends Error {
  constructor(
    readonly tftpCode: number,
    readonly toClient: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

class EvictedDuringSetUp extends Error {}

export class TftpServer {
  private listener: DatagramSocket | null = null;
  /** Errors to requests that never get a session go out from one shared ephemeral port: a client
   *  takes the first answer's source port as the server's TID, even for an ERROR. */
  private errorSocket: DatagramSocket | null = null;
  private readonly sessions = new SessionTable();
  private readonly peerDelay: PeerDelayMemory;
  private stopping = false;
  /** The first root-relative name (leading "/") is logged, the rest are not. */
  private rootRelativeLogged = false;
  readonly counters: TftpCounters = {
    requests: 0,
    refused: 0,
    decodeErrors: {},
    wrongTid: 0,
    outcomes: {},
    bytesSent: 0,
    retransmits: 0,
    multicastSessions: 0,
    multicastFallbacks: {},
    multicastOutcomes: {},
    multicastBytesSent: 0,
    multicastRetransmits: 0,
    limited: {},
  };
  private readonly limits: LimitGate;
  private readonly sessionsByFile = new Set<LiveMulticastSession>();
  private groupPool: GroupPool | null = null;

  constructor(private readonly deps: TftpServerDeps) {
    this.limits = new LimitGate({ clock: deps.clock, requestRate: deps.requestRate, logger: deps.logger, counts: this.counters.limited });
    this.peerDelay = new PeerDelayMemory(deps.clock);
  }

  async start(): Promise<void> {
    const { listen, port } = this.deps.settings();
    this.listener = await this.deps.sockets.bind({ address: listen, port });
    this.errorSocket = await this.deps.sockets.bind({ address: listen, port: 0 });
    const mc = this.deps.multicastSettings();
    this.groupPool = new GroupPool(mc.groupFirst, mc.groupLast, mc.portFirst, mc.portLast);
    this.listener.onMessage(this.guard('request port', (data, from) => this.onRequestDatagram(data, from)));
    this.deps.logger.info('tftp listening', { address: listen, port: this.listener.localPort() });
  }

  port(): number {
    return this.listener?.localPort() ?? 0;
  }

  transfers(): TransferInfo[] {
    const now = this.deps.clock.now();
    const sessionOf = new Map<SessionEntry, MulticastSession>();
    for (const live of this.sessionsByFile) for (const member of live.members.values()) sessionOf.set(member, live.session);
    return this.sessions.all().flatMap((e) => {
      if (!e.transfer) return [];
      const session = sessionOf.get(e);
      const master = session?.masterPeer() ?? null;
      return [
        {
          ...e.transfer.progress(),
          client: `${e.peer.address}:${e.peer.port}`,
          file: e.filename,
          direction: e.op === 'RRQ' ? ('read' as const) : ('write' as const),
          ageMs: now - e.startedAt,
          multicast: session ? { group: session.destination, master: master && `${master.address}:${master.port}` } : null,
        },
      ];
    });
  }

  /** Operator drop: ends the transfer of `client` (`address:port`, as transfers() names it) with a
   *  TFTP ERROR; a multicast member leaves its session. False when there is no such transfer. */
  drop(client: string, reason: string): boolean {
    const entry = this.sessions.all().find((e) => `${e.peer.address}:${e.peer.port}` === client);
    if (!entry?.transfer) return false;
    entry.transfer.abort(reason);
    return true;
  }

  /** Stops accepting requests and ends running transfers with an ERROR to each client. */
  stop(reason = 'server shutting down'): void {
    this.stopping = true;
    this.listener?.close();
    this.listener = null;
    for (const entry of this.sessions.all()) entry.transfer?.abort(reason);
    for (const live of [...this.sessionsByFile]) live.session.abort(reason);
    this.errorSocket?.close();
    this.errorSocket = null;
  }

  activeTransfers(): number {
    return this.sessions.size;
  }

  /** A socket handler that cannot throw: decode errors are counted per port, the rest logged. */
  private guard(where: string, handle: DatagramHandler): DatagramHandler {
    return guarded(this.deps.logger, 'TFTP', handle, (e, data, from) => this.countDecodeError(e, data, from, where));
  }

  private countDecodeError(e: DecodeError, data: Buffer, from: PeerAddress, where: string): void {
    this.counters.decodeErrors[e.code] = (this.counters.decodeErrors[e.code] ?? 0) + 1;
    this.deps.logger.debug('malformed datagram dropped', {
      where,
      peer: `${from.address}:${from.port}`,
      reason: e.message,
      packet: data.subarray(0, 64).toString('hex'),
    });
  }

  private onRequestDatagram(data: Buffer, from: PeerAddress): void {
    if (this.stopping) return;
    let packet;
    try {
      packet = decodeTftp(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.countDecodeError(e, data, from, 'request port');
      // Answer only what looks like a TFTP packet; an ERROR to random noise would only amplify it.
      if (data.length >= 4 && this.limits.mayAnswerUnsolicited(from.address)) this.sendError(from, TftpErrorCode.ILLEGAL_OPERATION, 'malformed request');
      return;
    }
    switch (packet.op) {
      case 'RRQ':
      case 'WRQ':
        this.counters.requests++;
        if (!this.limits.admit(from.address)) {
          const s = this.deps.settings();
          const rate = `${s.clientRequestRate}/s (burst ${s.clientRequestBurst})`;
          if (this.limits.hit('request-rate', from.address, { rate }, false)) this.sendError(from, TftpErrorCode.NOT_DEFINED, 'too many requests');
          return;
        }
        void this.onRequest(packet, from).catch((e: unknown) =>
          this.deps.logger.error('bug: request handling failed', { error: (e as Error).stack ?? String(e) }),
        );
        return;
      case 'ERROR':
        return; // never answer an error with an error
      default:
        if (this.limits.mayAnswerUnsolicited(from.address)) this.sendError(from, TftpErrorCode.ILLEGAL_OPERATION, 'expected RRQ or WRQ');
    }
  }

  private async onRequest(request: RequestPacket, from: PeerAddress): Promise<void> {
    const existing = this.sessions.get(from);
    if (existing) {
      if (existing.op === request.op && existing.filename === request.filename) existing.transfer?.onDuplicateRequest();
      else this.deps.logger.debug('request from a client with a transfer running: ignored', { peer: `${from.address}:${from.port}` });
      return;
    }
    const settings = this.deps.settings();
    const log = this.deps.logger.child({ peer: `${from.address}:${from.port}`, file: request.filename });
    if (this.sessions.countFor(from.address) >= Math.min(settings.maxTransfersPerClient, settings.maxTransfers)) {
      this.counters.refused++;
      if (this.limits.hit('client-transfers', from.address, { max_transfers_per_client: settings.maxTransfersPerClient }, true)) {
        this.sendError(from, TftpErrorCode.NOT_DEFINED, 'too many transfers');
      }
      return;
    }
    // Unconfirmed transfers (no word from the peer yet) make room first: a flood of spoofed
    // requests then only ever displaces itself, and real clients leave that state within one RTT.
    // Unicast transfers and multicast members are capped apart (session-table.ts).
    const full = this.sessions.size >= settings.maxTransfers;
    const victim = this.sessions.oldestUnconfirmedOverCap(Math.min(settings.maxUnconfirmed, settings.maxTransfers)) ?? (full ? this.sessions.oldestUnconfirmed() : null);
    if (victim) this.evictUnconfirmed(victim, settings.maxUnconfirmed);
    if (this.sessions.size >= settings.maxTransfers) {
      this.counters.refused++;
      if (this.limits.hit('busy', '*', { max_transfers: settings.maxTransfers }, true)) this.sendError(from, TftpErrorCode.NOT_DEFINED, 'server busy');
      return;
    }
    const mode = request.mode.toLowerCase();
    const entry = this.sessions.reserve({ peer: from, op: request.op, filename: request.filename, mode, startedAt: this.deps.clock.now() });
    let socket: DatagramSocket | null = null;
    let opened: OpenedFile | null = null;
    let blocks: BlockProducer | null = null;
    // Evicted (as unconfirmed) while set-up awaited: end quietly, like any unconfirmed eviction.
    const stillHeld = () => {
      if (!this.sessions.holds(entry)) throw new EvictedDuringSetUp();
    };
    try {
      if (mode !== 'octet' && !(mode === 'netascii' && settings.netascii)) {
        throw new RequestRefused(TftpErrorCode.ILLEGAL_OPERATION, `mode ${mode} not supported`, `unsupported mode '${request.mode}'`);
      }
      const requested = parseRequestedOptions(request.options);
      if (requested.ignored.length > 0) log.debug('options ignored', { ignored: requested.ignored });
      let start: (ctx: TransferContext) => Transfer;
      let granted: readonly TftpOption[] | null;
      if (request.op === 'RRQ') {
        opened = await this.openForRead(request.filename);
        stillHeld();
        // RFC 2090 defines IPv4 groups only: an IPv6 client reads by unicast (the option is not acknowledged).
        if (requested.multicast && mode === 'octet' && this.deps.multicastSettings().enabled && !from.address.includes(':')) {
          const served = await this.serveMulticast(entry, request, requested, opened, log);
          if (served) return; // the session owns (or released) the file from here on
        }
        const g = negotiateOptions({ requested, limits: settings, readSize: mode === 'octet' ? opened.size : null, isWrite: false });
        granted = g.oack;
        const producer: BlockProducer = mode === 'netascii' ? new NetasciiBlocks(opened, g.blksize) : new OctetBlocks(opened, g.blksize);
        opened = null; // owned (and released) by the producer from here on
        blocks = producer;
        start = (ctx) => new ReadTransfer(ctx, producer, { filename: request.filename, ...g });
      } else {
        const g = negotiateOptions({ requested, limits: settings, readSize: null, isWrite: true });
        if (requested.tsize !== undefined && requested.tsize > settings.maxUploadSize) {
          throw new RequestRefused(TftpErrorCode.DISK_FULL, 'file too large', `upload of ${requested.tsize} bytes exceeds max_upload_size`);
        }
        const sink = await this.openForWrite(request.filename);
        if (!this.sessions.holds(entry)) {
          await sink.abort().catch(() => undefined);
          stillHeld();
        }
        granted = g.oack;
        start = (ctx) => new WriteTransfer(ctx, sink, { filename: request.filename, maxBytes: settings.maxUploadSize, ...g });
      }
      socket = await this.deps.sockets.bind({ address: settings.listen, port: 0 });
      stillHeld();
      if (this.stopping) throw new RequestRefused(TftpErrorCode.NOT_DEFINED, 'server shutting down', 'shutdown during set-up');
      const tid = socket;
      const transfer = start({
        clock: this.deps.clock,
        socket: tid,
        peer: from,
        timing: {
          rtoMinMs: settings.rtoMinMs,
          rtoMaxMs: settings.rtoMaxMs,
          rtoInitialMs: settings.rtoInitialMs,
          idleTimeoutMs: settings.idleTimeoutMs,
          maxTransferTimeMs: settings.maxTransferTimeMs,
        },
        peerDelay: this.peerDelay,
        onEnd: (result) => this.onEnd(entry, tid, granted, result),
      });
      tid.onMessage(this.guard('transfer port', (data, src) => this.onTidDatagram(entry, tid, data, src)));
      entry.transfer = transfer;
      log.debug('transfer started', { op: request.op, mode, options: granted?.map((o) => `${o.name}=${o.value}`).join(',') ?? 'none' });
      transfer.start();
      this.expireIfUnconfirmed(entry, transfer);
    } catch (e) {
      this.sessions.remove(entry);
      socket?.close();
      blocks?.close();
      opened?.release();
      if (e instanceof EvictedDuringSetUp) this.counters.outcomes['unconfirmed'] = (this.counters.outcomes['unconfirmed'] ?? 0) + 1;
      else this.refuse(from, log, e instanceof RequestRefused ? e : this.internalRefusal(e));
    }
  }

  /**
   * RFC 2090: join a running session of the same file version (10.2) or open a new one. Returns
   * false when the request must be served unicast instead (file too large for 16-bit block
   * numbers at that block size, pool exhausted): never an ERROR just because multicast is
   * unavailable.
   */
  private async serveMulticast(
    entry: SessionEntry,
    request: RequestPacket,
    requested: RequestedOptions,
    file: OpenedFile,
    log: Logger,
  ): Promise<boolean> {
    const order = request.options.map((o) => o.name.toLowerCase());
    for (const live of this.sessionsByFile) {
      if (live.identity === file.identity && live.session.canJoin(requested)) {
        file.release(); // the session reads through its own handle of the same file
        this.addMember(live, entry, requested, order);
        return true;
      }
    }
    const mc = this.deps.multicastSettings();
    const tftp = this.deps.settings();
    const params = chooseSessionParameters(requested.blksize, file.size, { ...tftp, ...mc }, this.conditions());
    const fallback = (reason: string) => {
      this.counters.multicastFallbacks[reason] = (this.counters.multicastFallbacks[reason] ?? 0) + 1;
      log.info('multicast request served unicast', { reason });
      return false;
    };
    if (params === null) return fallback('more than 65535 blocks at the requested block size');
    const pair = this.groupPool?.allocate() ?? null;
    if (pair === null) {
      // RFC 2090: the server may answer without the multicast option; the client then reads by
      // unicast. Every (group, port) pair busy is a limit episode, logged once, not per request.
      this.counters.multicastFallbacks['multicast group pool exhausted'] = (this.counters.multicastFallbacks['multicast group pool exhausted'] ?? 0) + 1;
      this.limits.hit('multicast-groups', '*', { pool_size: this.groupPool?.size ?? 0 }, true);
      return false;
    }
    const timeoutS = requested.timeout !== undefined && requested.timeout >= 1 && requested.timeout <= 255 ? requested.timeout : null;
    // Groups are IPv4: with an IPv6 (or dual-stack `::`) listen address the session sends from IPv4.
    const listen4 = tftp.listen.includes(':') ? '0.0.0.0' : tftp.listen;
    const iface = mc.interface !== '0.0.0.0' ? mc.interface : listen4 !== '0.0.0.0' ? listen4 : null;
    let socket: DatagramSocket;
    try {
      socket = await this.deps.sockets.bind({ address: listen4, port: 0, multicast: { ttl: mc.ttl, interface: iface } });
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
        mayAnswerStray: (address) => this.limits.mayAnswerUnsolicited(address),
        log: sessionLog,
        onMemberEnd: (member, result) => this.onMemberEnd(live, member, result),
        onClose: (summary) => {
          this.sessionsByFile.delete(live);
          this.groupPool?.release(pair);
          socket.close();
          this.logSessionSummary(summary, file.size);
        },
      }),
    };
    socket.onMessage(
      this.guard('multicast session port', (data, src) => {
        // Anything from a member's own address and port at the session port (its ACK of our
        // OACK, at the latest) shows the address is real, as an answer on a TID does.
        const member = live.members.get(peerKey(src));
        if (member) this.sessions.confirm(member);
        live.session.onPacket(decodeTftp(data), src);
      }),
    );
    this.sessionsByFile.add(live);
    this.counters.multicastSessions++;
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
    this.sessions.markMember(entry);
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

  /** Ends `transfer` quietly if its peer has not answered within unconfirmed_timeout. */
  private expireIfUnconfirmed(entry: SessionEntry, transfer: Transfer): void {
    const settings = this.deps.settings();
    const unconfirmedTimeoutMs = Math.min(settings.unconfirmedTimeoutMs, settings.idleTimeoutMs);
    this.deps.clock.setTimer(unconfirmedTimeoutMs, () => {
      if (!this.sessions.isUnconfirmed(entry) || entry.transfer !== transfer) return;
      this.limits.hit('unconfirmed-expired', '*', { unconfirmed_timeout_ms: unconfirmedTimeoutMs }, false);
      transfer.abandon(`no answer from the client within ${unconfirmedTimeoutMs} ms of the first packet`);
    });
  }

  private onMemberEnd(live: LiveMulticastSession, member: Member, result: TransferResult): void {
    const entry = live.members.get(peerKey(member.peer));
    if (!entry) return;
    const neverAnswered = this.sessions.isUnconfirmed(entry) || result.outcome === 'unconfirmed';
    live.members.delete(peerKey(member.peer));
    this.sessions.remove(entry);
    this.counters.outcomes[result.outcome] = (this.counters.outcomes[result.outcome] ?? 0) + 1;
    this.counters.multicastOutcomes[result.outcome] = (this.counters.multicastOutcomes[result.outcome] ?? 0) + 1;
    const granted = [{ name: 'multicast', value: 'group' }, ...member.granted];
    const summary = summarizeTransfer(member.peer, entry.filename, 'read', 'octet+multicast', granted, result);
    // As for unicast (onEnd): what a flood leaves behind (members that never answered, however
    // they ended) is counted, and logged per episode by the limit gate.
    if (neverAnswered) this.deps.logger.debug('transfer', { ...summary, unicast_fallback: member.unicast });
    else this.deps.logger.info('transfer', { ...summary, unicast_fallback: member.unicast });
  }

  private logSessionSummary(s: SessionSummary, fileSize: number): void {
    this.counters.bytesSent += s.bytesSent;
    this.counters.retransmits += s.retransmits;
    this.counters.multicastBytesSent += s.bytesSent;
    this.counters.multicastRetransmits += s.retransmits;
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
      congestion_events: s.congestionEvents,
      final_rate_mbps: s.finalRateMbps,
      duration_ms: Math.round(s.durationMs),
    });
  }

  private conditions() {
    let members = 0;
    for (const live of this.sessionsByFile) members += live.session.memberCount();
    return {
      activeSessions: this.sessionsByFile.size,
      activeMembers: members,
      lossRatio: this.deps.lossMeter.ratio(this.deps.clock.now()),
      loopLagMs: this.deps.loopLagMs(),
    };
  }

  /** Ends an unconfirmed transfer silently to make room (its peer never answered anything). */
  private evictUnconfirmed(entry: SessionEntry, maxUnconfirmed: number): void {
    this.limits.hit('unconfirmed-evicted', '*', { max_unconfirmed: maxUnconfirmed }, false);
    this.sessions.remove(entry);
    entry.transfer?.abandon('evicted: too many unconfirmed transfers'); // else its set-up notices
  }

  private internalRefusal(e: unknown): RequestRefused {
    return new RequestRefused(TftpErrorCode.NOT_DEFINED, 'internal error', `set-up failed: ${(e as Error).message}`);
  }

  private refuse(to: PeerAddress, log: Logger, r: RequestRefused): void {
    this.counters.refused++;
    log.info('request refused', { tftp_error: r.tftpCode, reason: r.detail });
    this.sendError(to, r.tftpCode, r.toClient);
  }

  private async openForRead(filename: string): Promise<OpenedFile> {
    const resolution = await resolveInRoot(this.deps.fs, this.deps.catalog.current().root, filename);
    if (resolution.kind === 'not-found') throw new RequestRefused(TftpErrorCode.FILE_NOT_FOUND, 'file not found', resolution.reason);
    if (resolution.kind === 'denied') throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', resolution.reason);
    if (resolution.rootRelative && !this.rootRelativeLogged) {
      this.rootRelativeLogged = true;
      this.deps.logger.info('a leading "/" is read from the served root (GRUB and shim ask this way); logged once', { file: filename });
    }
    try {
      return await this.deps.fs.open(resolution.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new RequestRefused(TftpErrorCode.FILE_NOT_FOUND, 'file not found', 'vanished before open');
      throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', `cannot open (${code ?? 'error'})`);
    }
  }

  private async openForWrite(filename: string) {
    if (!this.deps.uploads) throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'uploads are disabled', 'WRQ while uploads are disabled');
    const check = checkRequestedPath(filename);
    if (!check.ok) throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', check.reason);
    try {
      return await this.deps.uploads.create(check.segments.join('/'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new RequestRefused(TftpErrorCode.FILE_EXISTS, 'file already exists', 'upload target exists');
      throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', `cannot create upload (${code ?? 'error'})`);
    }
  }

  private onTidDatagram(entry: SessionEntry, tid: DatagramSocket, data: Buffer, src: PeerAddress): void {
    if (src.address !== entry.peer.address || src.port !== entry.peer.port) {
      // RFC 1350 4: tell the stray source, leave the transfer alone; within the budget of
      // unsolicited answers, so a flood of strays cannot turn the TID into a reflector.
      this.counters.wrongTid++;
      if (this.limits.mayAnswerUnsolicited(src.address)) {
        tid.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.UNKNOWN_TID, message: 'unknown transfer ID' }), src);
      }
      return;
    }
    this.sessions.confirm(entry);
    entry.transfer?.onPacket(decodeTftp(data));
  }

  private onEnd(entry: SessionEntry, tid: DatagramSocket, granted: readonly TftpOption[] | null, result: TransferResult): void {
    this.sessions.remove(entry);
    tid.close();
    this.counters.outcomes[result.outcome] = (this.counters.outcomes[result.outcome] ?? 0) + 1;
    this.counters.bytesSent += entry.op === 'RRQ' ? result.bytes : 0;
    this.counters.retransmits += result.retransmits;
    const summary = summarizeTransfer(entry.peer, entry.filename, entry.op === 'RRQ' ? 'read' : 'write', entry.mode, granted, result);
    const failed = result.outcome === 'io-error' || result.outcome === 'protocol-error';
    // The summary names client and file itself, so it goes to the service logger, not `log`.
    // Unconfirmed ones are what a flood leaves behind: counted, and logged once per episode by
    // the limit gate, so their summaries stay at debug.
    if (result.outcome === 'unconfirmed') this.deps.logger.debug('transfer', { ...summary });
    else if (failed) this.deps.logger.warn('transfer', { ...summary });
    else this.deps.logger.info('transfer', { ...summary });
  }

  private sendError(to: PeerAddress, code: number, message: string): void {
    this.errorSocket?.send(encodeTftp({ op: 'ERROR', code, message }), to);
  }
}
