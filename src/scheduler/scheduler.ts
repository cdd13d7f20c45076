/**
 * In-process cron (croner, in WHALEFALL_TZ): the nightly capacity sync and the
 * daily aggregation slot. Any number of processes may run a scheduler: each
 * tick is claimed by inserting (job, scheduled_for) into scheduler_runs, and
 * only the process whose insert wins runs it. A capacity sync is never
 * started while another scheduled one is still running. A run missed while
 * the service was down runs once at start (setting `catch_up`).
 *
 * start()/stop() are idempotent; stop() waits for runs in flight.
 */
import { Cron } from 'croner';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PROCESS_TAG } from '../lib/process-tag.js';
import { SCHEDULER_ACTOR } from '../services/audit.service.js';
import type { CapacitySyncService } from '../services/capacity-sync.service.js';
import type { EffectiveSettings, SettingsService } from '../services/settings.service.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { SchedulerRepository } from '../store/scheduler.repository.js';
import type { SyncRepository } from '../store/sync.repository.js';

export type JobName = 'capacity_sync' | 'daily_aggregation';

export interface SchedulerDeps {
  settings: SettingsService;
  capacitySync: CapacitySyncService;
  runs: SchedulerRepository;
  sync: SyncRepository;
  instances: InstancesRepository;
  logger: Logger;
  clock: Clock;
  timeZone: string;
  /**
   * The nightly extras (daily-jobs.service.ts): run here (local mode) or queued as tasks for the workers
   * (queue mode: the tick is done once they are queued). Returns a summary for the run's row.
   */
  aggregate: (scheduledFor: Date, runId: number) => Promise<string>;
  /** How often settings are re-read (ms). */
  housekeepingMs?: number;
}

const PATTERN_OF: Record<JobName, (s: EffectiveSettings) => string> = {
  capacity_sync: (s) => s.sync_cron,
  daily_aggregation: (s) => s.aggregation_cron,
};

/** The latest fire time of `pattern` at or before `now` within `lookbackMs`, if any. */
export function latestFireTime(pattern: string, timeZone: string, now: Date, lookbackMs = 25 * 3600_000): Date | undefined {
  const cron = new Cron(pattern, { timezone: timeZone, paused: true });
  let t = cron.nextRuns(1, new Date(now.getTime() - lookbackMs))[0];
  let last: Date | undefined;
  for (let i = 0; t && t.getTime() <= now.getTime() && i < 100_000; i++) {
    last = t;
    t = cron.nextRuns(1, t)[0];
  }
  return last;
}

export class Scheduler {
  private crons = new Map<JobName, { pattern: string; cron: Cron }>();
  private inFlight = new Set<Promise<void>>();
  private housekeeping: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly d: SchedulerDeps) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.reschedule();
    const s = await this.d.settings.effective();
    if (s.catch_up) await this.catchUp(s);
    this.housekeeping = setInterval(() => {
      this.reschedule().catch((err) => this.d.logger.error({ err }, 'rescheduling failed'));
    }, this.d.housekeepingMs ?? 60_000);
    this.housekeeping.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.housekeeping) clearInterval(this.housekeeping);
    for (const { cron } of this.crons.values()) cron.stop();
    this.crons.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Next fire times, for the settings page and `doctor`. */
  nextRuns(): Record<JobName, string | null> {
    const out = { capacity_sync: null, daily_aggregation: null } as Record<JobName, string | null>;
    for (const [job, { cron }] of this.crons) out[job] = cron.nextRun()?.toISOString() ?? null;
    return out;
  }

  /** (Re)create the cron jobs whose pattern changed in the settings. */
  async reschedule(): Promise<void> {
    if (!this.running) return;
    const s = await this.d.settings.effective();
    for (const job of Object.keys(PATTERN_OF) as JobName[]) {
      const pattern = PATTERN_OF[job](s);
      const current = this.crons.get(job);
      if (current?.pattern === pattern) continue;
      current?.cron.stop();
      const cron = new Cron(pattern, { timezone: this.d.timeZone, protect: true }, () => {
        const at = latestFireTime(pattern, this.d.timeZone, this.d.clock.now(), 3600_000) ?? this.d.clock.now();
        this.track(this.tick(job, at));
      });
      this.crons.set(job, { pattern, cron });
      this.d.logger.info({ job, pattern, time_zone: this.d.timeZone, next: cron.nextRun()?.toISOString() }, 'scheduled');
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** A capacity sync missed while nobody was running (within the last 25 h) runs once now. */
  private async catchUp(s: EffectiveSettings): Promise<void> {
    const missed = latestFireTime(s.sync_cron, this.d.timeZone, this.d.clock.now());
    if (!missed || (await this.d.runs.has('capacity_sync', missed.toISOString()))) return;
    if ((await this.d.instances.list({ active: true })).length === 0) return;
    this.d.logger.info({ scheduled_for: missed.toISOString() }, 'running the capacity sync missed while the service was down');
    this.track(this.tick('capacity_sync', missed));
  }

  /** Run one tick of `job` if this process wins the claim. Exposed for tests. */
  async tick(job: JobName, scheduledFor: Date): Promise<void> {
    const runId = await this.d.runs.claim(job, scheduledFor.toISOString(), PROCESS_TAG, this.d.clock.now().toISOString());
    if (runId === undefined) return; // another process has this tick
    const finish = (r: Parameters<SchedulerRepository['finish']>[1]) => this.d.runs.finish(runId, r);
    try {
      if (job === 'capacity_sync') {
        const busy = await this.d.sync.runningSessions('scheduled_task');
        if (busy.length) {
          const message = `上一次定时同步仍在运行 (previous scheduled sync ${busy[0]!.session_id} still running)`;
          this.d.logger.warn({ job }, message);
          await finish({ status: 'skipped', at: this.d.clock.now().toISOString(), message });
          return;
        }
        if (this.d.capacitySync.queued) {
          // Queue mode: the tick is done once its jobs are queued; the workers run the session, and this process
          // (which may stop at any time) does not wait for it.
          const r = await this.d.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor: SCHEDULER_ACTOR });
          await finish({ status: 'completed', at: this.d.clock.now().toISOString(), sessionId: r.session_id, message: `queued ${r.total}` });
          return;
        }
        const r = await this.d.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor: SCHEDULER_ACTOR });
        await finish({ status: 'completed', at: this.d.clock.now().toISOString(), sessionId: r.session_id, message: r.status });
      } else {
        const message = await this.d.aggregate(scheduledFor, runId);
        await finish({ status: 'completed', at: this.d.clock.now().toISOString(), message });
      }
    } catch (err) {
      this.d.logger.error({ err, job }, 'scheduled job failed');
      await finish({ status: 'failed', at: this.d.clock.now().toISOString(), message: errorMessage(err) }).catch(() => {});
    }
  }
}
