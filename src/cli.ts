#!/usr/bin/env node
// The `pxecast` command. `serve` runs the daemon; `check` validates a configuration the way
// `dnsmasq --test` does; the operator commands (status, sessions, ...) talk to a running daemon
// over its control socket (control-cli.ts).
import { parseArgs } from 'node:util';
import { CONTROL_COMMANDS, type ControlCommand } from './control/control-protocol.js';
import { runOperatorCommand, type OperatorArgs } from './control-cli.js';
import { DEFAULT_CONFIG_PATH, runCheck, runServe } from './main.js';
import { pxecastVersion } from './version.js';

const USAGE = `usage: pxecast <command> [options]

commands:
  serve          run the appliance (TFTP, multicast, MTFTP, DHCP per the config)
  check          validate the configuration and the image catalog, then exit
  version        print the version

operator commands, answered by the running daemon over its control socket:
  status         uptime, config file, services and their ports, counters
  sessions       running transfers: unicast, RFC 2090 members, MTFTP passes
  leases         the DHCP lease table
  catalog        images and their MTFTP channels
  reload         re-read the configuration; a rejected one is reported and the old one keeps serving
  drop SESSION   end one transfer with a TFTP ERROR (SESSION as \`pxecast sessions\` shows it)

options:
  --config FILE        ini file (default ${DEFAULT_CONFIG_PATH}); operator commands read its [control] socket
  --socket PATH        control socket to serve or to talk to, instead of the config's
  --json               operator commands: print the daemon's reply as JSON
  --watch              sessions: update every --interval seconds, until Ctrl-C or --count updates
  --interval SECONDS   sessions --watch: seconds between updates (default 1)
  --count N            sessions --watch: stop after N updates
`;

const OPERATOR_COMMANDS: readonly string[] = CONTROL_COMMANDS;
const DAEMON_COMMANDS: readonly string[] = ['serve', 'check', 'version', 'help'];

function usageError(problem: string): number {
  process.stderr.write(`pxecast: ${problem}\n${USAGE}`);
  return 2;
}

interface Args {
  readonly command: string;
  readonly positional: readonly string[];
  readonly config: string;
  readonly configGiven: boolean;
  readonly socket: string | null;
  readonly json: boolean;
  readonly watch: boolean;
  readonly intervalMs: number | null;
  readonly count: number | null;
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  socket: { type: 'string' },
  interval: { type: 'string' },
  count: { type: 'string' },
  json: { type: 'boolean' },
  watch: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function parseCommandLine(argv: readonly string[]): Args | { error: string } {
  // Tokens, not strict mode: a usage error names the option as the operator typed it.
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  let command: string | null = null;
  const positional: string[] = [];
  const values: { config?: string; socket?: string; interval?: string; count?: string } = {};
  let json = false;
  let watch = false;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (command === null) command = token.value;
      else positional.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') return { error: 'unknown option --' };
    const name = token.name;
    if (name === 'config' || name === 'socket' || name === 'interval' || name === 'count') {
      if (token.value === undefined || token.value === '') return { error: `${token.rawName} needs a value` };
      values[name] = token.value;
    } else if (name === 'json' && token.value === undefined) json = true;
    else if (name === 'watch' && token.value === undefined) watch = true;
    else if (name === 'help' && token.value === undefined) command = 'help';
    else if (name === 'version' && token.value === undefined) command = 'version';
    else return { error: `unknown option ${token.rawName}${token.inlineValue ? `=${token.value}` : ''}` };
  }
  const interval = values.interval === undefined ? null : Number(values.interval);
  if (interval !== null && !(interval >= 0.1 && interval <= 3600)) return { error: '--interval takes seconds, 0.1 to 3600' };
  const count = values.count === undefined ? null : Number(values.count);
  if (count !== null && !(Number.isInteger(count) && count >= 1)) return { error: '--count takes a whole number of updates, at least 1' };
  return {
    command: command ?? 'help',
    positional,
    config: values.config ?? DEFAULT_CONFIG_PATH,
    configGiven: values.config !== undefined,
    socket: values.socket ?? null,
    json,
    watch,
    intervalMs: interval === null ? null : Math.round(interval * 1000),
    count,
  };
}

/** Options and arguments each command accepts; anything else is a usage error. */
function checkUsage(a: Args): string | null {
  const operator = OPERATOR_COMMANDS.includes(a.command);
  const wantedArgs = a.command === 'drop' ? 1 : 0;
  if (a.positional.length !== wantedArgs) {
    return a.command === 'drop' ? 'drop needs exactly one SESSION (see `pxecast sessions`)' : `unexpected argument ${a.positional[0]}`;
  }
  if (a.json && !operator) return `--json is for the operator commands, not ${a.command}`;
  if (a.socket !== null && !operator && a.command !== 'serve') return `--socket is for serve and the operator commands, not ${a.command}`;
  if (a.watch && a.command !== 'sessions') return '--watch is for `sessions` only';
  if ((a.intervalMs !== null || a.count !== null) && !a.watch) return '--interval and --count go with `sessions --watch`';
  return null;
}

async function main(): Promise<number> {
  const parsed = parseCommandLine(process.argv.slice(2));
  if ('error' in parsed) return usageError(parsed.error);
  if (!OPERATOR_COMMANDS.includes(parsed.command) && !DAEMON_COMMANDS.includes(parsed.command)) {
    return usageError(`unknown command '${parsed.command}'`);
  }
  const problem = checkUsage(parsed);
  if (problem !== null) return usageError(problem);
  switch (parsed.command) {
    case 'serve':
      return runServe(parsed.config, parsed.socket === null ? {} : { socket: parsed.socket });
    case 'check':
      return runCheck(parsed.config);
    case 'version':
      process.stdout.write(`pxecast ${pxecastVersion()}\n`);
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default: {
      const args: OperatorArgs = {
        command: parsed.command as ControlCommand,
        session: parsed.positional[0] ?? null,
        config: parsed.config,
        configGiven: parsed.configGiven,
        socket: parsed.socket,
        json: parsed.json,
        watch: parsed.watch,
        intervalMs: parsed.intervalMs ?? 1000,
        count: parsed.count,
      };
      return runOperatorCommand(args);
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    if (code !== 0 || process.argv[2] === 'serve') process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`pxecast: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
