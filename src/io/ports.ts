// The seams between pure logic and the outside world. Sessions, servers and the catalog depend
// only on these interfaces; src/main.ts picks the concrete adapters, tests pass fakes.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Runs `fn` once the datagrams and other I/O already waiting have been handled (Node runs
   *  timers before it polls sockets: a timer that fires late must not act before the packets that
   *  arrived meanwhile). */
  defer(fn: () => void): void;
}

export interface PeerAddress {
  readonly address: string;
  readonly port: number;
}

/** The map key of a peer (a transfer's TID, a multicast member): one format everywhere. */
export function peerKey(peer: PeerAddress): string {
  return `${peer.address}|${peer.port}`;
}

export type DatagramHandler = (data: Buffer, from: PeerAddress) => void;

export interface DatagramSocket {
  /** Sends one datagram made of the given chunks (scatter-gather; no copy). `onSent` runs once the
   *  datagram has really left (handed to the kernel), after any queueing in the process. */
  send(chunks: Buffer | readonly Buffer[], to: PeerAddress, onSent?: () => void): void;
  onMessage(handler: DatagramHandler): void;
  localPort(): number;
  close(): void;
}

export interface MulticastSendOptions {
  readonly ttl: number;
  /** Local address multicast leaves from; null lets the routing table decide. */
  readonly interface: string | null;
}

export interface SocketOptions {
  readonly address: string;
  /** 0 asks the system for an ephemeral port. */
  readonly port: number;
  readonly broadcast?: boolean;
  /** Share the port with another socket bound to a different address (DHCP: wildcard + serving). */
  readonly reuseAddr?: boolean;
  /** Set for sockets that send to multicast groups. */
  readonly multicast?: MulticastSendOptions;
  /** A group to receive (DHCPv6: ff02::1:2 on `interface`, an interface name; null: the system's choice). */
  readonly joinGroup?: { readonly group: string; readonly interface: string | null };
}

