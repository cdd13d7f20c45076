import type { Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/**
 * Scheduler and recovery: who runs a session (owner + heartbeat), who holds a
 * record (holder), settings editable at run time, and one row per scheduled
 * tick so that only one process runs it.
 */
export const schedulerSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('sync_sessions').addColumn('owner', 'varchar(160)').execute();
    await db.schema.alterTable('sync_sessions').addColumn('heartbeat_at', t.timestamp).execute();
    await db.schema.alterTable('sync_instance_records').addColumn('holder', 'varchar(160)').execute();
    await db.schema.createIndex('sync_sessions_status').on('sync_sessions').column('status').execute();
    await db.schema.createIndex('sync_records_status').on('sync_instance_records').column('status').execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_by', 'varchar(64)')
      .execute();

    await db.schema
      .createTable('scheduler_runs')
      .addColumn('id', t.id, primaryId(t))
      .addColumn('job', 'varchar(64)', (c) => c.notNull())
      .addColumn('scheduled_for', t.timestamp, (c) => c.notNull())
      .addColumn('started_at', t.timestamp, (c) => c.notNull())
      .addColumn('finished_at', t.timestamp)
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('owner', 'varchar(160)', (c) => c.notNull())
      .addColumn('session_id', 'varchar(36)')
      .addColumn('message', 'text')
      .addUniqueConstraint('scheduler_runs_tick', ['job', 'scheduled_for'])
      .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
