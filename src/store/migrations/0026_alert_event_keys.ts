import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * An alert event keeps its message by key and parameters next to its bilingual text (issue #20: one
 * language per screen), as sync records do since 0022: `{"key": …, "params": {…}}` as JSON. The text
 * stays for notifications and exports; the UI shows the key in the user's language. Events from before
 * keep a null key and show their text.
 */
export const alertEventKeys: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('alert_events').addColumn('message_msg', 'text').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
