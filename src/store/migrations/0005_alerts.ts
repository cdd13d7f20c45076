import type { Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

/**
 * Alerts: rules, the events they raise, and one delivery row per channel per
 * transition (firing / resolved).
 *
 * "One open event per rule + instance + database" is enforced by the store,
 * not by the evaluator: `open_key` holds the dedup key while the event fires
 * and NULL once resolved, under a plain UNIQUE index. Both SQLite and
 * PostgreSQL let any number of NULLs share a UNIQUE index, so this one
 * definition works on both dialects (no partial index needed), and two
 * evaluations racing on the same condition cannot both open an event.
 */
export const alertsSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    const id = primaryId(t);

    await db.schema
      .createTable('alert_rules')
      .addColumn('id', t.id, id)
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('kind', 'varchar(32)', (c) => c.notNull())
      // No foreign key: a rule scoped to a deleted instance stays (and matches nothing) until an admin edits it.
      .addColumn('instance_id', 'bigint')
      .addColumn('db_type', 'varchar(16)')
      .addColumn('tag', 'varchar(64)')
      .addColumn('database_pattern', 'varchar(255)')
      .addColumn('threshold', 'double precision')
      .addColumn('window', 'varchar(8)')
      .addColumn('consecutive', 'integer')
      // days_until_full: the limit to fill; when NULL, the database's max_bytes or the instance's options.capacity_limit_bytes.
      .addColumn('limit_bytes', 'bigint')
      .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('channels', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('alert_events')
      .addColumn('id', t.id, id)
      .addColumn('rule_id', 'bigint', (c) => c.notNull().references('alert_rules.id').onDelete('cascade'))
      .addColumn('dedup_key', 'varchar(800)', (c) => c.notNull())
      .addColumn('open_key', 'varchar(800)')
      .addColumn('instance_id', 'bigint')
      .addColumn('instance_name', 'varchar(128)')
      .addColumn('database_name', 'varchar(512)')
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('value', 'double precision')
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('fired_at', t.timestamp, (c) => c.notNull())
      .addColumn('resolved_at', t.timestamp)
      .addColumn('last_evaluated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('alert_events_open_key').on('alert_events').column('open_key').unique().execute();
    await db.schema.createIndex('alert_events_rule_state').on('alert_events').columns(['rule_id', 'state']).execute();
    await db.schema.createIndex('alert_events_fired').on('alert_events').column('fired_at').execute();

    await db.schema
      .createTable('alert_deliveries')
      .addColumn('id', t.id, id)
      .addColumn('event_id', 'bigint', (c) => c.notNull().references('alert_events.id').onDelete('cascade'))
      .addColumn('transition', 'varchar(16)', (c) => c.notNull())
      .addColumn('channel', 'varchar(16)', (c) => c.notNull())
      // The full URL is needed to send; the API and logs only ever show it masked.
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('error', 'text')
      // JSON array of every attempt ({attempt, at, http_status, error}): the delivery log.
      .addColumn('log', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('next_attempt_at', t.timestamp)
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('alert_deliveries_due').on('alert_deliveries').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('alert_deliveries_event').on('alert_deliveries').column('event_id').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
