/**
 * The per-instance table-sync lock: its own key space, so a table sync and
 * a capacity sync of one instance may overlap and two table syncs may not.
 * A row taken atomically, as the capacity lock is (sync.repository.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class TableLocksRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Take the instance's table-sync lock; false when another holder has it and its lease has not ended. */
  async acquire(instanceId: number, holder: string, now: string, expiresAt: string): Promise<boolean> {
    const row = await this.db
      .insertInto('table_sync_locks')
      .values({ instance_id: instanceId, holder, acquired_at: now, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.column('instance_id').doUpdateSet({ holder, acquired_at: now, expires_at: expiresAt }).where('table_sync_locks.expires_at', '<', now),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  /** The instance's table-sync lock holder, if any. */
  async holder(instanceId: number): Promise<string | undefined> {
    return (await this.db.selectFrom('table_sync_locks').select('holder').where('instance_id', '=', instanceId).executeTakeFirst())?.holder;
  }

  /** Take the table-sync lock from a holder known to be dead (compare-and-set on that holder). */
  async takeOver(instanceId: number, deadHolder: string, holder: string, now: string, expiresAt: string): Promise<boolean> {
    const r = await this.db
      .updateTable('table_sync_locks')
      .set({ holder, acquired_at: now, expires_at: expiresAt })
      .where('instance_id', '=', instanceId)
      .where('holder', '=', deadHolder)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async release(instanceId: number, holder: string): Promise<void> {
    await this.db.deleteFrom('table_sync_locks').where('instance_id', '=', instanceId).where('holder', '=', holder).execute();
  }
}
