/**
 * Scale-out: with a PostgreSQL store and WHALEFALL_QUEUE=pg-boss, a session's
 * records become pg-boss jobs (one per instance, singletonKey = instance id,
 * queue policy `stately`: at most one queued and one running job per
 * instance) in the same database, and any number of `whalefall worker`
 * processes run them. A worker that dies mid-job: the job expires after its
 * lease and pg-boss hands it to another worker (retryLimit).
 */
import PgBoss from 'pg-boss';
import type { Logger } from '../lib/logger.js';
import type { SyncQueue } from '../services/capacity-sync.service.js';

export const CAPACITY_QUEUE = 'whalefall-capacity-sync';

interface JobData {
  record_id: number;
}

export class PgBossQueue implements SyncQueue {
  private readonly boss: PgBoss;
  private started = false;

  constructor(
    databaseUrl: string,
    private readonly logger: Logger,
    opts: { maintenanceSeconds: number },
  ) {
    this.boss = new PgBoss({
      connectionString: databaseUrl,
      schema: 'whalefall_boss',
      application_name: 'whalefall-queue',
      max: 4,
      schedule: false, // cron lives in croner (scheduler.ts), not in pg-boss
      supervise: true,
      maintenanceIntervalSeconds: opts.maintenanceSeconds,
      monitorStateIntervalSeconds: opts.maintenanceSeconds,
    });
    // pg-boss reports its own errors as events; they must be seen, not crash the process.
    this.boss.on('error', (err) => this.logger.error({ err }, 'pg-boss error'));
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    await this.boss.createQueue(CAPACITY_QUEUE, { name: CAPACITY_QUEUE, policy: 'stately' });
    this.started = true;
  }

  async enqueue(records: { id: number; instance_id: number }[], expireInSeconds: number): Promise<number[]> {
    await this.start();
    const dropped: number[] = [];
    for (const r of records) {
      const id = await this.boss.send(CAPACITY_QUEUE, { record_id: r.id } satisfies JobData, {
        singletonKey: String(r.instance_id),
        expireInSeconds,
        retryLimit: 2,
        retryDelay: 5,
        retryBackoff: true,
      });
      if (id === null) dropped.push(r.id);
    }
    return dropped;
  }

  /** Run `handler` for each job, `concurrency` at a time in this process. */
  async work(concurrency: number, handler: (recordId: number) => Promise<void>): Promise<void> {
    await this.start();
    for (let i = 0; i < concurrency; i++) {
      await this.boss.work<JobData>(CAPACITY_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
        if (job) await handler(job.data.record_id);
      });
    }
  }

  /** Stop taking jobs; wait for the ones in flight (up to `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.started) return;
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
    this.started = false;
  }
}
