/**
 * Structured JSON logs (pino). Anything that looks like a secret is redacted
 * by path as a second line of defence; the first is never passing one in.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { app: 'whalefall' }, redact: { paths: REDACT_PATHS, censor: '***' } }, destination);
}
