// The declarative table of every configuration section and key (a pure data table: the one file
// under src/ allowed past 400 lines). load-config.ts validates against it (parsing each value with
// field-parse.ts), and scripts/gen-config-docs.mjs renders the docs/configuration.md reference and
// conf/pxecast.example.ini from it (with field-docs.ts), so the three can never disagree. Defaults
// are written as ini text and parsed exactly like a written value.
import { ARCHITECTURES, type DhcpMode, type LogFormat, type LogLevel, type UnknownClientPolicy } from './config-types.js';
import type { FieldSpec, SectionSpec } from './schema-types.js';
import { DHCP6_SECTION } from './dhcp6-section.js';

const MS = 1;
const SECOND = 1000 * MS;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const GIB = 1024 ** 3;

/** The default image's MTFTP channel needs no configuration (atftp and PXE ROM examples use these). */
export const DEFAULT_IMAGE_MTFTP_GROUP = '239.255.1.1';
export const DEFAULT_IMAGE_MTFTP_CLIENT_PORT = 3001;

/** Keys that only make sense with `mtftp = true`. */
export const MTFTP_CHANNEL_KEYS = [
  'mtftp_group',
  'mtftp_client_port',
  'mtftp_server_port',
  'mtftp_open_timeout',
  'mtftp_reopen_delay',
] as const;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const satisfies readonly LogLevel[];
export const LOG_FORMATS = ['text', 'json'] as const satisfies readonly LogFormat[];
export const DHCP_MODES = ['off', 'full', 'proxy'] as const satisfies readonly DhcpMode[];
export const UNKNOWN_CLIENT_POLICIES = ['serve', 'ignore'] as const satisfies readonly UnknownClientPolicy[];

const UDP_PORT = { kind: 'int', min: 1, max: 65535 } as const;
// PXE option 43 sub-options 4 and 5 are one byte each.
const MTFTP_SECONDS = { kind: 'int', min: 1, max: 255, unit: 'seconds' } as const;

