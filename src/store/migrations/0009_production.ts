import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Cancelling a running session: the request is a timestamp on the session
 * (any process may set it; the processes running its records watch for it).
 */
export const productionSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('sync_sessions').addColumn('cancel_requested_at', t.timestamp).execute();
    await db.schema.alterTable('sync_sessions').addColumn('cancelled_by', 'bigint').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
