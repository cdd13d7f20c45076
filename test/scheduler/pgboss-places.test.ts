/**
 * A queued job's place (and its admission) goes to the next job when the job
 * says its collection is in hand (`freePlace`), not when its save ends: the
 * save needs only the store and overlaps the next fetch. The places still
 * bound what runs before that point; a fetch's records are marked before
 * their jobs start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { CAPACITY_QUEUE, QUEUE_SCHEMA } from '../../src/scheduler/queue-names.js';
import { queueTestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/procs.js';

describe('pg-boss places', () => {
  const ctx = queueTestContext();

  it('one place: a job that frees its place lets the next ones run while it finishes; before that, one at a time', async () => {
    const queue = ctx().queue!;
    await queue.enqueue(
      [1, 2, 3].map((id) => ({ id, instance_id: 100 + id })),
      60,
    );
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const marked = new Set<number>();
    const started: number[] = [];
    const ended: number[] = [];
    let holding = 0;
    let holdingPeak = 0;
    await queue.work(
      {
        concurrency: () => 1,
        pollMs: 50,
        fetched: async (ids) => {
          for (const id of ids) marked.add(id);
        },
      },
      async (id, freePlace) => {
        assert.ok(marked.has(id), `record ${id} marked before its job started`);
        started.push(id);
        holding++;
        holdingPeak = Math.max(holdingPeak, holding);
        await new Promise((r) => setTimeout(r, 30));
        holding--;
        if (id === 1) {
          freePlace(); // collection done; the save (the gate) goes on without the place
          await gate;
        }
        ended.push(id);
        return 'done';
      },
    );
    await waitFor('jobs 2 and 3 to run while job 1 still holds its save', 20_000, async () => ended.includes(2) && ended.includes(3));
    assert.deepEqual([...ended].sort(), [2, 3], 'job 1 has not ended');
    assert.equal(holdingPeak, 1, 'before freeing its place, one job at a time');
    release();
    await waitFor('job 1 to end', 10_000, async () => ended.includes(1));
    assert.deepEqual([...started].sort(), [1, 2, 3]);
  });

  it('jobs finishing after an early free are at most the concurrency: past it, a job keeps its place to the end', async () => {
    const queue = ctx().queue!;
    await queue.stopWorking(1000);
    // A fresh queue object would need its own start; the same one works again after stopWorking.
    await queue.enqueue(
      [11, 12, 13].map((id) => ({ id, instance_id: 200 + id })),
      60,
    );
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    const ended: number[] = [];
    await queue.work({ concurrency: () => 1, pollMs: 50 }, async (id, freePlace) => {
      started.push(id);
      freePlace(); // every job asks; only the first one finishing may go on without its place
      await gate;
      ended.push(id);
      return 'done';
    });
    await waitFor('two jobs started', 20_000, async () => started.length >= 2);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(started.length, 2, `one job finishes without its place, the next keeps its own: ${JSON.stringify(started)}`);
    release();
    await waitFor('all three ended', 20_000, async () => ended.length === 3);
  });

  it('the store cut as a fetch reads the setting: the admissions kept from ended jobs go back, none stays held', async () => {
    const queue = ctx().queue!;
    await queue.stopWorking(1000);
    await queue.enqueue(
      [201, 202, 203].map((id) => ({ id, instance_id: 2000 + id })),
      60,
    );
    const held = new Set<{ release(): Promise<void> }>();
    let failing = false;
    let failed = 0;
    const ended: number[] = [];
    await queue.work<{ release(): Promise<void> }>(
      {
        concurrency: async () => {
          if (!failing) return 2;
          failed++;
          throw new Error('store unreachable (test)');
        },
        pollMs: 50,
        fetched: async () => {},
        // Admissions as the estate's slots: each held until released or given back; a kept one is used again.
        admit: async (want, kept) => {
          const out = kept.slice(0, want);
          for (const k of kept.slice(want)) await k.release();
          while (out.length < want) {
            const a = { release: async () => void held.delete(a) };
            held.add(a);
            out.push(a);
          }
          return out;
        },
        giveBack: async (unused) => {
          for (const a of unused) await a.release();
        },
      },
      async (id) => {
        ended.push(id);
        if (ended.length === 3) failing = true; // the last job ends as the store goes away: its admission is kept
        return 'done';
      },
    );
    await waitFor('the 3 jobs run and the setting unreadable a few times', 20_000, async () => ended.length === 3 && failed >= 3);
    failing = false;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(held.size, 0, `admissions still held by this process with no job: ${held.size}`);
    await queue.stopWorking(1000);
  });

  it('places that free often start jobs read ahead (marked, not yet placed); a stop hands them back to the queue', async () => {
    const queue = ctx().queue!;
    await queue.stopWorking(1000);
    const ids = Array.from({ length: 120 }, (_, i) => 301 + i);
    await queue.enqueue(
      ids.map((id) => ({ id, instance_id: 1000 + id })),
      60,
    );
    const markedAt = new Map<number, number>();
    const started = new Set<number>();
    let lastFree = 0;
    let fromAhead = 0;
    await queue.work(
      {
        concurrency: () => 4,
        pollMs: 50,
        fetched: async (recordIds) => {
          for (const id of recordIds) markedAt.set(id, performance.now());
        },
      },
      async (id, freePlace) => {
        assert.ok(markedAt.has(id), `record ${id} marked before its job started`);
        started.add(id);
        // Marked before the last place freed: it waited for that place, read ahead (a job fetched for a free place is marked after).
        if (markedAt.get(id)! < lastFree) fromAhead++;
        if (started.size > 40) await new Promise(() => {}); // from the 41st on, jobs hold their places until the stop
        await new Promise((r) => setTimeout(r, 10));
        lastFree = performance.now();
        freePlace();
        return 'done';
      },
    );
    await waitFor('40 jobs started', 20_000, async () => started.size >= 40);
    console.log(`# 4 places freeing every ~10 ms: ${fromAhead} of ${started.size} jobs started read ahead`);
    // Without reading ahead none is (0 of 44 in three runs with wanted() at 0); alone here 16–21 of 44 are, and a
    // CI run with the other tests beside it saw 9 of 41: a few is the sign, not a share that depends on the load.
    assert.ok(fromAhead >= 3, `jobs were read ahead (${fromAhead})`);
    // Every place held now; what was read ahead waits. A stop hands it back, due now, no retry counted.
    await waitFor('the 4 places held and a job read ahead', 20_000, async () => started.size === 44 && markedAt.size > started.size);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(started.size, 44, 'the 4 places held');
    await queue.stopWorking(200);
    const jobs = await sql<{ state: string; n: string; never_started: string }>`
      SELECT state, count(*) AS n, count(*) FILTER (WHERE started_on IS NULL) AS never_started FROM ${sql.table(`${QUEUE_SCHEMA}.job`)}
      WHERE name = ${CAPACITY_QUEUE} AND (data->>'record_id')::int = ANY(${ids}) GROUP BY state`.execute(ctx().store.db);
    const by = Object.fromEntries(jobs.rows.map((r) => [r.state, Number(r.n)]));
    console.log(`# after the stop: ${JSON.stringify(by)}; ${started.size} started, ${markedAt.size} marked`);
    const notStarted = ids.filter((id) => !started.has(id)).length;
    const retry = jobs.rows.find((r) => r.state === 'retry');
    assert.ok(Number(retry?.n ?? 0) >= 1, 'the job read ahead was handed back');
    // pg-boss counts a retry when it fetches a job started before: the hand-back leaves it as never started.
    assert.equal(Number(retry?.never_started ?? 0), Number(retry?.n ?? 0), 'a hand-back uses up no retry');
    assert.equal((by.created ?? 0) + (by.retry ?? 0), notStarted, 'every job not started is queued again');
    assert.equal(by.active ?? 0, started.size - (by.completed ?? 0), 'only the jobs that started are active (those still held)');
  });
});
