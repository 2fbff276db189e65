// Glue for the TFTP port: datagram -> codec -> policy -> transfer, and back. The only TFTP code
// that touches sockets. Decode errors are counted and dropped (answered with ERROR 4 where the
// RFC says so); any other exception is a bug that is logged while the server keeps serving.
import { DecodeError } from '../codec/decode-error.js';
import { decodeTftp, encodeTftp, TftpErrorCode, type RequestPacket, type TftpOption } from '../codec/tftp-packet.js';
import { parseRequestedOptions } from '../codec/tftp-options.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { guarded } from '../datagram-guard.js';
import type { DatagramHandler, DatagramSocket, FileSystem, Logger, OpenedFile, PeerAddress, UploadStore } from '../io/ports.js';
import { NetasciiBlocks, OctetBlocks, type BlockProducer } from './block-producer.js';
import type { KeyedRateLimiter } from '../admission/keyed-rate-limiter.js';
import { LimitGate } from '../admission/limit-gate.js';
import { Rfc2090Sessions, type MulticastCounters, type MulticastDoorDeps } from '../multicast/rfc2090-sessions.js';
import { negotiateOptions } from './option-negotiation.js';
import { ReadTransfer } from './read-transfer.js';
import { RequestFiles, RequestRefused } from './request-files.js';
import { SessionTable, type SessionEntry } from './session-table.js';
import { PeerDelayMemory } from '../flowcontrol/peer-delay-memory.js';
import { summarizeTransfer } from './transfer-summary.js';
import type { Transfer, TransferContext, TransferProgress, TransferResult, TransferTiming } from './transfer-types.js';
import type { TftpConfig } from '../config/config-types.js';
import { WriteTransfer } from './write-transfer.js';
import { TransferPool, type TransferPoolSettings } from './transfer-pool.js';
import type { TransferSpec } from './worker-protocol.js';
import { countIn } from '../metrics/counters.js';

export interface TftpServerDeps extends MulticastDoorDeps {
  readonly fs: FileSystem;
  /** Where uploads go when `[tftp] upload_dir` is set; null refuses every WRQ. */
  readonly uploads: UploadStore | null;
  readonly catalog: CatalogStore;
  /** Per-client request budget, shared with the MTFTP port (`client_request_rate`/`_burst`). */
  readonly requestRate: KeyedRateLimiter;
  /** Worker threads for unicast reads (`[tftp] workers`); absent or size 0: all in this thread. */
  readonly workers?: TransferPoolSettings | null;
}

export interface TftpCounters extends MulticastCounters {
  requests: number;
  refused: number;
  decodeErrors: Record<string, number>;
  wrongTid: number;
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

class EvictedDuringSetUp extends Error {}

export class TftpServer {
  private listener: DatagramSocket | null = null;
  /** Errors to requests that never get a session go out from one shared ephemeral port: a client
   *  takes the first answer's source port as the server's TID, even for an ERROR. */
  private errorSocket: DatagramSocket | null = null;
  private readonly sessions = new SessionTable();
  private readonly peerDelay: PeerDelayMemory;
  private stopping = false;
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
  private readonly multicast: Rfc2090Sessions;
  private readonly files: RequestFiles;
  /** Runs negotiated unicast reads in worker threads; null: in this thread. */
  private readonly pool: TransferPool | null;

  constructor(private readonly deps: TftpServerDeps) {
    this.limits = new LimitGate({ clock: deps.clock, requestRate: deps.requestRate, logger: deps.logger, counts: this.counters.limited });
    this.peerDelay = new PeerDelayMemory(deps.clock);
    const workers = deps.workers;
    this.pool = workers && workers.size > 0 ? new TransferPool({ ...workers, clock: deps.clock, logger: deps.logger, peerDelay: this.peerDelay }) : null;
    this.files = new RequestFiles(deps.fs, deps.uploads, deps.logger);
    this.multicast = new Rfc2090Sessions({
      ...deps,
      limits: this.limits,
      sessions: this.sessions,
      counters: this.counters,
      guard: (where, handle) => this.guard(where, handle),
    });
  }

  async start(): Promise<void> {
    const { listen, port } = this.deps.settings();
    this.listener = await this.deps.sockets.bind({ address: listen, port });
    this.errorSocket = await this.deps.sockets.bind({ address: listen, port: 0 });
    await this.pool?.start();
    this.multicast.start();
    this.listener.onMessage(this.guard('request port', (data, from) => this.onRequestDatagram(data, from)));
    this.deps.logger.info('tftp listening', { address: listen, port: this.listener.localPort() });
  }

  port(): number {
    return this.listener?.localPort() ?? 0;
  }

  transfers(): TransferInfo[] {
    const now = this.deps.clock.now();
    const sessionOf = this.multicast.sessionsOfMembers();
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
    this.multicast.stop(reason);
    this.errorSocket?.close();
    this.errorSocket = null;
  }

  /** After stop(): resolves once the transfer workers have reported the end of their transfers
   *  (each logged and counted like any other) and are gone. */
  async drain(): Promise<void> {
    await this.pool?.drain();
  }

  activeTransfers(): number {
    return this.sessions.size;
  }

  /** A socket handler that cannot throw: decode errors are counted per port, the rest logged. */
  private guard(where: string, handle: DatagramHandler): DatagramHandler {
    return guarded(this.deps.logger, 'TFTP', handle, (e, data, from) => this.countDecodeError(e, data, from, where));
  }

  private countDecodeError(e: DecodeError, data: Buffer, from: PeerAddress, where: string): void {
    this.countMalformed(e.code, e.message, from, data.subarray(0, 64).toString('hex'), where);
  }

