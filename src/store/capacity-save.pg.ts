/**
 * PostgreSQL: everything a collection writes, in one statement (capacity.repository.ts decides what from its
 * one read of today's rows and the lifecycle rows, as on SQLite): today's rows upserted, the gone ones soft
 * deleted, the lifecycle rows marked deleted, restored, new or seen, the instance's day total computed from the
 * upserted rows and written with the per-sync points, the instance's row and, for a sync, its record completed
 * and its lock released. A statement is atomic on its own: no BEGIN/COMMIT, and one round trip instead of the
 * six a transaction of separate statements took (each a loopback `writev` in the process and a statement's
 * overhead in the store: the save was half of a record's store statements).
 *
 * The data-modifying CTEs all see the snapshot from before the statement, never each other's writes: each
 * row is written by one CTE only (the lists the caller decided are disjoint), and the day's total is taken
 * from what the upsert returns (the stored values, sizes kept from earlier today included) — a day's row that
 * is not in the collection is either gone (deleted here) or excluded, and neither is counted.
 *
 * A sync's statement writes only while its process still holds the record (`held`: the record row, locked
 * first, still `running` under that holder); otherwise it writes nothing and says so (`held` = 0: the lease
 * was lost and another process has the record).
 */
import { sql, type RawBuilder } from 'kysely';
import type { CollectedDatabase } from '../domain/collection.js';
import { COUNTED, INSERT_DAY, KEEP_EARLIER, rowValues } from './capacity-upsert.sql.js';

/** The lifecycle changes of one save, decided from the store's rows before the statement. */
export interface SavePlan {
  /** Today's rows of databases no longer present: soft-deleted. */
  goneToday: string[];
  /** Lifecycle rows not deleted whose database is gone: marked deleted. */
  goneNames: string[];
  /** Lifecycle rows marked deleted whose database is back. */
  restoredNames: string[];
  /** Databases never seen on the instance. */
  newOnes: CollectedDatabase[];
  /** Some lifecycle row not deleted was last seen before today (its last_seen_date moves to today). */
  stale: boolean;
  /** Present but excluded by a rule: neither written nor marked deleted, nor counted. */
  excluded: ReadonlySet<string>;
}

export interface PgSave {
  instanceId: number;
  day: string;
  now: string;
  databases: CollectedDatabase[];
  plan: SavePlan;
  /** The instance's last sync result (a sync's), set with its totals. */
  lastSync?: { status: string; at: string; error: string | null; errorMsg: string | null };
  /** A sync's record, completed (and its lock released) only while `holder` holds it. */
  done?: {
    recordId: number;
    holder: string;
    durationMs: number;
    counts: { saved: number; created: number; updated: number; deleted: number; restored: number };
    details: string;
  };
}

export interface PgSaveResult {
  held: number;
  completed: number;
  total_size_bytes: string | number;
  data_bytes: string | number | null;
  log_bytes: string | number | null;
  database_count: string | number;
}

