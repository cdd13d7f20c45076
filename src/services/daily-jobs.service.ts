/**
 * The nightly extras of the 04:00 tick: aggregation (one task per period
 * kind), the composition collection and the daily table-level sync (one task
 * per instance each), then — once those are over — alert evaluation, the
 * runway's fits for the new day (kept in the store, so the first request of
 * the day reads them instead of fitting the estate), the table ledger's
 * thinning and retention (raw rows and sync points).
 *
 * One process (local mode, SQLite): `runLocal` runs them here, in that order.
 * Queue mode (pg-boss on PostgreSQL): `enqueueRun` writes one `daily_tasks`
 * row per task and queues one job each, and every process with work on runs
 * them (`runQueued`) the way sync records run: the task is claimed under a
 * lease (WHALEFALL_LEASE_MS) renewed every heartbeat while it runs, so a dead
 * process's task is handed back by any live process's recovery (`recover`)
 * within about a lease, and a task delivered twice runs once (a finished
 * task is left alone; the work itself is idempotent: the aggregation window
 * and the run's time travel in the task, so a rerun writes the same rows).
 *
 *   const jobs = new DailyJobsService(deps);
 *   await jobs.enqueueRun(runId, scheduledFor);   // the tick owner, queue mode
 *   await queue.work(opts, syncHandler, (id) => jobs.runQueued(id));
 */
