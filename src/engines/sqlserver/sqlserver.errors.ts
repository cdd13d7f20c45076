/**
 * SQL Server error classification: the ERROR token's number first (the same
 * driver code EREQUEST covers every server error), then mssql/tedious codes,
 * then Node's network codes (engines/common.ts).
 */
import type { SyncError } from '../../lib/errors.js';
import type { ConnectTarget } from '../engine.js';
import { classify, errorCode, type Verdict } from '../common.js';

const SERVER_ERRORS: Record<number, Verdict> = {
  18456: ['auth', 'cause.mssql.login_failed'],
  18452: ['auth', 'cause.mssql.untrusted_domain'],
  18486: ['auth', 'cause.account_locked'],
  18487: ['auth', 'cause.password_expired'],
  18488: ['auth', 'cause.mssql.must_change_password'],
  229: ['permission', 'cause.permission'],
  230: ['permission', 'cause.permission'],
  262: ['permission', 'cause.permission'],
  297: ['permission', 'cause.permission'],
  300: ['permission', 'cause.mssql.server_permission'],
  916: ['permission', 'cause.mssql.db_access'],
  4060: ['connection', 'cause.mssql.cannot_open_db'],
  911: ['connection', 'cause.mssql.db_missing'],
  927: ['connection', 'cause.mssql.db_restoring'],
  942: ['connection', 'cause.mssql.db_offline'],
  945: ['connection', 'cause.mssql.db_files'],
  952: ['connection', 'cause.mssql.db_transition'],
  // An availability-group secondary that refuses reads (976), or accepts only read-intent connections (978).
  976: ['connection', 'cause.mssql.ag_not_readable'],
  978: ['connection', 'cause.mssql.ag_read_intent'],
  1222: ['timeout', 'cause.lock_timeout'],
};

/** mssql/tedious codes. ESOCKET only when no Node socket error lies underneath (see rootCause). */
const DRIVER_CODES: Record<string, Verdict> = {
  ELOGIN: ['auth', 'cause.mssql.login_failed'],
  ETIMEOUT: ['timeout', 'cause.timeout'],
  ECANCEL: ['timeout', 'cause.request_cancelled'],
  EINSTLOOKUP: ['connection', 'cause.mssql.instance_lookup'],
  EENCRYPT: ['connection', 'cause.mssql.encrypt_required'],
  ESOCKET: ['connection', 'cause.network_failed'],
  ECLOSE: ['connection', 'cause.connection_closed'],
  ECONNCLOSED: ['connection', 'cause.connection_closed'],
  ENOTOPEN: ['connection', 'cause.not_open'],
  ETDS: ['unsupported', 'cause.mssql.tds_version'],
  EINTERFACENOTSUPP: ['unsupported', 'cause.mssql.interface'],
};

/**
 * A refused login. tedious keeps only the ERROR token's text of a login
 * failure (ELOGIN), not its number or state: the text says which. 18456's
 * state reaches the client only as the "Reason: …" some servers (and Azure
 * SQL) append; otherwise it is in the server's error log alone.
 */
function loginVerdict(message: string): Verdict | null {
  if (/^Cannot open database .* requested by the login/i.test(message)) return SERVER_ERRORS[4060]!;
  if (/untrusted domain/i.test(message)) return SERVER_ERRORS[18452]!;
  if (!/^Login failed/i.test(message)) return null;
  if (/Password did not match/i.test(message)) return ['auth', 'cause.mssql.login_bad_password'];
  if (/Could not find a login matching/i.test(message)) return ['auth', 'cause.mssql.login_missing'];
  if (/Login is disabled/i.test(message)) return ['auth', 'cause.mssql.login_disabled'];
  if (/only for Windows authentication|configured for Windows authentication only/i.test(message)) return ['auth', 'cause.mssql.windows_only'];
  if (/Failed to open the (explicitly specified )?database/i.test(message)) return SERVER_ERRORS[4060]!;
  return SERVER_ERRORS[18456]!;
}

function sqlserverVerdict(err: unknown): Verdict | null {
  // mssql copies the ERROR token's number; for its own errors `number` is the code string.
  const number = (err as { number?: unknown } | null)?.number;
  const message = err instanceof Error ? err.message : '';
  if (number === 18456 || number === 4060 || errorCode(err) === 'ELOGIN') {
    const v = loginVerdict(message);
    if (v) return v;
  }
  if (typeof number === 'number' && SERVER_ERRORS[number]) return SERVER_ERRORS[number];
  const code = errorCode(err);
  return (code && DRIVER_CODES[code]) || null;
}

/**
 * The error that says what happened. A refused connection arrives as mssql
 * ConnectionError(ESOCKET "Could not connect (sequence)") → tedious
 * ConnectionError → AggregateError → Node's ECONNREFUSED: the innermost
 * error with a code is the one the network table knows.
 */
function rootCause(err: unknown): unknown {
  let found = err;
  let current = err;
  for (let depth = 0; current && depth < 6; depth++) {
    if (errorCode(current) !== undefined) found = current;
    const e = current as { originalError?: unknown; cause?: unknown };
    current = e.originalError ?? e.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
  }
  return found;
}

export const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(rootCause(err), target, sqlserverVerdict);
