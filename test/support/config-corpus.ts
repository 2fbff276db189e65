// The broken-ini corpus: every kind of configuration mistake, with the exact operator-facing
// message (file, line, section, key) it must produce. Each case lists ALL expected issues, so a
// case also proves that nothing extra (a derived, duplicate complaint) is reported. Shared by the
// parse-level test (test/unit/config/config-corpus.test.ts) and the CLI test
// (test/integration/config-corpus-cli.test.ts), which writes each case to a real file and
// expects CORPUS_FILE replaced by that file's path.

export const CORPUS_FILE = '/etc/pxecast/pxecast.ini';
const FILE = CORPUS_FILE;
const at = (line: number): string => (line === 0 ? FILE : `${FILE}:${line}`);

export interface BrokenCase {
  readonly name: string;
  readonly ini: readonly string[];
  readonly issues: readonly string[];
}

// Most cases start from this valid prefix (lines 1–2) and add lines from 3 on.
const TFTP = ['[tftp]', 'root = /srv/pxecast'];

export const BROKEN_CONFIGS: readonly BrokenCase[] = [
  // --- lines the scanner cannot read ---------------------------------------------------------
  {
    name: 'key without =',
    ini: [...TFTP, 'max_blksize 1468'],
    issues: [`${at(3)}: cannot read this line: expected \`key = value\` or \`[section]\``],
  },
  {
    name: 'value without key',
    ini: [...TFTP, '= 1468'],
    issues: [`${at(3)}: cannot read this line: expected \`key = value\` or \`[section]\``],
  },
  {
    name: 'key before any section',
    ini: ['port = 69', ...TFTP],
    issues: [`${at(1)}: port: this key comes before any \`[section]\` header`],
  },
  {
    name: 'unclosed section header',
    ini: [...TFTP, '[log', 'level = info'],
    issues: [`${at(3)}: cannot read this section header: expected \`[section]\` or \`[image NAME]\``],
  },
  {
    name: 'text after a section header',
    ini: [...TFTP, '[log] level = info'],
    issues: [`${at(3)}: cannot read this section header: expected \`[section]\` or \`[image NAME]\``],
  },
  {
    name: 'empty section header',
    ini: [...TFTP, '[]'],
    issues: [`${at(3)}: empty section header \`[]\``],
  },
  {
    name: 'section header with two names',
    ini: [...TFTP, '[image lab default]', 'file = a.img'],
    issues: [`${at(3)}: cannot read section header [image lab default]: expected \`[section]\` or \`[section NAME]\``],
  },
  {
    name: 'image name with a slash',
    ini: [...TFTP, '[image lab/bios]', 'file = a.img'],
    issues: [
      `${at(3)}: cannot use "lab/bios" as a name in [image lab/bios]: use letters, digits, \`.\`, \`_\` and \`-\`, starting with a letter or digit`,
    ],
  },
  {
    name: 'image name starting with a dot',
    ini: [...TFTP, '[image .hidden]', 'file = a.img'],
    issues: [
      `${at(3)}: cannot use ".hidden" as a name in [image .hidden]: use letters, digits, \`.\`, \`_\` and \`-\`, starting with a letter or digit`,
    ],
  },
  {
    name: 'duplicate key',
    ini: [...TFTP, 'port = 69', 'port = 6969'],
    issues: [`${at(4)}: [tftp] port: set twice (lines 3 and 4); keep one of them`],
  },
  {
    name: 'duplicate section',
    ini: [...TFTP, '[log]', 'level = info', '[tftp]', 'port = 6969'],
    issues: [`${at(5)}: [tftp]: section appears twice (first at line 1); merge the two`],
  },
  {
    name: 'duplicate image',
    ini: [...TFTP, '[image demo]', 'file = a.img', '[image demo]', 'description = again'],
    issues: [`${at(5)}: [image demo]: section appears twice (first at line 3); merge the two`],
  },
  {
    name: 'unclosed quote',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'description = "Ubuntu live'],
    issues: [`${at(5)}: [image demo] description: the value starts with " but does not end with it; put comments on their own line`],
  },
  {
    name: 'comment after a quoted value',
    ini: [...TFTP, '[image demo]', "file = 'a.img' ; the demo"],
    issues: [`${at(4)}: [image demo] file: the value starts with ' but does not end with it; put comments on their own line`],
  },
  {
    name: 'bad escape in a double-quoted value',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'description = "C:\\new\\q"'],
    issues: [`${at(5)}: [image demo] description: cannot read the double-quoted value "C:\\new\\q": invalid escape or stray quote inside`],
  },

  // --- unknown names ---------------------------------------------------------------------------
  {
    name: 'misspelt section',
    ini: [...TFTP, '[lgo]', 'level = debug'],
    issues: [`${at(3)}: [lgo]: unknown section; did you mean \`[log]\`?`],
  },
  {
    name: 'upper-case section',
    ini: ['[TFTP]', 'root = /srv/pxecast'],
    issues: [
      `${at(1)}: [TFTP]: unknown section; did you mean \`[tftp]\`?`,
      `${at(0)}: [tftp] root: required key is missing; add a [tftp] section with \`root = /srv/pxecast\``,
    ],
  },
  {
    name: 'misspelt image section keeps its name in the suggestion',
    ini: [...TFTP, '[images demo]', 'file = a.img'],
    issues: [`${at(3)}: [images demo]: unknown section; did you mean \`[image demo]\`?`],
  },
  {
    name: 'unknown section without a near name',
    ini: [...TFTP, '[network]', 'interface = eth0'],
    issues: [`${at(3)}: [network]: unknown section`],
  },
  {
    name: 'image section without a name',
    ini: [...TFTP, '[image]', 'file = a.img'],
    issues: [`${at(3)}: [image]: needs a name, e.g. \`[image lab-default]\``],
  },
  {
    name: 'plain section with a name',
    ini: [...TFTP, '[log main]', 'level = info'],
    issues: [`${at(3)}: [log main]: takes no name; write \`[log]\``],
  },
  {
    name: 'misspelt key',
    ini: [...TFTP, 'max_blocksize = 1428'],
    issues: [`${at(3)}: [tftp] max_blocksize: unknown key; did you mean \`max_blksize\`?`],
  },
  {
    name: 'key with dashes instead of underscores',
    ini: [...TFTP, 'idle-timeout = 10s'],
    issues: [`${at(3)}: [tftp] idle-timeout: unknown key; did you mean \`idle_timeout\`?`],
  },
  {
    name: 'key in the wrong section',
    ini: [...TFTP, '[log]', 'port = 69'],
    issues: [`${at(4)}: [log] port: unknown key here; \`port\` belongs in [tftp]`],
  },
  {
    name: 'tftp key in an image',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'max_blksize = 512'],
    issues: [`${at(5)}: [image demo] max_blksize: unknown key here; \`max_blksize\` belongs in [tftp]`],
  },
  {
    name: 'unknown key without a near name',
    ini: [...TFTP, 'colour = blue'],
    issues: [`${at(3)}: [tftp] colour: unknown key`],
  },

  // --- missing keys ----------------------------------------------------------------------------
  {
    name: 'tftp section without root',
    ini: ['[log]', 'level = info', '', '[tftp]', 'port = 69'],
    issues: [`${at(4)}: [tftp] root: required key is missing; add \`root = /srv/pxecast\``],
  },
  {
    name: 'no tftp section at all',
    ini: ['[log]', 'level = info'],
    issues: [`${at(0)}: [tftp] root: required key is missing; add a [tftp] section with \`root = /srv/pxecast\``],
  },
  {
    name: 'empty file',
    ini: [''],
    issues: [`${at(0)}: [tftp] root: required key is missing; add a [tftp] section with \`root = /srv/pxecast\``],
  },
  {
    name: 'image without file',
    ini: [...TFTP, '[image demo]', 'description = no file'],
    issues: [`${at(3)}: [image demo] file: required key is missing; add \`file = ipxe/undionly.kpxe\``],
  },
  {
    name: 'empty root',
    ini: ['[tftp]', 'root ='],
    issues: [`${at(2)}: [tftp] root: must not be empty`],
  },

  // --- bad values ------------------------------------------------------------------------------
  {
    name: 'request rate of zero',
    ini: [...TFTP, 'client_request_rate = 0'],
    issues: [`${at(3)}: [tftp] client_request_rate: 0 is out of range (1..100000)`],
  },
  {
    name: 'unconfirmed_timeout below a second',
    ini: [...TFTP, 'unconfirmed_timeout = 200ms'],
    issues: [`${at(3)}: [tftp] unconfirmed_timeout: 200ms is out of range (1s..10m)`],
  },
  {
    name: 'integer out of range',
    ini: [...TFTP, 'max_blksize = 70000'],
    issues: [`${at(3)}: [tftp] max_blksize: 70000 is out of range (8..65464)`],
  },
  {
    name: 'integer below range',
    ini: [...TFTP, 'max_windowsize = 0'],
    issues: [`${at(3)}: [tftp] max_windowsize: 0 is out of range (1..1024)`],
  },
  {
    name: 'not an integer',
    ini: [...TFTP, 'port = 69/udp'],
    issues: [`${at(3)}: [tftp] port: "69/udp" is not a whole number (expected 1..65535)`],
  },
  {
    name: 'empty integer',
    ini: [...TFTP, 'max_transfers ='],
    issues: [`${at(3)}: [tftp] max_transfers: "" is not a whole number (expected 1..100000)`],
  },
  {
    name: 'not a boolean',
    ini: [...TFTP, 'netascii = maybe'],
    issues: [`${at(3)}: [tftp] netascii: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0)`],
  },
  {
    name: 'enum value with a near miss',
    ini: ['[log]', 'level = warning', ...TFTP],
    issues: [`${at(2)}: [log] level: "warning" is not one of error, warn, info, debug; did you mean \`warn\`?`],
  },
  {
    name: 'enum value without a near miss',
    ini: ['[log]', 'format = syslog', ...TFTP],
    issues: [`${at(2)}: [log] format: "syslog" is not one of text, json`],
  },
  {
    name: 'MTFTP open hold not shorter than the reopen delay',
    ini: [...TFTP, '[mtftp]', 'open_hold = 1s', '[image demo]', 'file = demo.img', 'mtftp = true', 'default = true', 'mtftp_reopen_delay = 1'],
    issues: [`${at(9)}: [image demo] mtftp_reopen_delay: 1 s is not longer than [mtftp] open_hold (1s): openers would give up while block 1 is held`],
  },
  {
    name: 'dhcp mode that does not exist',
    ini: [...TFTP, '[dhcp]', 'mode = relay'],
    issues: [`${at(4)}: [dhcp] mode: "relay" is not one of off, full, proxy`],
  },
  {
    name: 'dhcp proxy without a serving address',
    ini: [...TFTP, '[dhcp]', 'mode = proxy'],
    issues: [`${at(4)}: [dhcp] interface: an IPv4 serving address is required with \`mode = proxy\``],
  },
  {
    name: 'dhcp full without a pool',
    ini: [...TFTP, '[dhcp]', 'mode = full', 'interface = 10.0.0.1'],
    issues: [`${at(4)}: [dhcp] mode: \`full\` needs at least one \`[pool NAME]\` section`],
  },
  {
    name: 'pool running backwards',
    ini: [...TFTP, '[pool lab]', 'first = 10.0.0.50', 'last = 10.0.0.10'],
    issues: [`${at(5)}: [pool lab] last: 10.0.0.10 is below \`first\` (10.0.0.50)`],
  },
  {
    name: 'pool spanning two subnets',
    ini: [...TFTP, '[pool lab]', 'first = 10.0.0.50', 'last = 10.0.1.10'],
    issues: [`${at(5)}: [pool lab] last: 10.0.1.10 is not in the /24 subnet of \`first\` (10.0.0.50)`],
  },
  {
    name: 'pool without its required keys',
    ini: [...TFTP, '[pool lab]', 'prefix = 24'],
    issues: [
      `${at(3)}: [pool lab] first: required key is missing; add \`first = 192.168.10.100\``,
      `${at(3)}: [pool lab] last: required key is missing; add \`last = 192.168.10.199\``,
    ],
  },
  {
    name: 'malformed and foreign reservations',
    ini: [...TFTP, '[pool lab]', 'first = 10.0.0.50', 'last = 10.0.0.60', 'reservations = 52:54:00:12:34:56=10.0.9.1, nonsense'],
    issues: [
      `${at(6)}: [pool lab] reservations: 10.0.9.1 (for 52:54:00:12:34:56) is outside the pool's /24 subnet`,
      `${at(6)}: [pool lab] reservations: \`nonsense\` is not MAC=ADDRESS (e.g. 52:54:00:12:34:56=10.0.0.50)`,
    ],
  },
  {
    name: 'listen address out of range',
    ini: [...TFTP, 'listen = 192.168.1.256'],
    issues: [`${at(3)}: [tftp] listen: "192.168.1.256" is not an IP address (e.g. 0.0.0.0, 192.168.1.10 or ::)`],
  },
  {
    name: 'listen on a host name',
    ini: [...TFTP, 'listen = localhost'],
    issues: [`${at(3)}: [tftp] listen: "localhost" is not an IP address (e.g. 0.0.0.0, 192.168.1.10 or ::)`],
  },
  {
    name: 'broken IPv6 listen address',
    ini: [...TFTP, 'listen = 2001:db8::1::2'],
    issues: [`${at(3)}: [tftp] listen: "2001:db8::1::2" is not an IP address (e.g. 0.0.0.0, 192.168.1.10 or ::)`],
  },
  {
    name: 'duration with a spelled-out unit',
    ini: [...TFTP, 'idle_timeout = 30 seconds'],
    issues: [
      `${at(3)}: [tftp] idle_timeout: "30 seconds" is not a duration (a number with unit ms, s, m or h, e.g. 30s; expected 1s..10m)`,
    ],
  },
  {
    name: 'duration out of range',
    ini: [...TFTP, 'max_transfer_time = 2d'],
    issues: [
      `${at(3)}: [tftp] max_transfer_time: "2d" is not a duration (a number with unit ms, s, m or h, e.g. 30s; expected 1s..24h)`,
    ],
  },
  {
    name: 'bare duration read in the field unit is out of range',
    ini: [...TFTP, 'idle_timeout = 900'],
    issues: [`${at(3)}: [tftp] idle_timeout: 900 is out of range (1s..10m)`],
  },
  {
    name: 'duration below one millisecond',
    ini: [...TFTP, 'rto_min = 0.25ms'],
    issues: [`${at(3)}: [tftp] rto_min: 0.25ms is not a whole number of milliseconds`],
  },
  {
    name: 'size with a decimal suffix',
    ini: [...TFTP, 'max_upload_size = 64MB'],
    issues: [`${at(3)}: [tftp] max_upload_size: "64MB" is not a size (bytes, optionally with suffix K, M or G; expected 1..4G)`],
  },
  {
    name: 'size out of range',
    ini: [...TFTP, 'max_upload_size = 8G'],
    issues: [`${at(3)}: [tftp] max_upload_size: 8G is out of range (1..4G)`],
  },

  // --- retransmission timeouts -----------------------------------------------------------------
  {
    name: 'rto_min above rto_initial blames the later line',
    ini: [...TFTP, 'rto_initial = 20ms', 'rto_min = 50ms'],
    issues: [`${at(4)}: [tftp] rto_min: 50ms must be at most \`rto_initial\` (20ms)`],
  },
  {
    name: 'rto_initial below rto_min blames the later line',
    ini: [...TFTP, 'rto_min = 50ms', 'rto_initial = 20ms'],
    issues: [`${at(4)}: [tftp] rto_initial: 20ms must be at least \`rto_min\` (50ms)`],
  },
  {
    name: 'rto_max below the default rto_initial',
    ini: [...TFTP, 'rto_max = 500'],
    issues: [`${at(3)}: [tftp] rto_max: 500ms must be at least \`rto_initial\` (1s, the default)`],
  },
  {
    name: 'rto_max not shorter than idle_timeout',
    ini: [...TFTP, 'idle_timeout = 5s', 'rto_max = 5000'],
    issues: [`${at(4)}: [tftp] rto_max: 5s must be less than \`idle_timeout\` (5s)`],
  },
  {
    name: 'idle_timeout shorter than rto_max',
    ini: [...TFTP, 'rto_max = 10s', 'idle_timeout = 2'],
    issues: [`${at(4)}: [tftp] idle_timeout: 2s must be greater than \`rto_max\` (10s)`],
  },

  // --- images ----------------------------------------------------------------------------------
  {
    name: 'absolute image file',
    ini: [...TFTP, '[image demo]', 'file = /srv/pxecast/demo.img'],
    issues: [`${at(4)}: [image demo] file: "/srv/pxecast/demo.img" must be relative to the TFTP root (no leading /)`],
  },
  {
    name: 'image file with ..',
    ini: [...TFTP, '[image demo]', 'file = images/../../etc/shadow'],
    issues: [`${at(4)}: [image demo] file: "images/../../etc/shadow" must not contain a .. segment`],
  },
  {
    name: 'image file with a backslash',
    ini: [...TFTP, '[image demo]', 'file = boot\\\\pxelinux.0'],
    issues: [`${at(4)}: [image demo] file: "boot\\\\pxelinux.0" contains a backslash; separate directories with /`],
  },
  {
    name: 'image file with a control character',
    ini: [...TFTP, '[image demo]', 'file = "demo\\u0007.img"'],
    issues: [`${at(4)}: [image demo] file: "demo\\u0007.img" contains a control character`],
  },
  {
    name: 'empty image file',
    ini: [...TFTP, '[image demo]', 'file = '],
    issues: [`${at(4)}: [image demo] file: must not be empty`],
  },
  {
    name: 'ipxe_file outside the root',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'ipxe_file = ../menu.ipxe'],
    issues: [`${at(5)}: [image demo] ipxe_file: "../menu.ipxe" must not contain a .. segment`],
  },
  {
    name: 'unknown architecture',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'arch = bios, efi-x86'],
    issues: [
      `${at(5)}: [image demo] arch: "efi-x86" is not one of bios, efi-ia32, efi-x64, efi-arm32, efi-arm64, efi-x64-http, efi-arm64-http; did you mean \`efi-x64\`?`,
    ],
  },
  {
    name: 'architecture listed twice',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'arch = efi-x64, bios, EFI-X64'],
    issues: [`${at(5)}: [image demo] arch: efi-x64 is listed twice`],
  },
  {
    name: 'empty architecture item',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'arch = bios,'],
    issues: [`${at(5)}: [image demo] arch: "bios," has an empty item; separate values with single commas`],
  },
  {
    name: 'two default images',
    ini: [...TFTP, '[image a]', 'file = a.img', 'default = true', '[image b]', 'file = b.img', 'default = yes'],
    issues: [`${at(8)}: [image b] default: [image a] is already the default (line 5); only one image may be the default`],
  },
  {
    name: 'mtftp keys while mtftp is off',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'mtftp_group = 239.255.1.1', 'mtftp_server_port = 1759'],
    issues: [
      `${at(5)}: [image demo] mtftp_group: is only used by MTFTP; set \`mtftp = true\` or remove this key`,
      `${at(6)}: [image demo] mtftp_server_port: is only used by MTFTP; set \`mtftp = true\` or remove this key`,
    ],
  },
  {
    name: 'mtftp on a non-default image without group and port',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'mtftp = true'],
    issues: [
      `${at(5)}: [image demo] mtftp_group: required because \`mtftp = true\` (only the default image gets 239.255.1.1 automatically)`,
      `${at(5)}: [image demo] mtftp_client_port: required because \`mtftp = true\` (only the default image gets 3001 automatically)`,
    ],
  },
  {
    name: 'a bad default value does not also demand an MTFTP channel',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'default = yess', 'mtftp = true'],
    issues: [`${at(5)}: [image demo] default: "yess" is not a boolean (use true/false, yes/no, on/off or 1/0)`],
  },
  {
    name: 'unicast mtftp group',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'mtftp = true', 'mtftp_group = 192.168.1.1', 'mtftp_client_port = 3001'],
    issues: [`${at(6)}: [image demo] mtftp_group: "192.168.1.1" is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255)`],
  },
  {
    name: 'mtftp timeout does not fit the option byte',
    ini: [...TFTP, '[image demo]', 'file = a.img', 'default = on', 'mtftp = on', 'mtftp_open_timeout = 300'],
    issues: [`${at(7)}: [image demo] mtftp_open_timeout: 300 is out of range (1..255)`],
  },
  {
    name: 'two images on one MTFTP channel',
    ini: [
      ...TFTP,
      '[image a]', // 3
      'file = a.img',
      'default = true',
      'mtftp = true', // 6
      '[image b]', // 7
      'file = b.img',
      'mtftp = true',
      'mtftp_group = 239.255.1.1', // 10
      'mtftp_client_port = 3001',
    ],
    issues: [
      `${at(10)}: [image b] mtftp_group: MTFTP channel 239.255.1.1:3001 is already used by [image a] (line 6); give each image its own mtftp_group or mtftp_client_port`,
    ],
  },
  {
    name: 'same group on a different client port is fine, same port twice is not',
    ini: [
      ...TFTP,
      '[image a]',
      'file = a.img',
      'mtftp = true',
      'mtftp_group = 239.1.1.1', // 6
      'mtftp_client_port = 3001',
      '[image b]',
      'file = b.img',
      'mtftp = true',
      'mtftp_group = 239.1.1.1',
      'mtftp_client_port = 3002',
      '[image c]',
      'file = c.img',
      'mtftp = true',
      'mtftp_client_port = 3002',
      'mtftp_group = 239.1.1.1', // 17
    ],
    issues: [
      `${at(17)}: [image c] mtftp_group: MTFTP channel 239.1.1.1:3002 is already used by [image b] (line 11); give each image its own mtftp_group or mtftp_client_port`,
    ],
  },

  // --- everything at once ----------------------------------------------------------------------
  {
    name: 'metrics listen with a host name',
    ini: [...TFTP, '[metrics]', 'listen = localhost:9469'],
    issues: [
      `${at(4)}: [metrics] listen: "localhost" in "localhost:9469" is not an IP address (e.g. 127.0.0.1:9469 or [::1]:9469; host names are not resolved)`,
    ],
  },
  {
    name: 'metrics listen without a port',
    ini: [...TFTP, '[metrics]', 'listen = 127.0.0.1'],
    issues: [`${at(4)}: [metrics] listen: "127.0.0.1" is not HOST:PORT (e.g. 127.0.0.1:9469 or [::1]:9469)`],
  },
  {
    name: 'metrics listen port out of range',
    ini: [...TFTP, '[metrics]', 'listen = 127.0.0.1:70000'],
    issues: [`${at(4)}: [metrics] listen: port 70000 in "127.0.0.1:70000" is out of range (1..65535)`],
  },
  {
    name: 'every problem is reported together, in file order',
    ini: [
      'level = info', //                  1
      '[log]', //                         2
      'level = loud', //                  3
      '[tfpt]', //                        4
      'root = /srv', //                   5
      '[image demo]', //                  6
      'file = /demo.img', //              7
      'mtftp_group = 239.255.1.1', //     8
      'this is not ini', //               9
      '[image demo]', //                  10
    ],
    issues: [
      `${at(1)}: level: this key comes before any \`[section]\` header`,
      `${at(3)}: [log] level: "loud" is not one of error, warn, info, debug`,
      `${at(4)}: [tfpt]: unknown section; did you mean \`[tftp]\`?`,
      `${at(7)}: [image demo] file: "/demo.img" must be relative to the TFTP root (no leading /)`,
      `${at(8)}: [image demo] mtftp_group: is only used by MTFTP; set \`mtftp = true\` or remove this key`,
      `${at(9)}: cannot read this line: expected \`key = value\` or \`[section]\``,
      `${at(10)}: [image demo]: section appears twice (first at line 6); merge the two`,
      `${at(0)}: [tftp] root: required key is missing; add a [tftp] section with \`root = /srv/pxecast\``,
    ],
  },
];
