// IPv4 and MAC text as the configuration checks need it: validated text, numbers for comparison.
export const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
export const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function ipv4Number(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function subnetOf(address: string, prefix: number): number {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (ipv4Number(address) & mask) >>> 0;
}

/** `52-54-00-AA-BB-CC` and `52:54:00:aa:bb:cc` alike become the latter; check the result with MAC. */
export function normalizeMac(text: string): string {
  return text.trim().toLowerCase().replace(/-/g, ':');
}
