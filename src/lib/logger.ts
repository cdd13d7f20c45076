/**
 * Structured JSON logs (pino). Anything that looks like a secret is redacted
 * by path as a second line of defence; the first is never passing one in.
 */
import os from 'node:os';
import pino, { type Logger, type DestinationStream } from 'pino';
import { stripControl, stripControlDeep } from './control-chars.js';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrftoken"]',
  'res.headers["set-cookie"]',
];

/**
 * Every line says which process wrote it (pino's `pid` and `hostname`): in scale-out, logs of many processes meet.
 * Every string logged loses its control characters and terminal escapes first (a database name or an error
 * text chosen by a monitored server must not drive the terminal of whoever reads the log).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'whalefall', pid: process.pid, hostname: os.hostname() },
      redact: { paths: REDACT_PATHS, censor: '***' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, stripControlDeep(args));
        },
      },
    },
    destination,
  );
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const QUIET = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app']);

/** One JSON log line as a line for people: `12:00:01 INFO  message key=value …` (the `--pretty` flag). */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(typeof o.time === 'number' ? o.time : Date.now()).toISOString().slice(11, 19);
  const level = (LEVEL_NAMES[o.level as number] ?? String(o.level)).padEnd(5);
  const rest = Object.entries(o)
    .filter(([k]) => !QUIET.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  // JSON.parse brings escaped control characters back: strip them again before they reach a terminal.
  return stripControl(`${time} ${level} ${typeof o.msg === 'string' ? o.msg : ''}${rest ? `  ${rest}` : ''}`);
}

/** A destination that writes `prettyLine`s to `out` (stdout by default). */
export function prettyDestination(out: NodeJS.WritableStream = process.stdout): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(`${prettyLine(line)}\n`);
    },
  };
}
