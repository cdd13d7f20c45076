import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * A database row's remarks keep their message key and parameters next to their text (issue #20: one language per
 * screen), as sync records do since 0022: `{"key": …, "params": {…}}` as JSON in `error_msg` / `note_msg`, for the
 * remarks that carry values (Oracle's "1/3 files could not be sized", a PDB's state, SQL Server's refusals). Rows
 * from before keep a null key: a constant remark is still recognised by its text, any other is shown as stored.
 */
export const databaseRemarkKeys: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('database_size_stats').addColumn('error_msg', 'text').execute();
    await db.schema.alterTable('database_size_stats').addColumn('note_msg', 'text').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
