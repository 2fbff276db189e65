// Glue for the PXE MTFTP server ports: one socket per distinct `mtftp_server_port` of the catalog,
// all DATA sent from it (EFI 1.10 accepts MTFTP data only from the advertised server port, and it
// costs iPXE nothing: protocols.md 5.3, 11.3). Channels are looked up in the catalog snapshot of
// the moment, so a reload that changes an image's tuple changes what the next pass uses. DHCP
// advertises exactly what this server serves (`channelOf`, catalog/served-mtftp.ts): a reload binds
// new ports before the new catalog is published, and releases ports and channels nobody uses.
import { guarded } from '../datagram-guard.js';
import { decodeTftp, encodeTftp, TftpErrorCode } from '../codec/tftp-packet.js';
import type { CatalogImage } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { checkRequestedPath } from '../catalog/path-policy.js';
import { mtftpImageFor, mtftpServerPorts, servedChannel, type ServedMtftp } from '../catalog/served-mtftp.js';
import type { Catalog } from '../catalog/catalog.js';
import type { MtftpChannelConfig, MtftpConfig, MulticastConfig, TftpConfig } from '../config/config-types.js';
import type { Clock, DatagramSocket, FileSystem, Logger, PeerAddress, SocketFactory } from '../io/ports.js';
import type { LossMeter, TokenBucket } from '../flowcontrol/pacing.js';
import type { KeyedRateLimiter } from '../admission/keyed-rate-limiter.js';
import { LimitGate } from '../admission/limit-gate.js';
import { multicastListenAddress, multicastSendOptions } from './multicast-socket.js';
import { MtftpChannel, type PassProgress, type PassSummary } from './mtftp-channel.js';
import { rtoBounds } from '../flowcontrol/rtt-estimator.js';
import { countIn } from '../metrics/counters.js';

export interface MtftpServerDeps {
  readonly clock: Clock;
  readonly sockets: SocketFactory;
  readonly fs: FileSystem;
  readonly catalog: CatalogStore;
  readonly logger: Logger;
  readonly tftp: () => TftpConfig;
  readonly multicast: () => MulticastConfig;
  readonly mtftp: () => MtftpConfig;
  /** Shared with RFC 2090 sessions: one `max_rate` for all multicast. */
  readonly globalBucket: TokenBucket;
  readonly lossMeter: LossMeter;
  /** Per-client request budget, shared with the TFTP port. */
  readonly requestRate: KeyedRateLimiter;
}

export interface MtftpCounters {
  opens: number;
  refused: number;
  /** By DecodeError code. */
  decodeErrors: Record<string, number>;
  strayAcks: number;
  /** Ended passes by outcome. */
  passes: Record<string, number>;
  /** Of ended passes. */
  bytesSent: number;
  retransmits: number;
  /** Abuse-limit hits by limit name (limit-gate.ts). */
  limited: Record<string, number>;
}

/** The catalog key of a channel: a changed tuple is a different channel. */
const channelKey = (image: CatalogImage) =>
  `${image.name}|${image.mtftp!.group}|${image.mtftp!.clientPort}|${image.mtftp!.serverPort}`;

interface ServedChannel {
  readonly channel: MtftpChannel;
  /** The server port its DATA leaves from. */
  readonly serverPort: number;
}

export class MtftpServer implements ServedMtftp {
  private readonly sockets = new Map<number, DatagramSocket>();
  private readonly channels = new Map<string, ServedChannel>();
  readonly counters: MtftpCounters = { opens: 0, refused: 0, decodeErrors: {}, strayAcks: 0, passes: {}, bytesSent: 0, retransmits: 0, limited: {} };
  private readonly limits: LimitGate;

  constructor(private readonly deps: MtftpServerDeps) {
    this.limits = new LimitGate({ clock: deps.clock, requestRate: deps.requestRate, logger: deps.logger, counts: this.counters.limited });
  }

  /** Binds the server port of every image with an MTFTP channel; a bind failure is fatal here. */
  async start(): Promise<void> {
    for (const port of mtftpServerPorts(this.deps.catalog.current())) await this.bindPort(port);
  }