export interface SocketFactory {
  /** Binds a UDP socket; rejects with a SocketError naming the address when bind fails. */
  bind(options: SocketOptions): Promise<DatagramSocket>;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  child(fields: LogFields): Logger;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A file opened for reading; shared by every transfer of the same file. */
export interface OpenedFile {
  readonly size: number;
  /** Same value only for the same content version (device, inode, size, mtime): a file replaced
   *  on disk never joins a multicast session of its old version. */
  readonly identity: string;
  /** Modification time of the version opened (HTTP Last-Modified). */
  readonly mtimeMs: number;
  /** Reads exactly `length` bytes at `offset` unless the file ends first. Answers synchronously
   *  when the bytes are already in memory, so the per-block hot path needs no promise hop. */
  read(offset: number, length: number): Buffer | Promise<Buffer>;
  /** Drops this holder's reference; the last release closes the handle. */
  release(): void;
}

export type FileKind = 'file' | 'directory' | 'other';

export interface FileStat {
  readonly kind: FileKind;
  readonly size: number;
}

export interface FileSystem {
  /** Resolves symlinks; rejects with an error whose `code` is ENOENT, EACCES, ... */
  realpath(path: string): Promise<string>;
  stat(path: string): Promise<FileStat>;
  open(path: string): Promise<OpenedFile>;
}

/** Sequential writer for uploads: written to a temporary name, renamed into place on commit. */
export interface UploadSink {
  write(data: Buffer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface UploadStore {
  /** Rejects with code EEXIST when the target already exists. */
  create(path: string): Promise<UploadSink>;
}

/** Answers one control request frame (a line of JSON text, as the client sent it) with one reply frame. */
export interface ControlRequestHandler {
  onRequest(text: string): Promise<string>;
  /** The reply to a frame over the transport's size limit (the connection is closed after it). */
  onOversize(limitBytes: number): string;
}

export interface ControlListener {
  /** Stops listening, ends open connections and removes the socket file. */
  close(): Promise<void>;
}

/** The local control channel (a Unix socket): one reply per request, JSON text on both sides. */
export interface ControlTransport {
  /**
   * Listens at `path` with permissions `mode`, creating a missing parent directory. A socket file
   * that nobody answers on (left by a crashed daemon) is replaced; one that answers is not: rejects
   * with code EADDRINUSE.
   */
  listen(path: string, mode: number, handler: ControlRequestHandler): Promise<ControlListener>;
  /**
   * Sends one request frame and resolves with the reply frame. Rejects with an error whose `code`
   * is ENOENT (no socket), ECONNREFUSED (stale socket), EACCES, ETIMEDOUT (no reply within
   * `timeoutMs`), ECONNRESET (closed without a reply), ...
   */
  request(path: string, text: string, timeoutMs: number): Promise<string>;
}

/** One metric family of the Prometheus endpoint: its name and kind, not its values. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
}

export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of every family, by family name; read once per scrape. */
export type MetricValues = Readonly<Record<string, readonly MetricSample[]>>;

export interface MetricsListener {
  /** The bound port (the configured one, or the system's choice for 0). */
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** One HTTP request as the HTTP glue sees it; the adapter owns parsing, limits on the head and
 *  socket timeouts (a malformed or slow head never reaches the glue). */
export interface HttpRequestHead {
  readonly method: string;
  /** The request-target exactly as sent (origin form `/path?query` for a well-behaved client). */
  readonly target: string;
  /** Lower-case header names; the first value of each. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly peer: PeerAddress;
}

export interface HttpExchange {
  readonly request: HttpRequestHead;
  /** Sends the status line and headers (Content-Length among them). */
  start(status: number, headers: Readonly<Record<string, string>>): void;
  /** Writes body bytes; resolves true when the client can take more, false once it has gone. */
  write(chunk: Buffer): Promise<boolean>;
  /** Completes the response (the connection may be kept alive). */
  finish(): void;
  /** Ends the connection without completing the response: a body that cannot be completed. */
  abort(): void;
}

export interface HttpListenOptions {
  readonly address: string;
  /** 0 asks the system for a free port. */
  readonly port: number;
  /** Open connections at most; the adapter closes new ones beyond this at once. */
  readonly maxConnections: number;
}

export interface HttpListener {
  /** The bound port (the configured one, or the system's choice for 0). */
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

export interface HttpServerFactory {
  /** Rejects with an error naming the address when it cannot listen. `onClientError` hears of
   *  requests the adapter answered itself (400, 408, 413, 431) so the glue can count and log them. */
  listen(
    options: HttpListenOptions,
    onRequest: (exchange: HttpExchange) => void,
    onClientError: (peer: PeerAddress, status: number, reason: string) => void,
  ): Promise<HttpListener>;
}

// The DHCP lease table's persistence (dhcp/leases.ts keeps the rules, io/lease-file.ts the file).
export type LeaseState = 'offered' | 'bound' | 'declined';

export interface Lease {
  readonly address: string;
  /** The holder; for a declined address, the MAC that declined it. */
  readonly mac: string;
  readonly pool: string;
  readonly state: LeaseState;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number;
}

export interface LeaseFileDamage {
  readonly file: string;
  /** What was wrong with it. */
  readonly problem: string;
  /** Where it was moved (a damaged file is never deleted). */
  readonly movedTo: string;
}

export interface LeaseLoad {
  /** Every lease that could be read. */
  readonly leases: Lease[];
  /** Damaged files, each set aside. */
  readonly damage: readonly LeaseFileDamage[];
  /** The journal ended in an incomplete entry (a crash while it was written; no client was told
   *  of it): its bytes were set aside. */
  readonly tornTail: { readonly file: string; readonly bytes: number; readonly movedTo: string } | null;
}

/** What became of one address: its lease now, or null when it holds none any more. */
export interface LeaseChange {
  readonly address: string;
  readonly lease: Lease | null;
}

export interface LeaseStore {
  /** Rejects only when the files cannot be read or set aside at all (permissions, I/O). */
  load(): Promise<LeaseLoad>;
  /** Stores the changes; resolves once they survive a crash (changes recorded in the same tick
   *  share one sync), rejects when the disk refuses them. */
  record(changes: readonly LeaseChange[]): Promise<void>;
}

// The DHCPv6 lease store (dhcp6/leases6.ts uses it; io/dhcp6-lease-file.ts implements it).
export type Lease6State = 'advertised' | 'bound' | 'declined';

export interface Lease6 {
  readonly address: string;
  /** Client DUID, hex; for a declined address, the DUID that declined it. */
  readonly duid: string;
  readonly iaid: number;
  readonly mac: string | null;
  readonly state: Lease6State;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number;
}

export interface Lease6Load {
  readonly leases: Lease6[];
  readonly damage: { readonly file: string; readonly problem: string; readonly movedTo: string } | null;
}

/** Where DHCPv6 bindings are kept; save() resolves once they are durable. */
export interface Lease6Store {
  load(): Promise<Lease6Load>;
  save(leases: readonly Lease6[]): Promise<void>;
}

/** One worker thread as its owner sees it: structured-clone messages both ways. */
export interface WorkerThread {
  post(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  /** The thread ended: `error` is what killed it (an uncaught exception), null for a plain exit. */
  onExit(handler: (code: number, error: Error | null) => void): void;
  /** Ends the thread; resolves once it is gone. */
  terminate(): Promise<void>;
}

export interface WorkerThreadFactory {
  /** CPUs this process may use (`os.availableParallelism()`). */
  readonly cpus: number;
  /** Starts one thread running the transfer worker, with `data` as its start-up data. */
  spawn(data: unknown): WorkerThread;
}
