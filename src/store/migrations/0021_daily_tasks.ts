import type { Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/**
 * The nightly extras as tasks (queue mode): one row per piece of the 04:00
 * work of one scheduler run — an aggregation period kind, an instance's
 * composition or table sync, alert evaluation, retention — claimed by the
 * process that runs it (`holder`) under a lease it renews every heartbeat,
 * so a dead process's task is handed to another. `stage` 2 tasks wait
 * (`waiting`) until every stage 1 task of the run is over.
 */
export const dailyTasks: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('daily_tasks')
      .addColumn('id', t.id, primaryId(t))
      .addColumn('run_id', 'bigint', (c) => c.notNull())
      .addColumn('kind', 'varchar(32)', (c) => c.notNull())
      .addColumn('subject', 'varchar(64)', (c) => c.notNull())
      .addColumn('stage', 'integer', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('holder', 'varchar(128)')
      .addColumn('lock_expires_at', t.timestamp)
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('queued_at', t.timestamp, (c) => c.notNull())
      .addColumn('started_at', t.timestamp)
      .addColumn('finished_at', t.timestamp)
      .addColumn('message', 'text')
      .addUniqueConstraint('daily_tasks_run_kind_subject', ['run_id', 'kind', 'subject'])
      .execute();
    await db.schema.createIndex('daily_tasks_status').on('daily_tasks').columns(['status', 'run_id']).execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
