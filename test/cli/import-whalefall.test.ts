/**
 * Moving from the original WhaleFall: an original store created on the local
 * PostgreSQL with the seed's DDL (§5.1) and 120 days of history, imported
 * into both store dialects. Sizes exact in bytes (MB × 1,048,576), MB
 * precision marked, the deleted database in the lifecycle, names matched,
 * a second run adds nothing, a dry run stores nothing; the runway on the
 * imported histories; the command's progress, summary and one-line errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { addDays } from '../../src/lib/clock.js';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { IMPORT_METHOD, MB } from '../../src/services/import-whalefall.service.js';
import { OriginalWhalefallReader } from '../../src/store/original-whalefall.reader.js';
import { withCli } from '../helpers/cli.js';
import { forEachStore, newTestContext, type TestContext } from '../helpers/context.js';
import { pgAdmin, uniqueName } from '../helpers/targets.js';
import { FixedClock } from '../statistics/fixtures.js';

const TODAY = '2026-05-01';
const FIRST = addDays(TODAY, -119);
const clock = new FixedClock(new Date(`${TODAY}T12:00:00Z`));

/** The seed's DDL, verbatim (§5.1 and §5.2), plus a column the import must ignore. */
const DDL = `
CREATE TABLE instances (
    id SERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    db_type VARCHAR(50) NOT NULL,
    host VARCHAR(255) NOT NULL,
    port INTEGER,
    is_active BOOLEAN DEFAULT TRUE,
    last_connected TIMESTAMP WITH TIME ZONE,
    total_size_mb INTEGER DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);
CREATE TABLE database_size_stats (
    id SERIAL PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances(id),
    database_name VARCHAR(255) NOT NULL,
    size_mb INTEGER NOT NULL DEFAULT 0,
    data_size_mb INTEGER DEFAULT 0,
    log_size_mb INTEGER DEFAULT 0,
    collected_date DATE NOT NULL,
    collected_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    is_deleted BOOLEAN DEFAULT FALSE,
    deleted_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    extra_note TEXT
);
CREATE INDEX idx_database_size_stats_instance_id ON database_size_stats(instance_id);
CREATE INDEX idx_database_size_stats_collected_date ON database_size_stats(collected_date);
CREATE INDEX idx_database_size_stats_database_name ON database_size_stats(database_name);
CREATE INDEX idx_database_size_stats_is_deleted ON database_size_stats(is_deleted);
CREATE INDEX idx_instances_db_type ON instances(db_type);
CREATE INDEX idx_instances_is_active ON instances(is_active);
`;

/** Deterministic noise in [-1, 1]. */
function noise(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
}

interface Db {
  instance: string;
  name: string;
  /** MB on day i (0..119); null: no row that day. */
  mb: (i: number) => number | null;
  deletedOn?: number;
}

const rnd = noise(17);
const noisy = Array.from({ length: 120 }, (_, i) => Math.round(50_000 + i * 10 + rnd() * 15_000));
const DBS: Db[] = [
  // Three databases on one instance, one deleted on day 100 (the original marks that day's row).
  { instance: 'orig-pg', name: 'sales', mb: (i) => 10_240 + 100 * i },
  { instance: 'orig-pg', name: 'archive', mb: () => 20_000 },
  { instance: 'orig-pg', name: 'tmp', mb: (i) => (i <= 100 ? 500 + i : null), deletedOn: 100 },
  // A purge on day 60 on another instance, and a noisy one.
  { instance: 'orig-mysql', name: 'events', mb: (i) => (i < 60 ? 300_000 + 3_000 * i : 100_000 + 1_000 * (i - 60)) },
  { instance: 'orig-mssql', name: 'noisy', mb: (i) => noisy[i]! },
];