import { localDate, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { AppError, SyncError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { holderAlive, newHolder, releaseHolder } from '../lib/process-tag.js';
import { DAILY_QUEUE } from '../scheduler/queue-names.js';
import type { DailyTaskRow, DailyTasksRepository, NewDailyTask } from '../store/daily-tasks.repository.js';
import { storeRefused } from '../store/db.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { SchedulerRepository } from '../store/scheduler.repository.js';
import type { AggregationPeriod } from '../store/statistics.repository.js';
import type { AggregationService } from './aggregation.service.js';
import { PERIODS } from './aggregation.service.js';
import type { AlertsService } from './alerts.service.js';
import { SCHEDULER_ACTOR } from './audit.service.js';
import type { CompositionService } from './composition.service.js';
import type { RetentionService } from './retention.service.js';
import type { RunwayService } from './runway.service.js';
import type { EffectiveSettings } from './settings.service.js';
import type { TablesService } from './tables.service.js';

/** What runs a task's job: the pg-boss queue, or nothing in local mode. */
export interface TaskQueue {
  enqueueTasks(taskIds: number[], expireInSeconds: number): Promise<void>;
  failJobs(ids: string[], message: string, queue?: string): Promise<void>;
}

export interface DailyJobsDeps {
  tasks: DailyTasksRepository;
  runs: Pick<SchedulerRepository, 'setMessage'>;
  instances: InstancesRepository;
  aggregation: AggregationService;
  alerts: Pick<AlertsService, 'evaluate'>;
  retention: Pick<RetentionService, 'purge'>;
  composition: Pick<CompositionService, 'collect'>;
  runway: Pick<RunwayService, 'warm'>;
  tables: Pick<TablesService, 'runDailyInstance' | 'thin'>;
  settings: () => Promise<EffectiveSettings>;
  clock: Clock;
  logger: Logger;
  config: { timeZone: string; tablesDaily: boolean; leaseMs: number; heartbeatMs: number };
  /** Queue mode. */
  queue?: TaskQueue;
  /** Queue mode: the live pg-boss jobs of a task (queued, retrying or running), to hand back or re-send. */
  jobsOf?: (taskId: number) => Promise<{ id: string; state: string; started_on: string | null }[]>;
  /** Queue mode: tasks pending since before `before` whose job is lost (none, or fetched then and never started). */
  orphans?: (before: string) => Promise<{ task_id: number; job_id: string | null }[]>;
}

/** A task's kind: what `runTask` does with it. */
export type TaskKind = 'aggregate' | 'composition' | 'tables' | 'alerts' | 'runway' | 'tables_thin' | 'retention';

interface TaskParams {
  /** The run's time: retention's "now", the aggregation's computed_at. */
  at: string;
  from?: string;
  to?: string;
  day?: string;
}

/** A task that failed this many times on something other than its target is marked failed, not retried. */
const MAX_ATTEMPTS = 10;
/** A queued task's job expires after this (recovery hands a dead process's task back long before). */
const JOB_EXPIRY_S = 3600;

export class DailyJobsService {
  constructor(private readonly d: DailyJobsDeps) {}

  /** The tasks of one run: stage 1 the aggregation kinds and per-instance work, stage 2 what needs their results. */
  async plan(at: Date): Promise<NewDailyTask[]> {
    const p = (extra: Partial<TaskParams> = {}) => JSON.stringify({ at: at.toISOString(), ...extra } satisfies TaskParams);
    const out: NewDailyTask[] = [];
    const { changed } = await this.d.aggregation.dailyWindow();
    if (changed) for (const kind of PERIODS) out.push({ kind: 'aggregate', subject: kind, stage: 1, params: p(changed) });
    const instances = (await this.d.instances.list({ active: true })).filter((i) => i.credential_id !== null);
    const day = localDate(at, this.d.config.timeZone);
    for (const i of instances) out.push({ kind: 'composition', subject: String(i.id), stage: 1, params: p() });
    if (this.d.config.tablesDaily) for (const i of instances) out.push({ kind: 'tables', subject: String(i.id), stage: 1, params: p({ day }) });
    out.push({ kind: 'alerts', subject: '-', stage: 2, params: p() });
    out.push({ kind: 'runway', subject: '-', stage: 2, params: p() });
    if (this.d.config.tablesDaily) out.push({ kind: 'tables_thin', subject: '-', stage: 2, params: p() });
    out.push({ kind: 'retention', subject: '-', stage: 2, params: p() });
    return out;
  }

  /** Do one task's work; returns a one-line summary; throws when it failed. */
  async runTask(t: Pick<NewDailyTask, 'kind' | 'subject' | 'params'>): Promise<string> {
    const p = JSON.parse(t.params) as TaskParams;
    switch (t.kind as TaskKind) {
      case 'aggregate': {
        const r = await this.d.aggregation.aggregateKind(t.subject as AggregationPeriod, p.from!, p.to!, p.at);
        return `${r.period} ${r.periods} period(s) ${p.from}..${p.to}, ${r.instance_rows + r.database_rows} row(s)`;
      }
      case 'composition': {
        const v = await this.d.composition.collect(Number(t.subject));
        return `composition ${v.collected_date}`;
      }
      case 'tables': {
        const inst = await this.d.instances.get(Number(t.subject));
        if (!inst || inst.is_active !== 1) return 'instance gone or disabled: nothing to do';
        const saved = await this.d.tables.runDailyInstance(inst, p.day!, SCHEDULER_ACTOR);
        return saved === null ? 'no database picked' : `${saved} table row(s)`;
      }
      case 'alerts': {
        const s = await this.d.alerts.evaluate();
        return `alerts: ${s.rules} rule(s), ${s.fired} fired, ${s.resolved} resolved`;
      }
      case 'runway': {
        const w = await this.d.runway.warm();
        return `runway fitted for the day: ${w.map((x) => `${x.series} ${x.scope} series`).join(', ')}`;
      }
      case 'tables_thin':
        return `${await this.d.tables.thin()} old table row(s) thinned`;
      case 'retention': {
        const r = await this.d.retention.purge(new Date(p.at));
        const daily = r.retention_days === null ? '' : `retention ${r.retention_days} d: ${r.deleted} raw rows before ${r.cutoff} purged; `;
        return `${daily}${r.points_deleted} sync points older than ${r.points_days} d purged`;
      }
      default:
        throw new Error(`unknown nightly task kind "${t.kind}"`);
    }
  }

  /**
   * Local mode: the whole nightly work in this process. Aggregation, alerts and retention failing fails the
   * run; an instance whose composition or tables fail is counted, never fails it.
   */
  async runLocal(at: Date): Promise<string> {
    const tasks = await this.plan(at);
    const agg = tasks.filter((t) => t.kind === 'aggregate');
    const parts: string[] = [];
    if (agg.length === 0) parts.push('nothing to aggregate');
    for (const t of agg) parts.push(await this.runTask(t));
    const concurrency = (await this.d.settings()).sync_concurrency;
    for (const kind of ['composition', 'tables'] as const) {
      const mine = tasks.filter((t) => t.kind === kind);
      if (kind === 'tables' && !this.d.config.tablesDaily) continue;
      let failed = 0;
      await mapLimit(mine, concurrency, async (t) => {
        try {
          await this.runTask(t);
        } catch (err) {
          failed++;
          this.d.logger.warn({ instance_id: Number(t.subject), err: errorMessage(err) }, `daily ${kind} failed`);
        }
      });
      parts.push(`${kind}: ${mine.length - failed} instance(s)${failed ? `, ${failed} failed` : ''}`);
    }
    for (const t of tasks.filter((x) => x.stage === 2)) parts.push(await this.runTask(t));
    return parts.join('; ');
  }

  /** Queue mode: the run's tasks and their jobs (a second call for the run queues nothing new). */
  async enqueueRun(runId: number, at: Date): Promise<string> {
    const now = this.d.clock.now().toISOString();
    const rows = await this.d.tasks.create(runId, await this.plan(at), now);
    await this.send(rows.filter((t) => t.status === 'pending'));
    await this.afterTask(runId);
    return `queued ${rows.length} nightly task(s) (daily_tasks run ${runId})`;
  }

  private async send(rows: Pick<DailyTaskRow, 'id'>[]): Promise<void> {
    if (!rows.length) return;
    await this.d.queue!.enqueueTasks(
      rows.map((t) => t.id),
      JOB_EXPIRY_S,
    );
    await this.d.tasks.touchQueued(
      rows.map((t) => t.id),
      this.d.clock.now().toISOString(),
    );
  }

  /**
   * Run one queued task (a pg-boss job). 'done' when it is over (or was
   * already: a redelivery changes nothing); 'hand-back' when another live
   * process holds it, or it failed on something to retry (the store, a busy
   * instance): pg-boss delivers it again later, to any process.
   */
  async runQueued(taskId: number): Promise<'done' | 'hand-back'> {
    const t = await this.d.tasks.get(taskId);
    if (!t || (t.status !== 'pending' && t.status !== 'running')) return 'done';
    const holder = newHolder();
    const lease = () => new Date(this.d.clock.now().getTime() + this.d.config.leaseMs).toISOString();
    try {
      if (!(await this.d.tasks.claim(t.id, holder, this.d.clock.now().toISOString(), lease()))) return 'hand-back';
      // The lease follows the work: renewed every heartbeat while this process runs it.
      const beat = setInterval(() => {
        this.d.tasks
          .renew([holder], lease())
          .catch((err) => this.d.logger.warn({ err, task_id: t.id }, 'could not renew a nightly task lease (store unreachable?)'));
      }, this.d.config.heartbeatMs);
      beat.unref();
      let status: 'completed' | 'failed' = 'completed';
      let message: string;
      try {
        message = await this.runTask(t);
      } catch (err) {
        message = errorMessage(err);
        // The target's failure (unreachable, unsupported) is the task's result, as in local mode; a busy instance
        // (its table sync runs elsewhere) or the store failing is retried, a bounded number of times. A save the
        // store refuses for its values fails the same way every time: the task fails at once, saying why.
        const retry = err instanceof AppError ? err.kind === 'conflict' : !(err instanceof SyncError) && !storeRefused(err);
        if (!retry || t.attempt + 1 >= MAX_ATTEMPTS) status = 'failed';
        else {
          this.d.logger.warn({ err, task_id: t.id, kind: t.kind, subject: t.subject, attempt: t.attempt + 1 }, 'nightly task handed back to the queue');
          await this.d.tasks.release(t.id, holder);
          return 'hand-back';
        }
      } finally {
        clearInterval(beat);
      }
      const mine = await this.d.tasks.finish(t.id, holder, status, this.d.clock.now().toISOString(), message);
      if (!mine) this.d.logger.warn({ task_id: t.id }, 'nightly task finished after its lease was taken over (the other process finishes it)');
      else this.d.logger.info({ task_id: t.id, run_id: t.run_id, kind: t.kind, subject: t.subject, status, message }, 'nightly task finished');
      await this.afterTask(t.run_id);
      return 'done';
    } finally {
      releaseHolder(holder);
    }
  }

  /** A task of the run ended: queue the next stage when this one is over; the summary when all are. */
  private async afterTask(runId: number): Promise<void> {
    await this.send(await this.d.tasks.promote(runId));
    const c = await this.d.tasks.counts(runId);
    const open = (c.waiting ?? 0) + (c.pending ?? 0) + (c.running ?? 0);
    if (open === 0) await this.d.runs.setMessage(runId, `nightly tasks done: ${c.completed ?? 0} completed, ${c.failed ?? 0} failed`);
  }

  /**
   * Queue mode, every heartbeat on every process: a running task whose lease
   * ran out (or, on this host, whose pid is gone) is pending again and its
   * job handed back now; a promotion lost with its process is redone; a
   * pending task whose job is gone (or was fetched a lease ago and never
   * started) is queued again. A few queries per pass, whatever the number of
   * tasks. Returns how many tasks were handed back.
   */
  async recover(): Promise<number> {
    if (!this.d.queue) return 0;
    const now = this.d.clock.now();
    const at = now.toISOString();
    const leaseAgo = new Date(now.getTime() - this.d.config.leaseMs).toISOString();
    let n = 0;
    for (const t of await this.d.tasks.running()) {
      const gone = t.lock_expires_at === null || t.lock_expires_at < at || holderAlive(t.holder) === false;
      if (gone && (await this.d.tasks.release(t.id, t.holder))) {
        this.d.logger.warn(
          { task_id: t.id, kind: t.kind, subject: t.subject, dead_holder: t.holder },
          'nightly task of a dead process handed back to the queue',
        );
        await this.requeue(t.id);
        n++;
      }
    }
    for (const runId of await this.d.tasks.runsWaiting()) await this.send(await this.d.tasks.promote(runId));
    const orphans = (await this.d.orphans?.(leaseAgo)) ?? [];
    const stuck = orphans.filter((o) => o.job_id !== null).map((o) => o.job_id!);
    if (stuck.length) await this.d.queue.failJobs(stuck, 'handed back: fetched by a process that is gone', DAILY_QUEUE);
    await this.send(orphans.filter((o) => o.job_id === null).map((o) => ({ id: o.task_id })));
    if (orphans.length) this.d.logger.warn({ tasks: orphans.length }, 'nightly tasks whose job was lost queued again');
    return n + orphans.length;
  }

  /** Make a task's job run again now: fail the running one (its process is gone), or send one. */
  private async requeue(taskId: number): Promise<void> {
    const active = ((await this.d.jobsOf?.(taskId)) ?? []).filter((j) => j.state === 'active');
    if (active.length) {
      await this.d.queue!.failJobs(
        active.map((j) => j.id),
        'handed back: the process running it is gone',
        DAILY_QUEUE,
      );
    } else await this.send([{ id: taskId }]);
  }
}
