// The operator commands' side of the control protocol: one request, one checked reply, and a
// one-line explanation when the daemon cannot be reached.
import type { ControlTransport } from '../io/ports.js';
import {
  CONTROL_PROTOCOL_VERSION,
  parseControlReply,
  type ControlCommand,
  type ControlRequest,
  type ParsedReply,
} from './control-protocol.js';

/** Reload re-reads the config and checks every image file: allow it some time. */
export const CONTROL_TIMEOUT_MS = 10_000;

/** The daemon could not be asked at all; the message is one line for the operator. */
export class DaemonUnreachable extends Error {
  override readonly name = 'DaemonUnreachable';
}

export type RequestFor<C extends ControlCommand> = Extract<ControlRequest, { command: C }>;

export function controlRequest<C extends Exclude<ControlCommand, 'drop'>>(command: C): RequestFor<C> {
  return { version: CONTROL_PROTOCOL_VERSION, command } as RequestFor<C>;
}

/** @throws DaemonUnreachable */
export async function askDaemon<C extends ControlCommand>(
  transport: ControlTransport,
  socketPath: string,
  request: RequestFor<C>,
  timeoutMs = CONTROL_TIMEOUT_MS,
): Promise<ParsedReply<C>> {
  let text: string;
  try {
    text = await transport.request(socketPath, JSON.stringify(request), timeoutMs);
  } catch (e) {
    throw new DaemonUnreachable(unreachableMessage(e as NodeJS.ErrnoException, socketPath, timeoutMs));
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch {
    throw new DaemonUnreachable(`the process on ${socketPath} is not pxecast (its reply is not JSON)`);
  }
  return parseControlReply(decoded, request.command as C);
}

function unreachableMessage(e: NodeJS.ErrnoException, path: string, timeoutMs: number): string {
  switch (e.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return `pxecast is not running (no control socket at ${path})`;
    case 'ECONNREFUSED':
      return `pxecast is not running (nothing answers on ${path})`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${path}: run as root or as a member of the socket's group (pxecast)`;
    case 'ETIMEDOUT':
      return `pxecast did not answer on ${path} within ${timeoutMs / 1000} s`;
    case 'ECONNRESET':
      return `pxecast closed the control connection on ${path} without answering`;
    default:
      return `cannot reach pxecast on ${path}: ${e.message}`;
  }
}