async function createOriginal(admin: pg.Client, name: string): Promise<string> {
  await admin.query(`CREATE DATABASE ${name}`);
  const { default: pgLib } = await import('pg');
  const c = new pgLib.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name });
  await c.connect();
  try {
    await c.query(DDL);
    await c.query(`INSERT INTO instances (name, db_type, host, port, is_active) VALUES
      ('orig-pg', 'postgresql', 'pg1.example', 5432, true),
      ('orig-mysql', 'mysql', 'my1.example', 3306, true),
      ('orig-mssql', 'sqlserver', 'ms1.example', 1433, false),
      ('orig-db2', 'db2', 'db2.example', 50000, true)`);
    const ids = new Map((await c.query('SELECT id, name FROM instances')).rows.map((r) => [r.name as string, r.id as number]));
    const values: unknown[][] = [];
    for (const d of DBS) {
      for (let i = 0; i < 120; i++) {
        const mb = d.mb(i);
        if (mb === null) continue;
        const date = addDays(FIRST, i);
        const deleted = d.deletedOn === i;
        values.push([ids.get(d.instance), d.name, mb, mb - 10, 10, date, `${date}T02:00:00Z`, deleted, deleted ? `${date}T02:00:05Z` : null]);
      }
    }
    for (let i = 0; i < values.length; i += 200) {
      const part = values.slice(i, i + 200);
      const ph = part.map((_, k) => `(${Array.from({ length: 9 }, (_, j) => `$${k * 9 + j + 1}`).join(', ')})`).join(', ');
      await c.query(
        `INSERT INTO database_size_stats (instance_id, database_name, size_mb, data_size_mb, log_size_mb, collected_date, collected_at, is_deleted, deleted_at) VALUES ${ph}`,
        part.flat(),
      );
    }
    // A row for an unknown-type instance: skipped with the instance, never imported.
    await c.query(`INSERT INTO database_size_stats (instance_id, database_name, size_mb, collected_date) VALUES ($1, 'x', 1, $2)`, [
      ids.get('orig-db2'),
      TODAY,
    ]);
  } finally {
    await c.end();
  }
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

let admin: pg.Client;
let url: string;
const originalDb = uniqueName('orig');
const emptyDb = uniqueName('notorig');

