/**
 * The table ledger on both store dialects: batched saves, one row per table
 * and day (a second run the same day updates), soft delete only where the
 * database was measured in full, restore, tables of a dropped database, the
 * "other" row, and retention thinning (daily → weekly → monthly). Plus the
 * budget cut shared by the engines that read a whole catalog.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cutToBudget } from '../../src/engines/common.js';
import { storableTables, type CollectedTable, type CollectedTableDatabase } from '../../src/domain/tables.js';
import { addDays } from '../../src/lib/clock.js';
import { TablesRepository } from '../../src/store/tables.repository.js';
import { weekStart } from '../../src/services/tables.service.js';
import { forEachStore } from '../helpers/context.js';
import { measuredDb } from '../helpers/collection.js';

const t = (name: string, total: number, extra: Partial<CollectedTable> = {}): CollectedTable => ({
  schema_name: 's',
  table_name: name,
  kind: 'table',
  parent: null,
  total_bytes: total,
  data_bytes: total,
  index_bytes: 0,
  lob_bytes: 0,
  free_bytes: null,
  row_estimate: null,
  ...extra,
});

describe('cutToBudget', () => {
  it('keeps the largest, sums the rest (partitions inside a kept parent are not counted twice)', () => {
    const tables = [
      t('small', 1),
      t('parent', 100, { kind: 'partitioned' }),
      t('p1', 60, { kind: 'partition', parent: { schema_name: 's', table_name: 'parent' } }),
      t('p2', 40, { kind: 'partition', parent: { schema_name: 's', table_name: 'parent' } }),
      t('mid', 50),
    ];
    const r = cutToBudget(tables, 2);
    assert.deepEqual(
      r.kept.map((x) => x.table_name),
      ['parent', 'p1'],
    );
    assert.deepEqual(r.other, { tables: 3, total_bytes: 51, data_bytes: 51, index_bytes: 0, lob_bytes: 0, free_bytes: null });
    assert.equal(cutToBudget(tables, 5).other, undefined);
    assert.equal(cutToBudget(tables, 0).kept.length, 0);
  });
  it('weekStart is the Monday', () => {
    assert.equal(weekStart('2030-01-02'), '2029-12-31'); // a Wednesday
    assert.equal(weekStart('2029-12-31'), '2029-12-31');
    assert.equal(weekStart('2030-01-06'), '2029-12-31'); // Sunday
  });
});

forEachStore('table ledger', (get) => {
  let repo: TablesRepository;
  let instanceId: number;
  const day1 = '2030-03-01';
  const day2 = '2030-03-02';
  const save = (day: string, databases: CollectedTableDatabase[], present: string[] | null = null) =>
    repo.saveTables({ instanceId, collectedDate: day, collectedAt: `${day}T03:00:00.000Z`, method: 'pg_class', databases, presentDatabases: present });
  const names = async (db: string) =>
    await get()
      .store.db.selectFrom('table_names')
      .select(['table_name', 'is_deleted', 'kind', 'parent_id', 'id'])
      .where('database_name', '=', db)
      .orderBy('table_name')
      .execute();

  it('saves, updates the same day, and links partitions to their parent', async () => {
    const ctx = get();
    repo = new TablesRepository(ctx.store.db);
    const stamp = '2030-01-01T00:00:00.000Z';
    instanceId = (
      await ctx.store.db
        .insertInto('instances')
        .values({ name: 'ledger', db_type: 'postgresql', host: 'h', port: 1, tags: '[]', options: '{}', is_active: 1, created_at: stamp, updated_at: stamp })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    const many = Array.from({ length: 2500 }, (_, i) => t(`t${i}`, i));
    let c = await save(day1, [
      { database_name: 'big', tables: many },
      {
        database_name: 'part',
        tables: [t('parent', 10, { kind: 'partitioned' }), t('c1', 10, { kind: 'partition', parent: { schema_name: 's', table_name: 'parent' } })],
      },
    ]);
    assert.deepEqual(c, { saved: 2502, created: 2502, deleted: 0, restored: 0, total_bytes: (2499 * 2500) / 2 + 10 });
    c = await save(day1, [
      {
        database_name: 'part',
        tables: [t('parent', 12, { kind: 'partitioned' }), t('c1', 12, { kind: 'partition', parent: { schema_name: 's', table_name: 'parent' } })],
      },
    ]);
    assert.equal(c.created, 0);
    const rows = await ctx.store.db
      .selectFrom('table_size_stats')
      .select(['collected_date', 'total_bytes'])
      .where(
        'table_id',
        'in',
        (await names('part')).map((x) => x.id),
      )
      .execute();
    assert.deepEqual(rows.map((r) => r.total_bytes).sort(), [12, 12], 'one row per table and day, updated');
    const part = await names('part');
    assert.equal(part.find((x) => x.table_name === 'c1')?.parent_id, part.find((x) => x.table_name === 'parent')?.id);
  });

  it('soft-deletes only in databases measured in full; restores; a dropped database takes its tables', async () => {
    // big is cut by a budget this time: t0..t9 kept, the rest in "other" — nothing is deleted there.
    let c = await save(day2, [
      { database_name: 'big', tables: [t('t1', 1)], other: { tables: 2499, total_bytes: 5, data_bytes: 5, index_bytes: 0, lob_bytes: 0, free_bytes: null } },
      { database_name: 'part', tables: [t('parent', 1, { kind: 'partitioned' })] },
    ]);
    assert.equal(c.deleted, 1, 'only part.c1');
    assert.equal((await names('big')).filter((x) => x.is_deleted === 1).length, 0);
    const other = (await names('big')).find((x) => x.kind === 'other');
    assert.equal(other?.table_name, '');
    // The whole instance, and "part" is gone from the server: its tables are deleted; c1 not restored.
    c = await save(day2, [{ database_name: 'big', tables: [t('t1', 1)] }], ['big']);
    assert.equal(c.deleted, 2499 + 1 + 1, 'big: the 2,499 other t*, its "other" row; part: parent (c1 was deleted already)');
    assert.ok((await names('part')).every((x) => x.is_deleted === 1));
    const day2Rows = await get()
      .store.db.selectFrom('table_size_stats')
      .select(['is_deleted'])
      .where('collected_date', '=', day2)
      .where('table_id', '=', (await names('part')).find((x) => x.table_name === 'parent')!.id)
      .execute();
    assert.deepEqual(
      day2Rows.map((r) => r.is_deleted),
      [1],
      "today's row of a deleted table is marked, not erased",
    );
    c = await save(day2, [{ database_name: 'part', tables: [t('c1', 3, { kind: 'partition', parent: { schema_name: 's', table_name: 'parent' } })] }]);
    assert.equal(c.restored, 1);
  });

  it('names with U+0000 (a hostile server: PostgreSQL refuses the byte) are saved with U+FFFD in its place, partition links kept', async () => {
    const raw = {
      method: 'pg_class',
      present_databases: ['nul\u0000db'],
      warnings: [],
      databases: [
        {
          database_name: 'nul\u0000db',
          tables: [
            t('par\u0000ent', 10, { kind: 'partitioned', schema_name: 's\u0000' }),
            t('p1', 10, { kind: 'partition', schema_name: 's\u0000', parent: { schema_name: 's\u0000', table_name: 'par\u0000ent' } }),
          ],
        },
      ],
    };
    const { collection, replaced } = storableTables(raw);
    assert.equal(replaced, 4, 'the database, the schema twice, the parent table');
    await save(day1, collection.databases, collection.present_databases);
    const rows = await names('nul\uFFFDdb');
    assert.deepEqual(
      rows.map((r) => r.table_name),
      ['p1', 'par\uFFFDent'],
    );
    assert.equal(rows[0]!.parent_id, rows[1]!.id, 'the partition still finds its parent');
    assert.equal(storableTables(collection).collection, collection, 'nothing left to change: the same object');
  });

  it('retention keeps the first row of each table per week, then per month', async () => {
    const db = get().store.db;
    const id = (await names('big')).find((x) => x.table_name === 't1')!.id;
    const days = Array.from({ length: 60 }, (_, i) => addDays('2029-01-01', i));
    await db
      .insertInto('table_size_stats')
      .values(days.map((d) => ({ table_id: id, collected_date: d, total_bytes: 1, method: 1, is_deleted: 0 })))
      .execute();
    // Weekly for January (Mondays 2029-01-01, 08, 15, 22, 29), monthly for February.
    let deleted = 0;
    for (const [from, to] of [
      ['2029-01-01', '2029-01-07'],
      ['2029-01-08', '2029-01-14'],
      ['2029-01-15', '2029-01-21'],
      ['2029-01-22', '2029-01-28'],
      ['2029-01-29', '2029-01-31'],
      ['2029-02-01', '2029-03-01'],
    ] as const) {
      deleted += await repo.keepFirstPerTable(from, to);
    }
    const left = (
      await db
        .selectFrom('table_size_stats')
        .select('collected_date')
        .where('table_id', '=', id)
        .where('collected_date', '<', '2029-03-02')
        .orderBy('collected_date')
        .execute()
    ).map((r) => r.collected_date);
    assert.deepEqual(left, ['2029-01-01', '2029-01-08', '2029-01-15', '2029-01-22', '2029-01-29', '2029-02-01']);
    assert.equal(deleted, 60 - 6);
  });
});

describe('daily selection rule', () => {
  it('picks the N largest and the N fastest growing user databases; a `tables` tag picks every database', async () => {
    const { newTestContext } = await import('../helpers/context.js');
    const { CLI_ACTOR } = await import('../../src/services/audit.service.js');
    const ctx = await newTestContext('sqlite', { env: { WHALEFALL_TABLES_DAILY_TOP: '2', WHALEFALL_TABLES_DAILY_GROWTH: '1' } });
    try {
      const inst = await ctx.instances.create({ name: 'rule', db_type: 'postgresql', host: '127.0.0.1', port: 1 }, CLI_ACTOR);
      const dbRow = (name: string, size: number, isSystem = false) => measuredDb(name, size, { is_system: isSystem });
      const save = (day: string, dbs: ReturnType<typeof dbRow>[]) =>
        ctx.repos.capacity.saveCollection({ instanceId: inst.id, collectedDate: day, collectedAt: `${day}T03:00:00.000Z`, databases: dbs });
      await save('2030-05-01', [dbRow('huge', 1000), dbRow('big', 900), dbRow('grower', 10), dbRow('flat', 50), dbRow('sys', 5000, true)]);
      await save('2030-05-08', [dbRow('huge', 1000), dbRow('big', 900), dbRow('grower', 500), dbRow('flat', 50), dbRow('sys', 5000, true)]);
      const row = (await ctx.repos.instances.get(inst.id))!;
      assert.deepEqual(await ctx.tables.dailySelection(row, '2030-05-08'), ['huge', 'big', 'grower']);
      assert.equal(await ctx.tables.dailySelection({ ...row, tags: '["tables"]' }, '2030-05-08'), null);
    } finally {
      await ctx.cleanup();
    }
  });
});