  /** What DHCP may advertise for `image`: its tuple while this server serves it. */
  channelOf(image: CatalogImage): MtftpChannelConfig | null {
    return servedChannel(this.deps.catalog.current(), image, (port) => this.sockets.has(port));
  }

  /**
   * Before a reload publishes `next`: binds the server ports it adds. A port that cannot be bound
   * is logged and left out, so DHCP never advertises it; the rest of the reload goes on.
   */
  async prepareCatalog(next: Catalog): Promise<void> {
    for (const port of mtftpServerPorts(next)) {
      if (this.sockets.has(port)) continue;
      try {
        await this.bindPort(port);
      } catch (e) {
        this.deps.logger.error('cannot bind an MTFTP server port; its images are served without MTFTP until a reload binds it', {
          port,
          images: next.images.filter((i) => i.mtftp?.serverPort === port).map((i) => i.name).join(','),
          error: (e as Error).message,
        });
      }
    }
  }

  /**
   * After a reload (and after every pass): forgets idle channels whose tuple the catalog no longer
   * has, and closes server ports no image uses once no pass runs on them.
   */
  releaseUnused(): void {
    const catalog = this.deps.catalog.current();
    const wanted = new Set(catalog.images.flatMap((i) => (i.mtftp ? [channelKey(i)] : [])));
    for (const [key, { channel }] of this.channels) {
      if (!wanted.has(key) && channel.channelState === 'idle') this.channels.delete(key);
    }
    const needed = mtftpServerPorts(catalog);
    const busy = new Set([...this.channels.values()].filter((c) => c.channel.channelState !== 'idle').map((c) => c.serverPort));
    for (const [port, socket] of this.sockets) {
      if (needed.has(port) || busy.has(port)) continue;
      socket.close();
      this.sockets.delete(port);
      this.deps.logger.info('mtftp port closed: no image uses it', { port });
    }
  }

  private async bindPort(port: number): Promise<void> {
    const tftp = this.deps.tftp();
    const socket = await this.deps.sockets.bind({ address: multicastListenAddress(tftp), port, multicast: multicastSendOptions(tftp, this.deps.multicast()) });
    this.sockets.set(port, socket);
    socket.onMessage(
      guarded(this.deps.logger, 'MTFTP', (data, from) => this.onDatagram(port, socket, data, from), (e, _data, from) => {
        countIn(this.counters.decodeErrors, e.code);
        this.deps.logger.debug('malformed MTFTP datagram dropped', { peer: `${from.address}:${from.port}`, reason: e.message });
      }),
    );
    this.deps.logger.info('mtftp listening', { address: multicastListenAddress(tftp), port: socket.localPort() });
  }

  ports(): number[] {
    return [...this.sockets.values()].map((s) => s.localPort());
  }

  /** Every pass running now, one per busy channel. */
  passes(): PassProgress[] {
    return [...this.channels.values()].flatMap((c) => c.channel.passProgress() ?? []);
  }

