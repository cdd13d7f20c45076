/**
 * The daily ledger on both store dialects: batched upsert, soft delete and
 * restore (rows and lifecycle), truthful counts, totals, no duplicates.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import type { CollectedDatabase } from '../../src/domain/collection.js';
import { CapacityRepository } from '../../src/store/capacity.repository.js';
import { RecordNotClaimable } from '../../src/store/sync.repository.js';
import { TableLocksRepository } from '../../src/store/table-locks.repository.js';
import { forEachStore, instanceRow } from '../helpers/context.js';
import { countingSqliteStore } from '../helpers/query-count.js';

function db(name: string, size: number | null, extra: Partial<CollectedDatabase> = {}): CollectedDatabase {
  return {
    database_name: name,
    is_system: false,
    size_bytes: size,
    data_bytes: size,
    index_bytes: 0,
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: 'test',
    ...extra,
  };
}

forEachStore('CapacityRepository.saveCollection', (get) => {
  let instanceId: number;
  const day1 = '2026-03-01';
  const day2 = '2026-03-02';
  const at = (d: string, t = '03:00:00') => `${d}T${t}.000Z`;

  /** An instance row of its own (the ledger's rows are per instance). */
  const newInstance = async (name: string) => (await get().repos.instances.insert(instanceRow(name))).id;

  before(async () => {
    instanceId = await newInstance('ledger');
  });

  it('first collection: every row created, lifecycle first seen, totals', async () => {
    const repo = get().repos.capacity;
    const c = await repo.saveCollection({
      instanceId,
      collectedDate: day1,
      collectedAt: at(day1),
      databases: [db('a', 100), db('b', 200), db("it's 库 🐳", 300, { is_system: true })],
    });
    assert.deepEqual([c.saved, c.created, c.updated, c.deleted, c.restored, c.new_databases], [3, 3, 0, 0, 0, 3]);
    assert.equal(c.total_size_bytes, 600);
    assert.equal(c.database_count, 3);
    const rows = await repo.statsForDay(instanceId, day1);
    assert.deepEqual(rows.map((r) => r.database_name).sort(), ['a', 'b', "it's 库 🐳"].sort());
    const inst = await get().repos.instances.get(instanceId);
    assert.equal(inst!.total_size_bytes, 600);
    assert.equal(inst!.database_count, 3);
    assert.equal(inst!.last_connected, at(day1));
    const hist = await repo.instanceHistory(instanceId, day1, day1);
    assert.deepEqual(
      hist.map((h) => [h.collected_date, h.total_size_bytes, h.database_count]),
      [[day1, 600, 3]],
    );
  });

  it('same day again: updated, not duplicated; a vanished database is soft-deleted', async () => {
    const repo = get().repos.capacity;
    const c = await repo.saveCollection({
      instanceId,
      collectedDate: day1,
      collectedAt: at(day1, '04:00:00'),
      databases: [db('a', 110), db("it's 库 🐳", 300)],
    });
    assert.deepEqual([c.saved, c.created, c.updated, c.deleted, c.restored, c.new_databases], [2, 0, 2, 1, 0, 0]);
    assert.deepEqual(c.deleted_names, ['b']);
    const rows = await repo.statsForDay(instanceId, day1);
    assert.equal(rows.length, 3, 'no duplicate rows for the day');
    const b = rows.find((r) => r.database_name === 'b')!;
    assert.equal(b.is_deleted, 1);
    assert.equal(b.deleted_at, at(day1, '04:00:00'));
    assert.equal(b.size_bytes, 200, 'the deleted row keeps its last size');
    assert.equal(rows.find((r) => r.database_name === 'a')!.size_bytes, 110);
    assert.equal(c.total_size_bytes, 410);
    const list = await repo.listDatabases(instanceId);
    const lb = list.find((d) => d.database_name === 'b')!;
    assert.equal(lb.is_deleted, 1);
    assert.equal(lb.last_seen_date, day1);
    const hist = await repo.instanceHistory(instanceId, day1, day1);
    assert.equal(hist.length, 1);
    assert.equal(hist[0]!.total_size_bytes, 410);
  });

  it('next day: the database comes back and is restored; history has two days', async () => {
    const repo = get().repos.capacity;
    const c = await repo.saveCollection({
      instanceId,
      collectedDate: day2,
      collectedAt: at(day2),
      databases: [db('a', 120), db('b', 50), db("it's 库 🐳", 300), db('c', 1)],
    });
    assert.deepEqual([c.saved, c.created, c.updated, c.deleted, c.restored, c.new_databases], [4, 4, 0, 0, 1, 1]);
    assert.deepEqual(c.restored_names, ['b']);
    const list = await repo.listDatabases(instanceId);
    const b = list.find((d) => d.database_name === 'b')!;
    assert.equal(b.is_deleted, 0);
    assert.equal(b.deleted_at, null);
    assert.equal(b.first_seen_date, day1);
    assert.equal(b.last_seen_date, day2);
    assert.equal(b.size_bytes, 50, 'latest size joins on last_seen_date');
    assert.equal(list.find((d) => d.database_name === "it's 库 🐳")!.is_system, 1);
    const hist = await repo.instanceHistory(instanceId, day1, day2);
    assert.deepEqual(
      hist.map((h) => h.total_size_bytes),
      [410, 471],
    );
  });

  it('restored the same day it was deleted: row back online', async () => {
    const repo = get().repos.capacity;
    await repo.saveCollection({
      instanceId,
      collectedDate: day2,
      collectedAt: at(day2, '05:00:00'),
      databases: [db('a', 120), db("it's 库 🐳", 300), db('c', 1)],
    });
    const c = await repo.saveCollection({
      instanceId,
      collectedDate: day2,
      collectedAt: at(day2, '06:00:00'),
      databases: [db('a', 120), db('b', 60), db("it's 库 🐳", 300), db('c', 1)],
    });
    assert.deepEqual([c.created, c.updated, c.deleted, c.restored], [0, 4, 0, 1]);
    const b = (await repo.statsForDay(instanceId, day2)).find((r) => r.database_name === 'b')!;
    assert.equal(b.is_deleted, 0);
    assert.equal(b.deleted_at, null);
    assert.equal(b.size_bytes, 60);
  });

  it('a database that cannot be measured keeps the size measured earlier that day; unknown is NULL, never 0', async () => {
    const repo = get().repos.capacity;
    const c = await repo.saveCollection({
      instanceId,
      collectedDate: day2,
      collectedAt: at(day2, '07:00:00'),
      databases: [
        db('a', null, { data_bytes: null, index_bytes: null, error: 'no CONNECT privilege' }),
        db('b', 60),
        db("it's 库 🐳", 300),
        db('c', 1),
        db('d', null, { data_bytes: null, index_bytes: null, error: 'boom' }),
      ],
    });
    assert.equal(c.new_databases, 1);
    const rows = await repo.statsForDay(instanceId, day2);
    const a = rows.find((r) => r.database_name === 'a')!;
    assert.equal(a.size_bytes, 120);
    assert.equal(a.error, 'no CONNECT privilege');
    const d = rows.find((r) => r.database_name === 'd')!;
    assert.equal(d.size_bytes, null);
    assert.equal(d.data_bytes, null);
    assert.equal(c.total_size_bytes, 120 + 60 + 300 + 1, 'unknown sizes add nothing, known ones stay');
  });

  it('an empty collection is refused: "not collected" is not "gone"', async () => {
    const repo = get().repos.capacity;
    await assert.rejects(repo.saveCollection({ instanceId, collectedDate: day2, collectedAt: at(day2), databases: [] }), /empty/);
    const list = await repo.listDatabases(instanceId);
    assert.equal(list.filter((d) => d.is_deleted === 1).length, 0);
  });

  it('duplicate names in one collection are refused before anything is written', async () => {
    const repo = get().repos.capacity;
    const before = await repo.statsForDay(instanceId, '2026-03-03');
    await assert.rejects(
      repo.saveCollection({ instanceId, collectedDate: '2026-03-03', collectedAt: at('2026-03-03'), databases: [db('x', 1), db('x', 2)] }),
      /duplicate/,
    );
    assert.deepEqual(await repo.statsForDay(instanceId, '2026-03-03'), before);
  });

  it('a failure inside the transaction leaves no half-written day', async () => {
    const repo = get().repos.capacity;
    await assert.rejects(
      repo.saveSyncedCollection(
        { instanceId, collectedDate: '2026-03-04', collectedAt: at('2026-03-04'), databases: [db('a', 1), db('z', 2)] },
        {
          recordId: 0,
          holder: 'h',
          durationMs: 0,
          instanceError: null,
          details: () => {
            throw new Error('disk full');
          },
        },
      ),
      /disk full/,
    );
    assert.equal((await repo.statsForDay(instanceId, '2026-03-04')).length, 0);
    assert.equal(
      (await repo.listDatabases(instanceId)).some((d) => d.database_name === 'z'),
      false,
    );
    assert.equal((await repo.instanceHistory(instanceId, '2026-03-04', '2026-03-04')).length, 0);
  });

  it("a sync's save completes its record, sets the instance's last sync and lets go of the lock; a record another process holds gets nothing written (LeaseLost)", async () => {
    const { repos } = get();
    const instanceId = await newInstance('ledger-lease');
    const started = at('2026-03-06');
    const { records } = await repos.sync.createSession({
      sessionId: `lease-${Date.now()}`,
      syncType: 'manual_single',
      createdBy: null,
      startedAt: started,
      owner: null,
      instances: [{ id: instanceId, name: 'ledger-lease' }],
      runningHolder: 'proc-a',
    });
    const recordId = records[0]!.id;
    assert.equal(await repos.sync.acquireLock(instanceId, 'proc-a', started, at('2026-03-06', '04:00:00')), true);
    const done = (holder: string) => ({
      recordId,
      holder,
      durationMs: 12,
      instanceError: 'one warning',
      instanceErrorMsg: { key: 'sync.warning', params: { n: 1 } },
      details: (c: { new_databases: number; deleted_names: string[] }) => ({ new_databases: c.new_databases, deleted: c.deleted_names }),
    });
    const input = { instanceId, collectedDate: '2026-03-06', collectedAt: at('2026-03-06', '03:00:05'), databases: [db('a', 10), db('q', 5)] };

    // Another process took the record over (its lease had run out): nothing of this save may land.
    await repos.sync.updateRecord(recordId, { holder: 'proc-b' });
    await assert.rejects(repos.capacity.saveSyncedCollection(input, done('proc-a')), /lease lost/);
    assert.equal((await repos.capacity.statsForDay(instanceId, '2026-03-06')).length, 0, 'no row of the day');
    assert.equal((await repos.capacity.instanceHistory(instanceId, '2026-03-06', '2026-03-06')).length, 0, 'no total of the day');
    assert.equal(
      (await repos.capacity.listDatabases(instanceId)).find((d) => d.database_name === 'q'),
      undefined,
      'no lifecycle row',
    );
    assert.equal((await repos.sync.records(records[0]!.session_id))[0]!.status, 'running', 'the record is left to its holder');
    assert.equal((await repos.sync.lockHolder(instanceId))?.holder, 'proc-a', 'and the lock to recovery');

    await repos.sync.updateRecord(recordId, { holder: 'proc-a' });
    const c = await repos.capacity.saveSyncedCollection(input, done('proc-a'));
    assert.equal(c.total_size_bytes, 15);
    assert.equal(c.new_databases, 2, 'both are new');
    const rec = (await repos.sync.records(records[0]!.session_id))[0]!;
    assert.equal(rec.status, 'completed');
    assert.equal(Number(rec.total_size_bytes), 15);
    assert.equal(rec.databases_count, 2);
    assert.equal(rec.saved_count, 2);
    assert.equal(rec.duration_ms, 12);
    assert.deepEqual(JSON.parse(rec.details!), { new_databases: 2, deleted: [] });
    const inst = await repos.instances.get(instanceId);
    assert.equal(inst?.last_sync_status, 'completed');
    assert.equal(inst?.last_sync_error, 'one warning');
    assert.deepEqual(JSON.parse(inst!.last_sync_error_msg!), { key: 'sync.warning', params: { n: 1 } });
    assert.equal(new Date(inst!.last_sync_at!).toISOString(), input.collectedAt);
    assert.equal(new Date(inst!.last_connected!).toISOString(), input.collectedAt);
    assert.equal(Number(inst?.total_size_bytes), 15);
    assert.equal(await repos.sync.lockHolder(instanceId), undefined, 'the lock is let go');
  });

  it('20,000 databases in one collection, in bounded statements', async () => {
    const repo = get().repos.capacity;
    const many = Array.from({ length: 20_000 }, (_, i) => db(`db_${String(i).padStart(5, '0')}`, i * 1024));
    const t0 = performance.now();
    const c = await repo.saveCollection({ instanceId, collectedDate: '2026-03-05', collectedAt: at('2026-03-05'), databases: many });
    const ms = performance.now() - t0;
    assert.equal(c.saved, 20_000);
    assert.equal((await repo.statsForDay(instanceId, '2026-03-05')).length, 20_000);
    assert.equal(c.total_size_bytes, (1024 * (20_000 * 19_999)) / 2);
    // The previous day's 5 databases are gone from this collection.
    assert.equal(c.deleted, 5);
    console.log(`# saved 20,000 databases in ${ms.toFixed(0)} ms`);
  });
});