before(async () => {
  admin = await pgAdmin();
  url = await createOriginal(admin, originalDb);
  await admin.query(`CREATE DATABASE ${emptyDb}`);
});
after(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${originalDb} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${emptyDb} WITH (FORCE)`);
  await admin.end();
});

const rowsExpected = DBS.reduce((a, d) => a + Array.from({ length: 120 }, (_, i) => d.mb(i)).filter((x) => x !== null).length, 0);

forEachStore('import-whalefall', (_get, kind) => {
  let ctx: TestContext;
  before(async () => {
    ctx = await newTestContext(kind, { clock });
  });
  after(() => ctx?.cleanup());

  const run = async (dryRun: boolean) => {
    const reader = await OriginalWhalefallReader.open(url);
    try {
      return await ctx.importWhalefall.run(reader, { dryRun, actor: CLI_ACTOR });
    } finally {
      await reader.close();
    }
  };

  it('a dry run reports exactly what a real run does and stores nothing', async () => {
    // An instance already registered under one of the original names: matched, not duplicated.
    const now = clock.now().toISOString();
    await ctx.repos.instances.insert({
      name: 'orig-mysql',
      db_type: 'mysql',
      host: 'my1.example',
      port: 3306,
      tags: '["prod"]',
      options: '{}',
      is_active: 1,
      created_at: now,
      updated_at: now,
    });
    const s = await run(true);
    assert.deepEqual([s.dry_run, s.instances_created, s.instances_matched, s.instances_skipped], [true, 2, 1, 1]);
    assert.equal(s.rows_read, rowsExpected);
    assert.equal(s.rows_inserted, rowsExpected);
    assert.equal(s.instances.find((i) => i.name === 'orig-db2')!.reason, 'unknown db_type "db2"');
    const n = await ctx.store.db
      .selectFrom('database_size_stats')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 0);
    assert.equal((await ctx.repos.instances.list()).length, 1);
  });

  it('imports instances without credentials and the whole history, exact in bytes, MB precision marked', async () => {
    const s = await run(false);
    assert.deepEqual([s.instances_created, s.instances_matched, s.rows_inserted, s.rows_already_present], [2, 1, rowsExpected, 0]);
    const list = await ctx.repos.instances.list();
    assert.deepEqual(list.map((i) => i.name).sort(), ['orig-mssql', 'orig-mysql', 'orig-pg']);
    const pgInst = list.find((i) => i.name === 'orig-pg')!;
    assert.deepEqual([pgInst.db_type, pgInst.host, pgInst.port, pgInst.credential_id, pgInst.is_active], ['postgresql', 'pg1.example', 5432, null, 1]);
    assert.equal(list.find((i) => i.name === 'orig-mssql')!.is_active, 0);
    assert.equal(list.find((i) => i.name === 'orig-mysql')!.tags, '["prod"]', 'the matched instance keeps its own definition');
    const rows = await ctx.store.db
      .selectFrom('database_size_stats')
      .selectAll()
      .where('instance_id', '=', pgInst.id)
      .where('database_name', '=', 'sales')
      .orderBy('collected_date')
      .execute();
    assert.equal(rows.length, 120);
    assert.deepEqual(
      [rows[0]!.collected_date, rows[0]!.size_bytes, rows[0]!.data_bytes, rows[0]!.log_bytes, rows[0]!.method],
      [FIRST, 10_240 * MB, 10_230 * MB, 10 * MB, IMPORT_METHOD],
    );
    assert.equal(rows[119]!.size_bytes, (10_240 + 100 * 119) * 1_048_576);
    // The deleted database: its rows, and the lifecycle says deleted since day 100.
    const tmp = await ctx.store.db
      .selectFrom('instance_databases')
      .selectAll()
      .where('instance_id', '=', pgInst.id)
      .where('database_name', '=', 'tmp')
      .executeTakeFirstOrThrow();
    assert.deepEqual([tmp.is_deleted, tmp.first_seen_date, tmp.last_seen_date], [1, FIRST, addDays(FIRST, 100)]);
    assert.equal(new Date(tmp.deleted_at!).toISOString(), `${addDays(FIRST, 100)}T02:00:05.000Z`);
    const live = await ctx.store.db
      .selectFrom('instance_databases')
      .select('database_name')
      .where('instance_id', '=', pgInst.id)
      .where('is_deleted', '=', 0)
      .orderBy('database_name')
      .execute();
    assert.deepEqual(
      live.map((r) => r.database_name),
      ['archive', 'sales'],
    );
    // Instance totals: the databases present that day (the deletion day excludes tmp).
    const totals = new Map(
      (await ctx.store.db.selectFrom('instance_size_stats').selectAll().where('instance_id', '=', pgInst.id).execute()).map((r) => [r.collected_date, r]),
    );
    assert.equal(totals.size, 120);
    assert.equal(totals.get(addDays(FIRST, 10))!.total_size_bytes, (10_240 + 1000 + 20_000 + 510) * MB);
    assert.equal(totals.get(addDays(FIRST, 100))!.total_size_bytes, (10_240 + 10_000 + 20_000) * MB);
    assert.equal(pgInst.total_size_bytes, (10_240 + 11_900 + 20_000) * MB);
  });

  it('a second run adds nothing and says so', async () => {
    const s = await run(false);
    assert.deepEqual(
      [s.instances_created, s.instances_matched, s.rows_inserted, s.rows_already_present, s.databases_created, s.totals_days_added],
      [0, 3, 0, rowsExpected, 0, 0],
    );
    assert.equal((await ctx.repos.instances.list()).length, 3);
  });

  it('the runway on the imported histories: linear, flat, purge, noisy', async () => {
    const list = await ctx.repos.instances.list();
    const id = (n: string) => list.find((i) => i.name === n)!.id;
    // Ceilings: 100 GiB of data for orig-pg, 500 GiB for the other two.
    for (const [n, gib] of [
      ['orig-pg', 100],
      ['orig-mysql', 500],
      ['orig-mssql', 500],
    ] as const) {
      await ctx.repos.instances.update(id(n), { options: JSON.stringify({ capacity_limit_bytes: gib * 1024 * MB }) });
    }
    const r = await ctx.runway.list({ scope: 'database' });
    const by = Object.fromEntries(r.items.map((i) => [i.database_name!, i]));
    assert.equal(by.tmp, undefined, 'a deleted database has no runway');
    // sales: +100 MB/day; the instance has 100 GiB − (22,140 + 20,000) MB of room.
    const room = 100 * 1024 - (10_240 + 11_900 + 20_000);
    assert.equal(by.sales!.state, 'growing');
    assert.ok(Math.abs(by.sales!.days_until_full! - room / 100) <= 0.05 * (room / 100), `${by.sales!.days_until_full} vs ${room / 100}`);
    assert.ok(by.sales!.backtest_mape !== null && by.sales!.backtest_mape < 0.5);
    assert.deepEqual([by.archive!.state, by.archive!.days_until_full], ['not_growing', null]);
    assert.equal(by.events!.change_point_date, addDays(FIRST, 60));
    assert.equal(by.events!.fit_start_date, addDays(FIRST, 60));
    // events: 500 GiB − 159,000 MB at 1,000 MB/day.
    const expected = (500 * 1024 - 159_000) / 1000;
    assert.ok(Math.abs(by.events!.days_until_full! - expected) <= 0.05 * expected, `${by.events!.days_until_full} vs ${expected}`);
    assert.equal(by.noisy!.state, 'unpredictable');
    assert.equal(typeof by.noisy!.backtest_mape, 'number');
  });
});

describe('whalefall import-whalefall (the command)', () => {
  it('progress, summary, second run says nothing to import; bad URL and schema: exit 1 with one line', async () => {
    await withCli({}, async (cli) => {
      assert.equal((await cli(['migrate'])).code, 0);
      const writes: string[] = [];
      const saved = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((s: string) => writes.push(String(s)) > 0) as unknown as typeof process.stderr.write;
      let dry, first, second;
      try {
        dry = await cli(['import-whalefall', url, '--dry-run']);
        first = await cli(['import-whalefall', url]);
        second = await cli(['import-whalefall', url]);
      } finally {
        process.stderr.write = saved;
      }
      assert.equal(dry.code, 0, dry.err);
      assert.match(dry.out, /instances: 3 would be created .* 1 skipped; history: \d+ rows read, \d+ would be added \(MB precision\)/);
      assert.match(dry.out, /dry run: nothing was stored/);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /skipped orig-db2: unknown db_type "db2"/);
      assert.match(first.out, new RegExp(`instances: 3 created .*history: ${rowsExpected} rows read, ${rowsExpected} added`));
      assert.ok(
        writes.some((w) => /\[#{30}\] 100% \d+\/\d+ rows/.test(w)),
        writes.join(''),
      );
      assert.equal(second.code, 0, second.err);
      assert.match(second.out, /0 created .*3 matched by name.* 0 added .* already present/);
      assert.match(second.out, /nothing to import: everything is already here/);
      const listed = await cli(['instances', 'list']);
      assert.equal(listed.out.match(/orig-pg/g)?.length, 1);

      const bad = await cli(['import-whalefall', 'mysql://root@127.0.0.1/x']);
      assert.deepEqual([bad.code, bad.err.trim()], [1, 'whalefall: not a PostgreSQL URL: scheme "mysql" (expected postgres://)']);
      const notUrl = await cli(['import-whalefall', 'not a url']);
      assert.equal(notUrl.code, 1);
      assert.match(notUrl.err, /^whalefall: not a PostgreSQL URL/);
      const schema = await cli(['import-whalefall', `postgres://postgres:s3cret@127.0.0.1:5432/${emptyDb}`]);
      assert.deepEqual([schema.code, schema.err.trim()], [1, 'whalefall: not an original WhaleFall store: no table "instances"']);
      const down = await cli(['import-whalefall', `postgres://postgres:s3cret@127.0.0.1:1/${emptyDb}`]);
      assert.equal(down.code, 1);
      assert.match(down.err, /^whalefall: cannot connect to 127\.0\.0\.1:1\/wf_t_notorig_[0-9a-f]+: /);
      assert.doesNotMatch(down.err + schema.err, /s3cret/);
      assert.equal(down.err.trim().split('\n').length, 1);
    });
  });
});
