// Types for the parts of the `dhcp` package (v0.2.20, CommonJS, no typings) that pxecast uses:
// its packet codec and its option table. Only codec/dhcp-message.ts imports them.
declare module 'dhcp' {
  export interface DhcpOptionSpec {
    readonly name: string;
    readonly type: string;
    readonly attr?: string;
  }
  const dhcp: {
    /** Registers an option in the package's (module-global) option table. */
    addOption(code: number, spec: DhcpOptionSpec): void;
  };
  export default dhcp;
}

declare module 'dhcp/lib/options.js' {
  const options: { readonly opts: Record<string, { readonly name: string; readonly type: string } | undefined> };
  export default options;
}

declare module 'dhcp/lib/protocol.js' {
  export interface LibPacket {
    op: number;
    htype: number;
    hlen: number;
    hops: number;
    xid: number;
    secs: number;
    flags: number;
    ciaddr: string;
    yiaddr: string;
    siaddr: string;
    giaddr: string;
    chaddr: string;
    sname: string;
    file: string;
    magicCookie?: number;
    options: Record<number, unknown>;
  }
  export interface SeqBuffer {
    readonly _data: Buffer;
    readonly _w: number;
  }
  const protocol: {
    parse(buf: Buffer): LibPacket;
    format(data: LibPacket): SeqBuffer;
  };
  export default protocol;
}
