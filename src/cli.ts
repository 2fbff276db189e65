#!/usr/bin/env node
// The `pxecast` command. `serve` runs the daemon; `check` validates a configuration the way
// `dnsmasq --test` does. Later control subcommands (status, sessions, reload...) join here.
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, runCheck, runServe } from './main.js';

const USAGE = `usage: pxecast <command> [--config FILE]

commands:
  serve     run the appliance (TFTP; DHCP and multicast per the config)
  check     validate the configuration and the image catalog, then exit
  version   print the version

options:
  --config FILE   ini file to use (default ${DEFAULT_CONFIG_PATH})
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parseArgs(argv: readonly string[]): { command: string; config: string } | { error: string } {
  let command: string | null = null;
  let config = DEFAULT_CONFIG_PATH;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg === '-c') {
      const value = argv[++i];
      if (value === undefined) return { error: `${arg} needs a file name` };
      config = value;
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else if (arg === '--help' || arg === '-h') command = 'help';
    else if (arg === '--version') command = 'version';
    else if (arg.startsWith('-')) return { error: `unknown option ${arg}` };
    else if (command === null) command = arg;
    else return { error: `unexpected argument ${arg}` };
  }
  return { command: command ?? 'help', config };
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if ('error' in parsed) {
    process.stderr.write(`pxecast: ${parsed.error}\n${USAGE}`);
    return 2;
  }
  switch (parsed.command) {
    case 'serve':
      return runServe(parsed.config);
    case 'check':
      return runCheck(parsed.config);
    case 'version':
      process.stdout.write(`pxecast ${version()}\n`);
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`pxecast: unknown command '${parsed.command}'\n${USAGE}`);
      return 2;
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
