/**
 * Queue mode: the records of a fetch are marked and read in two statements
 * sent together, and each job takes its record from that read instead of
 * reading it again (services/sync/fetched-records.ts). A failed read costs
 * only a read per job; a failed mark is the caller's to log.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FetchedRecords } from '../../src/services/sync/fetched-records.js';
import type { QueuedRecord } from '../../src/store/sync.repository.js';

function fakeSync(opts: { failRead?: boolean; failMark?: boolean } = {}) {
  const calls = { marked: [] as number[][], read: [] as number[][], inFlight: 0, together: 0 };
  const row = (id: number): QueuedRecord => ({
    record: { id, session_id: 's', instance_id: id, instance_name: `i${id}`, status: 'pending', attempt: 0 },
    syncType: 'scheduled_task',
    cancelRequested: false,
    instance: undefined,
  });
  const enter = async () => {
    calls.inFlight++;
    calls.together = Math.max(calls.together, calls.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    calls.inFlight--;
  };
  return {
    calls,
    repo: {
      async markFetched(ids: number[]) {
        calls.marked.push(ids);
        await enter();
        if (opts.failMark) throw new Error('store unreachable');
      },
      async queuedRecords(ids: number[]) {
        calls.read.push(ids);
        await enter();
        if (opts.failRead) throw new Error('store unreachable');
        return new Map(ids.map((id) => [id, row(id)]));
      },
    },
  };
}

it("a fetch's records are marked and read together; its jobs take them without another read", async () => {
  const f = fakeSync();
  const fr = new FetchedRecords(f.repo);
  await fr.fetched([1, 2, 3], 'host:1:tag');
  assert.deepEqual(f.calls.marked, [[1, 2, 3]]);
  assert.deepEqual(f.calls.read, [[1, 2, 3]]);
  assert.equal(f.calls.together, 2, 'the mark and the read were sent together, not one after the other');
  assert.equal((await fr.take(2))?.record.id, 2);
  assert.equal((await fr.take(1))?.record.instance_name, 'i1');
  assert.equal(f.calls.read.length, 1, 'no read of its own');
  // Taken once: a redelivered job reads its record again.
  assert.equal((await fr.take(2))?.record.id, 2);
  assert.deepEqual(f.calls.read.at(-1), [2]);
  // A job no fetch read (fetched before a restart of this reader, say): read on its own.
  assert.equal((await fr.take(9))?.record.id, 9);
  assert.deepEqual(f.calls.read.at(-1), [9]);
});

it('a failed read only costs each job a read of its own; a failed mark is thrown', async () => {
  const f = fakeSync({ failRead: true });
  const fr = new FetchedRecords(f.repo);
  await fr.fetched([4, 5], 't');
  await assert.rejects(fr.take(4), /store unreachable/, 'the job reads its record itself (and the store is still down)');
  assert.deepEqual(f.calls.read, [[4, 5], [4]]);
  const g = fakeSync({ failMark: true });
  await assert.rejects(new FetchedRecords(g.repo).fetched([6], 't'), /store unreachable/);
});
