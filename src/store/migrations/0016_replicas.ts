import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * What a stored database row is beyond its bytes (issue 23): a SQL Server
 * database snapshot (its sparse files' bytes on disk), and the
 * availability-group role of this replica's copy. Both stay in the daily
 * ledger; the instance total leaves out snapshots and secondaries so that
 * an estate of replicas counts each database once (on its primary).
 */
export const replicasSchema: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('database_size_stats')
      .addColumn('is_snapshot', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('database_size_stats').addColumn('replica_role', 'text').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
