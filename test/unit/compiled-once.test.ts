/**
 * Statements compiled once (src/store/compiled-once.ts): each run binds its
 * own values in the builder's order, the SQL is the builder's, the plugins'
 * transformQuery runs once, and a missing value runs nothing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import SQLite from 'better-sqlite3';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteDialect,
  sql,
  type CompiledQuery,
  type KyselyPlugin,
  type QueryResult,
} from 'kysely';
import { compiledOnce } from '../../src/store/compiled-once.js';

interface T {
  locks: { id: number; holder: string; at: string; until: string };
}

function sqlite() {
  const db = new Kysely<T>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
  return db;
}

/** Take a lock row, or a lapsed one over (the shape of the sync lock: values used twice, a constant in the middle). */
const take = (db: Kysely<T>, v: { id: number; holder: string; at: string; until: string }) =>
  db
    .insertInto('locks')
    .values({ id: v.id, holder: v.holder, at: v.at, until: v.until })
    .onConflict((oc) => oc.column('id').doUpdateSet({ holder: v.holder, at: v.at, until: v.until }).where('locks.until', '<', v.at))
    .returning('holder');

it('each run binds its own values, in the order the builder put them, and the SQL is the builder’s', async () => {
  const db = sqlite();
  await sql`CREATE TABLE locks (id INTEGER PRIMARY KEY, holder TEXT NOT NULL, at TEXT NOT NULL, until TEXT NOT NULL)`.execute(db);
  const once = compiledOnce(() => db, take);
  const values = Array.from({ length: 20 }, (_, i) => ({
    id: i % 10,
    holder: `h${i}`,
    at: `2026-12-07T00:00:${String(i).padStart(2, '0')}Z`,
    until: '2026-12-07T00:00:15Z',
  }));
  // Run at once: ten take a free row, then ten find it held until :15 — those starting at :15 or later take it over.
  const got = await Promise.all(values.map((v) => once(db, v)));
  const built = await Promise.all(values.map((v) => take(db, v).compile()));
  for (const [i, v] of values.entries()) {
    const expected = i < 10 || v.at > v.until ? v.holder : undefined;
    assert.equal(got[i]!.rows[0]?.holder, expected, `run ${i}`);
  }
  const rows = await db.selectFrom('locks').selectAll().orderBy('id').execute();
  assert.deepEqual(
    rows.map((r) => r.holder),
    ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h16', 'h17', 'h18', 'h19'],
  );
  // The same text as Kysely's own compile (so the same prepared or named statement), with the builder's parameters.
  const seen: CompiledQuery[] = [];
  const spy = { executeQuery: async <R>(q: CompiledQuery<R>): Promise<QueryResult<R>> => (seen.push(q), { rows: [] }) };
  await once(spy, values[3]!);
  assert.equal(seen[0]!.sql, built[3]!.sql);
  assert.deepEqual(seen[0]!.parameters, built[3]!.parameters);
  await db.destroy();
});

it('compiles once: a plugin’s transformQuery runs at the first call only, and every run carries that query id', async () => {
  const transformed: unknown[] = [];
  const results: unknown[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: (args) => (transformed.push(args.queryId), args.node),
    transformResult: (args) => (results.push(args.queryId), Promise.resolve(args.result)),
  };
  const db = sqlite().withPlugin(plugin);
  await sql`CREATE TABLE locks (id INTEGER PRIMARY KEY, holder TEXT NOT NULL, at TEXT NOT NULL, until TEXT NOT NULL)`.execute(db);
  transformed.length = 0;
  results.length = 0;
  const once = compiledOnce(() => db, take);
  for (let id = 0; id < 3; id++) await once(db, { id, holder: 'h', at: 'a', until: 'u' });
  assert.equal(transformed.length, 1);
  assert.deepEqual(results, [transformed[0], transformed[0], transformed[0]]);
  await db.destroy();
});

it('PostgreSQL: numbered parameters, a value used three times bound three times', async () => {
  const db = new Kysely<T>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  const seen: CompiledQuery[] = [];
  const spy = { executeQuery: async <R>(q: CompiledQuery<R>): Promise<QueryResult<R>> => (seen.push(q), { rows: [] }) };
  const once = compiledOnce(() => db, take);
  await once(spy, { id: 1, holder: 'a', at: 't1', until: 'u1' });
  await once(spy, { id: 2, holder: 'b', at: 't2', until: 'u2' });
  assert.match(seen[0]!.sql, /\$8/);
  assert.equal(seen[0]!.sql, seen[1]!.sql);
  assert.deepEqual(seen[1]!.parameters, [2, 'b', 't2', 'u2', 'b', 't2', 'u2', 't2']);
  assert.deepEqual(seen[1]!.parameters, take(db, { id: 2, holder: 'b', at: 't2', until: 'u2' }).compile().parameters);
});

it('a value not given runs nothing and says which', async () => {
  const db = sqlite();
  let ran = 0;
  const spy = { executeQuery: async <R>(): Promise<QueryResult<R>> => (ran++, { rows: [] }) };
  const once = compiledOnce(() => db, take);
  await assert.rejects(once(spy, { id: 1, holder: 'a', at: 't', until: undefined as unknown as string }), /no value for "until"/);
  await assert.rejects(once(spy, { id: 1, holder: undefined as unknown as string, at: 't', until: 'u' }), /no value for "holder"/);
  assert.equal(ran, 0);
  await db.destroy();
});

it('a statement with no value given is refused (it would run the same values every time)', async () => {
  const db = sqlite();
  const once = compiledOnce(
    () => db,
    (db) => db.deleteFrom('locks').where('id', '=', 1),
  );
  await assert.rejects(once(db, {}), /no value of the statement is given/);
  await db.destroy();
});
