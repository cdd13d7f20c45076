import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Connection slots (issue #17 item 6, issue #16 item 7): one row per
 * connection a process holds to a monitored server (scope `instance:<id>`,
 * `endpoint:<host>:<port>`, `global`) or per sync running in the estate
 * (scope `sync`). Slot numbers run from 0 to the cap minus one and the
 * primary key makes two holders of one slot impossible, across processes.
 * A row's lease is renewed while its process lives; a SIGKILLed process's
 * rows expire (or are taken over at once on the same host). Rows are
 * transient: nothing else refers to them.
 */
export const connectionSlots: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('connection_slots')
      .addColumn('scope', 'varchar(300)', (c) => c.notNull())
      .addColumn('slot', 'integer', (c) => c.notNull())
      .addColumn('holder', 'varchar(200)', (c) => c.notNull())
      .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
      .addColumn('acquired_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('connection_slots_pk', ['scope', 'slot'])
      .execute();
    await db.schema.createIndex('connection_slots_holder').on('connection_slots').column('holder').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
