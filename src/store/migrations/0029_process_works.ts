import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * A process's heartbeat says whether it works queued jobs (`works`: 1 for a worker and a working `serve`, 0 for
 * `serve --no-work`): the estate's `sync_concurrency` is shared among the processes that work, so when one of
 * them dies the others take its share (processes.service.ts `share`). Rows from before count as working.
 */
export const processWorks: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('processes')
      .addColumn('works', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
