/**
 * Scale-out: with a PostgreSQL store and WHALEFALL_QUEUE=pg-boss, a session's
 * records become pg-boss jobs (one per instance, singletonKey = instance id,
 * queue policy `stately`: at most one queued and one running job per
 * instance) in the same database, and any number of `whalefall worker`
 * processes run them.
 *
 * Jobs are fetched and settled here, not by pg-boss's `work()`: pg-boss 10
 * calls `complete()`/`fail()` without awaiting them, so a store outage at
 * the end of a job rejected with nobody listening and killed the process.
 * Here every fetch, complete and fail is awaited; a settle that fails on a
 * store error is retried until the store answers again (or the process
 * stops: the job then expires and pg-boss hands it out again — the record
 * itself is idempotent, so a job run twice saves once).
 *
 * A dead process's jobs do not wait for pg-boss's expiry: its sync locks stop
 * being renewed, and recovery (any live process) re-queues their records
 * with `requeue` (see recovery.service.ts).
 *
 * A few sync jobs are fetched and marked ahead of the free places
 * (read-ahead.ts), so a place that frees starts its next job without
 * waiting for a fetch.
 *
 * A second queue carries the nightly extras (one job per `daily_tasks` row,
 * singletonKey `task:<id>`, see daily-jobs.service.ts); the same loop fetches
 * them when no sync job is waiting, under the same concurrency.
 */
import PgBoss from 'pg-boss';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { lazyModule } from '../lib/lazy-module.js';
import { preparingClient, type PrepareOptions } from '../store/pg-prepared.js';
import type { SyncQueue } from '../services/capacity-sync.service.js';

import { CAPACITY_QUEUE, DAILY_QUEUE, QUEUE_SCHEMA } from './queue-names.js';
import { againAfterDeadlock, ANALYZE_AFTER, analyzeJobs, ensureFetchIndex, retryNow, retryWithin } from './pgboss-schema.js';
import { ReadAhead } from './read-ahead.js';
import { Batches } from '../lib/batches.js';
import type { Admitted, Fetched, Handler, JobData, Ran, TaskData, WorkOptions } from './jobs.js';

export type { Admitted, JobResult, WorkOptions } from './jobs.js';

export { CAPACITY_QUEUE, DAILY_QUEUE, QUEUE_SCHEMA };

/** How soon a process asks again for an estate-wide slot it was refused (jittered ±50 %). */
const ADMIT_RETRY_MS = 200;

/** Jobs queued per INSERT. */
const ENQUEUE_BATCH = 500;

/** A job whose handler threw is due again within this (s), however many times it failed before (`retryLater`). */
export const RETRY_FAILED_WITHIN_S = 30;
/** A job handed back without failing is due again within this (s): a busy instance's lock is asked for again soon. */
export const RETRY_HANDED_BACK_WITHIN_S = 3;

export class PgBossQueue implements SyncQueue {
  private readonly boss: PgBoss;
  private started = false;
  /** pg-boss itself started (its timers run until `stop()`), even when the rest of `start()` failed. */
  private booted = false;
  private working = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Jobs whose handler runs. */
  private readonly running = new Set<Promise<void>>();
  /** Places held: jobs being started or running that have not freed theirs early (`freePlace`). */
  private placesHeld = 0;
  /** Jobs finishing after freeing their place early, and the bound on them (the last concurrency read). */
  private finishing = 0;
  private lastConcurrency = 0;
  /** Fetches whose jobs start once their records are marked (`launch`), or wait for a place once marked (`readAhead`). */
  private readonly starting = new Set<Promise<void>>();
  /** Sync jobs fetched and marked ahead of the free places (read-ahead.ts). */
  private readonly ahead = new ReadAhead<Fetched>();
  /** Jobs whose handler ended, being settled (completed or failed); they hold no place. */
  private readonly settling = new Set<Promise<void>>();
  /** Admissions of jobs that ended, for the next fetch (`WorkOptions.admit`'s `kept`). */
  private kept: Admitted[] = [];
  /** Per queue: the completion batch still taking job ids, and the last one sent. */
  private readonly completing = new Map<string, Batches<string>>();