export function saveStatement(s: PgSave): RawBuilder<PgSaveResult> {
  const { instanceId: id, plan, done } = s;
  const day = sql`${s.day}::date`;
  const now = sql`${s.now}::timestamptz`;
  const cols = Array.from({ length: 17 }, () => [] as unknown[]);
  for (const d of s.databases) rowValues(d).forEach((v, i) => cols[i]!.push(v));
  const measured = s.databases.filter((d) => d.size_bytes !== null && d.size_bytes !== undefined);
  const excluded = [...plan.excluded];
  // Every write below runs only while the record is held (a plain save, outside a sync, always writes).
  const isHeld = sql`EXISTS (SELECT 1 FROM held)`;
  const held = done
    ? sql`SELECT id FROM sync_instance_records WHERE id = ${done.recordId} AND holder = ${done.holder} AND status || '' = 'running' FOR NO KEY UPDATE`
    : sql`SELECT 1 AS id`;
  const lastSync = s.lastSync
    ? sql`, last_sync_status = ${s.lastSync.status}, last_sync_at = ${s.lastSync.at}::timestamptz, last_sync_error = ${s.lastSync.error},
          last_sync_error_msg = ${s.lastSync.errorMsg}`
    : sql``;
  // Only the lists that hold names get a statement of their own (every CTE is planned at each call, used or not):
  // a nightly re-sync of an unchanged instance upserts its rows and moves their last_seen_date, nothing else.
  const lists: RawBuilder<unknown>[] = [];
  if (plan.goneToday.length)
    lists.push(sql`gone_today AS (
      UPDATE database_size_stats SET is_deleted = 1, deleted_at = ${now}, updated_at = ${now}
      WHERE instance_id = ${id} AND collected_date = ${day} AND is_deleted = 0 AND database_name = ANY(${plan.goneToday}::text[]) AND ${isHeld})`);
  if (plan.goneNames.length)
    lists.push(sql`gone AS (
      UPDATE instance_databases SET is_deleted = 1, deleted_at = ${now}, updated_at = ${now}
      WHERE instance_id = ${id} AND database_name = ANY(${plan.goneNames}::text[]) AND ${isHeld})`);
  if (plan.restoredNames.length)
    lists.push(sql`restored AS (
      UPDATE instance_databases SET is_deleted = 0, deleted_at = NULL, last_seen_date = ${day}, updated_at = ${now}
      WHERE instance_id = ${id} AND database_name = ANY(${plan.restoredNames}::text[]) AND ${isHeld})`);
  if (plan.newOnes.length)
    lists.push(sql`fresh AS (
      INSERT INTO instance_databases (instance_id, database_name, is_system, first_seen_date, last_seen_date, is_deleted, deleted_at, created_at, updated_at)
      SELECT ${id}, r.n, r.sys, ${day}, ${day}, 0, NULL, ${now}, ${now}
      FROM unnest(${plan.newOnes.map((d) => d.database_name)}::text[], ${plan.newOnes.map((d) => (d.is_system ? 1 : 0))}::int4[]) AS r(n, sys)
      WHERE ${isHeld})`);
  // Rows not deleted, not gone now and not excluded: the collected ones (the restored ones are moved above).
  if (plan.stale)
    lists.push(sql`seen AS (
      UPDATE instance_databases SET last_seen_date = ${day}, updated_at = ${now}
      WHERE instance_id = ${id} AND is_deleted = 0 AND last_seen_date <> ${day}
        AND NOT (database_name = ANY(${plan.goneNames}::text[])) AND NOT (database_name = ANY(${excluded}::text[])) AND ${isHeld})`);
  const lifecycle = sql.join(
    lists.map((l) => sql`${l},`),
    sql`\n`,
  );
  const completion = done
    ? sql`, done AS (
        UPDATE sync_instance_records SET status = 'completed', completed_at = ${now}, duration_ms = ${done.durationMs},
          databases_count = tot.database_count, saved_count = ${done.counts.saved}, created_count = ${done.counts.created},
          updated_count = ${done.counts.updated}, deleted_count = ${done.counts.deleted}, restored_count = ${done.counts.restored},
          total_size_bytes = tot.total_size_bytes, error_code = NULL, error_message = NULL, error_msg = NULL, details = ${done.details}
        FROM tot WHERE id = ${done.recordId} AND holder = ${done.holder} AND status || '' = 'running'
        RETURNING id),
      unlocked AS (
        DELETE FROM sync_locks WHERE instance_id = ${id} AND holder = ${done.holder} AND EXISTS (SELECT 1 FROM done) RETURNING instance_id)`
    : sql``;
  return sql<PgSaveResult>`
    WITH held AS (${held}),
    up AS (
      ${INSERT_DAY}
      SELECT ${id}, r.n, ${day}, r.s, r.d, r.i, r.l, r.f, r.u, r.m, r.method, r.error, r.note, r.snap, r.role, r.grp, r.a, r.em, r.nm, ${now}, 0, NULL, ${now}, ${now}
      FROM unnest(${cols[0]}::text[], ${cols[1]}::int8[], ${cols[2]}::int8[], ${cols[3]}::int8[], ${cols[4]}::int8[], ${cols[5]}::int8[], ${cols[6]}::int8[],
                  ${cols[7]}::int8[], ${cols[8]}::text[], ${cols[9]}::text[], ${cols[10]}::text[], ${cols[11]}::int4[], ${cols[12]}::text[], ${cols[13]}::text[], ${cols[14]}::int8[],
                  ${cols[15]}::text[], ${cols[16]}::text[])
        AS r(n, s, d, i, l, f, u, m, method, error, note, snap, role, grp, a, em, nm)
      WHERE ${isHeld}
      ${KEEP_EARLIER}
      RETURNING size_bytes, data_bytes, log_bytes, is_snapshot, replica_role),
    ${lifecycle}
    tot AS (
      INSERT INTO instance_size_stats (instance_id, collected_date, total_size_bytes, data_bytes, log_bytes, database_count, collected_at)
      SELECT ${id}, ${day}, COALESCE(SUM(CASE WHEN ${COUNTED} THEN size_bytes END), 0), SUM(CASE WHEN ${COUNTED} THEN data_bytes END),
             SUM(CASE WHEN ${COUNTED} THEN log_bytes END), COUNT(*), ${now}
      FROM up
      HAVING ${isHeld}
      ON CONFLICT (instance_id, collected_date) DO UPDATE SET
        total_size_bytes = excluded.total_size_bytes, data_bytes = excluded.data_bytes, log_bytes = excluded.log_bytes,
        database_count = excluded.database_count, collected_at = excluded.collected_at
      RETURNING total_size_bytes, data_bytes, log_bytes, database_count),
    pts AS (
      INSERT INTO sync_size_points (instance_id, database_name, size_bytes, collected_at)
      SELECT ${id}::int8, '', total_size_bytes, ${now} FROM tot
      UNION ALL
      SELECT ${id}::int8, r.n, r.s, ${now} FROM unnest(${measured.map((d) => d.database_name)}::text[], ${measured.map((d) => d.size_bytes)}::int8[]) AS r(n, s)
      WHERE ${isHeld}),
    inst AS (
      UPDATE instances SET total_size_bytes = tot.total_size_bytes, database_count = tot.database_count, last_connected = ${now} ${lastSync}
      FROM tot WHERE instances.id = ${id})
    ${completion}
    SELECT (SELECT count(*) FROM held) AS held, ${done ? sql`(SELECT count(*) FROM done)` : sql`1`} AS completed, tot.* FROM (SELECT 1) AS one LEFT JOIN tot ON true`;
}
