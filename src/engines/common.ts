/**
 * What every engine needs the same way: turning a driver error into a
 * classified, password-free SyncError, reading byte counts strictly, and
 * closing a connection without waiting on a dead server.
 */
import { Duplex } from 'node:stream';
import { SyncError, errorMessage, scrubSecrets, type SyncErrorCode } from '../lib/errors.js';
import { msg, msgText, t, type Locale, type MessageKey, type Msg } from '../client/shared/i18n/index.js';
import { toBytes } from '../lib/sizes.js';
import { withTimeout } from '../lib/timeout.js';
import type { CollectedTable, CollectedTableDatabase, TableCut } from '../domain/tables.js';
import type { Closing, ConnectTarget, PrivilegeCheck } from './engine.js';

/**
 * A driver-specific verdict: the class, and the cause's message key
 * (i18n/messages/causes.ts: the cause in both languages, the fix in one line
 * where there is one; the driver's own words fill its `{detail}`).
 */
export type Verdict = readonly [SyncErrorCode, MessageKey];

/** Node socket / DNS errors, identical whatever the driver on top. */
const NETWORK: Record<string, Verdict> = {
  ECONNREFUSED: ['connection', 'cause.connection_refused'],
  ECONNRESET: ['connection', 'cause.connection_reset'],
  EPIPE: ['connection', 'cause.connection_closed'],
  ENOTFOUND: ['connection', 'cause.host_unknown'],
  EAI_AGAIN: ['connection', 'cause.host_lookup_again'],
  EHOSTUNREACH: ['connection', 'cause.host_unreachable'],
  ENETUNREACH: ['connection', 'cause.network_unreachable'],
  ETIMEDOUT: ['timeout', 'cause.connect_timeout'],
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
  if (err instanceof SyncError) return err.scrubbed(secrets);
  const code = errorCode(err);
  const [kind, key] = specific(err) ?? (code ? NETWORK[code] : undefined) ?? ['internal', 'cause.internal'];
  return new SyncError(kind, msg(key, { detail: scrubSecrets(describe(err), secrets) }));
}

/**
 * One line of `doctor`, by key (i18n/messages/doctor.ts): `detail` and
 * `undercounts` are the zh-CN texts (the API's own language; `localizeCheck`
 * gives another), the keys and `params` let the UI render its own language.
 */
export function check(name: string, ok: boolean, detail: Msg, more: { undercounts?: Msg; fix?: string[] } = {}): PrivilegeCheck {
  const { undercounts, fix } = more;
  return {
    name,
    ok,
    detail: msgText(detail),
    detail_key: detail.key,
    ...(undercounts ? { undercounts: msgText(undercounts), undercounts_key: undercounts.key } : {}),
    params: { ...detail.params, ...undercounts?.params },
    ...(fix ? { fix } : {}),
  };
}

/** A doctor line in the request's language (checks without a key keep their text). */
export function localizeCheck(c: PrivilegeCheck, locale: Locale): PrivilegeCheck {
  if (locale === 'zh-CN') return c;
  return {
    ...c,
    ...(c.detail_key ? { detail: t(locale, c.detail_key, c.params) } : {}),
    ...(c.undercounts_key ? { undercounts: t(locale, c.undercounts_key, c.params) } : {}),
  };
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
    throw new SyncError('data', msg('cause.bad_size', { detail: errorMessage(err) }));
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
 * `closeWithin`, told to the caller as soon as the goodbye has left (`sent`): once `stream` — the socket the
 * driver writes to, TLS included — has ended its write side (its FIN handed to the kernel: what the server, and a
 * proxy or firewall between, sees as the connection's end), or closed, or the close has ended. A driver writes its
 * goodbye and ends the socket a turn or more after `end()` is called; the caller frees the connection's slot
 * shortly after `sent` (connection.service.ts), so a new connection does not reach the server before this one's end.
 */
export function closeTelling(ms: number, end: () => Promise<unknown>, destroy: () => void, stream: unknown): Closing {
  const done = closeWithin(ms, end, destroy);
  return Object.assign(done, { sent: Promise.race([writeSideEnded(stream), done]) });
}

/** The stream a pg or mysql2 client writes to (`client.connection.stream`): the socket, or the TLS socket over it. */
export function driverStream(client: unknown): unknown {
  return (client as { connection?: { stream?: unknown } } | undefined)?.connection?.stream;
}

function writeSideEnded(stream: unknown): Promise<void> {
  if (!(stream instanceof Duplex) || stream.destroyed || stream.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('finish', () => resolve());
    stream.once('close', () => resolve());
  });
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
    (a, b) =>
      (b.total_bytes ?? -1) - (a.total_bytes ?? -1) ||
      rank(a) - rank(b) ||
      a.schema_name.localeCompare(b.schema_name) ||
      a.table_name.localeCompare(b.table_name),
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
  return notCollected(name, msg('api.tables.out_of_time'));
}

/** A database of a table collection that was not measured, and why: by key (`m`) or as a classified error. */
export function notCollected(name: string, why: Msg | SyncError): CollectedTableDatabase {
  if (why instanceof SyncError) return { database_name: name, tables: [], error: why.message, ...(why.msg ? { error_msg: why.msg } : {}) };
  return { database_name: name, tables: [], error: msgText(why), error_msg: why };
}

export const TIME_BUDGET_EXHAUSTED = msgText(msg('api.tables.out_of_time'));

/**
 * A composition part's (or ceiling's) reason: the text in the API's own language next to its key
 * (`reason_msg`), so the API and the UI render it in the reader's language.
 */
export function why(m: Msg): { reason: string; reason_msg: Msg } {
  return { reason: msgText(m), reason_msg: m };
}

/** A classified error as a reason: its key, or its (server's or driver's) text under the pass-through key. */
export function causeMsg(e: SyncError): Msg {
  return e.msg ?? msg('composition.reason.text', { text: e.message });
}

/** A database's error remark by key: the text (zh-CN, the API's language) with its message (stored as error_msg). */
export function errorRemark(m: Msg): { error: string; error_msg: Msg } {
  return { error: msgText(m), error_msg: m };
}
