/**
 * Table-level sync on the real PostgreSQL and MariaDB of this machine: every
 * stored byte count equals the engine's own functions, for a partitioned
 * PostgreSQL table (parent = sum of its partitions, partitions kept as
 * children), a large TOAST column, a MariaDB table after deletes (data_free),
 * and names with quotes, spaces and Chinese; a dropped table is marked
 * deleted, not erased, and restored when it comes back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import type { AppError } from '../../src/lib/errors.js';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { TableLocksRepository } from '../../src/store/table-locks.repository.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { mysqlAdmin, pgAdmin, uniqueName } from '../helpers/targets.js';
import { addInstance, mysqlReader } from './helpers.js';

type Item = Awaited<ReturnType<TestContext['tables']['listTables']>>['items'][number];

async function allTables(ctx: TestContext, instanceId: number, database: string, includeDeleted = false): Promise<Item[]> {
  const r = await ctx.tables.listTables(instanceId, database, { limit: 100_000, include_deleted: includeDeleted });
  return r.items;
}

const key = (t: { schema_name: string; table_name: string }) => `${t.schema_name}.${t.table_name}`;

describe('table sync of a real PostgreSQL (sqlite store)', () => {
  let ctx: TestContext;
  let instanceId: number;
  const db = uniqueName('pg_tables');
  const oddSchema = `sch "ema" 模式 it's`;
  const oddTable = `we"ird tab 表 it's`;

  before(async () => {
    ctx = await newTestContext('sqlite');
    const admin = await pgAdmin();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const c = await pgAdmin(db);
    const q = (s: string) => c.escapeIdentifier(s);
    await c.query(`
      CREATE TABLE plain (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
      INSERT INTO plain SELECT g, repeat('p', 100) FROM generate_series(1, 5000) g;
      CREATE INDEX plain_v ON plain (v);
      CREATE TABLE events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
      CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') WITH (autovacuum_enabled = false);
      CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') WITH (autovacuum_enabled = false);
      CREATE INDEX events_id ON events (id);
      INSERT INTO events SELECT g, DATE '2024-01-01' + (g % 700), repeat('e', 80) FROM generate_series(1, 8000) g;
      CREATE TABLE docs (id int PRIMARY KEY, body text) WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false);
      INSERT INTO docs SELECT g, (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 4000) i) FROM generate_series(1, 40) g;
      CREATE SCHEMA ${q(oddSchema)};
      CREATE TABLE ${q(oddSchema)}.${q(oddTable)} (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
      INSERT INTO ${q(oddSchema)}.${q(oddTable)} SELECT generate_series(1, 100);
      CREATE MATERIALIZED VIEW mv AS SELECT id FROM plain;
    `);
    await c.query('VACUUM ANALYZE'); // FSM and VM forks exist before the measurement: nothing changes sizes later
    await c.end();
    instanceId = await addInstance(ctx, 'postgresql', 5432, 'postgres');
  });

  after(async () => {
    await ctx?.cleanup();
    const admin = await pgAdmin();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  it('stores exactly what the size functions say, partitions rolled up to their parent', async () => {
    const r = await ctx.tables.syncTables(instanceId, { databases: [db], actor: CLI_ACTOR });
    assert.equal(r.method, 'pg_class');
    assert.deepEqual(r.cut, []);
    const got = new Map((await allTables(ctx, instanceId, db)).map((t) => [key(t), t]));
    const c = await pgAdmin(db);
    try {
      const expected = await c.query<{ s: string; t: string; k: string; total: string; idx: string; tbl: string; toast: string }>(`
        SELECT n.nspname AS s, c.relname AS t, c.relkind AS k,
               pg_total_relation_size(c.oid) AS total, pg_indexes_size(c.oid) AS idx, pg_table_size(c.oid) AS tbl,
               CASE WHEN c.reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(c.reltoastrelid) END AS toast
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`);
      assert.equal(expected.rows.length, 6); // plain, 2 partitions, docs, odd, mv
      for (const e of expected.rows) {
        const t = got.get(`${e.s}.${e.t}`);
        assert.ok(t, `missing ${e.s}.${e.t}`);
        assert.equal(t.total_bytes, Number(e.total), `${e.t} total`);
        assert.equal(t.index_bytes, Number(e.idx), `${e.t} index`);
        assert.equal(t.lob_bytes, Number(e.toast), `${e.t} toast`);
        assert.equal(t.data_bytes, Number(e.tbl) - Number(e.toast), `${e.t} data`);
        assert.equal(t.data_bytes! + t.index_bytes! + t.lob_bytes!, t.total_bytes);
      }
      // The partitioned parent: the sum of its leaf partitions, by the engine's own functions.
      const parent = await c.query<{ total: string; idx: string }>(
        "SELECT sum(pg_total_relation_size(relid)) AS total, sum(pg_indexes_size(relid)) AS idx FROM pg_partition_tree('public.events') WHERE isleaf",
      );
      const ev = got.get('public.events')!;
      assert.equal(ev.kind, 'partitioned');
      assert.equal(ev.total_bytes, Number(parent.rows[0]!.total));
      assert.equal(ev.index_bytes, Number(parent.rows[0]!.idx));
      assert.ok(ev.total_bytes! > 0);
      for (const p of ['events_2024', 'events_2025']) {
        const part = got.get(`public.${p}`)!;
        assert.equal(part.kind, 'partition');
        assert.deepEqual(part.parent, { schema_name: 'public', table_name: 'events' });
      }
      // The large TOAST column is in lob_bytes, not data.
      const docs = got.get('public.docs')!;
      assert.ok(docs.lob_bytes! > 1_000_000, `toast ${docs.lob_bytes}`);
      assert.ok(docs.lob_bytes! > docs.data_bytes! * 10);
      // Odd names round-trip.
      assert.equal(got.get(`${oddSchema}.${oddTable}`)?.row_estimate, 100);
      assert.equal(got.get('public.mv')?.kind, 'matview');
      // The split totals count the parent once, not its partitions again.
      const list = await ctx.tables.listTables(instanceId, db, {});
      const top = [...got.values()].filter((t) => t.parent === null).reduce((s, t) => s + t.total_bytes!, 0);
      assert.equal(list.totals?.total_bytes, top);
    } finally {
      await c.end();
    }
  });

  it("a table-sync lock left by a dead process on this host is taken over; a live holder's is refused", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is gone
    const far = new Date(Date.now() + 3600_000).toISOString();
    const now = new Date().toISOString();
    const locks = new TableLocksRepository(ctx.store.db);
    assert.ok(await locks.acquire(instanceId, `${os.hostname()}:${process.ppid}:live:1`, now, far));
    await assert.rejects(ctx.tables.syncTables(instanceId, { databases: [db], actor: CLI_ACTOR }), (e: AppError) => e.kind === 'conflict');
    await ctx.store.db.deleteFrom('table_sync_locks').execute();
    assert.ok(await locks.acquire(instanceId, `${os.hostname()}:${dead}:dead:1`, now, far));
    const r = await ctx.tables.syncTables(instanceId, { databases: [db], actor: CLI_ACTOR });
    assert.ok(r.saved_count > 0);
    assert.equal(await locks.holder(instanceId), undefined, 'released after the run');
  });

  it('marks a dropped table deleted (kept in history) and restores it when it comes back', async () => {
    const c = await pgAdmin(db);
    await c.query('DROP TABLE plain CASCADE');
    const r = await ctx.tables.syncTables(instanceId, { databases: [db], actor: CLI_ACTOR });
    assert.equal(r.deleted_count, 2); // plain and mv (dropped with it)
    const all = new Map((await allTables(ctx, instanceId, db, true)).map((t) => [key(t), t]));
    assert.equal(all.get('public.plain')?.is_deleted, true);
    assert.ok(!(await allTables(ctx, instanceId, db)).some((t) => t.table_name === 'plain'));
    await c.query('CREATE TABLE plain (id int)');
    await c.end();
    const back = await ctx.tables.syncTables(instanceId, { databases: [db], actor: CLI_ACTOR });
    assert.equal(back.restored_count, 1);
    const again = (await allTables(ctx, instanceId, db)).find((t) => t.table_name === 'plain');
    assert.equal(again?.is_deleted, false);
    assert.equal(again?.table_id, all.get('public.plain')?.table_id, 'same name, same id');
  });
});

describe('table sync of a real MariaDB (postgres store)', () => {
  let ctx: TestContext;
  let admin: mysql.Connection;
  let instanceId: number;
  const user = uniqueName('tables_u');
  const schema = `${uniqueName('my_tables')} 库 it's`;
  const odd = `we'ird \`tab\` 表`;

  before(async () => {
    ctx = await newTestContext('postgres');
    admin = await mysqlAdmin();
    const s = admin.escapeId(schema);
    const seq = (n: number) => `${s}.seq_1_to_${n}`; // MariaDB's sequence engine, qualified (no default database)
    await admin.query(`CREATE DATABASE ${s} CHARACTER SET utf8mb4`);
    await admin.query(`
      CREATE TABLE ${s}.big (id int PRIMARY KEY, v varchar(200), KEY v (v)) ENGINE=InnoDB;
      INSERT INTO ${s}.big SELECT seq, repeat('b', 180) FROM ${seq(60000)};
      DELETE FROM ${s}.big WHERE id > 5000;
      CREATE TABLE ${s}.myi (id int PRIMARY KEY, v varchar(200)) ENGINE=MyISAM;
      INSERT INTO ${s}.myi SELECT seq, repeat('m', 150) FROM ${seq(3000)};
      DELETE FROM ${s}.myi WHERE id % 2 = 0;
      CREATE TABLE ${s}.${admin.escapeId(odd)} (id int PRIMARY KEY) ENGINE=InnoDB;
      INSERT INTO ${s}.${admin.escapeId(odd)} SELECT seq FROM ${seq(10)};
      CREATE VIEW ${s}.vw AS SELECT id FROM ${s}.big;
      ANALYZE TABLE ${s}.big, ${s}.myi, ${s}.${admin.escapeId(odd)};
    `);
    const [login, options, password] = await mysqlReader(admin, user);
    instanceId = await addInstance(ctx, 'mariadb', 3306, login, options, password);
  });

  after(async () => {
    await admin?.query(`DROP DATABASE IF EXISTS ${admin.escapeId(schema)}`);
    for (const host of ['%', 'localhost', '127.0.0.1']) await admin?.query('DROP USER IF EXISTS ?@?', [user, host]);
    await admin?.end();
    await ctx?.cleanup();
  });

  it('stores exactly what information_schema.TABLES says, data_free after deletes included', async () => {
    // InnoDB purges the deleted rows in the background, so data_free may still move: the engine's
    // answer is read just before and just after the sync, and only a run where it held still counts.
    const engineSays = async () =>
      (
        await admin.query<mysql.RowDataPacket[]>(
          "SELECT TABLE_NAME AS t, DATA_LENGTH AS d, INDEX_LENGTH AS i, DATA_FREE AS f, TABLE_ROWS AS r FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
          [schema],
        )
      )[0];
    let rows: mysql.RowDataPacket[] = [];
    let got = new Map<string, Item>();
    for (let attempt = 1; ; attempt++) {
      const before = await engineSays();
      const r = await ctx.tables.syncTables(instanceId, { databases: [schema], actor: CLI_ACTOR });
      assert.equal(r.method, 'information_schema');
      got = new Map((await allTables(ctx, instanceId, schema)).map((t) => [t.table_name, t]));
      rows = await engineSays();
      if (JSON.stringify(before) === JSON.stringify(rows)) break;
      assert.ok(attempt < 10, 'information_schema kept changing');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    assert.equal(rows.length, 3);
    assert.equal(got.size, 3, 'the view takes no space and is not a table row');
    for (const e of rows) {
      const t = got.get(e.t as string);
      assert.ok(t, `missing ${e.t}`);
      assert.equal(t.schema_name, '');
      assert.equal(t.data_bytes, Number(e.d), `${e.t} data`);
      assert.equal(t.index_bytes, Number(e.i), `${e.t} index`);
      assert.equal(t.free_bytes, Number(e.f), `${e.t} data_free`);
      assert.equal(t.total_bytes, Number(e.d) + Number(e.i), `${e.t} total`);
      assert.equal(t.row_estimate, Number(e.r), `${e.t} rows`);
    }
    assert.ok(got.get('myi')!.free_bytes! > 0, 'MyISAM deleted rows show as data_free');
    assert.ok(got.has(odd));
  });

  it('an instance-wide run covers the schema too and leaves system schemas out', async () => {
    const r = await ctx.tables.syncTables(instanceId, { actor: CLI_ACTOR });
    const names = r.databases.map((d) => d.database_name);
    assert.ok(names.includes(schema));
    assert.ok(!names.includes('mysql') && !names.includes('information_schema'));
    const session = await ctx.capacity.session(r.session_id);
    assert.equal(session.sync_category, 'tables');
    assert.equal(session.status, 'completed');
    assert.equal(session.records[0]?.saved_count, r.saved_count);
  });
});
