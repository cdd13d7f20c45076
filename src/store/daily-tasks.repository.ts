/**
 * The nightly extras' tasks (`daily_tasks`, queue mode): created per
 * scheduler run, claimed under a lease by the process that runs them, and
 * handed back when that process is gone. Every state change is a
 * compare-and-set, so several processes may recover and promote at once.
 */
import type { Kysely } from 'kysely';
import type { Database, DailyTasksTable } from './schema.js';
import type { Selectable } from 'kysely';

export type DailyTaskRow = Selectable<DailyTasksTable>;

export interface NewDailyTask {
  kind: string;
  subject: string;
  stage: number;
  params: string;
}

export class DailyTasksRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Create the run's tasks (stage 1 pending, later stages waiting); a second call for the run adds nothing. */
  async create(runId: number, tasks: NewDailyTask[], at: string): Promise<DailyTaskRow[]> {
    for (let i = 0; i < tasks.length; i += 500) {
      await this.db
        .insertInto('daily_tasks')
        .values(tasks.slice(i, i + 500).map((t) => ({ run_id: runId, ...t, status: t.stage === 1 ? 'pending' : 'waiting', queued_at: at })))
        .onConflict((oc) => oc.columns(['run_id', 'kind', 'subject']).doNothing())
        .execute();
    }
    return this.ofRun(runId);
  }

  ofRun(runId: number): Promise<DailyTaskRow[]> {
    return this.db.selectFrom('daily_tasks').selectAll().where('run_id', '=', runId).orderBy('id').execute();
  }

  get(id: number): Promise<DailyTaskRow | undefined> {
    return this.db.selectFrom('daily_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Take a pending task (or one whose lease ran out) for `holder`; false when another live process has it. */
  async claim(id: number, holder: string, now: string, expiresAt: string): Promise<boolean> {
    const r = await this.db
      .updateTable('daily_tasks')
      .set((eb) => ({ status: 'running', holder, lock_expires_at: expiresAt, started_at: now, attempt: eb('attempt', '+', 1) }))
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'running'), eb('lock_expires_at', '<', now)])]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Push the lease of running tasks held by `holders`. */
  async renew(holders: string[], expiresAt: string): Promise<void> {
    if (holders.length === 0) return;
    await this.db.updateTable('daily_tasks').set({ lock_expires_at: expiresAt }).where('status', '=', 'running').where('holder', 'in', holders).execute();
  }

  /** End a task `holder` still holds; false when its lease was taken over (the other process finishes it). */
  async finish(id: number, holder: string, status: 'completed' | 'failed', at: string, message: string): Promise<boolean> {
    const r = await this.db
      .updateTable('daily_tasks')
      .set({ status, finished_at: at, message: message.slice(0, 2000), lock_expires_at: null })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('holder', '=', holder)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Pending again (handed back by its holder, or taken from a dead one): true for the one process whose update wins. */
  async release(id: number, holder: string | null): Promise<boolean> {
    let q = this.db.updateTable('daily_tasks').set({ status: 'pending', lock_expires_at: null }).where('id', '=', id).where('status', '=', 'running');
    q = holder === null ? q.where('holder', 'is', null) : q.where('holder', '=', holder);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * When no task of an earlier stage of the run is left unfinished, make the
   * waiting ones pending; returns those this call promoted (exactly one of
   * several concurrent callers gets them: the row update is the lock).
   */
  async promote(runId: number): Promise<DailyTaskRow[]> {
    return this.db
      .updateTable('daily_tasks as t')
      .set({ status: 'pending' })
      .where('t.run_id', '=', runId)
      .where('t.status', '=', 'waiting')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('daily_tasks as e')
              .select('e.id')
              .whereRef('e.run_id', '=', 't.run_id')
              .whereRef('e.stage', '<', 't.stage')
              .where('e.status', 'not in', ['completed', 'failed']),
          ),
        ),
      )
      .returningAll()
      .execute();
  }

  /** Running tasks whose lease ended before `now` or that hold no lease (their process stopped renewing it). */
  expired(now: string): Promise<DailyTaskRow[]> {
    return this.db
      .selectFrom('daily_tasks')
      .selectAll()
      .where('status', '=', 'running')
      .where((eb) => eb.or([eb('lock_expires_at', 'is', null), eb('lock_expires_at', '<', now)]))
      .execute();
  }

  /** Every running task (recovery checks their holders' pids on this host). */
  running(): Promise<DailyTaskRow[]> {
    return this.db.selectFrom('daily_tasks').selectAll().where('status', '=', 'running').execute();
  }

  /** Runs with tasks still waiting for their stage (a promotion lost with its process is redone). */
  async runsWaiting(): Promise<number[]> {
    const r = await this.db.selectFrom('daily_tasks').select('run_id').distinct().where('status', '=', 'waiting').execute();
    return r.map((x) => Number(x.run_id));
  }

  /** A task was (re)queued now: recovery looks for lost jobs only among tasks queued a lease ago. */
  async touchQueued(ids: number[], at: string): Promise<void> {
    if (ids.length) await this.db.updateTable('daily_tasks').set({ queued_at: at }).where('id', 'in', ids).execute();
  }

  /** Tasks of the run by status. */
  async counts(runId: number): Promise<Record<string, number>> {
    const r = await this.db
      .selectFrom('daily_tasks')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(r.map((x) => [x.status, Number(x.n)]));
  }

  /** Tasks by status over every run (the estate gauge). */
  async states(): Promise<Record<string, number>> {
    const r = await this.db
      .selectFrom('daily_tasks')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'not in', ['completed', 'failed'])
      .groupBy('status')
      .execute();
    return Object.fromEntries(r.map((x) => [x.status, Number(x.n)]));
  }
}
