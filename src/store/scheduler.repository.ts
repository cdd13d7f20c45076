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
