import type { Kysely } from 'kysely';
import { pinMysqlMethod, type MigrationFactory } from './helpers.js';

/**
 * MySQL/MariaDB `auto` becomes the engine's default (issue 18 item 7):
 * - `database_size_stats.allocated_bytes`: the bytes of a database's own
 *   files as the server reports them (InnoDB tablespace FILE_SIZE), next to
 *   the table statistics (data / index / free); NULL when the method read no
 *   file (logical, other engines).
 * - `instance_composition.ceiling_detail` (JSON): where the engine's
 *   ceiling came from in detail (SQL Server: each volume's total and free
 *   from sys.dm_os_volume_stats) or why it is unknown (the missing grant).
 * - Instances added after 0012 while the engine's default was still
 *   `logical` and that name no method get `logical` written, as 0012 did for
 *   older ones: their history stays comparable until an admin changes it.
 */
export const mysqlAutoSchema: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('database_size_stats').addColumn('allocated_bytes', 'bigint').execute();
    await db.schema.alterTable('instance_composition').addColumn('ceiling_detail', 'text').execute();
    await pinMysqlMethod(db);
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
