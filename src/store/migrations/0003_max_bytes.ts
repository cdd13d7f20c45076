import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/** How far a database/tablespace can grow when the engine knows it (Oracle autoextend MAXBYTES). */
export const maxBytes: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('database_size_stats').addColumn('max_bytes', 'bigint').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
