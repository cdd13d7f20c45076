/**
 * SQL Server error classification: the ERROR token's number first (the same
 * driver code EREQUEST covers every server error), then mssql/tedious codes,
 * then Node's network codes (engines/common.ts).
 */
import type { SyncError } from '../../lib/errors.js';
import type { ConnectTarget } from '../engine.js';
import { classify, errorCode, type Verdict } from '../common.js';

const SERVER_ERRORS: Record<number, Verdict> = {
  18456: ['auth', '登录失败'],
  18452: ['auth', '登录失败 (不受信任的域)'],
  18486: ['auth', '账户已锁定'],
  18487: ['auth', '密码已过期'],
  18488: ['auth', '必须修改密码'],
  229: ['permission', '权限不足'],
  230: ['permission', '权限不足'],
  262: ['permission', '权限不足'],
  297: ['permission', '权限不足'],
  300: ['permission', '权限不足 (缺少服务器级权限，如 VIEW SERVER STATE)'],
  916: ['permission', '无权访问该数据库'],
  4060: ['connection', '无法打开数据库'],
  911: ['connection', '数据库不存在'],
  927: ['connection', '数据库正在还原，不可用'],
  942: ['connection', '数据库已脱机'],
  945: ['connection', '数据库文件不可访问'],
  952: ['connection', '数据库正在切换状态'],
  // An availability-group secondary that refuses reads (976), or accepts only read-intent connections (978).
  976: ['connection', '可用性组次要副本不可读 (availability group secondary not readable)'],
  978: ['connection', '可用性组次要副本只接受 ApplicationIntent=ReadOnly 连接 (secondary accepts read-intent connections only)'],
  1222: ['timeout', '锁等待超时'],
};

/** mssql/tedious codes. ESOCKET only when no Node socket error lies underneath (see rootCause). */
const DRIVER_CODES: Record<string, Verdict> = {
  ELOGIN: ['auth', '登录失败'],
  ETIMEOUT: ['timeout', '超时'],
  ECANCEL: ['timeout', '请求已取消'],
  EINSTLOOKUP: ['connection', '无法通过 SQL Server Browser (UDP 1434) 找到命名实例'],
  EENCRYPT: ['connection', '服务器要求加密连接，请启用 encrypt 选项'],
  ESOCKET: ['connection', '网络连接失败'],
  ECLOSE: ['connection', '连接已关闭'],
  ECONNCLOSED: ['connection', '连接已关闭'],
  ENOTOPEN: ['connection', '连接未打开'],
  ETDS: ['unsupported', '不支持的 TDS 版本'],
  EINTERFACENOTSUPP: ['unsupported', '不支持的服务器接口'],
};

function sqlserverVerdict(err: unknown): Verdict | null {
  // mssql copies the ERROR token's number; for its own errors `number` is the code string.
  const number = (err as { number?: unknown } | null)?.number;
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
