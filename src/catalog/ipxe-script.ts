// iPXE scripts rendered per request (`[image NAME] ipxe_script`): an iPXE client of the image is
// handed `http://SERVER:PORT/_pxecast/ipxe/IMAGE?mac=MAC&arch=ARCH` by DHCP, and the HTTP server
// answers that URL with the image's template, its `{{name}}` placeholders filled in for that client.
// `{{...}}` is used because `${...}` is iPXE's own setting syntax and passes through untouched.
// Pure: the catalog checks templates at load time (unknown names are refused there, by file, line
// and key), the HTTP glue renders, the boot policy builds the URL.

/** The placeholders a template may use, and what they become. */
export const IPXE_SCRIPT_VARIABLES = {
  mac: 'the client MAC (from the URL DHCP handed out), colon-separated',
  ip: 'the client address the request came from',
  arch: 'the client architecture name (bios, efi-x64, ...) or `unknown`',
  image: 'the image name',
  base_url: 'the HTTP server as the client reached it, `http://HOST:PORT`',
  host: 'the `[host NAME]` of the MAC, or empty',
  hostname: 'that host\'s `hostname`, or empty',
} as const;

export type IpxeScriptVariable = keyof typeof IPXE_SCRIPT_VARIABLES;

/** Where rendered scripts live on the HTTP server. */
export const IPXE_SCRIPT_PREFIX = '/_pxecast/ipxe/';

/** The largest template read (a script that boots a kernel is a few hundred bytes). */
export const MAX_IPXE_SCRIPT_BYTES = 64 * 1024;

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** Placeholder names a template uses that are not variables. */
export function unknownPlaceholders(template: string): string[] {
  const unknown = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) if (!(m[1]! in IPXE_SCRIPT_VARIABLES)) unknown.add(m[1]!);
  return [...unknown];
}

export function renderIpxeScript(template: string, values: Readonly<Record<IpxeScriptVariable, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => (name in values ? values[name as IpxeScriptVariable] : whole));
}

/** The URL DHCP gives an iPXE client of `image`. */
export function ipxeScriptUrl(base: string, image: string, mac: string, arch: string | null): string {
  const query = new URLSearchParams({ mac, arch: arch ?? 'unknown' }).toString();
  return `${base}${IPXE_SCRIPT_PREFIX}${encodeURIComponent(image)}?${query}`;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const ARCH = /^[a-z0-9-]{1,20}$/;

/** A rendered-script request-target: the image and what the URL says of the client; null if not one. */
export function parseIpxeScriptTarget(target: string): { image: string; mac: string; arch: string } | null {
  if (!target.startsWith(IPXE_SCRIPT_PREFIX)) return null;
  const [path = '', query = ''] = target.slice(IPXE_SCRIPT_PREFIX.length).split('?', 2);
  let image: string;
  try {
    image = decodeURIComponent(path);
  } catch {
    return { image: '', mac: 'unknown', arch: 'unknown' };
  }
  const params = new URLSearchParams(query);
  const mac = (params.get('mac') ?? '').toLowerCase();
  const arch = params.get('arch') ?? '';
  // Values from the URL are echoed into a script: only well-formed ones are.
  return { image, mac: MAC.test(mac) ? mac : 'unknown', arch: ARCH.test(arch) ? arch : 'unknown' };
}
