// Where a reply goes (RFC 2131 4.1, protocols.md 6.4), as a value. A user-space server cannot
// unicast to an address the kernel cannot ARP yet, so the "unicast to yiaddr at chaddr" case
// falls back to broadcast, which the RFC allows.
import type { PeerAddress } from '../io/ports.js';

export interface DestinationInput {
  readonly giaddr: string;
  readonly ciaddr: string;
  readonly isNak: boolean;
  /** Client and server ports of this service (68/67 normally). */
  readonly clientPort: number;
  readonly serverPort: number;
}

export const BROADCAST = '255.255.255.255';

export function replyDestination({ giaddr, ciaddr, isNak, clientPort, serverPort }: DestinationInput): PeerAddress {
  if (giaddr !== '0.0.0.0') return { address: giaddr, port: serverPort }; // the relay delivers it
  if (isNak) return { address: BROADCAST, port: clientPort };
  if (ciaddr !== '0.0.0.0') return { address: ciaddr, port: clientPort };
  return { address: BROADCAST, port: clientPort };
}
