/**
 * Crash recovery. A session whose owning process died (same host: its pid is
 * gone; elsewhere: its heartbeat stopped) becomes `interrupted` and its
 * unfinished records `failed` with `interrupted`. A record left running by a
 * dead worker (queue mode) — its lock expired because nobody renews it any
 * more (a lease after the worker's last heartbeat), or on this host its pid is
 * gone — is made pending again and re-queued at once (`requeue`), by exactly
 * one of the processes recovering (compare-and-set on the record's holder).
 * Runs at start and then every heartbeat (queue mode) or minute; safe to run
 * from several processes.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { holderAlive, holderProcess } from '../lib/process-tag.js';
import type { SchedulerRepository } from '../store/scheduler.repository.js';
import type { SyncRepository } from '../store/sync.repository.js';
import { HEARTBEAT_MS } from './capacity-sync.service.js';
import { MSG } from './sync/messages.js';
import { stripControl } from '../lib/control-chars.js';

export const ABANDONED_MESSAGE = '定时任务中断：运行它的进程已不在 (abandoned: the process running this scheduled run is gone)';

/**
 * A fetched job whose record is still pending and unmarked this long after its fetch lost the process that
 * fetched it: a live process marks its fetched records with the very next statement (SyncRepository.queuedRecords).
 * Such a job is handed back then, not after a lease (45 s by default).
 */
export const UNMARKED_FETCH_MS = 10_000;

/**
 * Once a process on this host is seen gone, an unmarked fetch this old is its own (or, rarely, a live
 * process's whose mark is slow: handing that back costs a retry that finds its record taken, nothing else).
 * Waiting the full UNMARKED_FETCH_MS there left a killed worker's last fetch idle for 10 s more.
 */
export const GONE_UNMARKED_MS = 2_000;

export const INTERRUPTED_MESSAGE = '同步进程中断 (interrupted: the process running this sync stopped)';

export class RecoveryService {
  constructor(
    private readonly sync: SyncRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Queue mode: hand records back to the queue (returns the ids it could not queue). */
    private readonly requeue?: (records: { id: number; instance_id: number }[]) => Promise<number[]>,
    /** Queue mode: hand back jobs fetched over `leaseMs` ago (or unmarked and fetched over `unmarkedMs` ago, on the store's clock) whose record never started (returns how many). */
    private readonly handBackStale?: (leaseMs: number, unmarkedMs: number) => Promise<number>,
    /** A lease (ms): how long a fetched job may stay unstarted before it is presumed lost with its process. */
    private readonly leaseMs = 45_000,
    /** Scheduled ticks: the runs table and the tags of the processes beating now (a tick's owner elsewhere is judged by them). */
    private readonly ticks?: { runs: Pick<SchedulerRepository, 'running' | 'abandon'>; liveTags: () => Promise<Set<string>> },
    /** Queue mode: pending records of queue sessions started before the date that no job will run (ProcessesRepository.jobless). */
    private readonly jobless?: (before: string) => Promise<{ id: number; instance_id: number; runs: number | null; last_error: string | null }[]>,
  ) {}

  private readonly more: (() => Promise<number>)[] = [];

  /** Recover something else too, in the same pass (the nightly tasks); it returns how many it handed back. */
  also(fn: () => Promise<number>): void {
    this.more.push(fn);
  }

