/**
 * What every engine needs the same way: turning a driver error into a
 * classified, password-free SyncError, reading byte counts strictly, and
 * closing a connection without waiting on a dead server.
 */
import { SyncError, errorMessage, scrubSecrets, type SyncErrorCode } from '../lib/errors.js';
import { toBytes } from '../lib/sizes.js';
import { withTimeout } from '../lib/timeout.js';
import type { CollectedTable, CollectedTableDatabase, ConnectTarget, TableCut } from './engine.js';

/** A driver-specific verdict: class + Chinese prefix for the message. */
export type Verdict = readonly [SyncErrorCode, string];

/** Node socket / DNS errors, identical whatever the driver on top. */
const NETWORK: Record<string, Verdict> = {
  ECONNREFUSED: ['connection', '连接被拒绝'],
  ECONNRESET: ['connection', '连接被重置'],
  EPIPE: ['connection', '连接已断开'],
  ENOTFOUND: ['connection', '无法解析主机名'],
  EAI_AGAIN: ['connection', '主机名解析暂时失败'],
  EHOSTUNREACH: ['connection', '主机不可达'],
  ENETUNREACH: ['connection', '网络不可达'],
  ETIMEDOUT: ['timeout', '连接超时'],
};

/** `err.code` when it is a string (Node and most drivers put their code there). */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The driver's own words. Node 20 reports a refused connection to a name with
 * several addresses as an AggregateError with an empty message: use the inner ones.
 */
function describe(err: unknown): string {
  if (err instanceof AggregateError && !err.message) {
    return err.errors.map(errorMessage).join('; ') || errorCode(err) || err.name;
  }
  return errorMessage(err);
}

/**
 * Classify with the engine's own table first, then the network table. The
 * raw driver error is not kept as `cause`: it may carry a connection string,
 * and a SyncError is logged and stored as is.
 */
export function classify(err: unknown, target: ConnectTarget, specific: (err: unknown) => Verdict | null): SyncError {
  const secrets = [target.password];
  if (err instanceof SyncError) return new SyncError(err.code, scrubSecrets(err.message, secrets));
  const code = errorCode(err);
  const [kind, prefix] = specific(err) ?? (code ? NETWORK[code] : undefined) ?? ['internal', '采集失败'];
  return new SyncError(kind, scrubSecrets(`${prefix}: ${describe(err)}`, secrets));
}

/** The leading number of a server version string ("16.0.4135.4" → 16, "19.3.0.0.0" → 19); 0 when unreadable. */
export function majorVersion(version: string): number {
  const m = /^(\d+)\./.exec(version.trim());
  return m ? Number(m[1]) : 0;
}

/** Run `work`, letting only classified SyncErrors out. */
export async function classified<T>(work: () => Promise<T>, toSyncError: (err: unknown) => SyncError): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toSyncError(err);
  }
}

/** A byte count from the server, exact or a `data` SyncError (never a silent 0 or NaN). */
export function bytes(value: unknown, what: string): number | null {
  try {
    return toBytes(value, what);
  } catch (err) {
    throw new SyncError('data', `无法解析服务器返回的容量: ${errorMessage(err)}`);
  }
}

/**
 * Say goodbye politely, but a server that stopped answering would hold the
 * goodbye forever: after `ms` the socket is destroyed. Errors are swallowed —
 * by then the collection has already succeeded or failed on its own.
 */
export async function closeWithin(ms: number, end: () => Promise<unknown>, destroy: () => void): Promise<void> {
  try {
    await withTimeout(end(), ms, '关闭连接', destroy);
  } catch {
    destroy();
  }
}

/**
 * The table budget for engines that read a whole database's catalog in one
 * query (PostgreSQL, SQL Server, Oracle): keep the `allowance` largest rows;
 * the rest become one "other" row. A cut partition whose parent is kept is
 * already inside the parent's rolled-up size, so only top-level rows (no
 * parent) add to "other"'s bytes; every cut row counts in its `tables`.
 */
export function cutToBudget(tables: CollectedTable[], allowance: number): { kept: CollectedTable[]; other?: TableCut } {
  if (tables.length <= allowance) return { kept: tables };
  // Largest first; on equal size a partitioned parent before its partitions, then by name for a stable cut.
  const rank = (t: CollectedTable) => (t.kind === 'partitioned' ? 0 : t.kind === 'partition' ? 2 : 1);
  const sorted = [...tables].sort(
    (a, b) => (b.total_bytes ?? -1) - (a.total_bytes ?? -1) || rank(a) - rank(b) || a.schema_name.localeCompare(b.schema_name) || a.table_name.localeCompare(b.table_name),
  );
  const kept = sorted.slice(0, Math.max(0, allowance));
  const cut = sorted.slice(kept.length);
  const top = cut.filter((t) => !t.parent);
  const sum = (f: (t: CollectedTable) => number | null): number | null => {
    let s = 0;
    for (const t of top) {
      const v = f(t);
      if (v === null) return null;
      s += v;
    }
    return s;
  };
  return {
    kept,
    other: {
      tables: cut.length,
      total_bytes: sum((t) => t.total_bytes) ?? top.reduce((s, t) => s + (t.total_bytes ?? 0), 0),
      data_bytes: sum((t) => t.data_bytes),
      index_bytes: sum((t) => t.index_bytes),
      lob_bytes: sum((t) => t.lob_bytes),
      free_bytes: sum((t) => t.free_bytes),
    },
  };
}

/** The "time budget exhausted" entry of a database not reached before the deadline. */
export function outOfTime(name: string): CollectedTableDatabase {
  return { database_name: name, tables: [], error: TIME_BUDGET_EXHAUSTED };
}

export const TIME_BUDGET_EXHAUSTED = '表级采集时间预算已用完，未采集 (table time budget exhausted: not collected this run)';
