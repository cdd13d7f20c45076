/**
 * What every engine needs the same way: turning a driver error into a
 * classified, password-free SyncError, reading byte counts strictly, and
 * closing a connection without waiting on a dead server.
 */
import { SyncError, errorMessage, scrubSecrets, type SyncErrorCode } from '../lib/errors.js';
import { toBytes } from '../lib/sizes.js';
import { withTimeout } from '../lib/timeout.js';
import type { ConnectTarget } from './engine.js';

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
