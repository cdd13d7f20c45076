import type { Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/**
 * Capacity intelligence (issue #21): `instance_composition`, one row per
 * (instance, day) with where the bytes went — the parts as JSON (each
 * `{kind, bytes, detail, reason?}`; bytes null = not measured, never 0),
 * the engine-reported ceiling and the disk total where the engine tells.
 * A day's second collection replaces the first.
 */
export const capacityIntelligenceSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('instance_composition')
      .addColumn('id', t.id, primaryId(t))
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('collected_date', t.date, (c) => c.notNull())
      .addColumn('parts', 'text', (c) => c.notNull())
      .addColumn('ceiling_bytes', 'bigint')
      .addColumn('ceiling_source', 'varchar(64)')
      .addColumn('disk_used_bytes', 'bigint')
      .addColumn('method', 'varchar(128)', (c) => c.notNull())
      .addColumn('collected_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('instance_composition_day', ['instance_id', 'collected_date'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('instance_composition').execute();
  },
});
