import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Scale-out: `processes`, one row per running serve/worker (its heartbeat:
 * restore refuses while one is live, metrics count them, a dead one's jobs
 * are handed back), and `estate`, facts every process must agree on (the
 * time zone), written by the first process and checked by every other.
 */
export const scaleOutSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('processes')
      .addColumn('tag', 'text', (c) => c.primaryKey())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('started_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_seen_at', t.timestamp, (c) => c.notNull())
      .addColumn('running_jobs', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('estate')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
