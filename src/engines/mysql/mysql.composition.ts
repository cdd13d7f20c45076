/**
 * Where a MySQL/MariaDB instance's bytes went. Disjoint parts (they stack):
 *
 * - `data`, `indexes`, `free`: sums of information_schema.TABLES DATA_LENGTH,
 *   INDEX_LENGTH and DATA_FREE (free pages inside the tablespaces: what
 *   OPTIMIZE TABLE would give back; per table with file-per-table, the
 *   default), per schema in `detail.schemas`;
 * - `binary_logs`: SHOW BINARY LOGS, every file with its size (needs
 *   REPLICATION CLIENT, BINLOG MONITOR on MariaDB ≥ 10.5; binary logging off
 *   is 0 with `enabled: false`, a fact, not a gap);
 * - `redo`: the configured redo capacity (innodb_redo_log_capacity on MySQL
 *   ≥ 8.0.30, else innodb_log_file_size × innodb_log_files_in_group);
 * - `undo`, `temp`: the undo and temporary tablespaces' files where the
 *   server shows them (information_schema.FILES on MySQL 8); elsewhere null
 *   with the reason (MariaDB keeps undo in the system tablespace by default
 *   and shows no temporary tablespace size).
 */
import type { CompositionPart } from '../../domain/composition.js';
import { msg, type Msg } from '../../client/shared/i18n/index.js';
import { why } from '../common.js';

export type MysqlQuery = <T>(sql: string) => Promise<T[]>;

export const COMPOSITION_METHOD = 'information_schema+show_binary_logs';

const SUMS = `
  SELECT TABLE_SCHEMA AS s, SUM(DATA_LENGTH) AS d, SUM(INDEX_LENGTH) AS i, SUM(DATA_FREE) AS f
  FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' GROUP BY TABLE_SCHEMA`;

const VARIABLES = `SHOW GLOBAL VARIABLES WHERE Variable_name IN
  ('innodb_redo_log_capacity', 'innodb_log_file_size', 'innodb_log_files_in_group', 'innodb_undo_tablespaces', 'log_bin')`;

const FILES = `
  SELECT FILE_TYPE AS t, TABLESPACE_NAME AS n, FILE_NAME AS f, COALESCE(TOTAL_EXTENTS * EXTENT_SIZE, 0) AS b
  FROM information_schema.FILES WHERE FILE_TYPE IN ('UNDO LOG', 'TEMPORARY')`;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export async function mysqlParts(q: MysqlQuery, isMariadb: boolean, reason: (err: unknown) => Msg): Promise<CompositionPart[]> {
  const parts: CompositionPart[] = [];
  try {
    const rows = await q<{ s: string; d: unknown; i: unknown; f: unknown }>(SUMS);
    const per = (k: 'd' | 'i' | 'f') => Object.fromEntries(rows.map((r) => [r.s, num(r[k])]));
    const sum = (k: 'd' | 'i' | 'f') => rows.reduce((a, r) => a + num(r[k]), 0);
    parts.push({ kind: 'data', bytes: sum('d'), detail: { schemas: per('d') } });
    parts.push({ kind: 'indexes', bytes: sum('i'), detail: { schemas: per('i') } });
    parts.push({ kind: 'free', bytes: sum('f'), detail: { schemas: per('f'), reclaim: 'OPTIMIZE TABLE' } });
  } catch (err) {
    const cause = why(reason(err));
    for (const kind of ['data', 'indexes', 'free']) parts.push({ kind, bytes: null, detail: null, ...cause });
  }

  const privilege = isMariadb ? 'BINLOG MONITOR (MariaDB ≥ 10.5) or REPLICATION CLIENT' : 'REPLICATION CLIENT';
  try {
    const logs = await q<{ Log_name: string; File_size: unknown }>('SHOW BINARY LOGS');
    const files = logs.map((l) => ({ name: l.Log_name, bytes: num(l.File_size) }));
    parts.push({ kind: 'binary_logs', bytes: files.reduce((a, f) => a + f.bytes, 0), detail: { enabled: true, files } });
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    // 1381: "You are not using binary logging" — nothing held, a fact.
    if (errno === 1381) parts.push({ kind: 'binary_logs', bytes: 0, detail: { enabled: false, files: [] } });
    else {
      const grant = `GRANT ${isMariadb ? 'BINLOG MONITOR' : 'REPLICATION CLIENT'} ON *.* TO <user>;`;
      parts.push({ kind: 'binary_logs', bytes: null, detail: null, ...why(msg('composition.reason.mysql_binlog', { cause: reason(err), privilege, grant })) });
    }
  }

  let vars: Record<string, string> = {};
  try {
    vars = Object.fromEntries((await q<{ Variable_name: string; Value: string }>(VARIABLES)).map((r) => [r.Variable_name, r.Value]));
    const capacity = vars.innodb_redo_log_capacity;
    const bytes = capacity !== undefined ? num(capacity) : num(vars.innodb_log_file_size) * Math.max(1, num(vars.innodb_log_files_in_group ?? 1));
    parts.push({
      kind: 'redo',
      bytes,
      detail: { source: capacity !== undefined ? 'innodb_redo_log_capacity' : 'innodb_log_file_size × innodb_log_files_in_group' },
    });
  } catch (err) {
    parts.push({ kind: 'redo', bytes: null, detail: null, ...why(reason(err)) });
  }

  let files: { t: string; n: string; f: string; b: unknown }[] | null = null;
  let filesError: Msg | null = null;
  try {
    files = await q(FILES);
  } catch (err) {
    filesError = reason(err);
  }
  for (const [kind, type] of [
    ['undo', 'UNDO LOG'],
    ['temp', 'TEMPORARY'],
  ] as const) {
    const mine = files?.filter((f) => f.t === type) ?? [];
    if (mine.length) {
      parts.push({
        kind,
        bytes: mine.reduce((a, f) => a + num(f.b), 0),
        detail: { files: mine.map((f) => ({ tablespace: f.n, file: f.f, bytes: num(f.b) })) },
      });
      continue;
    }
    const cause =
      filesError ??
      (kind === 'undo' && num(vars.innodb_undo_tablespaces) === 0
        ? msg('composition.reason.mysql_undo_in_system')
        : msg(kind === 'undo' ? 'composition.reason.mysql_undo_not_shown' : 'composition.reason.mysql_temp_not_shown', {
            server: isMariadb ? ' (MariaDB)' : '',
          }));
    parts.push({ kind, bytes: null, detail: null, ...why(cause) });
  }
  return parts;
}
