/**
 * The SQL of the daily ledger's batched upsert (capacity.repository.ts): a row's values in column order, the
 * statement's head, what a second collection the same day keeps, and what the instance total counts.
 */
import { sql } from 'kysely';
import type { CollectedDatabase } from '../domain/collection.js';

/** SQLite: rows per upsert batch (insertRows binds them to prepared multi-row statements). PostgreSQL passes them all as one array a column. */
export const UPSERT_CHUNK = 10_000;

/** The per-database values of one upsert row, in the order both row-set readers below expect. */
export const rowValues = (d: CollectedDatabase) =>
  [
    d.database_name,
    d.size_bytes,
    d.data_bytes,
    d.index_bytes,
    d.log_bytes,
    d.free_bytes,
    d.used_bytes,
    d.max_bytes ?? null,
    d.method,
    d.error ?? null,
    d.note ?? null,
    d.is_snapshot ? 1 : 0,
    d.replica_role ?? null,
    d.replica_group_id ?? null,
    d.allocated_bytes ?? null,
    d.error_msg ? JSON.stringify(d.error_msg) : null,
    d.note_msg ? JSON.stringify(d.note_msg) : null,
  ] as const;

/** On a second collection the same day, a database that could not be measured keeps the size measured earlier. */
export const KEEP_EARLIER_SQL = `
  ON CONFLICT (instance_id, database_name, collected_date) DO UPDATE SET
    size_bytes = COALESCE(excluded.size_bytes, database_size_stats.size_bytes),
    data_bytes = COALESCE(excluded.data_bytes, database_size_stats.data_bytes),
    index_bytes = COALESCE(excluded.index_bytes, database_size_stats.index_bytes),
    log_bytes = COALESCE(excluded.log_bytes, database_size_stats.log_bytes),
    free_bytes = COALESCE(excluded.free_bytes, database_size_stats.free_bytes),
    used_bytes = COALESCE(excluded.used_bytes, database_size_stats.used_bytes),
    max_bytes = COALESCE(excluded.max_bytes, database_size_stats.max_bytes),
    allocated_bytes = CASE WHEN excluded.size_bytes IS NULL THEN database_size_stats.allocated_bytes ELSE excluded.allocated_bytes END,
    method = excluded.method,
    error = excluded.error,
    note = excluded.note,
    error_msg = excluded.error_msg,
    note_msg = excluded.note_msg,
    is_snapshot = excluded.is_snapshot,
    replica_role = excluded.replica_role,
    replica_group_id = excluded.replica_group_id,
    collected_at = excluded.collected_at,
    is_deleted = 0,
    deleted_at = NULL,
    updated_at = excluded.updated_at`;
export const KEEP_EARLIER = sql.raw(KEEP_EARLIER_SQL);

export const INSERT_DAY_HEAD = `
  INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, data_bytes, index_bytes, log_bytes, free_bytes, used_bytes, max_bytes,
                                   method, error, note, is_snapshot, replica_role, replica_group_id, allocated_bytes, error_msg, note_msg, collected_at, is_deleted, deleted_at, created_at, updated_at)`;
export const INSERT_DAY = sql.raw(INSERT_DAY_HEAD);
/** One row of INSERT_DAY: the instance, rowValues' first (the name), the day, the rest of rowValues, then collected_at, created_at, updated_at. */
export const DAY_ROW = `(${Array.from({ length: 20 }, () => '?').join(', ')}, 0, NULL, ?, ?)`;

export const INSERT_POINTS_HEAD = 'INSERT INTO sync_size_points (instance_id, database_name, size_bytes, collected_at)';

/** Databases first seen, as lifecycle rows: instance, name, is_system, first and last seen (the day), created and updated. */
export const INSERT_LIFECYCLE_HEAD =
  'INSERT INTO instance_databases (instance_id, database_name, is_system, first_seen_date, last_seen_date, is_deleted, deleted_at, created_at, updated_at)';
export const LIFECYCLE_ROW = '(?, ?, ?, ?, ?, 0, NULL, ?, ?)';

/**
 * What the instance total counts: a database once. A snapshot (its source is
 * counted) and an availability-group secondary (its primary is counted, on
 * the primary's instance) stay in the ledger but out of the sums.
 */
export const COUNTED = sql.raw(`is_snapshot = 0 AND (replica_role IS NULL OR replica_role <> 'SECONDARY')`);

/**
 * SQLite: the day's instance total from the rows stored for it (sizes kept from earlier today included; excluded
 * databases not counted), written and returned by one statement: the aggregate SELECT always yields one row.
 * (PostgreSQL computes it in the save's one statement, capacity-save.pg.ts.)
 */
export function upsertInstanceDay(instanceId: number, day: string, now: string, excluded: ReadonlySet<string>, chunk: number) {
  const notExcluded = excluded.size > 0 && excluded.size <= chunk ? sql`AND database_name NOT IN (${sql.join([...excluded])})` : sql``;
  return sql<{ total_size_bytes: number; data_bytes: number | null; log_bytes: number | null; database_count: number }>`
    INSERT INTO instance_size_stats (instance_id, collected_date, total_size_bytes, data_bytes, log_bytes, database_count, collected_at)
    SELECT ${instanceId}, ${day}, COALESCE(SUM(CASE WHEN ${COUNTED} THEN size_bytes END), 0), SUM(CASE WHEN ${COUNTED} THEN data_bytes END),
           SUM(CASE WHEN ${COUNTED} THEN log_bytes END), COUNT(*), ${now}
    FROM database_size_stats
    WHERE instance_id = ${instanceId} AND collected_date = ${day} AND is_deleted = 0 ${notExcluded}
    ON CONFLICT (instance_id, collected_date) DO UPDATE SET
      total_size_bytes = excluded.total_size_bytes, data_bytes = excluded.data_bytes, log_bytes = excluded.log_bytes,
      database_count = excluded.database_count, collected_at = excluded.collected_at
    RETURNING total_size_bytes, data_bytes, log_bytes, database_count`;
}