forEachStore('SyncRepository locks', (get) => {
  it('one holder at a time; an expired lock can be taken over; release is holder-checked', async () => {
    const s = get().repos.sync;
    const now = '2026-03-01T00:00:00.000Z';
    const later = '2026-03-01T00:10:00.000Z';
    assert.equal(await s.acquireLock(42, 'A', now, later), true);
    assert.equal(await s.acquireLock(42, 'B', now, later), false);
    await s.releaseLock(42, 'B');
    assert.equal(await s.acquireLock(42, 'B', '2026-03-01T00:05:00.000Z', later), false, 'A still holds it');
    assert.equal(await s.acquireLock(42, 'B', '2026-03-01T00:11:00.000Z', '2026-03-01T00:20:00.000Z'), true, 'expired: taken over');
    await s.releaseLock(42, 'A');
    assert.equal(await s.acquireLock(42, 'C', '2026-03-01T00:12:00.000Z', '2026-03-01T00:20:00.000Z'), false, "A's release did not free B's lock");
    await s.releaseLock(42, 'B');
    assert.equal(await s.acquireLock(42, 'C', '2026-03-01T00:12:00.000Z', '2026-03-01T00:20:00.000Z'), true);
  });

  it('a lock taken to start a record marks it running with the lock; a record a cancel ended first starts nothing and keeps no lock (acquired or taken over)', async () => {
    const { repos } = get();
    const s = repos.sync;
    const [now, later] = ['2026-03-03T00:00:00.000Z', '2026-03-03T00:10:00.000Z'];
    const ids = await Promise.all(['start-a', 'start-b', 'start-c', 'start-d'].map(async (n) => (await repos.instances.insert(instanceRow(n))).id));
    const { records } = await s.createSession({
      sessionId: `lock-start-${Date.now()}`,
      syncType: 'manual_batch',
      createdBy: null,
      startedAt: now,
      owner: 'test',
      instances: ids.map((id, i) => ({ id, name: `start-${'abcd'[i]}` })),
    });
    const start = (i: number, holder: string) => ({ recordId: records[i]!.id, patch: { status: 'running' as const, attempt: 1, holder, started_at: now } });
    const record = async (i: number) => (await s.records(records[0]!.session_id)).find((r) => r.id === records[i]!.id)!;

    assert.equal(await s.acquireLock(ids[0]!, 'A', now, later, start(0, 'A')), true);
    const a = await record(0);
    assert.deepEqual([a.status, a.holder, a.attempt, a.started_at !== null], ['running', 'A', 1, true]);
    assert.equal((await s.lockHolder(ids[0]!))?.holder, 'A');

    await s.updateRecord(records[1]!.id, { status: 'skipped' });
    await assert.rejects(s.acquireLock(ids[1]!, 'B', now, later, start(1, 'B')), RecordNotClaimable);
    assert.equal(await s.lockHolder(ids[1]!), undefined, 'the lock it took is let go');
    assert.deepEqual([(await record(1)).status, (await record(1)).holder], ['skipped', null]);

    // A dead holder's lock taken over: the record starts with it, or (completed first) the take-over is rolled back.
    for (const i of [2, 3]) assert.equal(await s.acquireLock(ids[i]!, 'dead', now, later), true);
    assert.equal(await s.takeOverLock(ids[2]!, 'dead', 'C', now, later, start(2, 'C')), true);
    assert.deepEqual([(await record(2)).status, (await record(2)).holder, (await s.lockHolder(ids[2]!))?.holder], ['running', 'C', 'C']);
    await s.updateRecord(records[3]!.id, { status: 'completed' });
    await assert.rejects(s.takeOverLock(ids[3]!, 'dead', 'D', now, later, start(3, 'D')), RecordNotClaimable);
    assert.equal((await s.lockHolder(ids[3]!))?.holder, 'dead', 'the take-over is rolled back');
    assert.equal((await record(3)).status, 'completed');
  });

  it('table-sync locks have their own key space: they neither block nor are blocked by the instance lock', async () => {
    const s = get().repos.sync;
    const t = new TableLocksRepository(get().store.db);
    const [now, later] = ['2026-03-02T00:00:00.000Z', '2026-03-02T00:10:00.000Z'];
    assert.equal(await s.acquireLock(43, 'cap', now, later), true);
    assert.equal(await t.acquire(43, 'tab', now, later), true, 'a capacity sync does not block a table sync');
    assert.equal(await t.acquire(43, 'tab2', now, later), false, 'two table syncs of one instance do not overlap');
    await t.release(43, 'tab');
    assert.equal(await t.acquire(43, 'tab2', now, later), true);
    assert.equal((await s.lockHolder(43))?.holder, 'cap', 'the instance lock untouched');
  });
});

