/**
 * Queue mode: the records of a fetch are marked and read in one statement
 * (SyncRepository.queuedRecords with `markAs`), and each job takes its
 * record from that read instead of reading it again
 * (services/sync/fetched-records.ts). A failed statement is the caller's to
 * log; then each job reads its own record.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FetchedRecords } from '../../src/services/sync/fetched-records.js';
import type { QueuedRecord } from '../../src/store/sync.repository.js';

function fakeSync(opts: { fail?: boolean } = {}) {
  const calls = { read: [] as { ids: number[]; markAs?: string }[] };
  const row = (id: number): QueuedRecord => ({
    record: { id, session_id: 's', instance_id: id, instance_name: `i${id}`, status: 'pending', attempt: 0 },
    syncType: 'scheduled_task',
    cancelRequested: false,
    instance: undefined,
  });
  return {
    calls,
    repo: {
      async queuedRecords(ids: number[], markAs?: string) {
        calls.read.push({ ids, markAs });
        await new Promise((r) => setTimeout(r, 5));
        if (opts.fail) throw new Error('store unreachable');
        return new Map(ids.map((id) => [id, row(id)]));
      },
    },
  };
}

it("a fetch's records are marked and read in one call; its jobs take them without another read", async () => {
  const f = fakeSync();
  const fr = new FetchedRecords(f.repo);
  await fr.fetched([1, 2, 3], 'host:1:tag');
  assert.deepEqual(f.calls.read, [{ ids: [1, 2, 3], markAs: 'host:1:tag' }], 'one call, marking as this process');
  assert.equal((await fr.take(2))?.record.id, 2);
  assert.equal((await fr.take(1))?.record.instance_name, 'i1');
  assert.equal(f.calls.read.length, 1, 'no read of its own');
  // Taken once: a redelivered job reads its record again (a plain read, no mark).
  assert.equal((await fr.take(2))?.record.id, 2);
  assert.deepEqual(f.calls.read.at(-1), { ids: [2], markAs: undefined });
  // A job no fetch read (fetched before a restart of this reader, say): read on its own.
  assert.equal((await fr.take(9))?.record.id, 9);
  assert.deepEqual(f.calls.read.at(-1), { ids: [9], markAs: undefined });
});

it('a failed mark-and-read is thrown; each job then reads its own record', async () => {
  const f = fakeSync({ fail: true });
  const fr = new FetchedRecords(f.repo);
  await assert.rejects(fr.fetched([4, 5], 't'), /store unreachable/);
  await assert.rejects(fr.take(4), /store unreachable/, 'the job reads its record itself (and the store is still down)');
  assert.deepEqual(
    f.calls.read.map((c) => c.ids),
    [[4, 5], [4]],
  );
});
