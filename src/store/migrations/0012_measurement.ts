import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

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
    const rows = (await db.selectFrom('instances').select(['id', 'options']).where('db_type', 'in', ['mysql', 'mariadb']).execute()) as { id: number; options: string | null }[];
    for (const r of rows) {
      let options: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(r.options ?? '{}');
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) options = parsed as Record<string, unknown>;
      } catch {
        // An unreadable options text is left for the service to report; only the method is added.
      }
      if (options.method !== undefined) continue;
      await db.updateTable('instances').set({ options: JSON.stringify({ ...options, method: 'logical' }) }).where('id', '=', r.id).execute();
    }
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
