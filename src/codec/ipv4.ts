// IPv4 and MAC text: validated text, numbers for comparison and arithmetic. The one place that
// turns dotted quads into numbers and back (config checks, the lease table, the group pool).
export const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
export const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0) >>> 0;
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join('.');
}

function maskNumber(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `24` → `255.255.255.0`. */
export function prefixMask(prefix: number): string {
  return numberToIpv4(maskNumber(prefix));
}

export function subnetOf(address: string, prefix: number): number {
  return (ipv4ToNumber(address) & maskNumber(prefix)) >>> 0;
}

/** `52-54-00-AA-BB-CC` and `52:54:00:aa:bb:cc` alike become the latter; check the result with MAC. */
export function normalizeMac(text: string): string {
  return text.trim().toLowerCase().replace(/-/g, ':');
}