  constructor(
    databaseUrl: string,
    private readonly logger: Logger,
    opts: { maintenanceSeconds: number; poolMax?: number; prepare?: PrepareOptions },
  ) {
    // pg-boss hands its options to pg's Pool: `Client` makes its fetch and complete prepared statements too.
    const Client = preparingClient(lazyModule<typeof Pg>('pg'), opts.prepare ?? { enabled: false });
    this.boss = new PgBoss({
      ...({ Client } as object),
      connectionString: databaseUrl,
      schema: QUEUE_SCHEMA,
      application_name: 'whalefall-queue',
      max: opts.poolMax ?? 2,
      schedule: false, // cron lives in croner (scheduler.ts), not in pg-boss
      supervise: true,
      maintenanceIntervalSeconds: opts.maintenanceSeconds,
      monitorStateIntervalSeconds: opts.maintenanceSeconds,
    });
    // pg-boss reports its own errors (maintenance on a store outage) as events; they must be seen, not crash the process.
    this.boss.on('error', (err) => this.logger.error({ err }, 'pg-boss error'));
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    this.booted = true;
    await againAfterDeadlock(() => this.boss.createQueue(CAPACITY_QUEUE, { name: CAPACITY_QUEUE, policy: 'stately' }));
    await againAfterDeadlock(() => this.boss.createQueue(DAILY_QUEUE, { name: DAILY_QUEUE, policy: 'stately' }));
    await againAfterDeadlock(() => ensureFetchIndex(this.boss.getDb()));
    this.started = true;
  }

  /**
   * Give running jobs back to the queue (their process is dead): they fail and are retried at once (one
   * statement for all, and one to date their retry now). A new job would not do: the policy allows one
   * running job per instance, and the dead one's still counts. `uncounted`: jobs that never started (read
   * ahead) do not use up one of their retries.
   */
  async failJobs(ids: string[], message: string, queue = CAPACITY_QUEUE, uncounted = false): Promise<void> {
    if (!ids.length) return;
    await this.start();
    // pg-boss 10 takes an array of ids with the output too (manager.js `fail`); its typings list that overload without it.
    await this.boss.fail(queue, ids as unknown as string, { message });
    await retryNow(this.boss.getDb(), queue, ids, uncounted);
  }

  /** Jobs running in this process now. */
  runningJobs(): number {
    return this.running.size;
  }

  /**
   * Queue one job per record, ENQUEUE_BATCH at a time (one INSERT each: a 2,000-instance session is queued
   * in a few statements, not 2,000 round trips). Returns the records whose instance already has a job
   * queued (the `stately` policy drops the new one): the ids we chose that the queue does not hold.
   */
  async enqueue(records: { id: number; instance_id: number }[], expireInSeconds: number): Promise<number[]> {
    await this.start();
    const dropped: number[] = [];
    for (let i = 0; i < records.length; i += ENQUEUE_BATCH) {
      const chunk = records.slice(i, i + ENQUEUE_BATCH).map((r) => ({ record: r.id, id: randomUUID(), singletonKey: String(r.instance_id) }));
      await this.boss.insert(
        chunk.map((c) => ({
          id: c.id,
          name: CAPACITY_QUEUE,
          data: { record_id: c.record } satisfies JobData,
          singletonKey: c.singletonKey,
          expireInSeconds,
          // Retries are for jobs handed back (store outage, shutdown); collection failures are retried inside the job.
          retryLimit: 20,
          retryDelay: 2,
          retryBackoff: true,
        })),
      );
      const held = await this.boss
        .getDb()
        .executeSql(`SELECT id FROM ${QUEUE_SCHEMA}.job WHERE name = $1 AND id = ANY($2::uuid[])`, [CAPACITY_QUEUE, chunk.map((c) => c.id)]);
      const kept = new Set((held.rows as { id: string }[]).map((r) => r.id));
      for (const c of chunk) if (!kept.has(c.id)) dropped.push(c.record);
    }
    if (records.length >= ANALYZE_AFTER)
      await analyzeJobs(this.boss.getDb()).catch((err: unknown) => this.logger.debug({ err }, 'could not analyze the job table'));
    return dropped;
  }

