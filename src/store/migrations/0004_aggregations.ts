import type { Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/**
 * Per-period statistics (daily/weekly/monthly/quarterly) per instance and per
 * database, written by the aggregation service. `database_name` is '' for the
 * instance scope so that one unique key covers both scopes (NULLs would never
 * conflict and the upsert would duplicate instance rows).
 */
export const aggregationsSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('aggregations')
      .addColumn('id', t.id, primaryId(t))
      .addColumn('scope', 'varchar(16)', (c) => c.notNull())
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('database_name', 'varchar(512)', (c) => c.notNull().defaultTo(''))
      .addColumn('period', 'varchar(16)', (c) => c.notNull())
      .addColumn('period_start', t.date, (c) => c.notNull())
      .addColumn('period_end', t.date, (c) => c.notNull())
      .addColumn('avg_bytes', 'bigint', (c) => c.notNull())
      .addColumn('max_bytes', 'bigint', (c) => c.notNull())
      .addColumn('min_bytes', 'bigint', (c) => c.notNull())
      .addColumn('last_bytes', 'bigint', (c) => c.notNull())
      .addColumn('days_with_data', 'integer', (c) => c.notNull())
      .addColumn('change_bytes', 'bigint')
      .addColumn('change_pct', 'double precision')
      .addColumn('trend', 'varchar(16)', (c) => c.notNull())
      .addColumn('computed_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('aggregations_key', ['scope', 'instance_id', 'database_name', 'period', 'period_start'])
      .execute();
    // Series of one instance (both scopes) for a period and range.
    await db.schema.createIndex('aggregations_instance_period').on('aggregations').columns(['instance_id', 'period', 'period_start']).execute();
    // Recomputing change/trend over a touched range, estate-wide.
    await db.schema.createIndex('aggregations_period_start').on('aggregations').columns(['period', 'period_start']).execute();
    // Incremental aggregation: which days changed since the last run.
    await db.schema.createIndex('database_size_stats_updated').on('database_size_stats').column('updated_at').execute();
    await db.schema.createIndex('instance_size_stats_collected').on('instance_size_stats').column('collected_at').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
