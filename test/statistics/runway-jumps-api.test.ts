/**
 * Why it jumped, on real synced data: two databases on the local PostgreSQL
 * grow ~1 MB a day for twelve days (capacity, tables and composition synced
 * each day under a fake clock), then a 40 MB table is bulk-loaded into one of
 * them. GET /api/statistics/runway names that day, that database, that table
 * and composition parts with the jump's sign; the database-scope item names
 * the table.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type pg from 'pg';
import { addDays } from '../../src/lib/clock.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { pgAdmin } from '../helpers/targets.js';
import { FixedClock } from './fixtures.js';

const actor = { userId: null, username: 'test' };
const FIRST = '2026-03-01';
const DAYS = 12;
const clock = new FixedClock(new Date(`${FIRST}T12:00:00Z`));
// Not wf_t_*: every other test database on the shared server is excluded by that pattern.
const suffix = Math.random().toString(16).slice(2, 10);
const A = `wfjump_${suffix}_a`;
const B = `wfjump_${suffix}_b`;

let ctx: TestContext;
let app: TestApp;
let viewer: Caller;
let admin: pg.Client;
const conns: Record<string, pg.Client> = {};
let instanceId = 0;

const grow = (db: string, mb: number) =>
  conns[db]!.query(`INSERT INTO t (pad) SELECT repeat(md5(g::text), 30) FROM generate_series(1, ${Math.round(mb * 1024)}) g`);

before(async () => {
  ctx = await newTestContext('sqlite', { clock });
  admin = await pgAdmin();
  const others = (await admin.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);
  for (const n of [A, B]) {
    await admin.query(`CREATE DATABASE ${n}`);
    conns[n] = await pgAdmin(n);
    await conns[n].query('CREATE TABLE t (id serial PRIMARY KEY, pad text)');
    // TOAST stays out of it: 960-byte rows, stored inline and uncompressed.
    await conns[n].query('ALTER TABLE t ALTER COLUMN pad SET STORAGE PLAIN');
  }
  const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
  const exclude = ['wf_t_*', 'wf_tpl*', 'bench*', ...others.filter((n) => !n.startsWith('wf_t_'))];
  instanceId = (await ctx.instances.create({ name: 'pg-jump', db_type: 'postgresql', host: '127.0.0.1', credential_id: cred.id, options: { exclude } }, actor))
    .id;
  for (let d = 0; d <= DAYS; d++) {
    clock.at = new Date(`${addDays(FIRST, d)}T12:00:00Z`);
    await grow(A, 1);
    await grow(B, 0.5);
    if (d === DAYS) await conns[B]!.query(`CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 30) AS pad FROM generate_series(1, ${40 * 1024}) g`);
    await ctx.capacitySync.syncInstance(instanceId, actor);
    await ctx.tables.syncTables(instanceId, { actor });
    await ctx.composition.collect(instanceId);
  }
  await ctx.runway.invalidate();
  // Logged in on the last day (a session started on day 0 would have expired under the moving clock).
  const t = await newTestApp(ctx);
  app = t.app;
  viewer = t.callers.viewer;
});
after(async () => {
  await app?.close();
  for (const c of Object.values(conns)) await c.end();
  for (const n of [A, B]) await admin?.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
  await admin?.end();
  await ctx?.cleanup();
});

const get = async (qs: string) => {
  const res = await app.inject({ method: 'GET', url: `/api/statistics/runway${qs}`, headers: viewer.headers(false) });
  assert.equal(res.statusCode, 200, res.body);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer walked by the assertions
  return res.json().data as { items: Record<string, any>[] };
};

it('instance scope: the bulk-load day, its database, its table and the composition parts', async () => {
  const r = await get(`?instance_id=${instanceId}`);
  const item = r.items[0]!;
  assert.ok(item.jumps.length >= 1, JSON.stringify(item));
  const j = item.jumps[0];
  const day = addDays(FIRST, DAYS);
  assert.equal(j.date, day);
  assert.equal(j.previous_date, addDays(FIRST, DAYS - 1));
  assert.ok(j.change_bytes > 35 * 1024 ** 2, String(j.change_bytes));
  assert.ok(Math.abs(j.expected_bytes) < 5 * 1024 ** 2, String(j.expected_bytes));
  assert.equal(j.databases[0].name, B, JSON.stringify(j.databases));
  assert.ok(j.databases[0].share > 0.8, JSON.stringify(j.databases));
  assert.ok(!j.databases.some((x: { name: string }) => x.name === A), 'A grew as usual: not named');
  assert.equal(j.tables[0].table_name, 'big');
  assert.equal(j.tables[0].database_name, B);
  assert.deepEqual([j.tables_from, j.tables_to], [addDays(FIRST, DAYS - 1), day]);
  // The composition parts with the jump's sign (heap holds the new table; WAL may move with the server's other work).
  assert.ok(Array.isArray(j.parts) && j.parts.length >= 1 && j.parts.every((p: { change_bytes: number }) => p.change_bytes > 0), JSON.stringify(j.parts));
  assert.ok(
    j.parts.some((p: { name: string }) => p.name === 'heap'),
    JSON.stringify(j.parts),
  );
  assert.equal(typeof item.fit.level_bytes, 'number');
});

it('database scope: the loaded database names its table; the other has no jump', async () => {
  const r = await get(`?instance_id=${instanceId}&scope=database`);
  const b = r.items.find((i) => i.database_name === B)!;
  const a = r.items.find((i) => i.database_name === A)!;
  assert.equal(b.jumps[0].date, addDays(FIRST, DAYS));
  assert.equal(b.jumps[0].databases, null);
  assert.equal(b.jumps[0].parts, null);
  assert.deepEqual(
    b.jumps[0].tables.map((x: { table_name: string }) => x.table_name),
    ['big'],
  );
  assert.ok(!a.jumps.some((x: { date: string }) => x.date === addDays(FIRST, DAYS)), JSON.stringify(a.jumps));
});
