/**
 * What a table sync answers (tables.service.ts): the result and its per-database outcomes, the messages by key, and
 * the same result with its texts in the caller's language.
 */
import { msg, msgText, type Locale, type Msg } from '../client/shared/i18n/index.js';

/** What a table sync tells its user, by key (texts in client/shared/i18n/messages/api.ts). */
export const TABLES_MSG = {
  disabled: msg('api.tables.disabled'),
  noCredential: msg('api.tables.no_credential'),
  busy: (name: string) => msg('api.tables.busy', { name }),
  unsupported: (label: string) => msg('api.tables.unsupported', { label }),
  failed: (cause: Msg | string) => msg('api.tables.failed', { cause }),
  success: (count: number, databases: number) => msg('api.tables.success', { count, databases }),
};

/** What a table run did to one database, as the record and the API report it. */
export interface TableDatabaseOutcome {
  database_name: string;
  tables: number;
  /** Set when the budget cut it: the "other" row. */
  other_tables?: number;
  other_bytes?: number;
  error?: string;
  /** `error` by key, when the collector gave one. */
  error_msg?: Msg;
}

export interface TableSyncResult {
  session_id: string;
  instance_id: number;
  instance_name: string;
  collected_date: string;
  method: string;
  budget: { max_tables: number; max_seconds: number };
  saved_count: number;
  created_count: number;
  deleted_count: number;
  restored_count: number;
  databases: TableDatabaseOutcome[];
  /** Human-readable: what the budget cut and what was not collected (zh-CN; `cut_msgs` by key, the same order). */
  cut: string[];
  cut_msgs: Msg[];
  /** zh-CN text; `warning_msgs` by key, the same order (the route renders both in the request's language). */
  warnings: string[];
  warning_msgs: Msg[];
  duration_ms: number;
}

/** A database not collected, as a line: `name: cause`, the cause by key when the collector gave one. */
export function dbError(x: { database_name: string; error?: string; error_msg?: Msg }): Msg {
  return msg('api.tables.warn.db_error', { name: x.database_name, cause: x.error_msg ?? x.error ?? '' });
}

/** Lines joined with `; ` as one message, or undefined when there are none. */
export function listMsg(lines: Msg[]): Msg | undefined {
  return lines.reduceRight<Msg | undefined>((rest, first) => (rest ? msg('api.sync.warning_list', { first, rest }) : first), undefined);
}

/** The result with its texts (cut, warnings, database errors) in `locale`: the service writes zh-CN. */
export function localizeTableSync(r: TableSyncResult, locale: Locale): TableSyncResult {
  if (locale === 'zh-CN') return r;
  return {
    ...r,
    databases: r.databases.map((d) => (d.error_msg ? { ...d, error: msgText(d.error_msg, locale) } : d)),
    cut: r.cut_msgs.map((m) => msgText(m, locale)),
    warnings: r.warning_msgs.map((m) => msgText(m, locale)),
  };
}
