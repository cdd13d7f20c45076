/**
 * What Whalefall adds to pg-boss's schema and statements: our index in the
 * fetch's order and retrying a schema step that deadlocked with another
 * process starting at the same moment (when a queue starts), and retrying a
 * dead process's jobs now rather than after pg-boss's retry delay
 * (pgboss.queue.ts).
 */
import type PgBoss from 'pg-boss';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUEUE_SCHEMA } from './queue-names.js';

/** Our index on pg-boss's job table (see ensureFetchIndex). */
export const FETCH_INDEX = 'whalefall_job_fetch';

/**
 * A schema step, again after a deadlock: processes starting at once on a fresh schema (`serve` starts its
 * queue under a store lock, a CLI or a test's context does not) each insert a queue's row and attach its
 * partition, or index the table, and PostgreSQL aborts all of them but one (40P01,
 * test/store/pg-prepared.test.ts). The next attempt finds the step done and does nothing.
 */
export async function againAfterDeadlock(step: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await step();
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
      await sleep(Math.random() * 100 * attempt);
    }
  }
}

/**
 * pg-boss 10 fetches `ORDER BY priority DESC, created_on, id LIMIT n FOR
 * UPDATE SKIP LOCKED`, and its only index for it is on `(name,
 * start_after)`: every fetch read and sorted all the queued jobs of the
 * queue. With 2,000 queued that was 2.3 ms of the store's CPU per fetch,
 * the costliest statement of a scale-out session; with an index in the
 * fetch's order it reads the few rows it takes (0.1 ms;
 * docs/benchmarks-notes.md). Created once, under a lock, by the first
 * process to start (on the partitioned table: every queue's partition gets
 * it, those created later too); a pg-boss upgrade that rebuilds the table
 * gets it again at the next start.
 */
export async function ensureFetchIndex(db: Pick<PgBoss.Db, 'executeSql'>): Promise<void> {
  const has = await db.executeSql('SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [QUEUE_SCHEMA, FETCH_INDEX]);
  if (has.rows.length) return;
  await db.executeSql(
    `BEGIN; SELECT pg_advisory_xact_lock(hashtext('${QUEUE_SCHEMA}.${FETCH_INDEX}'));
     CREATE INDEX IF NOT EXISTS ${FETCH_INDEX} ON ${QUEUE_SCHEMA}.job (name, priority DESC, created_on, id) WHERE state < 'active';
     COMMIT;`,
    [],
  );
}

/** A session queueing at least this many jobs has the job table analyzed (analyzeJobs). */
export const ANALYZE_AFTER = 200;

/**
 * Statistics for the job table after a session's jobs are queued. Between sessions the table holds few
 * unarchived jobs, and that is what its statistics (autovacuum's last ANALYZE) say when a session queues
 * 2,000 at once: the planner then expected one row, chose pg-boss's `(name, start_after)` index and sorted
 * every queued job at each fetch (2.6 ms a fetch, the costliest statement of a scale-out session) instead
 * of reading the first few from the fetch index. ANALYZE of the queue's few thousand rows takes
 * tens of milliseconds (pg-boss 10 keeps finished jobs in the table for 12 h: a day's worth at most); it
 * needs the table's owner (another user gets a warning and the old plan). pg-boss 10 needs PostgreSQL 13+,
 * and SKIP_LOCKED 12+.
 */
export async function analyzeJobs(db: Pick<PgBoss.Db, 'executeSql'>): Promise<void> {
  // SKIP_LOCKED: a table autovacuum is working on is left to it, so queueing a session never waits for it.
  await db.executeSql(`ANALYZE (SKIP_LOCKED) ${QUEUE_SCHEMA}.job`, []);
}

/**
 * Jobs just failed for a retry (`retry`) become due now: pg-boss dates a failed job's retry 2–4 s ahead
 * (retryDelay 2 with backoff), which suits a job its own process handed back (the store was unreachable), not
 * one whose process is gone: that job waited out the delay while places were free (a killed worker's last
 * jobs ended the session seconds after the rest).
 */
export async function retryNow(db: Pick<PgBoss.Db, 'executeSql'>, queue: string, ids: string[], uncounted = false): Promise<void> {
  await retryWithin(db, queue, ids, 0, uncounted);
}

/**
 * Jobs just failed for a retry (`retry`) become due within `seconds` at the latest: pg-boss doubles a job's retry
 * delay at each of its retries (2–4 s, 4–8 s, … 64–128 s after the fifth, days after the sixteenth), which left a
 * record handed back through two store outages waiting minutes after the store was back, its session still running.
 * `uncounted`: pg-boss counts a retry when it fetches a job it had started before (`started_on` set); cleared, the
 * hand-back does not use up one of the job's retries (jobs read ahead and never started, a record whose instance
 * another holder has locked, one a shutdown stopped: none of them failed).
 */
export async function retryWithin(db: Pick<PgBoss.Db, 'executeSql'>, queue: string, ids: string[], seconds: number, uncounted = false): Promise<void> {
  const also = uncounted ? ', started_on = NULL' : '';
  await db.executeSql(
    `UPDATE ${QUEUE_SCHEMA}.job SET start_after = LEAST(start_after, now() + make_interval(secs => $3::float8))${also} WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'retry'`,
    [queue, ids, seconds],
  );
}
