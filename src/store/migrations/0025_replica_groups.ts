import { sql, type Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Which availability-group database a stored row is a copy of (SQL Server's
 * sys.databases.group_database_id, the same on every replica). When a
 * replica's role cannot be read (UNKNOWN / RESOLVING) its copy stays in its
 * instance's total; the estate summary then counts each group database
 * once: on its primary, or its largest copy when no replica says PRIMARY.
 */
export const replicaGroupsSchema: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('database_size_stats').addColumn('replica_group_id', 'text').execute();
    // Only availability-group rows carry the id: a partial index keeps the estate summary's lookup to those rows.
    await db.schema
      .createIndex('ix_database_size_stats_replica_group')
      .on('database_size_stats')
      .columns(['replica_group_id', 'instance_id', 'collected_date'])
      .where(sql.ref('replica_group_id'), 'is not', null)
      .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
