import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

import { DEFAULT_SYNC_FAILING_RULE } from '../../lib/builtin-rules.js';

/** The name of the rule this migration creates (an admin may rename, edit or delete it; it is never re-created). */
export { DEFAULT_SYNC_FAILING_RULE };

/**
 * What a new DBA needs from the first day (issue #20):
 * - a `sync_failing` alert rule on every instance, no channel: a failed sync shows on the alerts page at once
 *   (consecutive = 1; it resolves by itself on the next successful sync). Not added when the store already has a
 *   sync_failing rule, or a rule by that name.
 * - PostgreSQL's `postgres` maintenance database tagged system (the collector tags it from now on; rows
 *   recorded before keep the flag they were created with, so they are fixed here).
 */
export const firstWeekDefaults: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    const existing = await db
      .selectFrom('alert_rules')
      .select('id')
      .where((eb) => eb.or([eb('kind', '=', 'sync_failing'), eb('name', '=', DEFAULT_SYNC_FAILING_RULE)]))
      .executeTakeFirst();
    if (!existing) {
      const now = new Date().toISOString();
      await db
        .insertInto('alert_rules')
        .values({ name: DEFAULT_SYNC_FAILING_RULE, kind: 'sync_failing', consecutive: 1, is_active: 1, channels: '[]', created_at: now, updated_at: now })
        .execute();
    }
    await db
      .updateTable('instance_databases')
      .set({ is_system: 1 })
      .where('database_name', '=', 'postgres')
      .where('instance_id', 'in', db.selectFrom('instances').select('id').where('db_type', '=', 'postgresql'))
      .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
