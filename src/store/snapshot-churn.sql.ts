/**
 * SQL Server database snapshots come and go (a nightly snapshot dropped and
 * re-created under a new name): they are labelled in the ledger
 * (`database_size_stats.is_snapshot`) and kept out of every total, and they
 * are not news either. The lifecycle lists — new and deleted databases in the
 * statistics changes, the daily digest and the database-disappeared alert —
 * leave out a database whose row on the day it was first (or last) seen was
 * a snapshot.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * `NOT EXISTS` a snapshot row of the `instance_databases` row `alias` on its
 * `day` column (the ledger's unique (instance, database, day) key answers it).
 */
export function notSnapshotOn(alias: string, day: 'first_seen_date' | 'last_seen_date'): RawBuilder<SqlBool> {
  return sql<SqlBool>`NOT EXISTS (SELECT 1 FROM database_size_stats snap
    WHERE snap.instance_id = ${sql.ref(`${alias}.instance_id`)}
      AND snap.database_name = ${sql.ref(`${alias}.database_name`)}
      AND snap.collected_date = ${sql.ref(`${alias}.${day}`)}
      AND snap.is_snapshot = 1)`;
}