  stop(): void {
    for (const { channel } of this.channels.values()) channel.abort();
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private onDatagram(port: number, socket: DatagramSocket, data: Buffer, from: PeerAddress): void {
    const packet = decodeTftp(data);
    switch (packet.op) {
      case 'RRQ': {
        this.counters.opens++;
        const answer = (message: string) => socket.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.NOT_DEFINED, message }), from);
        if (this.limits.refusedOverRate(from.address, this.deps.tftp(), answer)) return;
        const refusal = this.openChannel(port, packet.filename, packet.mode, from);
        if (refusal) {
          this.counters.refused++;
          this.deps.logger.info('MTFTP open refused', { peer: `${from.address}:${from.port}`, file: packet.filename, reason: refusal.reason });
          socket.send(encodeTftp({ op: 'ERROR', code: refusal.code, message: refusal.message }), from);
        }
        return;
      }
      case 'ACK': {
        const channels = [...this.channels.values()].map((c) => c.channel);
        const channel = channels.find((c) => {
          const m = c.masterPeer();
          return m !== null && m.address === from.address && m.port === from.port;
        });
        if (channel) {
          channel.onAck(from, packet.block);
          return;
        }
        this.counters.strayAcks++;
        // A master of an ended pass may still be receiving: its channel answers it (mtftp-channel.ts).
        channels.find((c) => c.orphanedMaster(from))?.onAck(from, packet.block);
        return;
      }
      case 'ERROR':
        for (const { channel } of this.channels.values()) channel.onError(from);
        return;
      default:
        if (this.limits.mayAnswerUnsolicited(from.address)) socket.send(encodeTftp({ op: 'ERROR', code: TftpErrorCode.ILLEGAL_OPERATION, message: 'MTFTP takes RRQ and ACK only' }), from);
    }
  }

  /** Routes an open to its channel; returns why it was refused, if it was. */
  private openChannel(port: number, filename: string, mode: string, from: PeerAddress) {
    if (mode.toLowerCase() !== 'octet') return { code: TftpErrorCode.ILLEGAL_OPERATION, message: 'MTFTP serves octet mode only', reason: `mode ${mode}` };
    const check = checkRequestedPath(filename);
    if (!check.ok) return { code: TftpErrorCode.ACCESS_VIOLATION, message: 'access violation', reason: check.reason };
    const wanted = check.segments.join('/');
    const catalog = this.deps.catalog.current();
    const image = mtftpImageFor(catalog, wanted, port);
    if (!image) {
      const named = catalog.images.find((i) => i.file === wanted);
      if (!named) return { code: TftpErrorCode.FILE_NOT_FOUND, message: 'no such image', reason: 'not a catalog image' };
      if (!named.mtftp) return { code: TftpErrorCode.ACCESS_VIOLATION, message: 'image has no MTFTP channel', reason: `image ${named.name} has mtftp = false` };
      return { code: TftpErrorCode.ACCESS_VIOLATION, message: 'wrong MTFTP server port', reason: `image ${named.name} is served on port ${named.mtftp.serverPort}` };
    }
    this.channelFor(image, port).onOpen(from);
    return null;
  }

  private channelFor(image: CatalogImage, port: number): MtftpChannel {
    const key = channelKey(image);
    const served = this.channels.get(key);
    if (served) return served.channel;
    const tftp = this.deps.tftp();
    const mc = this.deps.multicast();
    const log = this.deps.logger.child({ image: image.name, group: `${image.mtftp!.group}:${image.mtftp!.clientPort}` });
    const channel = new MtftpChannel({
      clock: this.deps.clock,
      socket: this.sockets.get(port)!,
      image: image.name,
      channel: image.mtftp!,
      // Each pass opens what the catalog names now: a reload's new file is served by the next pass.
      openFile: () => {
        const current = this.deps.catalog.current().images.find((i) => i.name === image.name) ?? image;
        return this.deps.fs.open(current.path);
      },
      settings: {
        openHoldMs: this.deps.mtftp().openHoldMs,
        maxTransferTimeMs: tftp.maxTransferTimeMs,
        masterTimeoutMs: mc.masterTimeoutMs,
        deafAfter: mc.deafAfter,
        minRateMbps: mc.minRateMbps,
        maxRateMbps: mc.maxRateMbps,
      },
      rto: rtoBounds(tftp, null),
      globalBucket: this.deps.globalBucket,
      lossMeter: this.deps.lossMeter,
      log,
      onPassEnd: (summary) => this.onPassEnd(summary, log),
      mayAnswer: (address) => this.limits.mayAnswerUnsolicited(address),
    });
    this.channels.set(key, { channel, serverPort: image.mtftp!.serverPort });
    return channel;
  }

  private onPassEnd(s: PassSummary, log: Logger): void {
    // A pass on a channel a reload retired was the last thing holding it (and maybe its port).
    queueMicrotask(() => this.releaseUnused());
    countIn(this.counters.passes, s.outcome);
    this.counters.bytesSent += s.bytesSent;
    this.counters.retransmits += s.retransmits;
    log.info('mtftp pass', {
      master: s.master,
      outcome: s.outcome,
      blocks: s.blocks,
      data_packets: s.dataSent,
      bytes_sent: s.bytesSent,
      retransmits: s.retransmits,
      unicast_blocks: s.unicastBlocks,
      keepalives: s.keepalives,
      late_openers: s.lateOpeners,
      duration_ms: Math.round(s.durationMs),
      ceiling_mbps: Math.round(s.ceilingMbps * 100) / 100,
      achieved_mbps: Math.round(s.achievedMbps * 100) / 100,
    });
  }
}
