/**
 * The live processes of an estate (`processes`: one row per serve/worker,
 * beaten every heartbeat), the facts they must agree on (`estate`), and the
 * pg-boss queue depth read for the estate gauges.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface ProcessBeat {
  tag: string;
  role: string;
  host: string;
  pid: number;
  version: string;
  started_at: string;
  last_seen_at: string;
  running_jobs: number;
  /** 1 when the process works queued jobs (its share of the estate's sync concurrency), 0 when not. */
  works: number;
}

export class ProcessesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Insert or refresh this process's row. */
  async beat(p: ProcessBeat): Promise<void> {
    await this.db
      .insertInto('processes')
      .values(p)
      .onConflict((oc) => oc.column('tag').doUpdateSet({ last_seen_at: p.last_seen_at, running_jobs: p.running_jobs }))
      .execute();
  }

  async remove(tag: string): Promise<void> {
    await this.db.deleteFrom('processes').where('tag', '=', tag).execute();
  }

  /** Processes seen since `since` (ISO), oldest first. */
  live(since: string): Promise<ProcessBeat[]> {
    return this.db.selectFrom('processes').selectAll().where('last_seen_at', '>=', since).orderBy('started_at').execute();
  }

  /** Forget processes not seen since `before` (they are dead; the rows are only history). */
  async prune(before: string): Promise<void> {
    await this.db.deleteFrom('processes').where('last_seen_at', '<', before).execute();
  }

  /**
   * Run `fn` while holding a PostgreSQL advisory lock named `name` (other
   * processes calling this with the same name wait): pg-boss's schema install
   * and queue creation deadlock when several processes start at once.
   */
  async exclusively<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(hashtext(${name}))`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`SELECT pg_advisory_unlock(hashtext(${name}))`.execute(conn).catch(() => {});
      }
    });
  }

  async estate(key: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('estate').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  }

  /** Store `value` unless the key is set; returns the value that is stored now. */
  async estateSetIfAbsent(key: string, value: string, at: string): Promise<string> {
    await this.db
      .insertInto('estate')
      .values({ key, value, updated_at: at })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return (await this.estate(key)) ?? value;
  }

  async estateSet(key: string, value: string, at: string): Promise<void> {
    await this.db
      .insertInto('estate')
      .values({ key, value, updated_at: at })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: at }))
      .execute();
  }

  /** pg-boss jobs of `queue` by state (`created`, `retry`, `active`, …); empty when the queue schema does not exist yet. */
  async jobStates(schema: string, queue: string): Promise<Record<string, number>> {
    if (!(await this.queueExists(schema))) return {};
    const r = await sql<{
      state: string;
      n: number;
    }>`SELECT state::text AS state, count(*)::int AS n FROM ${sql.table(`${schema}.job`)} WHERE name = ${queue} GROUP BY state`.execute(this.db);
    return Object.fromEntries(r.rows.map((x) => [x.state, Number(x.n)]));
  }

  /** Ids of the running (`active`) jobs of `queue` for one singleton key (the instance). */
  async activeJobIds(schema: string, queue: string, singletonKey: string): Promise<string[]> {
    const r = await sql<{
      id: string;
    }>`SELECT id::text AS id FROM ${sql.table(`${schema}.job`)} WHERE name = ${queue} AND singleton_key = ${singletonKey} AND state = 'active'`.execute(
      this.db,
    );
    return r.rows.map((x) => x.id);
  }

  /** The live jobs (queued, retrying or running) of `queue` for one singleton key, with when they were fetched. */
  async liveJobs(schema: string, queue: string, singletonKey: string): Promise<{ id: string; state: string; started_on: string | null }[]> {
    const r = await sql<{ id: string; state: string; started_on: Date | string | null }>`
      SELECT id::text AS id, state::text AS state, started_on FROM ${sql.table(`${schema}.job`)}
      WHERE name = ${queue} AND singleton_key = ${singletonKey} AND state IN ('created', 'retry', 'active')`.execute(this.db);
    return r.rows.map((x) => ({ id: x.id, state: x.state, started_on: x.started_on === null ? null : new Date(x.started_on).toISOString() }));
  }

  /**
   * Nightly tasks pending since before `before` whose job is lost: none queued, retrying or running, or one
   * fetched before `before` by a process that never started it. One query, whatever the number of tasks.
   */
  async orphanTasks(schema: string, queue: string, before: string): Promise<{ task_id: number; job_id: string | null }[]> {
    if (!(await this.queueExists(schema))) return [];
    const r = await sql<{ task_id: number; job_id: string | null }>`
      SELECT t.id AS task_id, j.id::text AS job_id
      FROM daily_tasks t
      LEFT JOIN ${sql.table(`${schema}.job`)} j
        ON j.name = ${queue} AND j.singleton_key = 'task:' || t.id::text AND j.state IN ('created', 'retry', 'active')
      WHERE t.status = 'pending' AND t.queued_at < ${before}::timestamptz
        AND (j.id IS NULL OR (j.state = 'active' AND j.started_on < ${before}::timestamptz))`.execute(this.db);
    return r.rows.map((x) => ({ task_id: Number(x.task_id), job_id: x.job_id }));
  }

  /**
   * Pending records of running queue sessions started before `before` that no job will run: none of theirs is
   * queued, retrying or running. pg-boss fails a job for good after its last retry (every one a store error while
   * running it): its record would stay pending, and its session running, for ever. With the last job's error and
   * how many times it ran, when pg-boss still keeps it (finished jobs for 12 h). One query.
   */
  async jobless(schema: string, queue: string, before: string): Promise<{ id: number; instance_id: number; runs: number | null; last_error: string | null }[]> {
    if (!(await this.queueExists(schema))) return [];
    const job = sql.table(`${schema}.job`);
    const ofRecord = sql`j.name = ${queue} AND j.singleton_key = r.instance_id::text AND j.data->>'record_id' = r.id::text`;
    // The records first (a hash anti-join: 8 ms for 10,000 pending), then the last job of each one found: the lateral
    // read for every pending record before the anti-join took 13 s at 10,000.
    const r = await sql<{ id: number; instance_id: number; runs: number | null; last_error: string | null }>`
      WITH lost AS MATERIALIZED (
        SELECT r.id, r.instance_id FROM sync_instance_records r JOIN sync_sessions s ON s.session_id = r.session_id
        WHERE s.status = 'running' AND s.owner IS NULL AND s.started_at < ${before}::timestamptz AND r.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM ${job} j WHERE ${ofRecord} AND j.state IN ('created', 'retry', 'active')))
      SELECT r.id, r.instance_id, last.runs, last.last_error FROM lost r
      LEFT JOIN LATERAL (SELECT j.retry_count + 1 AS runs, j.output->>'message' AS last_error FROM ${job} j WHERE ${ofRecord} ORDER BY j.created_on DESC LIMIT 1) last ON true`.execute(
      this.db,
    );
    return r.rows.map((x) => ({
      id: Number(x.id),
      instance_id: Number(x.instance_id),
      runs: x.runs === null ? null : Number(x.runs),
      last_error: x.last_error,
    }));
  }

  /**
   * Jobs fetched (`active`) whose record is still pending: fetched over
   * `leaseMs` ago (the process that fetched them died before it started
   * them: a live one marks the record running within moments), unmarked and
   * fetched over `unmarkedMs` ago (a live process marks what it fetched with
   * its very next statement, see SyncRepository.queuedRecords: an unmarked
   * one that old lost its process between the fetch and the mark), or marked
   * by a process (`holder`) the caller may know to be dead already. Ages are
   * taken on the store's clock, as pg-boss's `started_on` is: a process
   * whose own clock runs ahead must not hand back a fetch still being marked.
   */
  async staleFetchedJobs(
    schema: string,
    queue: string,
    leaseMs: number,
    unmarkedMs: number,
  ): Promise<{ id: string; record_id: number; holder: string | null; stale: boolean }[]> {
    if (!(await this.queueExists(schema))) return [];
    const before = sql`now() - make_interval(secs => ${leaseMs / 1000}::float8)`;
    const unmarkedBefore = sql`now() - make_interval(secs => ${unmarkedMs / 1000}::float8)`;
    const r = await sql<{ id: string; record_id: number; holder: string | null; stale: boolean }>`
      SELECT j.id::text AS id, r.id AS record_id, r.holder,
        (j.started_on < ${before} OR (r.holder IS NULL AND j.started_on < ${unmarkedBefore})) AS stale
      FROM ${sql.table(`${schema}.job`)} j
      JOIN sync_instance_records r ON r.id = (j.data->>'record_id')::bigint
      WHERE j.name = ${queue} AND j.state = 'active' AND r.status = 'pending'
        AND (j.started_on < ${before} OR j.started_on < ${unmarkedBefore} OR r.holder IS NOT NULL)`.execute(this.db);
    return r.rows.map((x) => ({ id: x.id, record_id: Number(x.record_id), holder: x.holder, stale: Boolean(x.stale) }));
  }

  /**
   * Run `fn` while this process holds the store-wide lock `key` (PostgreSQL; a transaction-scoped advisory
   * lock, so it holds through a pooler in transaction mode, unlike `exclusively`); undefined, without
   * running it, when another process holds it now. Recovery hands back stale jobs under it: of two
   * processes that read the same job as stale, the second could fail a fresh fetch of it by a third (the
   * first made it due at once).
   */
  async tryExclusively<T>(key: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const r = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(hashtext(${key})) AS ok`.execute(trx);
      return r.rows[0]?.ok ? fn() : undefined;
    });
  }

  /** pg-boss has installed its schema (the first queue-mode process to start does). */
  private async queueExists(schema: string): Promise<boolean> {
    const r = await sql<{ ok: boolean }>`SELECT to_regclass(${`${schema}.job`}) IS NOT NULL AS ok`.execute(this.db);
    return Boolean(r.rows[0]?.ok);
  }

  /** Records of a session by status (session progress gauge). */
  async runningSessionProgress(): Promise<{ session_id: string; status: string; n: number }[]> {
    const r = await this.db
      .selectFrom('sync_instance_records as r')
      .innerJoin('sync_sessions as s', 's.session_id', 'r.session_id')
      .where('s.status', '=', 'running')
      .select(['r.session_id', 'r.status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['r.session_id', 'r.status'])
      .execute();
    return r.map((x) => ({ ...x, n: Number(x.n) }));
  }
}
