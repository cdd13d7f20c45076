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

/** Why 11g and older are refused (thin mode only; the thick mode's Instant Client is never loaded). */
export const TOO_OLD = '不支持 Oracle 11g 及更早版本: thin 模式只能连接 12.1 及以上 (Oracle 11g and older are not supported: thin mode connects to 12.1+ only)';

const CODES: Record<string, Verdict> = {
  'ORA-01017': ['auth', '认证失败 (用户名或密码错误)'],
  'ORA-28000': ['auth', '账户已锁定'],
  'ORA-28001': ['auth', '密码已过期'],
  'ORA-01045': ['permission', '缺少 CREATE SESSION 权限'],
  'ORA-00942': ['permission', '无法读取数据字典视图 (需要 SELECT_CATALOG_ROLE)'],
  'ORA-01031': ['permission', '权限不足'],
  'ORA-01013': ['timeout', '查询被取消 (超时)'],
  'ORA-01033': ['connection', '数据库正在启动或关闭'],
  'ORA-01034': ['connection', '数据库实例不可用'],
  'NJS-123': ['timeout', '查询超时'],
  'NJS-510': ['timeout', '连接超时'],
  'NJS-500': ['connection', '连接中断'],
  'NJS-501': ['connection', '连接意外终止'],
  'NJS-521': ['connection', '连接被服务器关闭'],
  'NJS-511': ['connection', '监听器拒绝连接'],
  'NJS-518': ['connection', '服务名未在监听器注册 (检查服务名)'],
  'NJS-530': ['connection', '无法解析主机名'],
  'NJS-138': ['unsupported', TOO_OLD],
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
  if (code === 'NJS-503') {
    const refused = err instanceof Error && err.message.includes('ECONNREFUSED');
    return ['connection', refused ? '连接被拒绝' : '无法建立连接'];
  }
  return code ? (CODES[code] ?? null) : null;
}

export const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(err, target, oracleVerdict);

/** The view is missing to this user: not granted (ORA-00942 hides it entirely) or refused (ORA-01031). */
export function isMissingView(err: unknown): boolean {
  const code = oracleCode(err);
  return code === 'ORA-00942' || code === 'ORA-01031';
}
