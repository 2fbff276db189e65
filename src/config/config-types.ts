// The validated, frozen configuration. Produced once by load-config.ts; nothing downstream ever
// sees raw ini strings. Durations are milliseconds, sizes bytes, paths absolute.
import type { Dhcp6Config } from './dhcp6-section.js';

export type { Dhcp6Config } from './dhcp6-section.js';

import type { LogFormat, LogLevel } from '../io/ports.js';

export type { LogFormat, LogLevel } from '../io/ports.js';

/** Client architectures a boot image can be offered to (RFC 4578 option 93 names as used in labs). */
export const ARCHITECTURES = [
  'bios',
  'efi-ia32',
  'efi-x64',
  'efi-arm32',
  'efi-arm64',
  'efi-x64-http',
  'efi-arm64-http',
] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export interface LogConfig {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

export interface HttpConfig {
  readonly enabled: boolean;
  readonly listen: string;
  readonly port: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
}

export interface TftpConfig {
  readonly enabled: boolean;
  readonly listen: string;
  readonly port: number;
  /** Absolute path of the served tree. */
  readonly root: string;
  readonly maxBlksize: number;
  readonly maxWindowsize: number;
  readonly netascii: boolean;
  readonly maxTransfers: number;
  /** Abuse limits (tftp-server.ts): per client address, and for peers not yet heard from. */
  readonly maxTransfersPerClient: number;
  readonly clientRequestRate: number;
  readonly clientRequestBurst: number;
  readonly maxUnconfirmed: number;
  readonly unconfirmedTimeoutMs: number;
  readonly maxTransferTimeMs: number;
  readonly idleTimeoutMs: number;
  readonly rtoMinMs: number;
  readonly rtoMaxMs: number;
  readonly rtoInitialMs: number;
  /** Absolute path of the upload directory, or null when uploads (WRQ) are refused. */
  readonly uploadDir: string | null;
  readonly maxUploadSize: number;
  /** Worker threads that run unicast read transfers: a number (0, the default: in the main
   *  thread), or 'auto' (one per core the process may use). Read at start only. */
  readonly workers: number | 'auto';
}

export interface MulticastConfig {
  readonly enabled: boolean;
  /** Inclusive pool of groups (IPv4, dotted quads) and ports that sessions draw (group, port) from. */
  readonly groupFirst: string;
  readonly groupLast: string;
  readonly portFirst: number;
  readonly portLast: number;
  readonly ttl: number;
  /** Local address multicast leaves from; 0.0.0.0 = the TFTP listen address (or the system's choice). */
  readonly interface: string;
  readonly startDelayMs: number;
  readonly minClients: number;
  readonly maxClients: number;
  /** Files of more than 65535 blocks are multicast with wrapping block numbers (wrap-position.ts). */
  readonly rollover: boolean;
  /** Global cap over all multicast sessions, and the per-session floor of the AIMD pacer. */
  readonly maxRateMbps: number;
  readonly minRateMbps: number;
  readonly masterTimeoutMs: number;
  readonly masterTries: number;
  readonly deafAfter: number;
  /** How long a host found deaf to the group is served by unicast at once (0: not remembered). */
  readonly deafMemoryMs: number;
  /** Slow members leave the group (flowcontrol/slow-member.ts): absolute pace floor (0: off), share
   *  of the session median in percent (0: off), and the window a pace is measured over. */
  readonly slowRateMbps: number;
  readonly slowSharePercent: number;
  readonly slowAfterMs: number;
}

export interface MtftpConfig {
  readonly enabled: boolean;
  readonly openHoldMs: number;
}

export type DhcpMode = 'off' | 'full' | 'proxy';
/** Whether DHCP answers clients that are not a `[host NAME]`. */
export type UnknownClientPolicy = 'serve' | 'ignore';

/** A known machine (`[host NAME]`); its address, if any, is also a reservation of its pool. */
export interface HostConfig {
  readonly name: string;
  /** Lower-case, colon-separated; null for a host known by DUID only. */
  readonly mac: string | null;
  /** DHCPv6 DUID, bare lower-case hex (as `Buffer.toString('hex')`); null: matched by MAC only. */
  readonly duid: string | null;
  /** The `[image NAME]` it boots; null follows the catalog's rules. */
  readonly image: string | null;
  readonly address: string | null;
  readonly hostname: string | null;
}

export interface DhcpReservation {
  /** Lower-case, colon-separated. */
  readonly mac: string;
  readonly address: string;
}

export interface DhcpPoolConfig {
  readonly name: string;
  readonly first: string;
  readonly last: string;
  readonly prefix: number;
  readonly router: string | null;
  readonly dns: string | null;
  readonly reservations: readonly DhcpReservation[];
}

export interface DhcpConfig {
  readonly mode: DhcpMode;
  readonly unknownClients: UnknownClientPolicy;
  /** The serving address: replies leave from it, and it is the server identifier (option 54). */
  readonly interface: string | null;
  readonly port: number;
  readonly proxyPort: number;
  /** TFTP server clients are sent to (siaddr); the serving address when unset. */
  readonly nextServer: string | null;
  readonly leaseTimeMs: number;
  readonly offerTimeoutMs: number;
  readonly stateFile: string;
  readonly pools: readonly DhcpPoolConfig[];
}

export interface ControlConfig {
  readonly enabled: boolean;
  /** Absolute path of the control socket. */
  readonly socket: string;
  /** Permission bits the socket is created with, e.g. 0o660. */
  readonly mode: number;
}

export interface MetricsConfig {
  /** Where the Prometheus endpoint listens; null when it is off (`[metrics] listen` empty). */
  readonly listen: { readonly address: string; readonly port: number } | null;
}

export interface MtftpChannelConfig {
  readonly group: string;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly openTimeoutS: number;
  readonly reopenDelayS: number;
}

export interface ImageConfig {
  readonly name: string;
  /** Path relative to the TFTP root, '/'-separated, as clients request it. */
  readonly file: string;
  readonly description: string;
  readonly arch: readonly Architecture[];
  readonly ipxeFile: string | null;
  /** What UEFI HTTP Boot clients get (as a URL); null: `file`. */
  readonly httpFile: string | null;
  /** An iPXE script template rendered per iPXE client (served over HTTP); null: none. */
  readonly ipxeScript: string | null;
  readonly isDefault: boolean;
  readonly mtftp: MtftpChannelConfig | null;
  /** Where each key of this image was written, so catalog errors can name file, line and key. */
  readonly locations: Readonly<Record<string, SourceLocation>>;
  readonly sectionLocation: SourceLocation;
}

export interface Config {
  /** Absolute path of the ini file this was read from. */
  readonly sourceFile: string;
  readonly log: LogConfig;
  readonly tftp: TftpConfig;
  readonly multicast: MulticastConfig;
  readonly mtftp: MtftpConfig;
  readonly http: HttpConfig;
  readonly hosts: readonly HostConfig[];
  readonly dhcp: DhcpConfig;
  readonly dhcp6: Dhcp6Config;
  readonly images: readonly ImageConfig[];
  readonly control: ControlConfig;
  readonly metrics: MetricsConfig;
}
