import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Table-size syncs get their own lock rows. They used to share `sync_locks`
 * under the negative instance id, a key space two features had to agree on;
 * a table sync and a capacity sync of one instance may run at once, two table
 * syncs may not. Lock rows are transient: a table sync running during the
 * upgrade loses its row and nothing else.
 */
export const tableSyncLocks: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('table_sync_locks')
      .addColumn('instance_id', 'bigint', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(64)', (c) => c.notNull())
      .addColumn('acquired_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.deleteFrom('sync_locks').where('instance_id', '<', 0).execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
