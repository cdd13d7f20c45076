/**
 * Named (server-side prepared) statements on the PostgreSQL store and queue
 * (src/store/pg-prepared.ts), on the real server: a repeated parameterised
 * query is prepared once per connection and `prepare: false` never names one;
 * queries without parameters stay unnamed; a connection keeps at most
 * MAX_PER_CONNECTION names and every query still answers; a table changed
 * under a prepared `SELECT *` (0A000) is answered unnamed on that connection
 * only. The queue's fetch index exists after a start, on every queue's
 * partition, and pg-boss's fetch uses it; two processes starting on a fresh
 * schema at once both start. Behind a real pgbouncer: test/store/pgbouncer.test.ts.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { PgBossQueue } from '../../src/scheduler/pgboss.queue.js';
import { CAPACITY_QUEUE, DAILY_QUEUE, QUEUE_SCHEMA } from '../../src/scheduler/queue-names.js';
import { createLogger } from '../../src/lib/logger.js';
import { openStore, type Store } from '../../src/store/db.js';
import { MAX_PER_CONNECTION, statementName } from '../../src/store/pg-prepared.js';
import { FETCH_INDEX } from '../../src/scheduler/pgboss-schema.js';
import { createMigratedDatabase } from '../helpers/pg-template.js';
import { dropTestDatabase, pgAdmin, pgAdminRun, uniqueName } from '../helpers/targets.js';

/** The names prepared on the store's (one) connection. */
async function preparedNames(store: Store): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(store.db);
  return r.rows.map((row) => row.name);
}

/** A parameterised query run twice on `store`: whether its name is then prepared on the store's (one) connection. */
async function namedAfterTwoRuns(store: Store, key: string): Promise<boolean> {
  const query = store.db.selectFrom('settings').select('value').where('key', '=', key);
  await query.execute();
  await query.execute();
  return (await preparedNames(store)).includes(statementName(query.compile().sql));
}

/** `fn` on a database created empty for it (no migrations, no plan cache mode set), dropped after. */
async function withNewDatabase(prefix: string, fn: (url: string) => Promise<void>): Promise<void> {
  const name = uniqueName(prefix);
  await pgAdminRun(`CREATE DATABASE ${name}`);
  try {
    await fn(`postgres://postgres@127.0.0.1:5432/${name}`);
  } finally {
    await dropTestDatabase(name);
  }
}