  private countMalformed(code: string, reason: string, from: PeerAddress, packetHex: string, where: string): void {
    countIn(this.counters.decodeErrors, code);
    this.deps.logger.debug('malformed datagram dropped', { where, peer: `${from.address}:${from.port}`, reason, packet: packetHex });
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
        if (this.limits.refusedOverRate(from.address, this.deps.settings(), (message) => this.sendError(from, TftpErrorCode.NOT_DEFINED, message))) return;
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
        const target = await this.files.openForRead(this.deps.catalog.current().root, request.filename);
        opened = target.file;
        stillHeld();
        // RFC 2090 defines IPv4 groups only: an IPv6 client reads by unicast (the option is not acknowledged).
        if (requested.multicast && mode === 'octet' && this.deps.multicastSettings().enabled && !from.address.includes(':')) {
          const served = await this.multicast.serve(entry, request, requested, opened, log);
          if (served) return; // the session owns (or released) the file from here on
        }
        const g = negotiateOptions({ requested, limits: settings, readSize: mode === 'octet' ? opened.size : null, isWrite: false });
        granted = g.oack;
        if (this.pool !== null && this.pool.readyWorkers() > 0) {
          if (this.stopping) throw new RequestRefused(TftpErrorCode.NOT_DEFINED, 'server shutting down', 'shutdown during set-up');
          const spec = { path: target.path, identity: opened.identity, peer: from, listen: settings.listen, mode: mode as 'octet' | 'netascii', read: { filename: request.filename, ...g }, timing: transferTiming(settings) };
          const initial: TransferProgress = { state: g.oack ? 'awaiting-oack-ack' : 'sending', bytes: 0, totalBytes: mode === 'octet' ? opened.size : null, retransmits: 0, rtoMs: settings.rtoInitialMs, blksize: g.blksize };
          // The worker opens the resolved path itself (and checks it is the version sized here).
          opened.release();
          opened = null;
          if (this.handOff(entry, spec, initial, granted, log)) return;
          throw new RequestRefused(TftpErrorCode.NOT_DEFINED, 'server shutting down', 'shutdown during set-up'); // the pool is draining
        }
        const producer: BlockProducer = mode === 'netascii' ? new NetasciiBlocks(opened, g.blksize) : new OctetBlocks(opened, g.blksize);
        opened = null; // owned (and released) by the producer from here on
        blocks = producer;
        start = (ctx) => new ReadTransfer(ctx, producer, { filename: request.filename, ...g });
      } else {
        const g = negotiateOptions({ requested, limits: settings, readSize: null, isWrite: true });
        if (requested.tsize !== undefined && requested.tsize > settings.maxUploadSize) {
          throw new RequestRefused(TftpErrorCode.DISK_FULL, 'file too large', `upload of ${requested.tsize} bytes exceeds max_upload_size`);
        }
        const sink = await this.files.openForWrite(request.filename);
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
        timing: transferTiming(settings),
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
      if (e instanceof EvictedDuringSetUp) countIn(this.counters.outcomes, 'unconfirmed');
      else this.refuse(from, log, e instanceof RequestRefused ? e : this.internalRefusal(e));
    }
  }

  /** Runs a negotiated read in a transfer worker; false when no worker can take it. The session
   *  entry, limits, log lines and counters stay here: the worker reports back through the hooks. */
  private handOff(entry: SessionEntry, spec: Omit<TransferSpec, 'id'>, initial: TransferProgress, granted: readonly TftpOption[] | null, log: Logger): boolean {
    const transfer = this.pool?.run(spec, initial, {
      onConfirmed: () => this.sessions.confirm(entry),
      onStray: (src, answer) => {
        // RFC 1350 4, within the budget of unsolicited answers (as onTidDatagram).
        this.counters.wrongTid++;
        if (this.limits.mayAnswerUnsolicited(src.address)) answer();
      },
      onDecodeError: (code, message, src, packetHex) => this.countMalformed(code, message, src, packetHex, 'transfer port'),
      onRefused: (tftpCode, toClient, detail) => {
        const evicted = !this.sessions.holds(entry);
        this.sessions.remove(entry);
        if (evicted) countIn(this.counters.outcomes, 'unconfirmed');
        else this.refuse(entry.peer, log, new RequestRefused(tftpCode, toClient, detail));
      },
      onEnd: (result, workerId) => this.onEnd(entry, null, granted, result, workerId),
    });
    if (!transfer) return false;
    entry.transfer = transfer;
    log.debug('transfer started', { op: 'RRQ', mode: spec.mode, options: granted?.map((o) => `${o.name}=${o.value}`).join(',') ?? 'none', worker: transfer.workerId });
    transfer.start();
    this.expireIfUnconfirmed(entry, transfer);
    return true;
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

  /** `tid`: the transfer's socket in this thread (null: it was in worker `workerId`). */
  private onEnd(entry: SessionEntry, tid: DatagramSocket | null, granted: readonly TftpOption[] | null, result: TransferResult, workerId?: number): void {
    this.sessions.remove(entry);
    tid?.close();
    countIn(this.counters.outcomes, result.outcome);
    this.counters.bytesSent += entry.op === 'RRQ' ? result.bytes : 0;
    this.counters.retransmits += result.retransmits;
    const summary = summarizeTransfer(entry.peer, entry.filename, entry.op === 'RRQ' ? 'read' : 'write', entry.mode, granted, result, workerId);
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

function transferTiming(settings: TftpConfig): TransferTiming {
  return {
    rtoMinMs: settings.rtoMinMs,
    rtoMaxMs: settings.rtoMaxMs,
    rtoInitialMs: settings.rtoInitialMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxTransferTimeMs: settings.maxTransferTimeMs,
  };
}
