// The control protocol between the `pxecast` operator commands and the daemon: one JSON request,
// one JSON reply, both carrying `version`. A daemon answers every request, however malformed, with
// a reply of its own version, so a CLI of another version can say what is wrong. Fields are only
// ever added within a version; removing or changing one means version 2.

export const CONTROL_PROTOCOL_VERSION = 1;

export const CONTROL_COMMANDS = ['status', 'sessions', 'leases', 'catalog', 'reload', 'drop'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

/** Longest session id `drop` accepts: an IPv6 address with port, or `mtftp:` and an image name. */
const MAX_SESSION_ID_LENGTH = 200;

export type ControlRequest =
  | { readonly version: 1; readonly command: 'status' }
  | { readonly version: 1; readonly command: 'sessions' }
  | { readonly version: 1; readonly command: 'leases' }
  | { readonly version: 1; readonly command: 'catalog' }
  | { readonly version: 1; readonly command: 'reload' }
  | { readonly version: 1; readonly command: 'drop'; readonly session: string };

// ---------------------------------------------------------------------------------------------
// Reply payloads

export interface ServiceInfo {
  readonly name: 'tftp' | 'multicast' | 'mtftp' | 'http' | 'dhcp' | 'dhcp6' | 'control';
  readonly running: boolean;
  /** Local address served on; null when off or not an IP service. */
  readonly address: string | null;
  readonly ports: readonly number[];
  /** One human line: why it is off, the multicast pool, the socket path... */
  readonly detail: string;
}

export interface StatusInfo {
  readonly version: string;
  readonly pid: number;
  readonly uptimeMs: number;
  readonly configFile: string;
  readonly services: readonly ServiceInfo[];
  readonly counts: {
    readonly images: number;
    /** Unicast transfers and RFC 2090 members running now. */
    readonly activeTransfers: number;
    readonly activeMulticastSessions: number;
    readonly activeMtftpPasses: number;
    /** Since start: */
    readonly tftpRequests: number;
    readonly tftpRefused: number;
    /** Finished transfers by outcome (`complete`, `timeout`, `dropped`, ...). */
    readonly transferOutcomes: Readonly<Record<string, number>>;
    readonly bytesSent: number;
    readonly retransmits: number;
    readonly mtftpOpens: number;
    /** Finished MTFTP passes by outcome. */
    readonly mtftpPasses: Readonly<Record<string, number>>;
  };
}

export type SessionKind = 'unicast' | 'multicast' | 'mtftp';

/** One transfer: a unicast transfer, one member of an RFC 2090 session, or a running MTFTP pass. */
export interface SessionInfo {
  /** What `drop` takes: `client-address:port` for TFTP transfers, `mtftp:IMAGE` for MTFTP passes. */
  readonly id: string;
  readonly kind: SessionKind;
  readonly droppable: boolean;
  /** The client; for an MTFTP pass its master (everyone else only listens and is not known). */
  readonly clients: readonly string[];
  readonly file: string;
  /** Catalog image the file belongs to, if any. */
  readonly image: string | null;
  readonly direction: 'read' | 'write';
  readonly blksize: number;
  /**
   * Bytes acknowledged. Multicast and MTFTP: the position of the shared stream, which listeners hear
   * too (what one of them missed it asks for when it becomes master).
   */
  readonly bytes: number;
  readonly totalBytes: number | null;
  /** 0..100, one decimal; null when the size is not known (uploads). */
  readonly percent: number | null;
  /** Average since the transfer started. */
  readonly bytesPerSecond: number;
  readonly retransmits: number;
  /** Multicast and MTFTP: the client whose ACKs drive the stream. */
  readonly master: string | null;
  /** Multicast and MTFTP: `group:port` the DATA goes to. */
  readonly group: string | null;
  readonly state: string;
  readonly ageMs: number;
}

export interface CatalogImageInfo {
  readonly name: string;
  readonly file: string;
  readonly size: number;
  readonly description: string;
  readonly arch: readonly string[];
  readonly ipxeFile: string | null;
  readonly isDefault: boolean;
  readonly mtftp: {
    readonly group: string;
    readonly clientPort: number;
    readonly serverPort: number;
    readonly openTimeoutS: number;
    readonly reopenDelayS: number;
  } | null;
}

export interface HostInfo {
  readonly name: string;
  readonly mac: string | null;
  /** DHCPv6 DUID, bare hex. */
  readonly duid: string | null;
  readonly image: string | null;
  readonly address: string | null;
  readonly hostname: string | null;
}

export interface CatalogInfo {
  readonly root: string;
  readonly images: readonly CatalogImageInfo[];
  readonly hosts: readonly HostInfo[];
}

/** One address the DHCP responder has handed out (full mode; proxyDHCP leases nothing). */
export interface LeaseInfo {
  readonly mac: string;
  /** The `[host NAME]` of this MAC, if it is a known host. */
  readonly host: string | null;
  readonly address: string;
  /** The `[pool NAME]` it came from. */
  readonly pool: string;
  /** `offered`, `bound`, or `declined` (quarantined: someone else uses the address). */
  readonly state: string;
  readonly expiresInMs: number;
}

export interface LeasesInfo {
  readonly responder: 'off' | 'proxy' | 'full';
  /** Why the table is empty or partial, for people; null when there is nothing to add. */
  readonly note: string | null;
  readonly leases: readonly LeaseInfo[];
  /** The DHCPv6 responder's bindings (`[dhcp6]`). */
  readonly v6: Leases6Info;
}

/** One IPv6 address the DHCPv6 responder has advertised or bound (`[dhcp6] mode = stateful`). */
export interface Lease6Info {
  readonly address: string;
  /** Client DUID, bare lower-case hex. */
  readonly duid: string;
  readonly iaid: number;
  /** The client's link-layer address when its DUID or relay carried one. */
  readonly mac: string | null;
  /** The `[host NAME]` matched by DUID (or by MAC), if any. */
  readonly host: string | null;
  /** `advertised`, `bound`, or `declined` (quarantined). */
  readonly state: string;
  readonly expiresInMs: number;
}

export interface Leases6Info {
  readonly responder: 'off' | 'stateless' | 'stateful';
  readonly note: string | null;
  readonly leases: readonly Lease6Info[];
}

// ---------------------------------------------------------------------------------------------
// Replies

export type ControlErrorCode =
  | 'malformed-request'
  | 'unsupported-version'
  | 'unknown-command'
  | 'no-such-session'
  | 'not-droppable'
  | 'config-rejected'
  | 'internal-error';

export interface ControlError {
  readonly code: ControlErrorCode;
  readonly message: string;
  /** Further lines, e.g. every issue of a rejected configuration. */
  readonly details: readonly string[];
}

export type ControlSuccess =
  | { readonly command: 'status'; readonly status: StatusInfo }
  | { readonly command: 'sessions'; readonly sessions: readonly SessionInfo[] }
  | { readonly command: 'leases'; readonly leases: LeasesInfo }
  | { readonly command: 'catalog'; readonly catalog: CatalogInfo }
  | { readonly command: 'reload'; readonly configFile: string; readonly images: readonly string[] }
  | { readonly command: 'drop'; readonly session: string };

export type ControlReply =
  | ({ readonly version: 1; readonly ok: true } & ControlSuccess)
  | { readonly version: 1; readonly ok: false; readonly error: ControlError };

/** The successful reply to `command`. */
export type ReplyTo<C extends ControlCommand> = Extract<ControlReply, { ok: true; command: C }>;

export function successReply<S extends ControlSuccess>(success: S): { version: 1; ok: true } & S {
  return { version: CONTROL_PROTOCOL_VERSION, ok: true, ...success };
}

export function errorReply(code: ControlErrorCode, message: string, details: readonly string[] = []): ControlReply {
  return { version: CONTROL_PROTOCOL_VERSION, ok: false, error: { code, message, details } };
}

// ---------------------------------------------------------------------------------------------
// Validation of what arrives from the socket (requests) or from the daemon (replies)

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCommand = (v: unknown): v is ControlCommand => (CONTROL_COMMANDS as readonly unknown[]).includes(v);

export type ParsedRequest = { readonly ok: true; readonly request: ControlRequest } | { readonly ok: false; readonly reply: ControlReply };

/** Checks a decoded JSON value against the protocol; fields it does not know are ignored. */
export function parseControlRequest(value: unknown): ParsedRequest {
  const refuse = (code: ControlErrorCode, message: string): ParsedRequest => ({ ok: false, reply: errorReply(code, message) });
  if (!isRecord(value)) return refuse('malformed-request', 'a request is a JSON object with `version` and `command`');
  if (value['version'] === undefined) return refuse('malformed-request', 'the request has no `version`');
  if (value['version'] !== CONTROL_PROTOCOL_VERSION) {
    return refuse(
      'unsupported-version',
      `this daemon speaks control protocol version ${CONTROL_PROTOCOL_VERSION}, the request is version ${JSON.stringify(value['version'])}`,
    );
  }
  const command = value['command'];
  if (typeof command !== 'string') return refuse('malformed-request', 'the request has no `command` string');
  if (!isCommand(command)) return refuse('unknown-command', `unknown command ${JSON.stringify(command)}; known: ${CONTROL_COMMANDS.join(', ')}`);
  if (command !== 'drop') return { ok: true, request: { version: CONTROL_PROTOCOL_VERSION, command } };
  const session = value['session'];
  if (typeof session !== 'string' || session === '' || session.length > MAX_SESSION_ID_LENGTH) {
    return refuse('malformed-request', '`drop` needs a `session` id, as `pxecast sessions` shows it');
  }
  return { ok: true, request: { version: CONTROL_PROTOCOL_VERSION, command, session } };
}

export type ParsedReply<C extends ControlCommand> =
  | { readonly ok: true; readonly reply: ReplyTo<C> }
  | { readonly ok: false; readonly error: ControlError };

/**
 * Checks the envelope of a daemon's reply to `command`: version, success or error. The payload is
 * trusted as far as the version goes: the same version means the same shapes.
 */
export function parseControlReply<C extends ControlCommand>(value: unknown, command: C): ParsedReply<C> {
  const broken = (message: string): ParsedReply<C> => ({ ok: false, error: { code: 'internal-error', message, details: [] } });
  if (!isRecord(value) || typeof value['version'] !== 'number') return broken('the daemon sent a reply that is not a pxecast control reply');
  if (value['version'] !== CONTROL_PROTOCOL_VERSION) {
    return broken(`the daemon speaks control protocol version ${value['version']}, this pxecast speaks ${CONTROL_PROTOCOL_VERSION}; use the pxecast that runs the daemon`);
  }
  if (value['ok'] === false && isRecord(value['error'])) {
    const e = value['error'];
    return {
      ok: false,
      error: {
        code: e['code'] as ControlErrorCode,
        message: String(e['message']),
        details: Array.isArray(e['details']) ? e['details'].map(String) : [],
      },
    };
  }
  if (value['ok'] !== true || value['command'] !== command) return broken(`the daemon's reply does not answer \`${command}\``);
  return { ok: true, reply: value as ReplyTo<C> };
}
