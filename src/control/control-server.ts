// Glue between the control transport and the handler: frame text -> JSON -> handler -> JSON. Every
// frame gets a reply, including text that is not JSON; the operator actions are logged.
import type { ControlRequestHandler, Logger } from '../io/ports.js';
import { handleControlRequest, type DaemonView } from './control-handler.js';
import { errorReply, type ControlReply } from './control-protocol.js';

export function controlRequestHandler(view: DaemonView, log: Logger): ControlRequestHandler {
  return {
    async onRequest(text) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(text);
      } catch {
        log.debug('control request is not JSON', { request: text.slice(0, 80) });
        return JSON.stringify(errorReply('malformed-request', 'the request is not JSON'));
      }
      const reply = await handleControlRequest(decoded, view);
      logExchange(decoded, reply, log);
      return JSON.stringify(reply);
    },
    onOversize: (limitBytes) => JSON.stringify(errorReply('malformed-request', `the request is larger than ${limitBytes} bytes`)),
  };
}

/** Reload and drop change the daemon: info. Queries: debug. */
function logExchange(request: unknown, reply: ControlReply, log: Logger): void {
  const asked = typeof request === 'object' && request !== null ? (request as { command?: unknown }).command : undefined;
  const command = typeof asked === 'string' ? asked : '?';
  const outcome = reply.ok ? 'ok' : reply.error.code;
  if (reply.ok && reply.command === 'drop') log.info('session dropped by the operator', { session: reply.session });
  else if (command === 'reload' || command === 'drop') log.info('control request', { command, outcome });
  else log.debug('control request', { command, outcome });
}
