// The only module that knows winston. Text lines are `time level message key=value ...`, one per
// event, so journald and grep both work; json is one object per line.
import winston from 'winston';
import type { LogFields, LogFormat, Logger, LogLevel } from './ports.js';

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

const textFormat = winston.format.printf((info) => {
  const { level, message, timestamp, ...fields } = info as Record<string, unknown>;
  const tail = Object.entries(fields)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  return `${String(timestamp)} ${String(level)} ${String(message)}${tail ? ' ' + tail : ''}`;
});

// winston formats every message (timestamp, printf) before its transports drop those below the
// level: a per-packet debug line would cost that work even at `warn`, so the level is asked first.
class WinstonLogger implements Logger {
  constructor(private readonly w: winston.Logger) {}
  child(fields: LogFields): Logger {
    return new WinstonLogger(this.w.child(fields));
  }
  debug(message: string, fields?: LogFields): void {
    if (this.w.isLevelEnabled('debug')) this.w.debug(message, fields);
  }
  info(message: string, fields?: LogFields): void {
    if (this.w.isLevelEnabled('info')) this.w.info(message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    if (this.w.isLevelEnabled('warn')) this.w.warn(message, fields);
  }
  error(message: string, fields?: LogFields): void {
    if (this.w.isLevelEnabled('error')) this.w.error(message, fields);
  }
}

export interface WinstonHandle {
  readonly logger: Logger;
  setLevel(level: LogLevel): void;
}

export function createWinstonLogger(level: LogLevel, format: LogFormat): WinstonHandle {
  const w = winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      format === 'json' ? winston.format.json() : textFormat,
    ),
    transports: [new winston.transports.Console()],
  });
  return { logger: new WinstonLogger(w), setLevel: (l) => (w.level = l) };
}