  /** Recover now and then every `everyMs`; returns a stop function. */
  startPeriodic(everyMs = 60_000): () => void {
    const run = () => void this.recover().catch((err) => this.logger.error({ err }, 'recovery failed'));
    const timer = setInterval(run, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private pass: Promise<unknown> | undefined;
  /** A pass asked for during a pass follows it, with the shortest unmarked bound asked (`recover`). */
  private again: number | undefined;

  /** How long a fetched job may stay unmarked (UNMARKED_FETCH_MS, never more than a lease). */
  private get unmarkedMs(): number {
    return Math.min(UNMARKED_FETCH_MS, this.leaseMs);
  }

  /**
   * A process was seen to die: recover now, and once more when the jobs it may have fetched without marking
   * them yet can be told from a live process's (GONE_UNMARKED_MS later, with that bound).
   */
  processGone(): void {
    this.recoverSoon();
    const unmarkedMs = Math.min(GONE_UNMARKED_MS, this.unmarkedMs);
    setTimeout(() => this.recoverSoon(unmarkedMs), unmarkedMs + 250).unref();
  }

  /** Recover now, one pass at a time: asked during a pass, one more follows it. `unmarkedMs`: see `recover`. */
  recoverSoon(unmarkedMs?: number): void {
    if (this.pass) {
      this.again = Math.min(this.again ?? this.unmarkedMs, unmarkedMs ?? this.unmarkedMs);
      return;
    }
    this.pass = this.recover(unmarkedMs)
      .catch((err) => this.logger.error({ err }, 'recovery failed'))
      .finally(() => {
        this.pass = undefined;
        const next = this.again;
        this.again = undefined;
        if (next !== undefined) this.recoverSoon(next);
      });
  }

  /** `unmarkedMs`: how old an unmarked fetch must be to be handed back (default UNMARKED_FETCH_MS; shorter once a process is seen gone). */
  async recover(unmarkedMs = this.unmarkedMs): Promise<{ sessions: number; records: number }> {
    const now = this.clock.now();
    const at = now.toISOString();
    const staleBefore = new Date(now.getTime() - 4 * HEARTBEAT_MS).toISOString();
    let sessions = 0;
    let records = 0;
    const queued: string[] = [];
    for (const s of await this.sync.runningSessions()) {
      if (s.owner === null) {
        queued.push(s.session_id); // queue sessions: their records are checked below
        continue;
      }
      const alive = holderAlive(s.owner);
      const stale = (s.heartbeat_at ?? s.started_at) < staleBefore;
      if (alive === false || (alive === undefined && stale)) {
        const n = await this.sync.interruptSession(s.session_id, at, INTERRUPTED_MESSAGE);
        sessions++;
        records += n;
        this.logger.warn({ session_id: s.session_id, owner: s.owner, records: n }, 'sync session interrupted (its process is gone)');
      }
    }
    const touched = new Set<string>();
    for (const r of await this.sync.runningRecords()) {
      const leaseEnd = r.lock_expires_at ?? r.started_at ?? at;
      let dead: boolean;
      if (r.session_owner === null) {
        // Queue mode: the lock is renewed every heartbeat while its process runs the record. No lock, an expired
        // one, or a dead pid on this host: nobody is running it. Pending again, and queued for any worker.
        const gone = r.lock_expires_at === null || r.lock_expires_at < at || holderAlive(r.holder) === false;
        if (gone && this.requeue && (await this.sync.reclaimRecord(r.id, r.holder))) {
          const dropped = await this.requeue([{ id: r.id, instance_id: r.instance_id }]);
          this.logger.warn(
            { record_id: r.id, instance_id: r.instance_id, dead_holder: r.holder, queued: dropped.length === 0 },
            'record of a dead process handed back to the queue',
          );
          records++;
        }
        continue;
      } else {
        const alive = holderAlive(r.holder);
        dead = alive === false || (alive === undefined && leaseEnd < at);
      }
      if (dead) {
        if (await this.sync.failInterruptedRecord(r.id, r.holder, at, INTERRUPTED_MESSAGE)) {
          records++;
          touched.add(r.session_id);
        }
      }
    }
    if (this.handBackStale) {
      const n = await this.handBackStale(this.leaseMs, unmarkedMs);
      if (n) this.logger.warn({ jobs: n }, 'jobs fetched by a process that died before starting them handed back to the queue');
      records += n;
    }
    for (const fn of this.more) records += await fn();
    for (const sessionId of touched) {
      const s = await this.sync.getSession(sessionId);
      if (s?.status === 'running') await this.sync.finishIfDone(sessionId, at);
    }
    // A job pg-boss gave up on (its last retry failed too: a store error every time it ran) leaves its record pending
    // with nothing to run it: the record fails, saying so, and its session can close.
    if (queued.length && this.jobless) {
      for (const r of await this.jobless(new Date(now.getTime() - this.leaseMs).toISOString())) {
        const why = MSG.jobGivenUp(r.runs, r.last_error === null ? null : stripControl(r.last_error));
        if (!(await this.sync.endIfPending(r.id, at, why, 'internal', 'failed'))) continue;
        records++;
        this.logger.error({ record_id: r.id, instance_id: r.instance_id, runs: r.runs, last_error: r.last_error }, 'record failed: the queue gave its job up');
      }
    }
    // A queue session is closed by the check after its last record (`runQueuedRecord`). When that check could not run
    // (the store cut as the last record ended: the job is failed, then waits out its retry delay, or expires with a
    // lease of minutes), the session stayed running with every record ended: nobody else closes it.
    for (const sessionId of queued) {
      const closed = await this.sync.finishIfDone(sessionId, at);
      if (closed) this.logger.info({ session_id: sessionId, status: closed.status }, 'sync session closed by recovery (every record had ended)');
    }
    await this.closeAbandonedTicks(at, staleBefore);
    return { sessions, records };
  }

  /**
   * A scheduled tick left `running` by a process that is gone (SIGKILL, power
   * loss) is closed `failed` with the reason, so the settings page and
   * `scheduler_runs` never show a run nobody is running. Same host: its pid is
   * dead; elsewhere: it has not beaten the processes table for 4 heartbeats.
   */
  private async closeAbandonedTicks(at: string, staleBefore: string): Promise<void> {
    if (!this.ticks) return;
    const running = await this.ticks.runs.running();
    if (!running.length) return;
    const live = await this.ticks.liveTags();
    for (const r of running) {
      const alive = holderAlive(r.owner);
      const dead = alive === false || (alive === undefined && !live.has(r.owner) && r.started_at < staleBefore);
      if (!dead) continue;
      const who = holderProcess(r.owner);
      const message = `${ABANDONED_MESSAGE}: ${who ? `${who.host} pid ${who.pid}` : r.owner}`;
      if (await this.ticks.runs.abandon(r.id, r.owner, at, message))
        this.logger.warn({ run_id: r.id, job: r.job, owner: r.owner }, 'scheduled run closed: its process is gone');
    }
  }
}