  /** Queue nightly tasks (one job each; a task already queued or running is not queued twice). */
  async enqueueTasks(taskIds: number[], expireInSeconds: number): Promise<void> {
    await this.start();
    for (const id of taskIds) {
      await this.boss.send(DAILY_QUEUE, { task_id: id } satisfies TaskData, {
        singletonKey: `task:${id}`,
        expireInSeconds,
        retryLimit: 20,
        retryDelay: 2,
        retryBackoff: true,
      });
    }
  }

  /**
   * Fetch and run jobs until `stop()`: at most `concurrency()` at once. A
   * handler that throws or answers 'hand-back' fails its job, which pg-boss
   * retries later (on any process).
   */
  async work<A extends Admitted>(o: WorkOptions<A>, handler: Handler, taskHandler?: Handler): Promise<void> {
    await this.start();
    if (this.working) return;
    this.working = true;
    this.loop = this.fetchLoop(o, handler, taskHandler);
  }

  /**
   * Up to `n` jobs in one fetch, sync records first: the nightly extras take the places the sync leaves; and
   * up to `ahead` more sync jobs (after the first `n`), to be read ahead (read-ahead.ts: `drained` when the
   * queue had fewer sync jobs than asked for).
   */
  private async fetchSome(n: number, ahead: number, handler: Handler, taskHandler?: Handler): Promise<Fetched[]> {
    const jobs = await this.boss.fetch<JobData>(CAPACITY_QUEUE, { batchSize: n + ahead });
    this.ahead.drained = jobs.length < n + ahead;
    const out: Fetched[] = jobs.map((j) => ({ queue: CAPACITY_QUEUE, id: j.id, subject: j.data.record_id, run: handler }));
    if (!taskHandler || out.length >= n) return out;
    const tasks = await this.boss.fetch<TaskData>(DAILY_QUEUE, { batchSize: n - out.length });
    return [...out, ...tasks.map((t) => ({ queue: DAILY_QUEUE, id: t.id, subject: t.data.task_id, run: taskHandler }))];
  }

