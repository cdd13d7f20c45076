import { sql, type Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/**
 * Table-level capacity (issue #9). Two tables, kept lean because a big estate
 * writes millions of rows a day:
 * - `table_names`: the dimension and lifecycle of every table ever seen —
 *   (instance, database, schema, table) once, with an integer id, its kind,
 *   its parent (a partition's partitioned table), first/last seen, soft delete.
 *   The "other" row of a database cut by the budget is (schema '', table '').
 * - `table_size_stats`: one narrow row per (table id, day): no text, no
 *   timestamps, no surrogate key (the primary key is the unique key;
 *   WITHOUT ROWID on SQLite so the key is the row).
 */
export const tableSizesSchema: MigrationFactory = (t, dialect) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('table_names')
      .addColumn('id', t.id, primaryId(t))
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('database_name', 'varchar(512)', (c) => c.notNull())
      .addColumn('schema_name', 'varchar(512)', (c) => c.notNull())
      .addColumn('table_name', 'varchar(512)', (c) => c.notNull())
      .addColumn('kind', 'varchar(12)', (c) => c.notNull())
      .addColumn('parent_id', 'bigint')
      .addColumn('first_seen_date', t.date, (c) => c.notNull())
      .addColumn('last_seen_date', t.date, (c) => c.notNull())
      .addColumn('is_deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', t.timestamp)
      .addUniqueConstraint('table_names_key', ['instance_id', 'database_name', 'schema_name', 'table_name'])
      .execute();

    const stats = db.schema
      .createTable('table_size_stats')
      .addColumn('table_id', 'bigint', (c) => c.notNull().references('table_names.id').onDelete('cascade'))
      .addColumn('collected_date', t.date, (c) => c.notNull())
      .addColumn('total_bytes', 'bigint')
      .addColumn('data_bytes', 'bigint')
      .addColumn('index_bytes', 'bigint')
      .addColumn('lob_bytes', 'bigint')
      .addColumn('free_bytes', 'bigint')
      .addColumn('row_estimate', 'bigint')
      // Only on "other" rows: how many tables they summarise.
      .addColumn('table_count', 'integer')
      .addColumn('method', 'smallint', (c) => c.notNull())
      .addColumn('is_deleted', 'smallint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('table_size_stats_pk', ['table_id', 'collected_date']);
    await (dialect === 'sqlite' ? stats.modifyEnd(sql`without rowid`) : stats).execute();
    // Estate-wide views of one day (top growers) and retention by date.
    await db.schema.createIndex('table_size_stats_date').on('table_size_stats').columns(['collected_date', 'table_id']).execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
