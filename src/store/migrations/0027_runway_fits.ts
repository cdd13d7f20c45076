import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * The runway's fits kept for the day across restarts (issue #21: the estate's runway ≤ 10 s). Reading
 * 180 days of 20,000 databases (3.6 M ledger rows) takes tens of seconds on SQLite; the fits of a day
 * read back are 20,000 small rows.
 * - `runway_fits`: one row per series (scope, instance, database; '' for an instance's total) with the
 *   fit as JSON (null: too little history).
 * - `runway_fit_instances`: per scope and instance fitted, its `last_sync_at` then (a sync since makes
 *   that instance's fits stale; an instance with no series has this row and no fit).
 * - `runway_fit_runs`: per scope, the local day the rows were fitted for and the ledgers' highest ids
 *   then (a row added since, by a sync or an import, makes its instance stale).
 */
export const runwayFits: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('runway_fits')
      .addColumn('scope', 'varchar(16)', (c) => c.notNull())
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('database_name', 'varchar(512)', (c) => c.notNull())
      .addColumn('fit', 'text')
      .addColumn('max_bytes', 'bigint')
      .addPrimaryKeyConstraint('runway_fits_pk', ['scope', 'instance_id', 'database_name'])
      .execute();
    await db.schema
      .createTable('runway_fit_instances')
      .addColumn('scope', 'varchar(16)', (c) => c.notNull())
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('stamp', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('runway_fit_instances_pk', ['scope', 'instance_id'])
      .execute();
    await db.schema
      .createTable('runway_fit_runs')
      .addColumn('scope', 'varchar(16)', (c) => c.primaryKey())
      .addColumn('day', 'varchar(10)', (c) => c.notNull())
      .addColumn('instance_stats_id', 'bigint', (c) => c.notNull())
      .addColumn('database_stats_id', 'bigint', (c) => c.notNull())
      .addColumn('computed_at', t.timestamp, (c) => c.notNull())
      .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
