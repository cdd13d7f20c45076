/**
 * The MySQL/MariaDB size method in a real browser (chromium) against the real
 * app and the local MariaDB: the instance form offers auto / physical /
 * logical with a one-line explanation each (auto preselected for a new
 * instance, the stored method for an edited one, hidden for PostgreSQL); the
 * instance page says which method the instance uses, shows per database the
 * method, file bytes and reclaimable space; a login without PROCESS syncs
 * with the fallback note on every database and the sync warning; both
 * languages; no console error, failed request or CSP violation.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions below run in the browser */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type mysql from 'mysql2/promise';
import { mysqlAdmin, uniqueName } from '../helpers/targets.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const ADMIN = { username: 'e2e-admin', password: 'E2e-admin-pass1' };
const actor = { userId: null, username: 'e2e' };

describe('MySQL size method in the UI (chromium, real MariaDB)', () => {
  let server: Server;
  let browser: Session;
  let page: Page;
  let my: mysql.Connection;
  const db = uniqueName('meth_ui');
  const user = uniqueName('meth_np');
  const password = `Np-${randomBytes(6).toString('hex')}`;
  let autoId: number;
  let limitedId: number;
  let logicalId: number;

  before(async () => {
    my = await mysqlAdmin();
    await my.query(`CREATE DATABASE \`${db}\``);
    await my.query(`CREATE TABLE \`${db}\`.t (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB`);
    await my.query(`INSERT INTO \`${db}\`.t SELECT seq, REPEAT('x', 150) FROM \`${db}\`.seq_1_to_5000`);
    await my.query(`CREATE TABLE \`${db}\`.m (id INT PRIMARY KEY) ENGINE=MyISAM`);
    await my.query(`INSERT INTO \`${db}\`.m SELECT seq FROM \`${db}\`.seq_1_to_500`);
    await my.query(`ANALYZE TABLE \`${db}\`.t, \`${db}\`.m`);
    for (const host of ['%', 'localhost', '127.0.0.1']) {
      await my.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await my.query(`GRANT SELECT ON \`${db}\`.* TO ?@?`, [user, host]);
    }
    server = await startServer({ WHALEFALL_SCHEDULER: 'false' });
    await server.ctx.auth.createUser({ ...ADMIN, role: 'admin' }, actor);
    const root = await server.ctx.credentials.create({ name: 'mariadb-root', username: 'root', password: '' }, actor);
    const limited = await server.ctx.credentials.create({ name: 'mariadb-noprocess', username: user, password }, actor);
    // auto scans information_schema.TABLES of the shared server, which may hold other tests' thousands of tables: a generous query timeout.
    const mk = async (name: string, credential_id: number, extra: Record<string, unknown> = {}) =>
      (
        await server.ctx.instances.create(
          { name, db_type: 'mariadb', host: '127.0.0.1', port: 3306, credential_id, options: { query_timeout_ms: 120_000, ...extra } },
          actor,
        )
      ).id;
    autoId = await mk(`maria-auto-${db.slice(-8)}`, root.id);
    limitedId = await mk(`maria-noproc-${db.slice(-8)}`, limited.id);
    logicalId = await mk(`maria-logical-${db.slice(-8)}`, root.id, { method: 'logical' });
    browser = await openBrowser(server.url);
    page = await browser.newPage();
    await login(page, ADMIN.username, ADMIN.password);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    for (const host of ['%', 'localhost', '127.0.0.1']) await my?.query('DROP USER IF EXISTS ?@?', [user, host]);
    await my?.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await my?.end();
  });

  async function sync(id: number): Promise<void> {
    await page.goto(`/instances/${id}`);
    await page.click('#wf-sync-capacity');
    await page.locator('[data-wf-alert="success"]').waitFor({ timeout: 120_000 });
    await page.locator(`#wf-db-rows tr[data-database="${db}"]`).waitFor({ timeout: 20_000 });
  }

  it('the form offers the three methods with their meaning: auto for a new MariaDB instance, none for PostgreSQL, the stored one when editing', async () => {
    await page.goto('/instances');
    await page.click('#wf-add-instance');
    await page.selectOption('#wf-f-db_type', 'mariadb');
    await page.locator('#wf-method').waitFor({ state: 'visible' });
    const options = await page.locator('#wf-f-method option').evaluateAll((els) => els.map((e: any) => [e.value, e.textContent]));
    assert.deepEqual(
      options.map((o) => o[0]),
      ['auto', 'physical', 'logical'],
    );
    assert.match(options[0]![1], /文件大小/);
    assert.equal(await page.inputValue('#wf-f-method'), 'auto');
    assert.match(await page.innerText('#wf-method-hint'), /PROCESS/);
    await page.selectOption('#wf-f-method', 'logical');
    assert.match(await page.innerText('#wf-method-hint'), /统计/);
    await page.selectOption('#wf-f-db_type', 'postgresql');
    assert.equal(await page.locator('#wf-method').isVisible(), false);
    await screenshot(page, 'mysql-method-form-zh-CN-1440');
    await page.keyboard.press('Escape');
    // Editing keeps what the instance uses (the list's edit button opens the form filled).
    await page.goto('/instances');
    const row = page.locator(`tr[data-instance-id="${logicalId}"]`);
    await row.waitFor();
    await row.locator('.wf-edit').click();
    await page.locator('#wf-method').waitFor({ state: 'visible' });
    assert.equal(await page.inputValue('#wf-f-method'), 'logical');
    await page.keyboard.press('Escape');
  });

  it('auto: the page says the method; per database the method, file bytes and reclaimable space', async () => {
    await sync(autoId);
    assert.equal((await page.innerText('#wf-size-method')).trim(), 'auto');
    const api = (await (await page.request.get(`/api/instances/${autoId}/databases`)).json()) as {
      data: { databases: { database_name: string; allocated_bytes: number; free_bytes: number; method: string; method_note: string }[] };
    };
    const d = api.data.databases.find((x) => x.database_name === db)!;
    assert.equal(d.method, 'innodb_tablespaces+information_schema');
    assert.ok(d.allocated_bytes > 0);
    const tr = page.locator(`#wf-db-rows tr[data-database="${db}"]`);
    assert.match(await tr.locator('[data-col="method"]').innerText(), /innodb_tablespaces\+information_schema/);
    assert.match((await tr.locator('[data-col="method"]').getAttribute('title')) ?? '', /InnoDB 文件大小/);
    assert.notEqual((await tr.locator('[data-col="allocated"]').innerText()).trim(), '—');
    assert.notEqual((await tr.locator('[data-col="free"]').innerText()).trim(), '—');
    assert.match(await page.innerText('#wf-db-table thead'), /文件[\s\S]*可回收/);
    await screenshot(page, 'mysql-method-instance-zh-CN-1440');
  });

  it('without PROCESS: logical, the note on every database and the sync warning on the page', async () => {
    await sync(limitedId);
    await page.goto(`/instances/${limitedId}`);
    await page.locator(`#wf-db-rows tr[data-database="${db}"]`).waitFor();
    assert.match(await page.innerText('#wf-sync-warning'), /PROCESS/);
    const tr = page.locator(`#wf-db-rows tr[data-database="${db}"]`);
    assert.match(await tr.locator('[data-col="note"]').innerText(), /PROCESS/);
    assert.equal((await tr.locator('[data-col="allocated"]').innerText()).trim(), '—');
    await screenshot(page, 'mysql-method-noprocess-zh-CN-1440');
  });

  it('English: the same page in English', async () => {
    const en = await browser.newPage({ locale: 'en' });
    await en.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(en, ADMIN.username, ADMIN.password);
    await en.goto(`/instances/${autoId}`);
    await en.locator(`#wf-db-rows tr[data-database="${db}"]`).waitFor();
    assert.match(await en.innerText('#wf-db-table thead'), /Files[\s\S]*Reclaimable/);
    assert.match(await en.innerText('#wf-instance + p'), /Size method/);
    await screenshot(en, 'mysql-method-instance-en-1440');
    assert.deepEqual(browser.problems, []);
  });
});
