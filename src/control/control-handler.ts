// The daemon's side of the control protocol: a decoded request and a view of the daemon in, a
// reply out. Nothing here touches a socket, so every rule is a unit test; a bug in the view ends
// as an `internal-error` reply instead of an exception on the control socket.
import {
  errorReply,
  parseControlRequest,
  successReply,
  type CatalogInfo,
  type ControlReply,
  type LeasesInfo,
  type SessionInfo,
  type StatusInfo,
} from './control-protocol.js';

export type ViewReloadResult =
  | { readonly ok: true; readonly configFile: string; readonly images: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

export type DropResult = 'dropped' | 'no-such-session' | 'not-droppable';

/** What the control channel may see of and do to the running daemon. */
export interface DaemonView {
  status(): StatusInfo;
  sessions(): readonly SessionInfo[];
  leases(): LeasesInfo;
  catalog(): CatalogInfo;
  /** Loads the config file again; a rejected config leaves the old one serving. */
  reload(): Promise<ViewReloadResult>;
  drop(sessionId: string): DropResult;
}

export async function handleControlRequest(input: unknown, view: DaemonView): Promise<ControlReply> {
  const parsed = parseControlRequest(input);
  if (!parsed.ok) return parsed.reply;
  const request = parsed.request;
  try {
    switch (request.command) {
      case 'status':
        return successReply({ command: 'status', status: view.status() });
      case 'sessions':
        return successReply({ command: 'sessions', sessions: view.sessions() });
      case 'leases':
        return successReply({ command: 'leases', leases: view.leases() });
      case 'catalog':
        return successReply({ command: 'catalog', catalog: view.catalog() });
      case 'reload': {
        const result = await view.reload();
        if (!result.ok) {
          return errorReply('config-rejected', 'the new configuration was rejected; the previous one keeps serving', result.errors);
        }
        return successReply({ command: 'reload', configFile: result.configFile, images: result.images });
      }
      case 'drop': {
        const result = view.drop(request.session);
        if (result === 'no-such-session') {
          return errorReply('no-such-session', `no session ${request.session} (it may have just ended; see \`pxecast sessions\`)`);
        }
        if (result === 'not-droppable') {
          return errorReply(
            'not-droppable',
            `session ${request.session} cannot be dropped: only TFTP transfers can (an MTFTP pass also serves listeners the server does not know)`,
          );
        }
        return successReply({ command: 'drop', session: request.session });
      }
    }
  } catch (e) {
    return errorReply('internal-error', `the daemon failed to answer \`${request.command}\`: ${(e as Error).message}`);
  }
}