forEachStore('CapacityRepository: snapshots and availability-group secondaries (issue 23)', (get) => {
  it('stay in the ledger with their flags, out of the instance total (data and log too); the count keeps them', async () => {
    const { id } = await get().repos.instances.insert(instanceRow('replica', { db_type: 'sqlserver', port: 1433 }));
    const repo = get().repos.capacity;
    const day = '2026-03-01';
    const c = await repo.saveCollection({
      instanceId: id,
      collectedDate: day,
      collectedAt: `${day}T03:00:00.000Z`,
      databases: [
        db('sales', 1000, { log_bytes: 10 }),
        db('sales_snap', 30, { is_snapshot: true, log_bytes: 0 }),
        db('ag_copy', 500, { replica_role: 'SECONDARY', log_bytes: 5 }),
        db('ag_main', 700, { replica_role: 'PRIMARY', log_bytes: 7 }),
        db('ag_unknown', 50, { replica_role: 'UNKNOWN', log_bytes: 1 }),
      ],
    });
    assert.deepEqual([c.total_size_bytes, c.database_count], [1000 + 700 + 50, 5]);
    const [hist] = await repo.instanceHistory(id, day, day);
    assert.deepEqual([hist!.total_size_bytes, hist!.data_bytes, hist!.log_bytes], [1750, 1750, 18]);
    const list = new Map((await repo.listDatabases(id)).map((d) => [d.database_name, d]));
    assert.deepEqual(
      ['sales', 'sales_snap', 'ag_copy', 'ag_main'].map((n) => [list.get(n)!.is_snapshot, list.get(n)!.replica_role, list.get(n)!.size_bytes]),
      [
        [0, null, 1000],
        [1, null, 30],
        [0, 'SECONDARY', 500],
        [0, 'PRIMARY', 700],
      ],
    );

    // A failover: the copy becomes primary the next collection the same day, and counts.
    const again = await repo.saveCollection({
      instanceId: id,
      collectedDate: day,
      collectedAt: `${day}T04:00:00.000Z`,
      databases: [
        db('sales', 1000),
        db('sales_snap', 30, { is_snapshot: true }),
        db('ag_copy', 500, { replica_role: 'PRIMARY' }),
        db('ag_main', 700, { replica_role: 'SECONDARY' }),
        db('ag_unknown', 50),
      ],
    });
    assert.equal(again.total_size_bytes, 1000 + 500 + 50);
  });
});

