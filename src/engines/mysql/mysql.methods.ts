/**
 * The MySQL/MariaDB size methods' names and what their numbers mean, the
 * method an instance uses, and the file-name decoding of tablespace names.
 * See mysql.engine.ts for how each method collects.
 */
import type { ConnectTarget } from '../engine.js';
import { msg, msgText, type Msg } from '../../client/shared/i18n/index.js';

export const METHOD = 'information_schema';
export const PHYSICAL = 'innodb_tablespaces';
export const AUTO = 'innodb_tablespaces+information_schema';
export const DEFAULT_METHOD = 'auto';

/** What each recorded method's number means and why it differs from the others (Engine.methodNotes), by key. */
export const METHOD_NOTES: Record<string, Msg> = {
  [METHOD]: msg('db.method_note.mysql_logical'),
  [PHYSICAL]: msg('db.method_note.mysql_physical'),
  [AUTO]: msg('db.method_note.mysql_auto'),
};

/**
 * Decode a file-name-safe identifier (my_charset_filename): `@xxxx` is one
 * UTF-16 code unit in hex. Rarer 3-character forms (`@0G` for accented Latin
 * letters…) are left as they are; `decodable` says whether all were decoded.
 */
export function decodeFilename(name: string): { name: string; decodable: boolean } {
  if (!name.includes('@')) return { name, decodable: true }; // the common case: nothing encoded
  let decodable = true;
  const out = name.replace(/@([0-9a-f]{4})|@(.{0,3})/g, (m, hex: string | undefined) => {
    if (hex) return String.fromCharCode(parseInt(hex, 16));
    decodable = false;
    return m;
  });
  return { name: out, decodable };
}

/** `db/table#P#p0` → schema and table (partitions folded into their table). */
export function splitTablespace(name: string): { schema: string; table: string; decodable: boolean } | null {
  const slash = name.indexOf('/');
  if (slash < 0) return null; // innodb_system, undo, temporary, general tablespaces
  const schema = decodeFilename(name.slice(0, slash));
  const table = decodeFilename(name.slice(slash + 1).split('#')[0]!);
  return { schema: schema.name, table: table.name, decodable: schema.decodable && table.decodable };
}

/** The method an instance uses: its option, else the engine's default (auto). */
export function mysqlMethod(target: Pick<ConnectTarget, 'options'>): string {
  const m = target.options.method;
  return typeof m === 'string' ? m : DEFAULT_METHOD;
}

/** Set on every database measured logically because the tablespace view was not readable (auto without PROCESS). */
export const FALLBACK_NOTE = msgText(msg('db.remark.mysql_fallback'));
