import type { Kysely } from 'kysely';
import { pinMysqlMethod, type MigrationFactory } from './helpers.js';

/**
 * Measurement truth (issue 18):
 * - `database_size_stats.note`: a remark on a measured database that is not an
 *   error (a PostgreSQL database with ALLOW_CONNECTIONS false is measured by
 *   pg_database_size but cannot be opened for its tables; a MySQL database
 *   measured logically because PROCESS is missing).
 * - MySQL/MariaDB instances registered before `auto` became the default keep
 *   the method their history was measured with: `logical` is written into
 *   their options explicitly, so the series stays comparable until an admin
 *   changes it.
 */
export const measurementSchema: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('database_size_stats').addColumn('note', 'text').execute();
    await pinMysqlMethod(db);
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
