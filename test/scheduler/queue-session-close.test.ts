/**
 * A queue session (no owner: workers run its records) is closed by the check after its last record. When that check
 * could not run (the store cut as the last record ended), recovery closes it: a session never stays `running` with
 * every record ended. And of two closers at the same moment (two workers ending the last two records, a job
 * delivered again), one only closes it, so the close is told once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { msg, msgText, type Msg } from '../../src/client/shared/i18n/index.js';
import { CAPACITY_QUEUE, QUEUE_SCHEMA } from '../../src/scheduler/queue-names.js';
import { forEachStore, instanceRow, queueTestContext } from '../helpers/context.js';

forEachStore('a queue session whose last check did not run', (get) => {
  const session = async (name: string) => {
    const ctx = get();
    const inst = await ctx.repos.instances.insert(instanceRow(name));
    const { session, records } = await ctx.repos.sync.createSession({
      sessionId: `queue-close-${name}-${Date.now()}`,
      syncType: 'scheduled_task',
      createdBy: null,
      startedAt: new Date().toISOString(),
      owner: null,
      instances: [{ id: inst.id, name }],
    });
    return { sid: session.session_id, recordId: records[0]!.id };
  };

  it('recovery closes it once every record has ended, not before; a second close finds it closed', async () => {
    const ctx = get();
    const { sid, recordId } = await session('qc-a');
    await ctx.recovery.recover();
    assert.equal((await ctx.repos.sync.getSession(sid))?.status, 'running', 'a pending record keeps it open');

    await ctx.repos.sync.updateRecord(recordId, { status: 'failed', completed_at: new Date().toISOString(), error_code: 'connection' });
    await ctx.recovery.recover();
    const s = await ctx.repos.sync.getSession(sid);
    assert.deepEqual([s?.status, s?.successful_instances, s?.failed_instances], ['failed', 0, 1]);
    assert.ok(s?.completed_at);
    assert.ok(ctx.logs.some((l) => l.includes(sid) && l.includes('sync session closed by recovery')));

    assert.equal(await ctx.repos.sync.finishIfDone(sid, new Date().toISOString()), undefined, 'already closed: nothing to tell');
    assert.equal((await ctx.repos.sync.getSession(sid))?.completed_at, s?.completed_at, 'its close left as it was');
  });

  it('two closers at the same moment: one gets the session', async () => {
    const ctx = get();
    const { sid, recordId } = await session('qc-b');
    await ctx.repos.sync.updateRecord(recordId, { status: 'completed', completed_at: new Date().toISOString() });
    const at = new Date().toISOString();
    const both = await Promise.all([ctx.repos.sync.finishIfDone(sid, at), ctx.repos.sync.finishIfDone(sid, at)]);
    assert.equal(both.filter(Boolean).length, 1);
    assert.equal(both.find(Boolean)?.status, 'completed');
  });
});

describe('a queue record whose job pg-boss gave up on', () => {
  const ctx = queueTestContext();
  const actor = { userId: null, username: 'test' };
  const job = sql.table(`${QUEUE_SCHEMA}.job`);

  it('fails with the last error and how many times it ran, and its session closes; a record with a live job, or a session just started, is left alone', async () => {
    const c = ctx();
    const a = await c.repos.instances.insert(instanceRow('gave-up-a'));
    const b = await c.repos.instances.insert(instanceRow('gave-up-b'));
    const s = await c.capacitySync.startMany([a.id, b.id], { syncType: 'manual_batch', actor });
    const recs = await c.repos.sync.records(s.session_id);
    const ofA = recs.find((r) => r.instance_id === a.id)!;
    // What pg-boss leaves after the last of 20 retries failed: the job failed for good, with our error as its output.
    await sql`UPDATE ${job} SET state = 'failed', retry_count = 20, output = ${JSON.stringify({ message: 'connection terminated unexpectedly' })}::jsonb
      WHERE name = ${CAPACITY_QUEUE} AND data->>'record_id' = ${String(ofA.id)}`.execute(c.store.db);

    await c.recovery.recover();
    assert.equal(
      (await c.repos.sync.records(s.session_id)).find((r) => r.id === ofA.id)?.status,
      'pending',
      'a session just started: its jobs may be on their way',
    );

    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await c.store.db.updateTable('sync_sessions').set({ started_at: longAgo }).where('session_id', '=', s.session_id).execute();
    await c.recovery.recover();
    const after = await c.repos.sync.records(s.session_id);
    const gaveUp = after.find((r) => r.id === ofA.id)!;
    assert.deepEqual([gaveUp.status, gaveUp.error_code], ['failed', 'internal']);
    assert.equal(gaveUp.error_message, msgText(msg('api.sync.job_given_up', { runs: 21, cause: 'connection terminated unexpectedly' })));
    assert.match(
      msgText(JSON.parse(gaveUp.error_msg!) as Msg, 'en'),
      /^The queue gave this record up: its job failed all 21 times it ran; the last time: connection terminated/,
    );
    assert.equal(after.find((r) => r.instance_id === b.id)?.status, 'pending', 'its job is still queued');
    assert.equal((await c.repos.sync.getSession(s.session_id))?.status, 'running');

    // The other record ends (as its job would have it): the session closes, partial.
    await c.repos.sync.updateRecord(after.find((r) => r.instance_id === b.id)!.id, { status: 'completed', completed_at: new Date().toISOString() });
    await c.recovery.recover();
    assert.equal((await s.done).status, 'partial');
  });
});