export const CONFIG_SCHEMA: readonly SectionSpec[] = [
  {
    name: 'log',
    named: false,
    description: 'Logging.',
    fields: [
      {
        key: 'level',
        type: { kind: 'enum', values: LOG_LEVELS },
        required: false,
        default: 'info',
        description: 'Least severe message that is logged; `debug` adds ignored and malformed packets.',
        example: 'info',
      },
      {
        key: 'format',
        type: { kind: 'enum', values: LOG_FORMATS },
        required: false,
        default: 'text',
        description: 'Log line format: `text` for people, `json` (one object per line) for log collectors.',
        example: 'text',
      },
    ],
  },
  {
    name: 'tftp',
    named: false,
    description: 'The TFTP server and the tree it serves.',
    fields: [
      {
        key: 'enabled',
        type: { kind: 'bool' },
        required: false,
        default: 'true',
        description: 'Whether the TFTP server runs at all.',
        example: 'true',
      },
      {
        key: 'listen',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'Local address the TFTP server binds to; `0.0.0.0` listens on every IPv4 interface, `::` on every interface over IPv6 and IPv4 (dual-stack), an IPv6 address over IPv6 only (multicast, RFC 2090 and PXE MTFTP, stays IPv4).',
        example: '0.0.0.0',
      },
      {
        key: 'port',
        type: UDP_PORT,
        required: false,
        default: '69',
        description: 'UDP port for TFTP requests; 69 is the standard port and needs CAP_NET_BIND_SERVICE.',
        example: '69',
      },
      {
        key: 'root',
        type: { kind: 'host-path' },
        required: true,
        default: null,
        description: 'Directory tree served over TFTP; clients can never reach anything outside it.',
        example: '/srv/pxecast',
      },
      {
        key: 'max_blksize',
        type: { kind: 'int', min: 8, max: 65464, unit: 'bytes' },
        required: false,
        default: '1468',
        description:
          'Largest block size granted to a client (RFC 2348); 1468 fills a 1500-byte MTU without IP fragmentation.',
        example: '1468',
      },
      {
        key: 'max_windowsize',
        type: { kind: 'int', min: 1, max: 1024, unit: 'blocks' },
        required: false,
        default: '64',
        description: 'Largest number of blocks sent per acknowledgement granted to a client (RFC 7440).',
        example: '64',
      },
      {
        key: 'netascii',
        type: { kind: 'bool' },
        required: false,
        default: 'true',
        description: 'Whether netascii-mode requests are served; when false they are refused with TFTP error 4.',
        example: 'true',
      },
      {
        key: 'max_transfers',
        type: { kind: 'int', min: 1, max: 100000 },
        required: false,
        default: '1000',
        description: 'Most transfers running at once; further requests are refused until one finishes.',
        example: '1000',
      },
      {
        key: 'max_transfers_per_client',
        type: { kind: 'int', min: 1, max: 100000 },
        required: false,
        default: '8',
        description:
          'Most transfers one client address may run at once (firmware runs one, a booted OS a few; capped by `max_transfers`); more are refused with TFTP error 0 "too many transfers".',
        example: '8',
      },
      {
        key: 'client_request_rate',
        type: { kind: 'int', min: 1, max: 100000, unit: 'requests per second' },
        required: false,
        default: '20',
        description:
          'Sustained TFTP and MTFTP requests per second one client address may send; over it (and `client_request_burst`), requests are refused with one ERROR per episode, then dropped silently.',
        example: '20',
      },
      {
        key: 'client_request_burst',
        type: { kind: 'int', min: 1, max: 100000, unit: 'requests' },
        required: false,
        default: '60',
        description:
          'Requests one client address may send at once before `client_request_rate` applies (PXELINUX probes a dozen config names in a row).',
        example: '60',
      },
      {
        key: 'max_unconfirmed',
        type: { kind: 'int', min: 1, max: 100000 },
        required: false,
        default: '256',
        description:
          'Most transfers whose client has not answered yet (a spoofed source never does; capped by `max_transfers`); a new request beyond it silently ends the oldest such transfer, so a flood cannot hold `max_transfers`.',
        example: '256',
      },
      {
        key: 'unconfirmed_timeout',
        type: { kind: 'duration', bareUnit: 's', minMs: 1 * SECOND, maxMs: 10 * MINUTE },
        required: false,
        // Room for several rounds of clients' own retries (curl 6 s, atftp and tftp-hpa 5 s) and our
        // OACK resends (6 s apart, read-transfer.ts): a client whose first answers were lost is still
        // served when its timer re-sends, never left on a closed port. At 10 s an atftp at 20% loss
        // had two chances and sometimes lost both ("unknown error." on the closed port).
        default: '20s',
        description:
          'How long a transfer waits for the first answer of its client before it is dropped without an ERROR (capped by `idle_timeout`); room for several of the clients\' own retries (curl re-sends after 6 s, atftp after 5 s) and our OACK resends (6 s apart).',
        example: '20s',
      },
      {
        key: 'max_transfer_time',
        type: { kind: 'duration', bareUnit: 's', minMs: 1 * SECOND, maxMs: 24 * HOUR },
        required: false,
        default: '30m',
        description: 'Longest a single transfer may take before it is aborted.',
        example: '30m',
      },
      {
        key: 'idle_timeout',
        type: { kind: 'duration', bareUnit: 's', minMs: 1 * SECOND, maxMs: 10 * MINUTE },
        required: false,
        default: '30s',
        description: 'Peer silence after which a transfer is abandoned.',
        example: '30s',
      },
      {
        key: 'rto_min',
        type: { kind: 'duration', bareUnit: 'ms', minMs: 1 * MS, maxMs: 10 * SECOND },
        required: false,
        default: '10ms',
        description: 'Lower bound of the adaptive retransmission timeout.',
        example: '10ms',
      },
      {
        key: 'rto_max',
        type: { kind: 'duration', bareUnit: 'ms', minMs: 10 * MS, maxMs: 60 * SECOND },
        required: false,
        default: '3s',
        description: 'Upper bound of the adaptive retransmission timeout; must be shorter than `idle_timeout`.',
        example: '3s',
      },
      {
        key: 'rto_initial',
        type: { kind: 'duration', bareUnit: 'ms', minMs: 1 * MS, maxMs: 60 * SECOND },
        required: false,
        default: '1s',
        description:
          'Retransmission timeout used until a round-trip time is measured; between `rto_min` and `rto_max`.',
        example: '1s',
      },
      {
        key: 'upload_dir',
        type: { kind: 'host-path' },
        required: false,
        default: '',
        description: 'Directory that write requests (WRQ) may create files in; empty refuses all uploads.',
        example: '/var/lib/pxecast/uploads',
        exampleCommented: true,
      },
      {
        key: 'max_upload_size',
        type: { kind: 'size', min: 1, max: 4 * GIB },
        required: false,
        default: '64M',
        description: 'Largest file a client may upload.',
        example: '64M',
      },
      {
        key: 'workers',
        type: { kind: 'int-or-auto', min: 0, max: 64 },
        required: false,
        default: '0',
        description:
          'Worker threads that run unicast read transfers once negotiated (the request port, limits, uploads, multicast and MTFTP stay in the main thread; each thread gets an equal share of the file chunk cache; read at start only): 0 runs every transfer in the main thread, `auto` one worker per CPU the process may use (none on a single CPU).',
        example: 'auto',
        exampleCommented: true,
      },
    ],
  },
  {
    name: 'multicast',
    named: false,
    description: 'RFC 2090 multicast TFTP sessions and their flow control.',
    fields: [
      {
        key: 'enabled',
        type: { kind: 'bool' },
        required: false,
        default: 'true',
        description: 'Whether RRQs carrying the `multicast` option are served by multicast sessions; when false they are served unicast.',
        example: 'true',
      },
      {
        key: 'group_first',
        type: { kind: 'multicast-ipv4' },
        required: false,
        default: '239.255.0.0',
        description: 'First multicast group of the pool sessions draw their group from.',
        example: '239.255.0.0',
      },
      {
        key: 'group_last',
        type: { kind: 'multicast-ipv4' },
        required: false,
        default: '239.255.0.255',
        description: 'Last multicast group of the pool (inclusive); at least `group_first`.',
        example: '239.255.0.255',
      },
      {
        key: 'port_first',
        type: UDP_PORT,
        required: false,
        default: '1758',
        description: 'First UDP destination port of the pool; 1758 is the registered tftp-mcast port.',
        example: '1758',
      },
      {
        key: 'port_last',
        type: UDP_PORT,
        required: false,
        default: '1758',
        description: 'Last UDP destination port of the pool (inclusive); at least `port_first`.',
        example: '1758',
      },
      {
        key: 'ttl',
        type: { kind: 'int', min: 1, max: 255, unit: 'hops' },
        required: false,
        default: '1',
        description: 'Multicast TTL; 1 keeps the DATA on the boot LAN.',
        example: '1',
      },
      {
        key: 'interface',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'Local address multicast DATA leaves from; `0.0.0.0` uses `[tftp] listen` (or the system route when that is 0.0.0.0 too).',
        example: '0.0.0.0',
      },
      {
        key: 'start_delay',
        type: { kind: 'duration', bareUnit: 's', minMs: 0, maxMs: 10 * MINUTE },
        required: false,
        default: '2s',
        description:
          'How long a new session gathers clients before DATA 1, or until `min_clients` have joined (a WDS-style scheduled start); joined clients are kept waiting, though iPXE `tftm://` gives up after ~16 s whatever the server does.',
        example: '2s',
      },
      {
        key: 'min_clients',
        type: { kind: 'int', min: 0, max: 1000, unit: 'clients' },
        required: false,
        default: '0',
        description: 'Start as soon as this many clients have joined, before `start_delay` ends; 0 waits the whole delay.',
        example: '0',
      },
      {
        key: 'max_clients',
        type: { kind: 'int', min: 1, max: 1000, unit: 'clients' },
        required: false,
        default: '64',
        description: 'Most clients in one session; further requests for the file open a new session.',
        example: '64',
      },
      {
        key: 'rollover',
        type: { kind: 'bool' },
        required: false,
        default: 'false',
        description:
          'Multicast files of more than 65535 blocks at the requested block size, block numbers wrapping from 65535 to 0 as in unicast; only for RFC 2090 clients that follow a wrap. atftp 0.8 cannot: a master that rejects the block after the wrap is ended with an ERROR and its host is served by unicast for `deaf_memory`. false serves such files by unicast from the start.',
        example: 'false',
      },
      {
        key: 'max_rate',
        type: { kind: 'int', min: 1, max: 100000, unit: 'Mbit/s' },
        required: false,
        default: '1000',
        description: 'Cap on the DATA rate of all multicast sessions together; also where each session\'s pacer starts.',
        example: '800',
      },
      {
        key: 'min_rate',
        type: { kind: 'int', min: 1, max: 100000, unit: 'Mbit/s' },
        required: false,
        default: '8',
        description: 'Floor of a session\'s pacer when it backs off after retransmissions; at most `max_rate`.',
        example: '8',
      },
      {
        key: 'master_timeout',
        type: { kind: 'duration', bareUnit: 'ms', minMs: 100, maxMs: 10 * SECOND },
        required: false,
        default: '2s',
        description: 'Silence of the master client after which it is passed over and the next client becomes master.',
        example: '2s',
      },
      {
        key: 'master_tries',
        type: { kind: 'int', min: 1, max: 10, unit: 'tries' },
        required: false,
        default: '3',
        description: 'Times a client is made master without answering before it is dropped with a TFTP ERROR.',
        example: '3',
      },
      {
        key: 'deaf_after',
        type: { kind: 'int', min: 1, max: 20, unit: 'requests' },
        required: false,
        default: '3',
        description: 'Times a master may ask again for a block already multicast before it is served by unicast (it cannot hear the group).',
        example: '3',
      },
      {
        key: 'deaf_memory',
        type: { kind: 'duration', bareUnit: 's', minMs: 0, maxMs: 24 * HOUR },
        required: false,
        default: '10m',
        description: 'How long a host found unable to hear the group (iPXE `tftm://`) is remembered: its next multicast request is served by unicast at once, without gathering; 0 forgets at once.',
        example: '10m',
      },
      {
        key: 'slow_rate',
        type: { kind: 'int', min: 0, max: 100000, unit: 'Mbit/s' },
        required: false,
        default: '0',
        description:
          'A master whose pace (the new data its acknowledgements move the group forward by) stays under this rate for `slow_after` while other members wait is moved out of the group and finishes by unicast from the session port; the next member drives the group. 0: no absolute threshold.',
        example: '4',
      },
      {
        key: 'slow_share',
        type: { kind: 'int', min: 0, max: 100, unit: '%' },
        required: false,
        default: '10',
        description:
          'Likewise for a master whose pace stays under this share of the median pace the session\'s other members showed as master (needs one member measured first); 0: off.',
        example: '10',
      },
      {
        key: 'slow_after',
        type: { kind: 'duration', bareUnit: 's', minMs: 1 * SECOND, maxMs: 10 * MINUTE },
        required: false,
        default: '5s',
        description: 'How long a master\'s pace is measured (one window of its turn) before `slow_rate` and `slow_share` judge it.',
        example: '5s',
      },
    ],
  },
  {
    name: 'mtftp',
    named: false,
    description: 'The PXE MTFTP server; channels are per image (`mtftp_*` keys of `[image NAME]`), pacing and master settings come from `[multicast]`.',
    fields: [
      {
        key: 'enabled',
        type: { kind: 'bool' },
        required: false,
        default: 'true',
        description: 'Whether the MTFTP server listens on the server ports of the images with `mtftp = true`.',
        example: 'true',
      },
      {
        key: 'open_hold',
        type: { kind: 'duration', bareUnit: 'ms', minMs: 0, maxMs: 1400 },
        required: false,
        default: '500ms',
        description: 'How long block 1 waits after the first open so clients opening together all hear the stream from block 1; shorter than every image\'s `mtftp_reopen_delay` (the opener\'s own timeout) and under 1.5 s (iPXE gives up on an open after about 1.75 s).',
        example: '500ms',
      },
    ],
  },
  {
    name: 'http',
    named: false,
    description:
      'The HTTP server over the same served tree (UEFI HTTP Boot, iPXE `chain http://...`): GET and HEAD with ranges, the TFTP path rules, one summary line per transfer; read at start only.',
    fields: [
      {
        key: 'enabled',
        type: { kind: 'bool' },
        required: false,
        default: 'false',
        description: 'Whether the HTTP server runs.',
        example: 'true',
      },
      {
        key: 'listen',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'Local address the HTTP server binds to; `0.0.0.0` listens on every IPv4 interface, `::` on every interface over IPv6 and IPv4 (dual-stack), an IPv6 address over IPv6 only.',
        example: '0.0.0.0',
      },
      {
        key: 'port',
        type: { kind: 'int', min: 1, max: 65535 },
        required: false,
        default: '80',
        description: 'TCP port of the HTTP server.',
        example: '80',
      },
      {
        key: 'max_connections',
        type: { kind: 'int', min: 1, max: 100000, unit: 'connections' },
        required: false,
        default: '1024',
        description: 'Open HTTP connections at most; more are closed at once.',
        example: '1024',
      },
      {
        key: 'max_connections_per_client',
        type: { kind: 'int', min: 1, max: 100000, unit: 'connections' },
        required: false,
        default: '16',
        description: 'Open HTTP connections from one client address at most; more are answered 503.',
        example: '16',
      },
    ],
  },
  {
    name: 'dhcp',
    named: false,
    description: 'The DHCP / proxyDHCP responder; address pools are `[pool NAME]` sections.',
    fields: [
      {
        key: 'mode',
        type: { kind: 'enum', values: DHCP_MODES },
        required: false,
        default: 'off',
        description:
          '`full` assigns addresses from the pools and boots PXE clients; `proxy` leaves addresses to the site DHCP server and only adds boot information for PXE clients (and answers port 4011); `off` runs no DHCP.',
        example: 'proxy',
      },
      {
        key: 'interface',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'Serving address (required unless `mode = off`): replies leave from it and it is the server identifier; Node cannot tell which interface a broadcast came in on, so it is named here.',
        example: '192.168.10.1',
      },
      {
        key: 'port',
        type: UDP_PORT,
        required: false,
        default: '67',
        description: 'DHCP server port; clients are answered on this port + 1.',
        example: '67',
      },
      {
        key: 'proxy_port',
        type: UDP_PORT,
        required: false,
        default: '4011',
        description: 'PXE boot-server / proxyDHCP request port (answered to the request\'s source port: iPXE uses 68, UEFI 4011).',
        example: '4011',
      },
      {
        key: 'next_server',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'TFTP server address given to clients (siaddr); `0.0.0.0` means the serving address.',
        example: '0.0.0.0',
      },
      {
        key: 'lease_time',
        type: { kind: 'duration', bareUnit: 's', minMs: 60 * SECOND, maxMs: 30 * 24 * HOUR },
        required: false,
        default: '1h',
        description: 'Lease length in `full` mode; clients renew at half (T1) and rebind at 7/8 (T2).',
        example: '12h',
      },
      {
        key: 'offer_timeout',
        type: { kind: 'duration', bareUnit: 's', minMs: 1 * SECOND, maxMs: 10 * MINUTE },
        required: false,
        default: '60s',
        description: 'How long an offered address stays reserved for the client it was offered to.',
        example: '60s',
      },
      {
        key: 'state_file',
        type: { kind: 'host-path' },
        required: false,
        default: '/var/lib/pxecast/leases.json',
        description: 'Lease database (`full` mode): the snapshot, with a journal of changes beside it (`STATE_FILE.journal`, one line per change, synced before the ACK); both read at start.',
        example: '/var/lib/pxecast/leases.json',
      },
      {
        key: 'unknown_clients',
        type: { kind: 'enum', values: UNKNOWN_CLIENT_POLICIES },
        required: false,
        default: 'serve',
        description:
          '`serve` answers every client by the catalog\'s rules; `ignore` answers only MACs of a `[host NAME]` section, as dnsmasq\'s `dhcp-ignore=tag:!known`.',
        example: 'serve',
      },
    ],
  },
  DHCP6_SECTION,
  {
    name: 'host',
    named: true,
    exampleName: 'rack1-node07',
    description:
      'A known machine, by MAC and/or DHCPv6 DUID (at least one): its image, fixed address and host name; NAME is shown in `pxecast leases` and `catalog`.',
    fields: [
      {
        key: 'mac',
        type: { kind: 'text' },
        required: false,
        default: '',
        description:
          'Its MAC address (`52:54:00:12:34:57` or with dashes), unique among hosts and pool reservations; over DHCPv6 it matches a client whose DUID (DUID-LLT/DUID-LL of Ethernet) or relay (option 79) tells its MAC.',
        example: '52:54:00:12:34:57',
      },
      {
        key: 'duid',
        type: { kind: 'duid' },
        required: false,
        default: '',
        description:
          'Its DHCPv6 client identifier (option 1, as `dhclient -6` or the firmware sends it), unique among hosts; a DHCPv6 client is matched by DUID first, then by `mac`, and empty matches by `mac` only.',
        example: '00:04:8a:3c:6e:51:70:2b:4d:c1:9e:07:23:55:18:f0:6a:94',
        exampleCommented: true,
      },
      {
        key: 'image',
        type: { kind: 'text' },
        required: false,
        default: '',
        description: 'Name of the `[image NAME]` it boots, whatever its architecture; empty follows the catalog\'s rules.',
        example: 'lab-default',
      },
      {
        key: 'address',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'Its fixed address in `full` mode (a reservation in the pool whose subnet holds it), unique; `0.0.0.0` takes one from the pool.',
        example: '192.168.10.57',
      },
      {
        key: 'hostname',
        type: { kind: 'text' },
        required: false,
        default: '',
        description: 'Host name given in DHCP option 12 (`full` mode); empty gives none.',
        example: 'rack1-node07',
      },
    ],
  },
  {
    name: 'pool',
    named: true,
    exampleName: 'lab',
    description: 'A DHCP address pool for `full` mode; a request is served from the pool whose subnet holds its relay address (giaddr), or the serving address.',
    fields: [
      {
        key: 'first',
        type: { kind: 'ip-address' },
        required: true,
        default: null,
        description: 'First address handed out.',
        example: '192.168.10.100',
      },
      {
        key: 'last',
        type: { kind: 'ip-address' },
        required: true,
        default: null,
        description: 'Last address handed out (inclusive), in the same subnet as `first`.',
        example: '192.168.10.199',
      },
      {
        key: 'prefix',
        type: { kind: 'int', min: 8, max: 30, unit: 'bits' },
        required: false,
        default: '24',
        description: 'Subnet prefix length (24 = netmask 255.255.255.0).',
        example: '24',
      },
      {
        key: 'router',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'Default gateway given to clients (option 3); `0.0.0.0` gives none.',
        example: '192.168.10.1',
      },
      {
        key: 'dns',
        type: { kind: 'ip-address' },
        required: false,
        default: '0.0.0.0',
        description: 'DNS server given to clients (option 6); `0.0.0.0` gives none.',
        example: '192.168.10.1',
      },
      {
        key: 'reservations',
        type: { kind: 'text' },
        required: false,
        default: '',
        description: 'Fixed addresses by MAC, comma-separated `MAC=ADDRESS` pairs inside the pool\'s subnet.',
        example: '52:54:00:12:34:56=192.168.10.50',
      },
    ],
  },
  {
    name: 'control',
    named: false,
    description:
      'The local control socket that `pxecast status`, `sessions`, `reload` and the other operator commands talk to; read at start only (a reload does not move it).',
    fields: [
      {
        key: 'enabled',
        type: { kind: 'bool' },
        required: false,
        default: 'true',
        description: 'Whether the daemon serves the control socket; without it the operator commands cannot reach the daemon.',
        example: 'true',
      },
      {
        key: 'socket',
        type: { kind: 'host-path' },
        required: false,
        default: '/run/pxecast/control.sock',
        description:
          "Path of the control socket; the unit's `RuntimeDirectory=pxecast` provides /run/pxecast, and a missing directory is created.",
        example: '/run/pxecast/control.sock',
      },
      {
        key: 'mode',
        type: { kind: 'file-mode' },
        required: false,
        default: '0660',
        description:
          "Permissions of the control socket; 0660 lets the daemon's user and the members of its group (`pxecast`) run the operator commands.",
        example: '0660',
      },
    ],
  },
  {
    name: 'metrics',
    named: false,
    description:
      'The optional Prometheus endpoint (HTTP `GET /metrics`, no authentication): transfers, bytes, retransmissions, sessions, DHCP messages, leases, decode errors, event-loop lag and process metrics; read at start only.',
    fields: [
      {
        key: 'listen',
        type: { kind: 'text' },
        required: false,
        default: '',
        description:
          'Address of the Prometheus endpoint (`GET /metrics`) as `HOST:PORT`, HOST an IP address (IPv6 in brackets, e.g. `[::1]:9469`), best on loopback or a management network; empty serves no endpoint.',
        example: '127.0.0.1:9469',
        exampleCommented: true,
      },
    ],
  },
  {
    name: 'image',
    named: true,
    exampleName: 'lab-default',
    description:
      "A boot image: a file in the TFTP root with its boot policy and optional PXE MTFTP channel; NAME is the image's catalog key.",
    fields: [
      {
        key: 'file',
        type: { kind: 'served-path' },
        required: true,
        default: null,
        description: "Boot file of this image, relative to the TFTP root and '/'-separated, as clients request it.",
        example: 'ipxe/undionly.kpxe',
      },
      {
        key: 'description',
        type: { kind: 'text' },
        required: false,
        default: '',
        description: 'Free text shown in status output and logs.',
        example: 'iPXE chainloader for BIOS lab machines',
      },
      {
        key: 'arch',
        type: { kind: 'list', values: ARCHITECTURES },
        required: false,
        default: '',
        description: 'Client architectures (DHCP option 93) this image is offered to, comma-separated; empty means all.',
        example: 'bios',
      },
      {
        key: 'ipxe_file',
        type: { kind: 'served-path' },
        required: false,
        default: '',
        description:
          'Boot file offered instead of `file` to clients already running iPXE, which breaks the chainload loop; empty offers `file` to them too.',
        example: 'ipxe/menu.ipxe',
      },
      {
        key: 'ipxe_script',
        type: { kind: 'served-path' },
        required: false,
        default: '',
        description:
          'An iPXE script template rendered for each iPXE client of this image and handed out by URL on the HTTP server, `{{mac}}`, `{{ip}}`, `{{arch}}`, `{{image}}`, `{{base_url}}`, `{{host}}` and `{{hostname}}` filled in; it takes precedence over `ipxe_file` while `[http]` is enabled.',
        example: 'ipxe/boot.ipxe.tmpl',
      },
      {
        key: 'http_file',
        type: { kind: 'served-path' },
        required: false,
        default: '',
        description:
          'File offered as an `http://` URL on the HTTP server (`[http] enabled = true`) to the UEFI HTTP Boot clients (option 60 `HTTPClient`) this image matches; empty offers `file`.',
        example: 'efi/grubx64.efi',
      },
      {
        key: 'default',
        type: { kind: 'bool' },
        required: false,
        default: 'false',
        description: 'Whether this image is offered to clients no other image matches; at most one image may be the default.',
        example: 'true',
      },
      {
        key: 'mtftp',
        type: { kind: 'bool' },
        required: false,
        default: 'false',
        description: 'Whether this image is also served by PXE multicast TFTP (MTFTP), announced in DHCP option 43.',
        example: 'true',
      },
      {
        key: 'mtftp_group',
        type: { kind: 'multicast-ipv4' },
        required: false,
        default: null,
        defaultNote: `${DEFAULT_IMAGE_MTFTP_GROUP} for the default image; otherwise required with \`mtftp = true\``,
        description: 'IPv4 multicast group the MTFTP channel sends to (PXE option 43 sub-option 1).',
        example: DEFAULT_IMAGE_MTFTP_GROUP,
      },
      {
        key: 'mtftp_client_port',
        type: UDP_PORT,
        required: false,
        default: null,
        defaultNote: `${DEFAULT_IMAGE_MTFTP_CLIENT_PORT} for the default image; otherwise required with \`mtftp = true\``,
        description: "UDP port clients receive this image's MTFTP data on (PXE option 43 sub-option 2).",
        example: String(DEFAULT_IMAGE_MTFTP_CLIENT_PORT),
      },
      {
        key: 'mtftp_server_port',
        type: UDP_PORT,
        required: false,
        default: '1759',
        description: "UDP port the MTFTP server takes this image's requests on (PXE option 43 sub-option 3).",
        example: '1759',
      },
      {
        key: 'mtftp_open_timeout',
        type: MTFTP_SECONDS,
        required: false,
        default: '2',
        description:
          'Seconds a client listens for a transfer already in progress before requesting one (PXE option 43 sub-option 4).',
        example: '2',
      },
      {
        key: 'mtftp_reopen_delay',
        type: MTFTP_SECONDS,
        required: false,
        default: '2',
        description:
          'Seconds a client listens before it restarts an interrupted MTFTP transfer (PXE option 43 sub-option 5).',
        example: '2',
      },
    ],
  },
];

export function findSection(name: string): SectionSpec | undefined {
  return CONFIG_SCHEMA.find((s) => s.name === name);
}

export function findField(section: SectionSpec, key: string): FieldSpec | undefined {
  return section.fields.find((f) => f.key === key);
}
