/**
 * How soon a job given back is due again. pg-boss doubles a job's retry delay at each retry (64–128 s after the
 * fifth, hours after the tenth): a record handed back through two store outages waited minutes after the store was
 * back. Now a job whose handler threw is due within RETRY_FAILED_WITHIN_S whatever its history, and one handed back
 * without failing (its instance locked elsewhere, a shutdown) is due within RETRY_HANDED_BACK_WITHIN_S and uses up
 * none of its retries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { CAPACITY_QUEUE, QUEUE_SCHEMA, RETRY_FAILED_WITHIN_S, RETRY_HANDED_BACK_WITHIN_S } from '../../src/scheduler/pgboss.queue.js';
import { DailyTasksRepository } from '../../src/store/daily-tasks.repository.js';
import { queueTestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/procs.js';

interface JobRow {
  state: string;
  retry_count: number;
  started: boolean;
  due_in_s: number;
}

describe('pg-boss retry delays', () => {
  const ctx = queueTestContext();

  const job = async (recordId: number): Promise<JobRow | undefined> =>
    (
      await sql<JobRow>`
        SELECT state, retry_count, started_on IS NOT NULL AS started, extract(epoch FROM start_after - now())::float8 AS due_in_s
        FROM ${sql.table(`${QUEUE_SCHEMA}.job`)} WHERE name = ${CAPACITY_QUEUE} AND (data->>'record_id')::int = ${recordId}`.execute(ctx().store.db)
    ).rows[0];

  it('a job that failed nine times before and throws again is due within the bound, not in hours; one handed back uses up no retry', async () => {
    const queue = ctx().queue!;
    await queue.enqueue(
      [
        { id: 1, instance_id: 101 },
        { id: 2, instance_id: 102 },
      ],
      60,
    );
    // Record 1's job as after nine failures: pg-boss alone would date its next retry 2^10–2^11 s ahead.
    await sql`UPDATE ${sql.table(`${QUEUE_SCHEMA}.job`)} SET retry_count = 9 WHERE name = ${CAPACITY_QUEUE} AND (data->>'record_id')::int = 1`.execute(
      ctx().store.db,
    );
    const runs = new Map<number, number>();
    await queue.work({ concurrency: () => 2, pollMs: 50, fetched: async () => {} }, async (id) => {
      const n = (runs.get(id) ?? 0) + 1;
      runs.set(id, n);
      if (n > 1) return 'done';
      if (id === 1) throw new Error('store unreachable (test)');
      return 'hand-back'; // as a record whose instance another holder has locked
    });

    await waitFor('record 1 given back', 20_000, async () => (await job(1))?.state === 'retry');
    const failed = (await job(1))!;
    assert.ok(failed.started, 'a failure counts: its next fetch uses up a retry');
    assert.ok(failed.due_in_s <= RETRY_FAILED_WITHIN_S && failed.due_in_s > 0, `due in ${failed.due_in_s} s`);

    await waitFor('record 2 run again and completed', 20_000, async () => runs.get(2) === 2 && (await job(2))?.state === 'completed');
    assert.equal((await job(2))!.retry_count, 0, 'a hand-back is not a failure: no retry used up');
    await queue.stopWorking(1000);
  });

  it('a job handed back is due within its bound', async () => {
    const queue = ctx().queue!;
    await queue.enqueue([{ id: 3, instance_id: 103 }], 60);
    let runs = 0;
    let handedBackAt = 0;
    let again = 0;
    await queue.work({ concurrency: () => 1, pollMs: 50, fetched: async () => {} }, async (id) => {
      if (id !== 3) return 'done'; // record 1, due again from the test before
      if (++runs === 1) {
        handedBackAt = performance.now();
        return 'hand-back';
      }
      again = performance.now();
      return 'done';
    });
    await waitFor('the job run again', 20_000, async () => runs === 2);
    const s = (again - handedBackAt) / 1000;
    console.log(`# handed back, run again ${s.toFixed(2)} s later`);
    assert.ok(s <= RETRY_HANDED_BACK_WITHIN_S + 1, `run again ${s} s later`);
    await queue.stopWorking(1000);
  });

  it('a save the store refuses for its values fails the record at once, saying why: not handed back as an outage (20 tries, ~10 minutes); the session goes on and tells what the other record saved', async () => {
    const c = ctx();
    const actor = { userId: null, username: 'test' };
    const cred = await c.credentials.create({ name: 'pg-refused', username: 'postgres', password: 'x' }, actor);
    const add = (name: string) =>
      c.instances.create({ name, db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id, confirm_duplicate: true }, actor);
    const inst = await add('pg-refused');
    const fine = await add('pg-fine');
    // What a column too narrow for a value did on this store (migration 0031): SQLSTATE 22001 at the save.
    await sql
      .raw(
        `CREATE FUNCTION refuse_${inst.id}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           IF NEW.instance_id = ${inst.id} THEN RAISE EXCEPTION 'value too long for type character varying(32)' USING ERRCODE = '22001'; END IF;
           RETURN NEW; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON instance_size_stats FOR EACH ROW EXECUTE FUNCTION refuse_${inst.id}();`,
      )
      .execute(c.store.db);
    try {
      const s = await c.capacitySync.startMany([inst.id, fine.id], { syncType: 'manual_batch', actor });
      for (const rec of await c.repos.sync.records(s.session_id)) {
        // As a worker runs each job.
        const ran = await c.capacitySync.runQueuedRecord(rec.id);
        if (typeof ran === 'object') await ran.after;
        assert.notEqual(ran, 'hand-back', `${rec.instance_name}: not handed back`);
      }
      const done = await s.done;
      assert.equal(done.status, 'partial');
      const refused = done.outcomes.find((o) => o.instance_id === inst.id)!;
      assert.equal(refused.status, 'failed');
      assert.match(refused.error_message ?? '', /value too long for type character varying\(32\)/);
      assert.equal(refused.counts, undefined);
      // What the CLI's `sync --all` prints in queue mode: the worker's counts, read from its record.
      const ok = done.outcomes.find((o) => o.instance_id === fine.id)!;
      assert.equal(ok.status, 'completed');
      assert.ok(ok.counts && ok.counts.saved > 0 && ok.counts.total_size_bytes > 0, JSON.stringify(ok.counts));
      assert.equal(ok.counts.created, ok.counts.saved, 'the first sync of the day creates every row');
    } finally {
      await sql.raw(`DROP TRIGGER refuse ON instance_size_stats; DROP FUNCTION refuse_${inst.id}();`).execute(c.store.db);
    }
  });

  it('a nightly task whose save the store refuses for its values fails at once, saying why: not handed back ten times', async () => {
    const c = ctx();
    const actor = { userId: null, username: 'test' };
    const cred = await c.credentials.create({ name: 'pg-task-refused', username: 'postgres', password: 'x' }, actor);
    const inst = await c.instances.create(
      { name: 'pg-task-refused', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id, confirm_duplicate: true },
      actor,
    );
    const at = new Date();
    const runId = (await c.repos.scheduler.claim('daily_aggregation', at.toISOString(), 'test', at.toISOString()))!;
    const [task] = await new DailyTasksRepository(c.store.db).create(
      runId,
      [{ kind: 'composition', subject: String(inst.id), stage: 1, params: JSON.stringify({ at: at.toISOString() }) }],
      at.toISOString(),
    );
    await sql
      .raw(
        `CREATE FUNCTION refuse_composition() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           RAISE EXCEPTION 'value too long for type character varying(128)' USING ERRCODE = '22001'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON instance_composition FOR EACH ROW EXECUTE FUNCTION refuse_composition();`,
      )
      .execute(c.store.db);
    try {
      assert.equal(await c.dailyJobs.runQueued(task!.id), 'done');
      const row = (await new DailyTasksRepository(c.store.db).get(task!.id))!;
      assert.equal(row.status, 'failed');
      assert.match(row.message ?? '', /value too long for type character varying\(128\)/);
    } finally {
      await sql.raw('DROP TRIGGER refuse ON instance_composition; DROP FUNCTION refuse_composition();').execute(c.store.db);
    }
  });
});
