/**
 * A queue session (no owner: workers run its records) is closed by the check after its last record. When that check
 * could not run (the store cut as the last record ended), recovery closes it: a session never stays `running` with
 * every record ended. And of two closers at the same moment (two workers ending the last two records, a job
 * delivered again), one only closes it, so the close is told once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachStore, instanceRow } from '../helpers/context.js';

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
