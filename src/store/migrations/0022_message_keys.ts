import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * A stored error keeps its message key and parameters next to its text
 * (issue #20: one language per screen): `{"key": …, "params": {…}}` as JSON,
 * so the UI shows a record's or an instance's last error in the user's
 * language. Rows from before keep a null key and show their text.
 */
export const messageKeys: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('sync_instance_records').addColumn('error_msg', 'text').execute();
    await db.schema.alterTable('instances').addColumn('last_sync_error_msg', 'text').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
