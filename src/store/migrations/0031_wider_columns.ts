import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Two column widths that refused what the service writes, on the PostgreSQL store only (SQLite does not enforce a
 * varchar's length, so the same values were stored there):
 *
 * - `database_size_stats.method` was `varchar(32)`: MySQL/MariaDB's default method, `auto`, records
 *   `innodb_tablespaces+information_schema` (37 characters), so every such instance whose login has PROCESS failed to
 *   save ("value too long for type character varying(32)"). 128, as `instance_composition.method` has had.
 * - `sync_locks.holder` and `table_sync_locks.holder` were `varchar(64)`: a holder is `host:pid:nonce:nonce`
 *   (lib/process-tag.ts), up to 90 characters with a 64-character host name; a host named as on EC2
 *   (`ip-172-31-22-123.ap-southeast-1.compute.internal`, 48) could take no lock, so synced nothing. 160, as the
 *   records' `holder` and the sessions' `owner` have had.
 *
 * Widening a varchar on PostgreSQL changes the catalog only: no table is rewritten, no index rebuilt.
 */
export const widerColumns: MigrationFactory = (_t, dialect) => ({
  async up(db: Kysely<any>) {
    if (dialect !== 'postgres') return;
    await db.schema
      .alterTable('database_size_stats')
      .alterColumn('method', (c) => c.setDataType('varchar(128)'))
      .execute();
    for (const table of ['sync_locks', 'table_sync_locks'])
      await db.schema
        .alterTable(table)
        .alterColumn('holder', (c) => c.setDataType('varchar(160)'))
        .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
