import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/** Account lockout: failed logins in a row, and until when the account is locked. */
export const securitySchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('users')
      .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('users').addColumn('locked_until', t.timestamp).execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
