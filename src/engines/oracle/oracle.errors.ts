/**
 * Oracle error classification. Thin mode reports network failures with its
 * own NJS codes, not the ORA-125xx a thick client gives: a refused/unreachable
 * TCP connect is NJS-503 (the OS cause at the end of the message),
 * `connectTimeout` expiry NJS-510, an unknown service (ORA-12514) NJS-518, a
 * listener refusal NJS-511 (with the ORA code inside), an unresolvable host
 * NJS-530, a dropped connection NJS-500 (ORA-03113 and similar are rewritten
 * to it), a server older than 12.1 NJS-138. Server errors keep ORA-nnnnn.
 */
import type { SyncError } from '../../lib/errors.js';
import type { ConnectTarget } from '../engine.js';
import { classify, errorCode, type Verdict } from '../common.js';

const CODES: Record<string, Verdict> = {
  'ORA-01017': ['auth', 'cause.oracle.bad_login'],
  'ORA-28000': ['auth', 'cause.oracle.locked'],
  'ORA-28001': ['auth', 'cause.password_expired'],
  'ORA-01045': ['permission', 'cause.oracle.no_create_session'],
  'ORA-00942': ['permission', 'cause.oracle.no_catalog'],
  'ORA-01031': ['permission', 'cause.permission'],
  'ORA-01013': ['timeout', 'cause.oracle.cancelled'],
  'ORA-01033': ['connection', 'cause.oracle.starting'],
  'ORA-01034': ['connection', 'cause.oracle.unavailable'],
  // A thick client's (or a proxy's) listener errors; thin mode says NJS-518 / NJS-503 instead.
  'ORA-12514': ['connection', 'cause.oracle.unknown_service'],
  'ORA-12541': ['connection', 'cause.oracle.no_listener'],
  'NJS-123': ['timeout', 'cause.query_timeout'],
  'NJS-510': ['timeout', 'cause.connect_timeout'],
  'NJS-500': ['connection', 'cause.connection_lost'],
  'NJS-501': ['connection', 'cause.oracle.ended'],
  'NJS-521': ['connection', 'cause.oracle.closed_by_server'],
  'NJS-511': ['connection', 'cause.oracle.listener_refused'],
  'NJS-518': ['connection', 'cause.oracle.unknown_service'],
  'NJS-530': ['connection', 'cause.host_unknown'],
  'NJS-138': ['unsupported', 'cause.oracle.too_old'],
};

/** `ORA-00942` from `code`, or from `errorNum` when only that is set. */
export function oracleCode(err: unknown): string | undefined {
  const code = errorCode(err);
  if (code) return code;
  const num = (err as { errorNum?: unknown } | null)?.errorNum;
  return typeof num === 'number' ? `ORA-${String(num).padStart(5, '0')}` : undefined;
}

function oracleVerdict(err: unknown): Verdict | null {
  const code = oracleCode(err);
  const message = err instanceof Error ? err.message : '';
  if (code === 'NJS-503') {
    // Thin mode's refused TCP connect: nothing listens on that host and port, ORA-12541's case.
    return message.includes('ECONNREFUSED') ? CODES['ORA-12541']! : ['connection', 'cause.connection_failed'];
  }
  // NJS-511 carries the listener's ORA code inside its message.
  const inner = code === 'NJS-511' ? /ORA-125\d\d/.exec(message)?.[0] : undefined;
  return (inner && CODES[inner]) || (code ? (CODES[code] ?? null) : null);
}

export const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(err, target, oracleVerdict);

/** The view is missing to this user: not granted (ORA-00942 hides it entirely) or refused (ORA-01031). */
export function isMissingView(err: unknown): boolean {
  const code = oracleCode(err);
  return code === 'ORA-00942' || code === 'ORA-01031';
}
