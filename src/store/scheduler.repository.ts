import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * One row per scheduled tick: `claim` inserts (job, scheduled_for) and only the
 * process whose insert wins runs that tick — any number of replicas may run
 * the scheduler without a run happening twice.
 */
export class SchedulerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(job: string, scheduledFor: string, owner: string, now: string): Promise<number | undefined> {
    const row = await this.db
      .insertInto('scheduler_runs')
      .values({ job, scheduled_for: scheduledFor, started_at: now, status: 'running', owner })
      .onConflict((oc) => oc.columns(['job', 'scheduled_for']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  async finish(id: number, r: { status: 'completed' | 'failed' | 'skipped'; at: string; sessionId?: string; message?: string }): Promise<void> {
    await this.db
      .updateTable('scheduler_runs')
      .set({ status: r.status, finished_at: r.at, session_id: r.sessionId ?? null, message: r.message ?? null })
      .where('id', '=', id)
      .execute();
  }

  /** Replace a run's message (the nightly tasks' outcome, written when the last one ends). */
  async setMessage(id: number, message: string): Promise<void> {
    await this.db.updateTable('scheduler_runs').set({ message }).where('id', '=', id).execute();
  }

  /** Ticks still marked running (recovery checks their owners). */
  running() {
    return this.db.selectFrom('scheduler_runs').select(['id', 'job', 'owner', 'started_at']).where('status', '=', 'running').execute();
  }

  /**
   * Close a tick whose owner process is gone: `failed` with `message`, linked
   * to the scheduled session that owner started for it (if any). Compare-and-set
   * on the owner: true when this call closed it.
   */
  async abandon(id: number, owner: string, at: string, message: string): Promise<boolean> {
    const r = await this.db
      .updateTable('scheduler_runs')
      .set((eb) => ({
        status: 'failed',
        finished_at: at,
        message,
        session_id: eb
          .selectFrom('sync_sessions')
          .select('sync_sessions.session_id')
          .where('sync_sessions.owner', '=', owner)
          .where('sync_sessions.sync_type', '=', 'scheduled_task')
          .whereRef('sync_sessions.started_at', '>=', 'scheduler_runs.started_at')
          .orderBy('sync_sessions.started_at')
          .limit(1),
      }))
      .where('id', '=', id)
      .where('owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async has(job: string, scheduledFor: string): Promise<boolean> {
    const r = await this.db.selectFrom('scheduler_runs').select('id').where('job', '=', job).where('scheduled_for', '=', scheduledFor).executeTakeFirst();
    return r !== undefined;
  }

  list(job?: string, limit = 50) {
    let q = this.db.selectFrom('scheduler_runs').selectAll();
    if (job) q = q.where('job', '=', job);
    return q.orderBy('id', 'desc').limit(limit).execute();
  }
}
