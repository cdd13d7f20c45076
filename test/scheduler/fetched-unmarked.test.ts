/**
 * Queue mode (issue #16 item 2): a process killed between pg-boss's fetch
 * and marking the fetched records (SyncRepository.queuedRecords, its very next
 * statement) leaves jobs `active` whose records are pending and unmarked.
 * Recovery hands those back UNMARKED_FETCH_MS after the fetch, not after a
 * lease; a fresh fetch, and a marked one whose process lives, are left alone.
 * Once a process on this host is seen gone, GONE_UNMARKED_MS is enough, and
 * a handed-back job is due at once (not after pg-boss's retry delay).
 * The fetch is made here in SQL (what pg-boss's fetch writes), dated back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { CAPACITY_QUEUE, QUEUE_SCHEMA } from '../../src/scheduler/pgboss.queue.js';
import { PROCESS_TAG } from '../../src/lib/process-tag.js';
import { GONE_UNMARKED_MS, UNMARKED_FETCH_MS } from '../../src/services/recovery.service.js';
import { ProcessesRepository } from '../../src/store/processes.repository.js';
import { queueTestContext } from '../helpers/context.js';

const actor = { userId: null, username: 'test' };

describe('fetched jobs whose process died before marking them', () => {
  const ctx = queueTestContext();

  const job = sql.table(`${QUEUE_SCHEMA}.job`);
  /** What pg-boss's fetch writes, dated back. */
  const fetch = (recordId: number, agoMs: number) =>
    sql`UPDATE ${job} SET state = 'active', started_on = now() - ${`${agoMs} milliseconds`}::interval
        WHERE name = ${CAPACITY_QUEUE} AND (data->>'record_id')::bigint = ${recordId}`.execute(ctx().store.db);
  /** Each record's job: its state, and whether it is due now. */
  const jobs = async () =>
    new Map(
      (
        await sql<{ record_id: string; state: string; due: boolean }>`
          SELECT data->>'record_id' AS record_id, state, start_after <= now() AS due FROM ${job} WHERE name = ${CAPACITY_QUEUE}`.execute(ctx().store.db)
      ).rows.map((r) => [Number(r.record_id), r]),
    );

  it('an unmarked fetch older than UNMARKED_FETCH_MS goes back to the queue; a younger one and a live marked one stay', async () => {
    const cred = await ctx().credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    for (let i = 0; i < 3; i++)
      await ctx().instances.create({ name: `u-${i}`, db_type: 'postgresql', host: '127.0.0.1', port: 1, credential_id: cred.id }, actor);
    const s = await ctx().capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
    s.done.catch(() => {});
    const records = await ctx().repos.sync.records(s.session_id);
    assert.equal(records.length, 3);
    const [old, young, marked] = records.map((r) => r.id);
    await fetch(old!, UNMARKED_FETCH_MS + 2000);
    await fetch(young!, 2000);
    await fetch(marked!, UNMARKED_FETCH_MS + 2000);
    // Marked by this process (alive) and read in the same statement, as a worker's fetch does it.
    const read = await ctx().repos.sync.queuedRecords([marked!], PROCESS_TAG);
    assert.equal(read.get(marked!)?.record.status, 'pending', 'read with what its run needs');
    assert.equal(read.get(marked!)?.instance?.name, 'u-2');
    assert.equal((await ctx().repos.sync.records(s.session_id)).find((r) => r.id === marked)?.holder, PROCESS_TAG, 'and marked');

    await ctx().recovery.recover();
    const states = new Map([...(await jobs())].map(([id, j]) => [id, j.state]));
    assert.notEqual(states.get(old!), 'active', 'the old unmarked fetch is handed back (failed for a retry)');
    assert.equal(states.get(young!), 'active', 'a fetch moments old may still be marked by a live process');
    assert.equal(states.get(marked!), 'active', 'marked by a live process: its own');
    const pending = (await ctx().repos.sync.records(s.session_id)).map((r) => r.status);
    assert.deepEqual(pending, ['pending', 'pending', 'pending'], 'nothing ran, nothing was lost');
  });

  it('once a process on this host is seen gone, an unmarked fetch older than GONE_UNMARKED_MS goes back within moments, due at once', async () => {
    const cred = await ctx().credentials.create({ name: 'pg-gone', username: 'postgres', password: 'x' }, actor);
    const ids: number[] = [];
    for (let i = 0; i < 2; i++)
      ids.push((await ctx().instances.create({ name: `g-${i}`, db_type: 'postgresql', host: '127.0.0.1', port: 1, credential_id: cred.id }, actor)).id);
    const s = await ctx().capacitySync.startMany(ids, { syncType: 'manual_batch', actor });
    s.done.catch(() => {});
    const [older, fresh] = (await ctx().repos.sync.records(s.session_id)).map((r) => r.id);
    await fetch(older!, GONE_UNMARKED_MS + 1000);
    await fetch(fresh!, 0);

    // The bound itself: past it an unmarked fetch goes back, a fresh one stays (a live process marks it next).
    await ctx().recovery.recover(GONE_UNMARKED_MS);
    let now = await jobs();
    assert.equal(now.get(older!)!.state, 'retry', 'handed back');
    assert.equal(now.get(older!)!.due, true, 'due now, not after the retry delay (2-4 s)');
    assert.equal(now.get(fresh!)!.state, 'active', 'a fresh unmarked fetch stays');

    // The wiring: a process seen gone makes the fresh one old enough within GONE_UNMARKED_MS, not UNMARKED_FETCH_MS.
    const t0 = Date.now();
    ctx().recovery.processGone();
    while ((now = await jobs()).get(fresh!)!.state === 'active' && Date.now() - t0 < UNMARKED_FETCH_MS) await new Promise((r) => setTimeout(r, 50));
    const took = Date.now() - t0;
    assert.equal(now.get(fresh!)!.state, 'retry', 'handed back');
    assert.ok(
      took < UNMARKED_FETCH_MS,
      `handed back after ${took} ms (GONE_UNMARKED_MS ${GONE_UNMARKED_MS}; UNMARKED_FETCH_MS would be ${UNMARKED_FETCH_MS} + 1000)`,
    );
    // pg-boss's fail and the statement dating the retry now are two statements: a read between them sees the
    // retry not yet due. It must be due moments later, well before pg-boss's own delay (2-4 s).
    while (!(now = await jobs()).get(fresh!)!.due && Date.now() - t0 < took + 1000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(now.get(fresh!)!.due, true, `due within a second of the hand-back, not after the retry delay`);
    assert.deepEqual(
      (await ctx().repos.sync.records(s.session_id)).map((r) => r.status),
      ['pending', 'pending'],
      'nothing ran, nothing was lost',
    );
  });

  it('one process at a time hands back stale jobs: a pass while another holds the hand-back skips it', async () => {
    const cred = await ctx().credentials.create({ name: 'pg-one', username: 'postgres', password: 'x' }, actor);
    const id = (await ctx().instances.create({ name: 'one-0', db_type: 'postgresql', host: '127.0.0.1', port: 1, credential_id: cred.id }, actor)).id;
    const s = await ctx().capacitySync.startMany([id], { syncType: 'manual_batch', actor });
    s.done.catch(() => {});
    const [rec] = (await ctx().repos.sync.records(s.session_id)).map((r) => r.id);
    await fetch(rec!, UNMARKED_FETCH_MS + 1000);
    // Another process's pass, holding the hand-back (the key context.ts uses).
    let inside!: () => void;
    let finish!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const other = new ProcessesRepository(ctx().store.db).tryExclusively('whalefall.hand-back-stale', async () => {
      inside();
      await new Promise<void>((r) => (finish = r));
      return 'other';
    });
    await entered;
    await ctx().recovery.recover();
    assert.equal((await jobs()).get(rec!)!.state, 'active', 'left to the pass that holds the hand-back');
    finish();
    assert.equal(await other, 'other');
    await ctx().recovery.recover();
    assert.equal((await jobs()).get(rec!)!.state, 'retry', 'handed back by the next pass');
  });
});
