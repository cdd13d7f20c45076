/**
 * Sync sessions, their per-instance records, and the per-instance lock.
 * The lock is a row: `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at < now
 * RETURNING` takes it atomically in SQLite and PostgreSQL alike, so two
 * processes can never sync the same instance at once; an expired row (its
 * holder crashed) can be taken over.
 */
import type { Kysely, Transaction, Updateable } from 'kysely';
import type { Database, SyncInstanceRecordRow, SyncInstanceRecordsTable, SyncSessionRow } from './schema.js';

export type SyncType = 'manual_single' | 'manual_batch' | 'scheduled_task';
export type SessionStatus = 'running' | 'completed' | 'partial' | 'failed' | 'interrupted';
export type RecordStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

type Db = Kysely<Database> | Transaction<Database>;

export class SyncRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async createSession(s: {
    sessionId: string;
    syncType: SyncType;
    createdBy: number | null;
    startedAt: string;
    instances: { id: number; name: string }[];
  }): Promise<{ session: SyncSessionRow; records: SyncInstanceRecordRow[] }> {
    return this.db.transaction().execute(async (trx) => {
      const session = await trx
        .insertInto('sync_sessions')
        .values({
          session_id: s.sessionId,
          sync_type: s.syncType,
          sync_category: 'capacity',
          status: 'running',
          started_at: s.startedAt,
          total_instances: s.instances.length,
          successful_instances: 0,
          failed_instances: 0,
          created_by: s.createdBy,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const records: SyncInstanceRecordRow[] = [];
      for (let i = 0; i < s.instances.length; i += 1000) {
        const part = s.instances.slice(i, i + 1000);
        records.push(
          ...(await trx
            .insertInto('sync_instance_records')
            .values(part.map((inst) => ({ session_id: s.sessionId, instance_id: inst.id, instance_name: inst.name, status: 'pending', attempt: 0 })))
            .returningAll()
            .execute()),
        );
      }
      return { session, records };
    });
  }

  async updateRecord(id: number, patch: Updateable<SyncInstanceRecordsTable>, db: Db = this.db): Promise<void> {
    await db.updateTable('sync_instance_records').set(patch).where('id', '=', id).execute();
  }

  /**
   * Close a session: its status follows from its records — completed when
   * none failed, failed when none succeeded, partial otherwise.
   */
  async finishSession(sessionId: string, completedAt: string): Promise<SyncSessionRow> {
    const counts = await this.db
      .selectFrom('sync_instance_records')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('session_id', '=', sessionId)
      .groupBy('status')
      .execute();
    const n = (st: RecordStatus) => Number(counts.find((c) => c.status === st)?.n ?? 0);
    const ok = n('completed');
    const failed = n('failed');
    const status: SessionStatus = failed === 0 ? 'completed' : ok === 0 ? 'failed' : 'partial';
    return this.db
      .updateTable('sync_sessions')
      .set({ status, completed_at: completedAt, successful_instances: ok, failed_instances: failed })
      .where('session_id', '=', sessionId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  getSession(sessionId: string): Promise<SyncSessionRow | undefined> {
    return this.db.selectFrom('sync_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
  }

  records(sessionId: string): Promise<SyncInstanceRecordRow[]> {
    return this.db.selectFrom('sync_instance_records').selectAll().where('session_id', '=', sessionId).orderBy('id').execute();
  }

  recordsOfInstance(instanceId: number, limit = 50): Promise<(SyncInstanceRecordRow & { sync_type: string })[]> {
    return this.db
      .selectFrom('sync_instance_records as r')
      .innerJoin('sync_sessions as s', 's.session_id', 'r.session_id')
      .selectAll('r')
      .select('s.sync_type')
      .where('r.instance_id', '=', instanceId)
      .orderBy('r.id', 'desc')
      .limit(limit)
      .execute();
  }

  listSessions(limit = 50, offset = 0): Promise<SyncSessionRow[]> {
    return this.db.selectFrom('sync_sessions').selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  }

  /** Take the instance's sync lock; false when another live holder has it. */
  async acquireLock(instanceId: number, holder: string, now: string, expiresAt: string): Promise<boolean> {
    const row = await this.db
      .insertInto('sync_locks')
      .values({ instance_id: instanceId, holder, acquired_at: now, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('instance_id')
          .doUpdateSet({ holder, acquired_at: now, expires_at: expiresAt })
          .where('sync_locks.expires_at', '<', now),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  async releaseLock(instanceId: number, holder: string): Promise<void> {
    await this.db.deleteFrom('sync_locks').where('instance_id', '=', instanceId).where('holder', '=', holder).execute();
  }
}
