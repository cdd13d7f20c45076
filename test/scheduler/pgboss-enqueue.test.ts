/**
 * Queueing a session's records (scale-out): many records go in a few INSERTs, and a record whose instance
 * already has a job queued is reported back (the `stately` policy keeps one queued job per instance), so the
 * session marks it skipped instead of waiting for a job that does not exist.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { CAPACITY_QUEUE, QUEUE_SCHEMA } from '../../src/scheduler/queue-names.js';
import { queueTestContext } from '../helpers/context.js';

describe('pg-boss enqueue', () => {
  const ctx = queueTestContext();

  it('1,200 records queue in batches; a second job for an instance already queued comes back as dropped', async () => {
    const queue = ctx().queue!;
    const first = Array.from({ length: 1200 }, (_, i) => ({ id: i + 1, instance_id: i + 1 }));
    // Two records of the same instance in one call: the second is dropped.
    const dropped = await queue.enqueue([...first, { id: 5000, instance_id: 7 }], 60);
    assert.deepEqual(dropped, [5000]);
    // A later call for instances still queued: dropped; a new instance: queued.
    assert.deepEqual(
      await queue.enqueue(
        [
          { id: 6000, instance_id: 3 },
          { id: 6001, instance_id: 9999 },
        ],
        60,
      ),
      [6000],
    );
    const c = new pg.Client({ connectionString: ctx().config.databaseUrl! });
    await c.connect();
    try {
      const r = await c.query<{ n: string; records: string }>(
        `SELECT count(*) AS n, count(DISTINCT (data->>'record_id')) AS records FROM ${QUEUE_SCHEMA}.job WHERE name = $1`,
        [CAPACITY_QUEUE],
      );
      assert.equal(Number(r.rows[0]!.n), 1201);
      assert.equal(Number(r.rows[0]!.records), 1201);
    } finally {
      await c.end();
    }
  });
});