describe('prepared statements on the PostgreSQL store', () => {
  const name = uniqueName('prepared');
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const stores: Store[] = [];
  /** A store on one connection, so pg_prepared_statements is the one its queries ran on. */
  const open = (opts: Parameters<typeof openStore>[0] = {}) => {
    const s = openStore({ databaseUrl: url, poolMax: 1, prepare: true, ...opts });
    stores.push(s);
    return s;
  };

  before(async () => {
    await createMigratedDatabase(name);
    // A start: the migration step sets the database's plan cache mode, which naming needs.
    const first = openStore({ databaseUrl: url, poolMax: 1 });
    await first.migrate();
    await first.close();
  });
  after(async () => {
    for (const s of stores) await s.close();
    await dropTestDatabase(name);
  });

  it('a parameterised Kysely query run twice is prepared by name on its connection; with prepare: false it is not', async () => {
    const query = (s: Store) => s.db.selectFrom('users').select(['id', 'username']).where('username', '=', 'nobody').where('role', '=', 'admin');
    const on = open();
    const wanted = statementName(query(on).compile().sql);
    assert.deepEqual(await query(on).execute(), []);
    assert.deepEqual(await query(on).execute(), []);
    assert.deepEqual(await preparedNames(on), [wanted]);

    const off = open({ prepare: false });
    await query(off).execute();
    await query(off).execute();
    assert.deepEqual(await preparedNames(off), []);
  });

  it("named only where each run is planned for its values: a start sets force_custom_plan on its database, keeps an owner's choice; under another mode nothing is named", async () => {
    const show = async (s: Store) => (await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(s.db)).rows[0]!.plan_cache_mode;
    const s = open();
    assert.equal(await show(s), 'force_custom_plan', 'set by the start (before)');
    // An owner who chose otherwise keeps it, and the store names nothing there.
    const other = uniqueName('prepared_auto');
    await createMigratedDatabase(other);
    try {
      await pgAdminRun(`ALTER DATABASE ${other} SET plan_cache_mode = auto`);
      // (A mode chosen in postgresql.conf, with ALTER SYSTEM or for the role is kept the same way: the session's setting is not the default.)
      const mine = openStore({ databaseUrl: `postgres://postgres@127.0.0.1:5432/${other}`, poolMax: 1 });
      try {
        await mine.migrate();
        assert.equal(await show(mine), 'auto', "the owner's choice is kept");
        for (let i = 0; i < 4; i++) await sql`select ${i}::int as n`.execute(mine.db);
        assert.deepEqual(await preparedNames(mine), [], 'generic plans could be kept: nothing is named');
      } finally {
        await mine.close();
      }
    } finally {
      await dropTestDatabase(other);
    }
  });

  it('the first start on a new database names from its first batch on: the connection that ran the migrations too', async () => {
    await withNewDatabase('prepared_first', async (url) => {
      // One connection: the one the migrations ran on (before, it had asked its mode before the database had it).
      const first = openStore({ databaseUrl: url, poolMax: 1 });
      try {
        await first.migrate();
        assert.ok(await namedAfterTwoRuns(first, 'first-start'), 'named on the migrations’ connection');
      } finally {
        await first.close();
      }
    });
  });

  it('two processes starting at once on a new database: both start, neither says naming is off, both name', async () => {
    await withNewDatabase('prepared_twice', async (url) => {
      const told: string[] = [];
      const both = [0, 1].map(() => openStore({ databaseUrl: url, poolMax: 1, onPrepareOff: (reason) => told.push(reason) }));
      try {
        await Promise.all(both.map((s) => s.migrate()));
        assert.deepEqual(told, []);
        for (const s of both) assert.ok(await namedAfterTwoRuns(s, 'twice'));
      } finally {
        for (const s of both) await s.close();
      }
    });
  });

  it('a store user who does not own the database: the start goes on and says why (told once), nothing is set and nothing named', async () => {
    const role = uniqueName('nonowner');
    const other = uniqueName('prepared_nonowner');
    await createMigratedDatabase(other);
    await pgAdminRun(`CREATE ROLE ${role} LOGIN; GRANT ALL ON DATABASE ${other} TO ${role}; GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role};`, other);
    try {
      const told: (string | undefined)[] = [];
      const theirs = openStore({ databaseUrl: `postgres://${role}@127.0.0.1:5432/${other}`, poolMax: 1, onPrepareOff: (_r, err) => told.push(err.code) });
      try {
        await theirs.migrate();
        assert.deepEqual(told, ['42501'], 'must be owner of the database');
        const mode = (await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(theirs.db)).rows[0]!.plan_cache_mode;
        assert.equal(mode, 'auto');
        for (let i = 0; i < 4; i++) await sql`select ${i}::int as n`.execute(theirs.db);
        assert.deepEqual(await preparedNames(theirs), []);
      } finally {
        await theirs.close();
      }
    } finally {
      await dropTestDatabase(other);
      await pgAdminRun(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('a new connection asks its plan cache mode before its first query, not beside it: that query is named, and nothing waits in pg’s queue (pg 8.23 warns, pg 9 drops it)', async () => {
    const queued: string[] = [];
    const onWarning = (w: Error) => {
      if (/already executing a query/.test(w.message)) queued.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const s = open();
      const query = s.db.selectFrom('settings').select('value').where('key', '=', 'first-query');
      assert.deepEqual(await query.execute(), []);
      assert.deepEqual(await preparedNames(s), [statementName(query.compile().sql)], 'named at its first run');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(queued, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('nothing is named inside a transaction (a pooler that loses names can then always be answered unnamed)', async () => {
    const s = open();
    const warm = sql`select ${1}::int as warm`;
    await warm.execute(s.db);
    await s.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 3; i++) await sql`select ${i}::int as inside`.execute(trx);
    });
    assert.deepEqual(await preparedNames(s), [statementName(warm.compile(s.db).sql)], 'the query before the transaction only');
  });

  it('queries without parameters (and BEGIN/COMMIT) stay unnamed', async () => {
    const s = open();
    for (let i = 0; i < 3; i++) await sql`select count(*) from users`.execute(s.db);
    await s.db.transaction().execute(async (trx) => {
      await trx.selectFrom('users').select('id').execute();
    });
    assert.deepEqual(await preparedNames(s), []);
  });

  it(`a connection keeps at most ${MAX_PER_CONNECTION} names: 250 distinct texts, every one answers`, async () => {
    const s = open();
    for (let i = 0; i < 250; i++) {
      // A different text each (the literal), one parameter: what a statement built with a varying shape looks like.
      const r = await sql<{ n: number }>`select ${sql.lit(i)}::int + ${1000}::int as n`.execute(s.db);
      assert.deepEqual(r.rows, [{ n: 1000 + i }]);
    }
    // Past the bound the texts go unnamed, and a named one still answers from its prepared statement.
    const again = await sql<{ n: number }>`select ${sql.lit(0)}::int + ${7}::int as n`.execute(s.db);
    assert.deepEqual(again.rows, [{ n: 7 }]);
    const names = await preparedNames(s);
    assert.equal(names.length, MAX_PER_CONNECTION, `${names.length} prepared statements`);
    // The first went unnamed while the connection was asked its plan cache mode; the next ones were named.
    assert.ok(names.includes(statementName('select 1::int + $1::int as n')));
  });

  it('0A000 (a table changed under a prepared SELECT *): answered unnamed, the pool keeps naming', async () => {
    const offs: string[] = [];
    const s = open({ onPrepareOff: (_reason, err) => offs.push(err.code ?? err.message) });
    await sql`create table t (id int primary key, a text)`.execute(s.db);
    await sql`insert into t values (1, 'one')`.execute(s.db);
    const byId = () => sql<Record<string, unknown>>`select * from t where id = ${1}`.execute(s.db);
    assert.deepEqual((await byId()).rows, [{ id: 1, a: 'one' }]);
    assert.deepEqual((await byId()).rows, [{ id: 1, a: 'one' }]);
    assert.ok((await preparedNames(s)).includes(statementName('select * from t where id = $1')));
    await sql`alter table t add column b text not null default 'bee'`.execute(s.db);
    // The server answers the prepared statement with "cached plan must not change result type"; the store does not.
    assert.deepEqual((await byId()).rows, [{ id: 1, a: 'one', b: 'bee' }]);
    assert.deepEqual((await byId()).rows, [{ id: 1, a: 'one', b: 'bee' }]);
    assert.deepEqual(offs, [], 'a changed table is one connection’s business: the pool is not told');
    // A second connection of the same pool still prepares.
    const pool2 = open({ poolMax: 1 });
    await sql`select ${1}::int as one`.execute(pool2.db);
    await sql`select ${1}::int as one`.execute(pool2.db);
    assert.deepEqual(await preparedNames(pool2), [statementName('select $1::int as one')]);
  });
});

describe('the queue’s fetch index', () => {
  const name = uniqueName('fetch_index');
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const logger = createLogger('warn');
  const queues: PgBossQueue[] = [];

  before(async () => {
    await pgAdminRun(`CREATE DATABASE ${name}`);
  });
  after(async () => {
    for (const q of queues) await q.stop(1000);
    await dropTestDatabase(name);
  });

  it('two queues starting at once on a fresh schema both start; the index is on the job table and every queue’s partition', async () => {
    const a = new PgBossQueue(url, logger, { maintenanceSeconds: 30 });
    const b = new PgBossQueue(url, logger, { maintenanceSeconds: 30 });
    queues.push(a, b);
    await Promise.all([a.start(), b.start()]);

    const c = await pgAdmin(name);
    try {
      const parent = await c.query<{ tablename: string; indexdef: string }>(
        'SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2',
        [QUEUE_SCHEMA, FETCH_INDEX],
      );
      assert.equal(parent.rows.length, 1);
      assert.equal(parent.rows[0]!.tablename, 'job');
      assert.match(parent.rows[0]!.indexdef, /\(name, priority DESC, created_on, id\) WHERE \(state < 'active'/);
      // Each queue's partition has an index attached to it (created with the parent's, or when the partition was).
      const parts = await c.query<{ partition: string }>(
        `SELECT t.relname AS partition
           FROM pg_inherits ii JOIN pg_index pi ON pi.indexrelid = ii.inhrelid JOIN pg_class t ON t.oid = pi.indrelid
          WHERE ii.inhparent = $1::regclass`,
        [`${QUEUE_SCHEMA}.${FETCH_INDEX}`],
      );
      const queueTables = await c.query<{ partition_name: string }>(`SELECT partition_name FROM ${QUEUE_SCHEMA}.queue WHERE name = ANY($1)`, [
        [CAPACITY_QUEUE, DAILY_QUEUE],
      ]);
      assert.equal(queueTables.rows.length, 2);
      assert.deepEqual(parts.rows.map((r) => r.partition).sort(), queueTables.rows.map((r) => r.partition_name).sort());
    } finally {
      await c.end();
    }
  });

  it('pg-boss’s fetch reads the index (no sort of the queued jobs) once a session is queued', async () => {
    const q = queues[0]!;
    await q.enqueue(
      Array.from({ length: 3000 }, (_, i) => ({ id: i + 1, instance_id: i + 1 })),
      600,
    );
    const c = await pgAdmin(name);
    try {
      // No ANALYZE here: enqueue has the table analyzed (analyzeJobs). With the statistics of the empty table the
      // planner took pg-boss's (name, start_after) index and sorted every queued job.
      // pg-boss's own text of its fetch, as PgBoss#fetch sends it (batchSize as $2).
      const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { fetchNextJob(schema: string): (o: object) => string };
      const fetchSql = plans.fetchNextJob(QUEUE_SCHEMA)({});
      const plan = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${fetchSql}`, [CAPACITY_QUEUE, 10]);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      const idx = await c.query<{ relname: string }>(
        'SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass',
        [`${QUEUE_SCHEMA}.${FETCH_INDEX}`],
      );
      const names = idx.rows.map((r) => r.relname);
      assert.ok(
        names.some((n) => text.includes(`Index Scan using ${n} `)),
        `the fetch does not use ${FETCH_INDEX} (${names.join(', ')}):\n${text}`,
      );
      // The jobs it takes come out of the index in order: no sort of the queued ones (the Sort further on is of those taken).
      const start = text.indexOf('CTE next');
      assert.doesNotMatch(text.slice(start, text.indexOf('\n  ->', start)), /\bSort\b/, text);
    } finally {
      await c.end();
    }
  });
});
