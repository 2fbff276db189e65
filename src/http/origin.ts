// How clients are told where the HTTP server is: `http://HOST[:PORT]`, the base of every boot URL
// DHCP hands out. Port 80 is left out (RFC 3986 3.2.3: a URI producer omits the scheme's default
// port): Debian's signed GRUB 2.06 (grubnetx64), booted by UEFI HTTP Boot, takes everything
// between `http://` and the next `/` of its boot URL as the server's name, so `10.0.0.1:80` is a
// host it cannot resolve and it fetches nothing, while `10.0.0.1` works. Any other port stays.

export function httpOrigin(host: string, port: number): string {
  const name = host.includes(':') ? `[${host}]` : host;
  return port === 80 ? `http://${name}` : `http://${name}:${port}`;
}
