// The operator commands (`pxecast status`, `sessions`, `leases`, `catalog`, `reload`, `drop`): find
// the daemon's control socket, ask, print. Text for people by default, the daemon's reply with
// `--json`; exit 0 on success, 1 when the daemon cannot be reached or refuses.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { ConfigError, formatIssue } from './config/config-error.js';
import { readControlSection } from './config/control-section.js';
import { askDaemon, controlRequest, DaemonUnreachable, type RequestFor } from './control/control-client.js';
import { formatCatalog, formatLeases, formatSessionLines, formatSessions, formatStatus } from './control/control-format.js';
import type { ControlCommand, ControlError, ReplyTo } from './control/control-protocol.js';
import { nodeIpcTransport } from './io/node-ipc-transport.js';

export interface OperatorArgs {
  readonly command: ControlCommand;
  /** `drop`: the session id. */
  readonly session: string | null;
  readonly config: string;
  /** --config was given (a missing default config file is not an error: the default socket is). */
  readonly configGiven: boolean;
  readonly socket: string | null;
  readonly json: boolean;
  readonly watch: boolean;
  readonly intervalMs: number;
  /** --count: updates before `--watch` ends; null until Ctrl-C. */
  readonly count: number | null;
}

class OperatorError extends Error {}

const out = (lines: readonly string[]) => process.stdout.write(`${lines.join('\n')}\n`);

export async function runOperatorCommand(args: OperatorArgs): Promise<number> {
  try {
    const socket = await controlSocketPath(args);
    if (args.command === 'sessions' && args.watch) return await watchSessions(socket, args);
    return await runOnce(socket, args);
  } catch (e) {
    if (e instanceof DaemonUnreachable || e instanceof OperatorError) {
      process.stderr.write(`pxecast: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** --socket, else the [control] section of the config file (only that section: see control-section.ts). */
async function controlSocketPath(args: OperatorArgs): Promise<string> {
  if (args.socket !== null) return resolve(args.socket);
  const file = resolve(args.config);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    // Without its config file a daemon can only be on the default socket.
    if (args.configGiven || error.code !== 'ENOENT') {
      throw new OperatorError(`cannot read ${file} to find the control socket (${error.code ?? error.message}); or pass --socket PATH`);
    }
    text = '';
  }
  let control;
  try {
    control = readControlSection(text, file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new OperatorError(`cannot find the control socket: ${formatIssue(e.issues[0]!)}`);
  }
  if (!control.enabled) throw new OperatorError(`${file} turns the control socket off ([control] enabled = false)`);
  return control.socket;
}

async function ask<C extends ControlCommand>(socket: string, request: RequestFor<C>, json: boolean): Promise<ReplyTo<C> | null> {
  const parsed = await askDaemon(nodeIpcTransport, socket, request);
  if (parsed.ok) return parsed.reply;
  reportRefusal(parsed.error, json);
  return null;
}

function reportRefusal(error: ControlError, json: boolean): void {
  if (json) out([JSON.stringify({ version: 1, ok: false, error }, null, 2)]);
  else process.stderr.write(`pxecast: ${error.message}\n${error.details.map((d) => `  ${d}\n`).join('')}`);
}

async function runOnce(socket: string, args: OperatorArgs): Promise<number> {
  const reply = await (args.command === 'drop'
    ? ask(socket, { version: 1, command: 'drop', session: args.session! }, args.json)
    : ask(socket, controlRequest(args.command), args.json));
  if (reply === null) return 1;
  if (args.json) {
    out([JSON.stringify(reply, null, 2)]);
    return 0;
  }
  switch (reply.command) {
    case 'status':
      out(formatStatus(reply.status));
      break;
    case 'sessions':
      out(formatSessions(reply.sessions));
      break;
    case 'leases':
      out(formatLeases(reply.leases));
      break;
    case 'catalog':
      out(formatCatalog(reply.catalog));
      break;
    case 'reload':
      out([`configuration reloaded from ${reply.configFile}: ${reply.images.length} image(s)${reply.images.length ? ` (${reply.images.join(', ')})` : ''}`]);
      break;
    case 'drop':
      out([`dropped ${reply.session}: the client got a TFTP ERROR`]);
      break;
  }
  return 0;
}

/**
 * `sessions --watch`: on a terminal the table is redrawn in place; elsewhere (pipes, logs) every
 * update prints one timestamped line per session; with --json one reply per line. Ends after
 * --count updates or on Ctrl-C (exit 0).
 */
async function watchSessions(socket: string, args: OperatorArgs): Promise<number> {
  const tty = process.stdout.isTTY === true && !args.json;
  let interrupted = false;
  let wake = () => {};
  const onInterrupt = () => {
    interrupted = true;
    wake();
  };
  process.on('SIGINT', onInterrupt);
  let drawnLines = 0;
  try {
    for (let update = 0; args.count === null || update < args.count; update++) {
      if (update > 0) {
        await new Promise<void>((resume) => {
          const timer = setTimeout(resume, args.intervalMs);
          wake = () => {
            clearTimeout(timer);
            resume();
          };
        });
      }
      if (interrupted) break;
      const reply = await ask(socket, controlRequest('sessions'), args.json);
      if (reply === null) return 1;
      const now = new Date();
      if (args.json) out([JSON.stringify(reply)]);
      else if (!tty) out(formatSessionLines(reply.sessions, now));
      else {
        // Lines that wrap would break the redraw; 0 columns means the terminal did not say.
        const width = Math.max(20, (process.stdout.columns || 120) - 1);
        const lines = [`pxecast sessions at ${now.toLocaleTimeString()}, every ${args.intervalMs / 1000} s; Ctrl-C to stop`, '', ...formatSessions(reply.sessions)].map(
          (l) => l.slice(0, width),
        );
        // Up to the first line of the previous frame, clear from there down, draw.
        process.stdout.write(`${drawnLines > 0 ? `\x1b[${drawnLines}A\r\x1b[J` : ''}${lines.join('\n')}\n`);
        drawnLines = lines.length;
      }
    }
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
