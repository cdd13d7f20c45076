/**
 * The table API and CLI end to end on the real PostgreSQL: sync by an
 * operator over HTTP, the database's tables sorted / searched / paged with
 * the split totals, CSV export, a table's trend over two days and the top
 * growing tables (a clock the test moves), bad input → 400 with nothing
 * changed, and `whalefall sync --tables`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { pgAdmin, uniqueName } from '../helpers/targets.js';
import { addInstance } from './helpers.js';

describe('table API and CLI on a real PostgreSQL', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let instanceId: number;
  let now = new Date('2031-05-01T22:00:00Z'); // the second day is 4 h later: sessions (12 h) stay valid
  const db = uniqueName('tables_api');

  before(async () => {
    ctx = await newTestContext('sqlite', { clock: { now: () => now } });
    ({ app, callers } = await newTestApp(ctx));
    const admin = await pgAdmin();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const c = await pgAdmin(db);
    await c.query(`
      CREATE TABLE orders (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = false);
      INSERT INTO orders SELECT g, repeat('o', 120) FROM generate_series(1, 3000) g;
      CREATE TABLE "Order Lines 明细" (id int) WITH (autovacuum_enabled = false);
      INSERT INTO "Order Lines 明细" SELECT generate_series(1, 200);
      CREATE TABLE audit_100 (id int) WITH (autovacuum_enabled = false);`);
    await c.end();
    instanceId = await addInstance(ctx, 'postgresql', 5432, 'postgres');
  });

  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    const admin = await pgAdmin();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  const get = (url: string) => app.inject({ method: 'GET', url, headers: callers.viewer.headers(false) });
  const sync = (payload: unknown) =>
    app.inject({ method: 'POST', url: `/api/instances/${instanceId}/tables/sync`, headers: callers.operator.headers(true), payload: payload as object });

  it('syncs over HTTP and lists the tables sorted, searched and paged, with split totals', async () => {
    const r = await sync({ databases: [db] });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.match(body.message, /表容量同步成功，1 个数据库，保存了 3 条表记录/);
    assert.equal(body.data.collected_date, '2031-05-01');

    const list = await get(`/api/instances/${instanceId}/tables?database=${db}`);
    assert.equal(list.statusCode, 200, list.body);
    const d = list.json().data;
    assert.equal(d.total, 3);
    assert.deepEqual(
      d.items.map((x: { table_name: string }) => x.table_name),
      ['orders', 'Order Lines 明细', 'audit_100'],
    );
    const sum = d.items.reduce((s: number, x: { total_bytes: number }) => s + x.total_bytes, 0);
    assert.equal(d.totals.total_bytes, sum);
    assert.equal(d.totals.data_bytes + d.totals.index_bytes + d.totals.lob_bytes, sum);

    const byName = (await get(`/api/instances/${instanceId}/tables?database=${db}&sort=name&order=asc`))
      .json()
      .data.items.map((x: { table_name: string }) => x.table_name);
    assert.equal(byName.length, 3);
    assert.deepEqual(
      [...byName].sort(),
      [...byName].sort((a: string, b: string) => (a < b ? -1 : 1)),
    );
    const found = (await get(`/api/instances/${instanceId}/tables?database=${db}&search=${encodeURIComponent('明细')}`)).json().data;
    assert.deepEqual(
      found.items.map((x: { table_name: string }) => x.table_name),
      ['Order Lines 明细'],
    );
    // `_` is literal in a search, not a wildcard.
    assert.equal((await get(`/api/instances/${instanceId}/tables?database=${db}&search=t_1`)).json().data.total, 1);
    assert.equal((await get(`/api/instances/${instanceId}/tables?database=${db}&search=rder_`)).json().data.total, 0);
    const page = (await get(`/api/instances/${instanceId}/tables?database=${db}&limit=1&offset=1`)).json().data;
    assert.equal(page.total, 3);
    assert.deepEqual(
      page.items.map((x: { table_name: string }) => x.table_name),
      ['Order Lines 明细'],
    );

    const csv = await get(`/api/instances/${instanceId}/tables?database=${db}&format=csv`);
    assert.equal(csv.statusCode, 200);
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^table_id,schema_name,table_name,kind,parent,total_bytes/);
    assert.ok(lines.some((l) => l.includes('Order Lines 明细')));

    const dbs = (await get(`/api/instances/${instanceId}/tables/databases`)).json().data.databases;
    assert.deepEqual(dbs, [{ database_name: db, last_collected_date: '2031-05-01', tables: 3 }]);
  });

  it('a second day gives a trend and the top growing tables', async () => {
    const c = await pgAdmin(db);
    await c.query(`INSERT INTO audit_100 SELECT generate_series(1, 20000)`);
    await c.end();
    now = new Date('2031-05-02T02:00:00Z');
    assert.equal((await sync({ databases: [db] })).statusCode, 200);

    const top = await get(`/api/tables/top-growing?days=7&instance_id=${instanceId}`);
    assert.equal(top.statusCode, 200, top.body);
    const t = top.json().data;
    assert.equal(t.from, '2031-05-01');
    assert.equal(t.to, '2031-05-02');
    assert.equal(t.items[0].table_name, 'audit_100');
    assert.ok(t.items[0].change_bytes > 500_000);
    assert.equal(t.items[0].change_bytes, t.items[0].last_bytes - t.items[0].first_bytes);

    const series = await get(`/api/tables/${t.items[0].table_id}/series?from=2031-04-01&to=2031-05-31`);
    assert.equal(series.statusCode, 200, series.body);
    const points = series.json().data.points;
    assert.deepEqual(
      points.map((p: { collected_date: string }) => p.collected_date),
      ['2031-05-01', '2031-05-02'],
    );
    assert.equal(points[1].total_bytes, t.items[0].last_bytes);
    const csv = await get(`/api/tables/${t.items[0].table_id}/series?from=2031-04-01&to=2031-05-31&format=csv`);
    assert.equal(
      csv.body
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\r\n').length,
      3,
    );
  });

  it('refuses bad input with a clear 400 and changes nothing', async () => {
    const before = (await get(`/api/instances/${instanceId}/tables?database=${db}`)).json().data.items;
    for (const payload of [{ databases: [] }, { databases: [''] }, { databases: 'x' }, { nope: 1 }]) {
      const r = await sync(payload);
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.match(r.json().error, /请求参数无效|必须/);
    }
    assert.equal((await get(`/api/instances/${instanceId}/tables?database=${db}&sort=size`)).statusCode, 400);
    assert.equal((await get(`/api/instances/${instanceId}/tables`)).statusCode, 400);
    assert.equal((await get('/api/tables/top-growing?days=0')).statusCode, 400);
    assert.equal((await get('/api/tables/424242/series')).statusCode, 404);
    assert.equal(
      (await app.inject({ method: 'POST', url: `/api/instances/${instanceId}/tables/sync`, headers: callers.viewer.headers(true), payload: {} })).statusCode,
      403,
    );
    assert.deepEqual((await get(`/api/instances/${instanceId}/tables?database=${db}`)).json().data.items, before);
  });

  it('a database that does not exist fails the run clearly, recorded', async () => {
    const r = await sync({ databases: ['wf_t_no_such_db'] });
    assert.equal(r.statusCode, 400, r.body);
    assert.match(r.json().error, /同步表容量失败: wf_t_no_such_db: 数据库不存在/);
    assert.ok(r.json().session_id);
    // In English by key (issue #20 item 2): the refusal, and a run where one database of two is missing.
    const en = (payload: unknown) =>
      app.inject({
        method: 'POST',
        url: `/api/instances/${instanceId}/tables/sync`,
        headers: { ...callers.operator.headers(true), 'accept-language': 'en' },
        payload: payload as object,
      });
    const refused = await en({ databases: ['wf_t_no_such_db'] });
    assert.equal(refused.json().error, 'Table sync failed: wf_t_no_such_db: database not found');
    const partly = await en({ databases: [db, 'wf_t_no_such_db'] });
    assert.equal(partly.statusCode, 200, partly.body);
    const data = partly.json().data as {
      databases: { database_name: string; error?: string; error_msg?: { key: string } }[];
      cut: string[];
      cut_msgs: { key: string }[];
    };
    const missing = data.databases.find((d) => d.database_name === 'wf_t_no_such_db')!;
    assert.deepEqual([missing.error, missing.error_msg?.key], ['database not found', 'api.tables.db_not_found']);
    assert.deepEqual(data.cut, ['wf_t_no_such_db: database not found']);
    assert.deepEqual(
      data.cut_msgs.map((m) => m.key),
      ['api.tables.warn.db_error'],
    );
    const zh = (await sync({ databases: [db, 'wf_t_no_such_db'] })).json().data as { cut: string[] };
    assert.deepEqual(zh.cut, ['wf_t_no_such_db: 数据库不存在 (database not found)']);
  });

  it('whalefall sync --tables', async () => {
    const slotsOf = (pid: number | undefined) =>
      ctx.store.db.selectFrom('connection_slots').select(['scope', 'slot']).where('holder', 'like', `%:${pid}:%`).execute();
    const env = { ...process.env, WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_TZ: 'UTC', LOG_LEVEL: '' };
    const bin = path.resolve('test/helpers/whalefall.mjs'); // the sources, not a possibly stale dist/
    const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    const name = 'cli-tables';
    let r = spawnSync(
      process.execPath,
      // The local server is registered already (the API tests' instance): the same server again, on purpose.
      [bin, ...`instances add --name ${name} --type postgresql --host 127.0.0.1 --username postgres --password-env PW --confirm-duplicate`.split(' ')],
      { env: { ...env, PW: 'x-Secret-1' }, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    r = run(['sync', '--tables', '--instance', name, '--database', db]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /cli-tables\s+completed\s+1\s+3\s+3\/0\/0/);
    // Its connections' slots freed before the process closed its store: none left to a gone process (they were,
    // with a warning and a stack on stderr, until the next process on the host or the lease freed them). Seen when
    // the save after the collection is quick: a database without tables.
    for (const only of [db, 'postgres']) {
      r = run(['sync', '--tables', '--instance', name, '--database', only]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /could not free connection slots/);
      assert.deepEqual(await slotsOf(r.pid), [], `${only}: no slot left held by the gone CLI process`);
    }
    r = run(['sync', '--database', db, '--instance', name]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--database goes with --tables/);
    r = run(['sync', '--tables', '--all', '--database', db]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--database needs exactly one --instance/);
  });
});