forEachStore('a database remark with values, stored by key (0027)', (get) => {
  it("error_msg / note_msg round-trip; the databases API gives key, params and the text in the request's language; a row without a key keeps its text", async () => {
    const inst = await get().repos.instances.insert(instanceRow('remarks', { db_type: 'oracle', port: 1521 }));
    const unsized = { key: 'db.remark.ora_files_unsized', params: { unsized: 1, count: 3 } };
    const pdb = { key: 'db.remark.ora_pdb_state', params: { state: 'MOUNTED' } };
    await get().repos.capacity.saveCollection({
      instanceId: inst.id,
      collectedDate: '2026-03-01',
      collectedAt: '2026-03-01T03:00:00.000Z',
      databases: [
        db('ARCHIVE', null, { error: '1/3 个文件无法读取大小 (离线或丢失) (file size unknown: offline or missing)', error_msg: unsized }),
        db('P1/USERS', 10, { note: 'PDB 状态为 MOUNTED，无法测量 (PDB is MOUNTED: CDB_ views omit it)', note_msg: pdb }),
        db('OLD', null, { error: '旧的文本 (old text)' }),
      ],
    });
    const stored = await get().repos.capacity.statsForDay(inst.id, '2026-03-01');
    assert.deepEqual(JSON.parse(stored.find((r) => r.database_name === 'ARCHIVE')!.error_msg!), unsized);
    const by = async (locale: 'zh-CN' | 'en') => new Map((await get().capacity.databases(inst.id, locale)).databases.map((d) => [d.database_name, d]));
    const zh = await by('zh-CN');
    const en = await by('en');
    assert.deepEqual(
      [zh.get('ARCHIVE')!.error, zh.get('ARCHIVE')!.error_key, zh.get('ARCHIVE')!.error_params],
      ['1/3 个文件无法读取大小 (离线或丢失) (file size unknown: offline or missing)', unsized.key, unsized.params],
    );
    assert.deepEqual([en.get('ARCHIVE')!.error, en.get('ARCHIVE')!.error_key], ['1/3 file(s) could not be sized (offline or missing)', unsized.key]);
    assert.deepEqual(
      [en.get('P1/USERS')!.note, en.get('P1/USERS')!.note_key, en.get('P1/USERS')!.error],
      ['the PDB is MOUNTED: the CDB_ views omit it, so it cannot be measured', pdb.key, null],
    );
    assert.deepEqual([en.get('OLD')!.error, en.get('OLD')!.error_key, en.get('OLD')!.error_params], ['旧的文本 (old text)', null, null]);
  });
});

it("SQLite: a save reads today's rows by (instance, day), not through every day of the instance's history", async () => {
  // Left to itself (no statistics) SQLite walked the instance's entries of the covering unique index: 76 ms at
  // 2,000 databases with a year kept, against 1.7 ms through (instance_id, collected_date).
  const { store, statements } = countingSqliteStore();
  try {
    await store.migrate();
    const now = '2026-03-01T00:00:00.000Z';
    const { id } = await store.db
      .insertInto('instances')
      .values({ name: 'plan', db_type: 'mysql', host: 'h', port: 3306, tags: '[]', options: '{}', is_active: 1, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await new CapacityRepository(store.db, 'sqlite').saveCollection({ instanceId: id, collectedDate: '2026-03-01', collectedAt: now, databases: [db('a', 1)] });
    const read = statements.find((q) => q.includes('NULL AS is_deleted'));
    assert.ok(read, statements.join('\n'));
    const plan = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${read}`, [id, '2026-03-01', id]));
    const details = plan.rows.map((r) => r.detail);
    assert.ok(
      details.some((d) => d.includes('database_size_stats_instance_date (instance_id=? AND collected_date=?)')),
      details.join('\n'),
    );
  } finally {
    await store.close();
  }
});