  /**
   * Fill the free places in one go: every free place of this process is
   * admitted in the estate (one store statement, none when the ended jobs'
   * admissions are used again), jobs read ahead start at once, that many
   * more are fetched (one statement per queue) with the next read-ahead,
   * and all started together. A serial admit-fetch-start per job kept a
   * 16-place process at about half its places while the store answered 5
   * round trips for each job.
   */
  private async fetchLoop<A extends Admitted>(o: WorkOptions<A>, handler: Handler, taskHandler?: Handler): Promise<void> {
    const pollMs = o.pollMs ?? 1000;
    const giveBack = o.giveBack ?? ((unused: A[]) => Promise.all(unused.map((a) => a.release())).then(() => {}));
    const admit = o.admit;
    let failures = 0;
    while (this.working) {
      let fetched = 0;
      let refused = false;
      const kept = this.kept.splice(0) as A[];
      // Read ahead and found no place for READY_MAX_MS: another process may have room.
      void this.handBack(this.ahead.stale());
      try {
        // Kept admissions go back when the setting cannot be read (store cut): dropped, they stayed held for good.
        this.lastConcurrency = await Promise.resolve(o.concurrency()).catch(async (err: unknown) => {
          await giveBack(kept);
          throw err;
        });
        const free = this.lastConcurrency - this.placesHeld;
        if (free <= 0 && kept.length) await giveBack(kept);
        if (free > 0) {
          const admitted: Admitted[] = admit
            ? await admit(free, kept).catch(async (err: unknown) => {
                await giveBack(kept).catch(() => {});
                throw err;
              })
            : Array.from({ length: free }, () => ({ release: async () => {} }));
          // No room in the estate (other processes hold every place): ask again soon, a place frees as any job ends anywhere.
          refused = admitted.length === 0;
          if (admitted.length) {
            // Jobs read ahead first (marked already: they start at once), then a fetch for the rest and to read ahead again.
            const early = this.ahead.take(admitted.length);
            this.startMarked(early, admitted.slice(0, early.length), admit !== undefined);
            const rest = admitted.slice(early.length);
            const ahead = this.ahead.wanted(this.lastConcurrency);
            fetched = early.length;
            if (rest.length) {
              let jobs: Fetched[];
              try {
                jobs = await this.fetchSome(rest.length, ahead, handler, taskHandler);
              } catch (err) {
                await giveBack(rest as A[]).catch(() => {});
                throw err;
              }
              fetched += jobs.length;
              const now = jobs.slice(0, rest.length);
              if (now.length < rest.length) await giveBack(rest.slice(now.length) as A[]);
              this.launch(now, rest, admit !== undefined, o.fetched);
              void this.readAhead(jobs.slice(rest.length), o.fetched);
            } else if (ahead) this.fetchAhead(ahead, handler, o.fetched); // no place waits for it: the loop goes on
          }
        }
        failures = 0;
      } catch (err) {
        // The store is unreachable (or the queue schema is being migrated): keep polling, more slowly.
        failures++;
        if (failures === 1 || failures % 30 === 0) this.logger.error({ err, failures }, 'fetching queued jobs failed; retrying');
      }
      // There may be more right away; and admissions kept meanwhile are used (or given back) at once, not held through a poll.
      if ((fetched > 0 || this.kept.length > 0) && failures === 0) continue;
      await new Promise<void>((resolve) => {
        const idle = refused ? Math.min(pollMs, ADMIT_RETRY_MS) * (0.5 + Math.random()) : pollMs;
        const t = setTimeout(resolve, failures ? Math.min(pollMs * 2 ** Math.min(failures, 4), 5_000) : idle);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    await giveBack(this.kept.splice(0) as A[]).catch(() => {});
  }

  /**
   * Start a fetch's jobs once their records are marked as this process's
   * (until then, a job this process dies holding waits UNMARKED_FETCH_MS, or
   * GONE_UNMARKED_MS once the process is seen gone, to be handed back; a
   * failed mark is logged and the jobs run anyway). Their places are taken
   * now; the loop fetches again meanwhile.
   */
  private launch(jobs: Fetched[], admitted: Admitted[], keep: boolean, fetched?: (recordIds: number[]) => Promise<void>): void {
    this.placesHeld += jobs.length;
    void this.track(this.mark(jobs, fetched).then(() => jobs.forEach((job, i) => this.startJob(job, admitted[i]!, keep))));
  }

  /** The sync records of fetched jobs marked as this process's (`WorkOptions.fetched`); a failed mark is logged. */
  private mark(jobs: Fetched[], fetched?: (recordIds: number[]) => Promise<void>): Promise<void> {
    const records = jobs.filter((j) => j.queue === CAPACITY_QUEUE).map((j) => j.subject);
    return records.length && fetched
      ? fetched(records).catch((err: unknown) => this.logger.warn({ err }, 'could not mark fetched records (store unreachable?)'))
      : Promise.resolve();
  }

  /** Work between a fetch and its jobs' start (or hand-back), which a stop waits for (`starting`). */
  private track(work: Promise<void>): Promise<void> {
    const done: Promise<void> = work.finally(() => this.starting.delete(done));
    this.starting.add(done);
    return done;
  }

  /** Fetch `n` sync jobs to read ahead, in the background (places that free meanwhile take the ones ready). */
  private fetchAhead(n: number, handler: Handler, fetched?: (recordIds: number[]) => Promise<void>): void {
    this.ahead.marking(n);
    void this.track(
      this.fetchSome(0, n, handler)
        .then(
          (jobs) => this.readAhead(jobs, fetched),
          (err: unknown) => this.logger.debug({ err }, 'fetching jobs to read ahead failed'),
        )
        .finally(() => this.ahead.unmark(n)),
    );
  }

  /** Sync jobs read ahead: marked, then waiting for a place that frees (read-ahead.ts). */
  private readAhead(jobs: Fetched[], fetched?: (recordIds: number[]) => Promise<void>): Promise<void> {
    if (!jobs.length) return Promise.resolve();
    this.ahead.marking(jobs.length);
    return this.track(
      this.mark(jobs, fetched).then(async () => {
        // Stopping meanwhile: no place will take them.
        if (!this.working) {
          this.ahead.unmark(jobs.length);
          return this.handBack(jobs);
        }
        this.ahead.add(jobs);
        this.wake?.();
      }),
    );
  }

  /**
   * Give jobs read ahead back to the queue (retried at once, by any process, no retry counted); a failure is
   * logged (they expire). A stop waits for it, so pg-boss is not stopped under it.
   */
  private handBack(jobs: Fetched[]): Promise<void> {
    if (!jobs.length || !this.started) return Promise.resolve();
    return this.track(
      this.failJobs(
        jobs.map((j) => j.id),
        'handed back: read ahead and not started',
        CAPACITY_QUEUE,
        true,
      ).catch((err: unknown) => this.logger.warn({ err, jobs: jobs.length }, 'could not hand back jobs read ahead; they expire')),
    );
  }

  /** Start jobs whose records are marked already, each under its admission. */
  private startMarked(jobs: Fetched[], admitted: Admitted[], keep: boolean): void {
    this.placesHeld += jobs.length;
    jobs.forEach((job, i) => this.startJob(job, admitted[i]!, keep));
  }

  /**
   * Run a fetched job under its admission. When its handler ends, or
   * earlier when it says so (`freePlace`), its place frees (and the loop
   * wakes): the admission is kept for the next fetch (`keep`, while working)
   * or released; the job is settled after its handler ends, holding no place.
   * Jobs finishing after an early free are at most `concurrency` at once: past
   * that, a job keeps its place to the end (a slow store must not pile up
   * saves while new jobs keep coming).
   */
  private startJob(job: Fetched, admitted: Admitted, keep: boolean): void {
    let held = true;
    let early = false;
    const freePlace = async () => {
      if (!held) return;
      held = false;
      this.placesHeld--;
      this.ahead.freed();
      if (keep && this.working) this.kept.push(admitted);
      else await admitted.release().catch((err: unknown) => this.logger.warn({ err }, 'could not free the estate sync slot; its lease will'));
      this.wake?.();
    };
    const freeEarly = () => {
      if (!held || this.finishing >= this.lastConcurrency) return;
      early = true;
      this.finishing++;
      void freePlace();
    };
    const p = this.runHandler(job, freeEarly).then(async (ran) => {
      this.running.delete(p);
      if (early) this.finishing--;
      await freePlace();
      const settled = this.settle(job, ran).finally(() => this.settling.delete(settled));
      this.settling.add(settled);
    });
    this.running.add(p);
  }

  private async runHandler(job: Fetched, freePlace: () => void): Promise<Ran> {
    try {
      const r = await job.run(job.subject, freePlace);
      return typeof r === 'string' ? { result: r } : { result: 'done', after: r.after };
    } catch (error) {
      this.logFailed(job, error);
      return { result: 'hand-back', error };
    }
  }

  private logFailed(job: Fetched, err: unknown): void {
    this.logger.warn(
      { err, [job.queue === CAPACITY_QUEUE ? 'record_id' : 'task_id']: job.subject, job_id: job.id },
      'job failed; handing it back to the queue',
    );
  }

  /** Complete or fail a job whose handler ended (after what it waits for); until it sticks: a store outage must neither lose the job nor crash the process. */
  private async settle(job: Fetched, ran: Ran): Promise<void> {
    const { queue, id: jobId } = job;
    let { result, error } = ran;
    if (ran.after) {
      try {
        await ran.after;
      } catch (err) {
        this.logFailed(job, err);
        [result, error] = ['hand-back', err];
      }
    }
    const settle = () => (result === 'done' ? this.completeSoon(queue, jobId) : this.retryLater(queue, jobId, error));
    for (let attempt = 1; ; attempt++) {
      try {
        await settle();
        return;
      } catch (err) {
        if (!this.started) return; // stopped: the job expires and is handed out again
        if (attempt === 1 || attempt % 30 === 0)
          this.logger.error({ err, job_id: jobId, attempt }, `could not mark the job ${result === 'done' ? 'completed' : 'failed'}; retrying`);
        await sleep(Math.min(250 * 2 ** Math.min(attempt, 5), 5_000));
      }
    }
  }

  /**
   * A job given back for any process: one that threw (the store failing under it) uses up a retry, due within RETRY_FAILED_WITHIN_S;
   * one handed back (instance locked elsewhere, a shutdown, a nightly task's own retry) did not fail: none, due within RETRY_HANDED_BACK_WITHIN_S.
   */
  private async retryLater(queue: string, jobId: string, error: unknown): Promise<void> {
    await this.boss.fail(queue, jobId, { message: error instanceof Error ? error.message : 'handed back' });
    const failed = error !== undefined;
    await retryWithin(this.boss.getDb(), queue, [jobId], failed ? RETRY_FAILED_WITHIN_S : RETRY_HANDED_BACK_WITHIN_S, !failed);
  }

  /**
   * Complete a job together with the others of its queue done about the same
   * moment: one statement per batch, not per job. A batch takes ids until it
   * is sent — once the one before it is answered and the jobs settling in
   * the same turn of the event loop have joined — so a handful of jobs
   * ending together cost one round trip.
   */
  private completeSoon(queue: string, jobId: string): Promise<unknown> {
    let batches = this.completing.get(queue);
    if (!batches) this.completing.set(queue, (batches = new Batches((ids) => this.boss.complete(queue, ids))));
    return batches.add(jobId);
  }

  /** Stop fetching; wait up to `timeoutMs` for running jobs and their settles to end. */
  async stopWorking(timeoutMs: number): Promise<void> {
    this.working = false;
    this.wake?.();
    await this.loop;
    // Jobs read ahead never start now: back to the queue at once, for the processes that go on.
    await this.handBack(this.ahead.all());
    // The bound's timer is cleared when the jobs end first: a pending one kept the process alive for the whole
    // bound (30 s) after close(), e.g. a worker refused at start by the estate check.
    const bound = new AbortController();
    const ended = async () => {
      // Until none is left: a fetch read ahead goes on to its mark, and a mark to its hand-back.
      while (this.starting.size) await Promise.allSettled([...this.starting]);
      await Promise.allSettled([...this.running]);
      await Promise.allSettled([...this.settling]);
    };
    await Promise.race([ended(), sleep(timeoutMs, undefined, { signal: bound.signal }).catch(() => {})]);
    bound.abort();
  }

  /** Stop taking jobs, wait for the ones in flight (up to `timeoutMs`), close pg-boss's pool. */
  async stop(timeoutMs = 30_000): Promise<void> {
    await this.stopWorking(timeoutMs);
    if (!this.booted) return;
    this.started = false;
    this.booted = false;
    await this.boss.stop({ graceful: false, wait: true, timeout: 5_000 }).catch((err) => this.logger.warn({ err }, 'pg-boss stop failed'));
  }
}
