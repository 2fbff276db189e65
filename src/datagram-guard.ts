// Every socket handler runs behind this: a datagram can never throw out of the handler and take
// the daemon down (design.md "Catch decode errors once, at the socket"). Malformed input
// (DecodeError) goes to the caller's counter; anything else is a bug, logged with the packet, and
// the server keeps serving.
import { DecodeError } from './codec/decode-error.js';
import type { DatagramHandler, Logger, PeerAddress } from './io/ports.js';

export type DecodeErrorSink = (error: DecodeError, data: Buffer, from: PeerAddress) => void;

export function guarded(logger: Logger, service: string, handle: DatagramHandler, onDecodeError: DecodeErrorSink): DatagramHandler {
  return (data, from) => {
    try {
      handle(data, from);
    } catch (e) {
      if (e instanceof DecodeError) {
        onDecodeError(e, data, from);
        return;
      }
      logger.error(`bug: exception while handling a ${service} datagram`, {
        peer: `${from.address}:${from.port}`,
        error: (e as Error).stack ?? String(e),
        packet: data.subarray(0, 64).toString('hex'),
      });
    }
  };
}
