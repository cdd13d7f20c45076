import { sql, type Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/** Days of history the backfill copies from the daily rows (the default retention of the per-sync series). */
const BACKFILL_DAYS = 35;

/**
 * The per-sync series (issue #20): every successful collection keeps the
 * instance's total (database_name '') and each measured database's size at
 * that moment, so a change made and synced the same day is visible ("since
 * last sync") although the daily row is overwritten. Pruned by the retention
 * service (`sync_points_days`, default 35). The last 35 days of daily rows are
 * copied in as one point per day, so an upgraded store has its baselines.
 */
export const syncPointsSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('sync_size_points')
      .addColumn('id', t.id, primaryId(t))
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('database_name', 'text', (c) => c.notNull())
      .addColumn('size_bytes', 'bigint', (c) => c.notNull())
      .addColumn('collected_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_sync_size_points_lookup').on('sync_size_points').columns(['instance_id', 'database_name', 'collected_at']).execute();
    await db.schema.createIndex('ix_sync_size_points_at').on('sync_size_points').column('collected_at').execute();

    const since = new Date(Date.now() - BACKFILL_DAYS * 86_400_000).toISOString().slice(0, 10);
    await sql`INSERT INTO sync_size_points (instance_id, database_name, size_bytes, collected_at)
              SELECT instance_id, '', total_size_bytes, collected_at FROM instance_size_stats WHERE collected_date >= ${since}`.execute(db);
    await sql`INSERT INTO sync_size_points (instance_id, database_name, size_bytes, collected_at)
              SELECT instance_id, database_name, size_bytes, collected_at FROM database_size_stats
              WHERE collected_date >= ${since} AND size_bytes IS NOT NULL AND is_deleted = 0`.execute(db);
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
