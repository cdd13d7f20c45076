/**
 * E2E for the table-level capacity UI (issue #9) in headless chromium against
 * the real app and the real PostgreSQL: a database with a few tables (one with
 * a large TOAST column) collected with 采集表容量 from the instance page and
 * from the database page, sizes equal to pg_total_relation_size, sort and
 * search, the trend chart drawn on a click, CSV export, the top growing
 * tables page, a viewer without the collect buttons; screenshots in zh-CN and
 * English at 1440 and 390 px, and no console error / failed request / CSP
 * violation anywhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { pgAdmin, uniqueName } from '../helpers/targets.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const PASSWORD = 'e2e-password-1';
const actor = { userId: null, username: 'e2e' };

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The chart's canvas exists and has more than 1,000 painted pixels (code as text: the tests have no DOM lib). */
function chartDrawn(page: Page): Promise<boolean> {
  return page.evaluate(`(() => {
    const c = document.querySelector('#wf-chart-table canvas');
    if (!c || !c.width || !c.height) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
    return painted > 1000;
  })()`);
}

describe('table-level capacity pages (chromium, real PostgreSQL)', () => {
  const dbName = uniqueName('ui_tables');
  let server: Server;
  let browser: Session;
  let admin: Page;
  let instId: number;
  let expected: Map<string, number>;
  let yesterdayOrders = 0;
  let now = new Date();

  before(async () => {
    const pga = await pgAdmin();
    await pga.query(`CREATE DATABASE "${dbName}"`);
    await pga.end();
    const c = await pgAdmin(dbName);
    await c.query('CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 30000) g');
    await c.query('CREATE INDEX orders_v ON orders (v)');
    // A large TOAST column: 40 rows of ~200 kB incompressible text each.
    await c.query('CREATE TABLE docs (id int PRIMARY KEY, body text)');
    await c.query('ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL');
    await c.query(
      "INSERT INTO docs SELECT g, (SELECT string_agg(md5(g::text || ':' || i::text), '') FROM generate_series(1, 6000) i) FROM generate_series(1, 40) g",
    );
    await c.query('CREATE TABLE "客户 list" (id int)');
    await c.query('INSERT INTO "客户 list" SELECT generate_series(1, 500)');
    await c.query('ANALYZE');
    const measure = () =>
      c.query<{ name: string; size: string }>(
        "SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid)::text AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'",
      );
    const r = await c.query<{ name: string; size: string }>(
      "SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid)::text AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'",
    );
    expected = new Map(r.rows.map((x) => [x.name, Number(x.size)]));
    assert.equal(expected.size, 3);
    assert.ok(expected.get('public.docs')! > 5 * 1024 * 1024, 'the TOAST table holds megabytes');

    // Yesterday's table sizes (collected by the service with the clock a day back), then orders grows by 20,000 rows.
    now = new Date(Date.now() - 86_400_000);
    server = await startServer({ WHALEFALL_SCHEDULER: 'false' }, { clock: { now: () => now } });
    const ctx = server.ctx;
    for (const role of ['viewer', 'operator', 'admin'] as const) await ctx.auth.createUser({ username: `e2e-${role}`, password: PASSWORD, role }, actor);
    const cred = await ctx.credentials.create({ name: 'pg-postgres', username: 'postgres', password: 'trust' }, actor);
    instId = (
      await ctx.instances.create(
        { name: `pg-${dbName.slice(-8)}`, db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', credential_id: cred.id },
        actor,
      )
    ).id;
    await ctx.tables.syncTables(instId, { databases: [dbName], actor });
    yesterdayOrders = expected.get('public.orders')!;
    await c.query('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(30001, 50000) g');
    await c.query('ANALYZE orders');
    expected = new Map((await measure()).rows.map((x) => [x.name, Number(x.size)]));
    await c.end();
    now = new Date();
    browser = await openBrowser(server.url);
    admin = await browser.newPage();
    await login(admin, 'e2e-admin', PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    const pga = await pgAdmin();
    await pga.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await pga.end();
  });

  it('collects the tables of a database from its row on the instance page', async () => {
    await admin.goto(`/instances/${instId}`);
    await admin.click('#wf-sync-capacity');
    const row = admin.locator(`#wf-db-rows tr[data-database="${dbName}"]`);
    await row.waitFor();
    await row.locator('.wf-collect-tables').click();
    await admin.locator('.wf-alerts .alert-success', { hasText: /表/ }).last().waitFor();
    assert.equal(await row.locator(`a[href="/instances/${instId}/databases/${dbName}"]`).count(), 1);
  });

  it('shows the tables with sizes equal to pg_total_relation_size, sorts and searches', async () => {
    await admin.goto(`/instances/${instId}/databases/${dbName}`);
    await until('3 tables', async () => (await admin.locator('#wf-table-rows tr[data-table-id]').count()) === 3);
    const api = (await (await admin.request.get(`/api/instances/${instId}/tables?database=${dbName}`)).json()) as {
      data: { items: { schema_name: string; table_name: string; total_bytes: number; lob_bytes: number }[]; totals: { total_bytes: number } };
    };
    for (const x of api.data.items) assert.equal(x.total_bytes, expected.get(`${x.schema_name}.${x.table_name}`), `${x.table_name}: pg_total_relation_size`);
    const docs = api.data.items.find((x) => x.table_name === 'docs')!;
    assert.ok(docs.lob_bytes > 5 * 1024 * 1024, 'TOAST bytes shown for docs');
    assert.equal(
      api.data.totals.total_bytes,
      [...expected.values()].reduce((a, b) => a + b, 0),
    );
    // Largest first by default: docs (TOAST), each row with a split bar of its parts.
    const first = admin.locator('#wf-table-rows tr').first();
    assert.match(await first.innerText(), /public\.docs/);
    assert.ok((await first.locator('.wf-split-lob').count()) === 1, 'the TOAST part is drawn');
    assert.ok((await admin.locator('#wf-db-split .progress').count()) >= 2, 'the database split bar');
    // Sort by name ascending.
    await admin.click('#wf-tables-table th[data-sort="name"]');
    await until(
      'sorted by name',
      async () =>
        /public\.docs/.test(await admin.locator('#wf-table-rows tr').first().innerText()) &&
        /客户 list/.test(await admin.locator('#wf-table-rows tr').last().innerText()),
    );
    // Search.
    await admin.fill('#wf-table-search', '客户');
    await until('one match', async () => (await admin.locator('#wf-table-rows tr[data-table-id]').count()) === 1);
    assert.match(await admin.locator('#wf-table-rows tr').first().innerText(), /客户 list/);
    await admin.fill('#wf-table-search', '');
    await until('all again', async () => (await admin.locator('#wf-table-rows tr[data-table-id]').count()) === 3);
    // CSV export of what is shown.
    const href = await admin.getAttribute('#wf-tables-csv', 'href');
    const csv = await (await admin.request.get(href!)).text();
    assert.match(csv, /^\uFEFF?table_id,schema_name,table_name/);
    assert.match(csv, new RegExp(`docs,table,,${expected.get('public.docs')},`));
  });

  it('collects again from the database page in place and draws a table trend on a click', async () => {
    await admin.click('#wf-collect-tables');
    await admin.locator('.wf-alerts .alert-success').last().waitFor();
    await until('rows back', async () => (await admin.locator('#wf-table-rows tr[data-table-id]').count()) === 3);
    await admin.locator('#wf-table-rows tr', { hasText: 'public.orders' }).click();
    await until('chart drawn', () => chartDrawn(admin));
    assert.match(await admin.innerText('#wf-trend-name'), /public\.orders/);
    const csv = await (await admin.request.get((await admin.getAttribute('#wf-trend-csv', 'href'))!)).text();
    assert.match(csv, /^\uFEFF?collected_date,total_bytes/);
  });

  it('lists the top growing tables across the estate', async () => {
    await admin.goto('/capacity/tables');
    await until('loaded', async () => !/加载中/.test(await admin.innerText('#wf-top-rows')));
    // orders grew between yesterday and today: first in the list, by exactly the difference of pg_total_relation_size.
    const first = admin.locator('#wf-top-rows tr').first();
    assert.match(await first.innerText(), /public\.orders/);
    const growth = expected.get('public.orders')! - yesterdayOrders;
    assert.ok(growth > 0);
    const api = (await (await admin.request.get('/api/tables/top-growing?days=30')).json()) as {
      data: { items: { table_name: string; change_bytes: number }[] };
    };
    assert.equal(api.data.items[0]!.table_name, 'orders');
    assert.equal(api.data.items[0]!.change_bytes, growth);
    assert.match((await admin.getAttribute('#wf-top-csv', 'href'))!, /format=csv/);
    assert.equal(await admin.locator('nav a[href="/capacity/tables"]').count(), 1);
    const csv = await (await admin.request.get((await admin.getAttribute('#wf-top-csv', 'href'))!)).text();
    assert.match(csv, new RegExp(`,public,orders,table,${yesterdayOrders},${expected.get('public.orders')},${growth},`));
    await first.locator('a').first().click();
    await admin.waitForURL(/\/databases\/.*\?table=\d+/);
    await until('chart drawn from the link', () => chartDrawn(admin));
  });

  it('marks the "other" row clearly when the table budget cut the database', async () => {
    const cred = (await server.ctx.credentials.list())[0]!;
    const small = (
      await server.ctx.instances.create(
        {
          name: `pg-budget-${dbName.slice(-8)}`,
          db_type: 'postgresql',
          host: '127.0.0.1',
          port: 5432,
          database_name: 'postgres',
          credential_id: cred.id,
          options: { tables_max_tables: 2 },
        },
        actor,
      )
    ).id;
    await admin.goto(`/instances/${small}/databases/${dbName}`);
    // The rows load after the page ("加载中…" until then).
    await until('the empty state', async () => /尚无表容量数据/.test(await admin.innerText('#wf-table-rows')));
    await admin.click('#wf-collect-tables');
    await until('2 tables + other', async () => (await admin.locator('#wf-table-rows tr[data-table-id]').count()) === 3);
    const other = admin.locator('#wf-table-rows tr.wf-other');
    assert.equal(await other.count(), 1);
    assert.match(await other.innerText(), /其他 1 个表/);
    // The smallest table went into "other", with its exact size.
    assert.match(await other.innerText(), new RegExp((expected.get('public.客户 list')! / 1024).toFixed(2)));
    assert.equal(await admin.locator('#wf-table-rows tr.wf-other ~ tr').count(), 0, '"other" is the last row');
    assert.ok(await admin.isVisible('#wf-other-note'));
    assert.match(await admin.innerText('#wf-other-note'), /预算/);
    assert.equal(await admin.innerText('#wf-tables-count'), '3');
    await screenshot(admin, 'tables-database-budget-zh-CN-1440');
  });

  it('hides the collect buttons from a viewer', async () => {
    const p = await browser.newPage();
    await login(p, 'e2e-viewer', PASSWORD);
    await p.goto(`/instances/${instId}`);
    await p.locator(`#wf-db-rows tr[data-database="${dbName}"]`).waitFor();
    assert.equal(await p.locator('.wf-collect-tables').count(), 0);
    await p.goto(`/instances/${instId}/databases/${dbName}`);
    await until('rows', async () => (await p.locator('#wf-table-rows tr[data-table-id]').count()) === 3);
    assert.equal(await p.locator('#wf-collect-tables').count(), 0);
    const refused = await p.request.post(`/api/instances/${instId}/tables/sync`, { data: { databases: [dbName] } });
    assert.equal(refused.status(), 403);
    await p.close();
  });

  it('looks right in zh-CN and English at 1440 and 390 px (screenshots)', async () => {
    const list = (await (await admin.request.get(`/api/instances/${instId}/tables?database=${dbName}&search=docs`)).json()) as {
      data: { items: { table_id: number }[] };
    };
    const tid = list.data.items[0]!.table_id;
    for (const [locale, width] of [
      ['zh-CN', 1440],
      ['en', 1440],
      ['zh-CN', 390],
      ['en', 390],
    ] as const) {
      const p = await browser.newPage({ width, locale });
      await login(p, 'e2e-admin', PASSWORD);
      const csrf = ((await (await p.request.get('/api/auth/me')).json()) as { data: { csrf_token: string } }).data.csrf_token;
      assert.equal((await p.request.patch('/api/auth/me', { headers: { 'x-csrftoken': csrf }, data: { locale } })).status(), 200);
      await p.goto(`/instances/${instId}/databases/${dbName}?table=${tid}`);
      await until('chart drawn', () => chartDrawn(p));
      assert.equal(await p.getAttribute('html', 'lang'), locale);
      await p.waitForTimeout(300);
      await screenshot(p, `tables-database-${locale}-${width}`);
      await p.goto('/capacity/tables');
      await until('top table loaded', async () => !/加载中|Loading/.test(await p.innerText('#wf-top-rows')));
      await screenshot(p, `tables-top-${locale}-${width}`);
      await p.context().close();
    }
  });

  it('had no console errors, failed requests or CSP violations', () => {
    assert.deepEqual(browser.problems, []);
  });
});
