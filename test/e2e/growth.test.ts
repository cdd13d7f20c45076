/**
 * Same-day growth through the UI (issue #20 item 1), in chromium against a
 * real PostgreSQL: the first 同步容量 says "暂无基线" (no earlier point, never
 * "0 B"); the database grows; the second sync the same day shows the change
 * since the last sync in the list, the detail's cards and the databases
 * table — to the byte what the two collections measured — in zh-CN at 1440 px
 * and in English at 390 px. Then, disabled, the row's sync button is off.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions below run in the browser (no DOM types here) */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { formatBytesChange } from '../../src/client/shared/format.js';
import { pgAdmin, uniqueName } from '../helpers/targets.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const ADMIN = { username: 'e2e-admin', password: 'E2e-admin-pass1' };
const actor = { userId: null, username: 'e2e' };

describe('same-day growth in the UI (chromium, PostgreSQL)', () => {
  let server: Server;
  let browser: Session;
  let page: Page;
  const dbName = uniqueName('grow');
  let id: number;

  const dbSize = async () => {
    const res = await page.request.get(`/api/instances/${id}/databases`);
    const d = ((await res.json()) as { data: { databases: { database_name: string; size_bytes: number; change_last_sync_bytes: number | null }[] } }).data;
    return d.databases.find((x) => x.database_name === dbName)!;
  };
  const syncFromList = async () => {
    await page.goto('/instances');
    const row = page.locator(`tr[data-instance-id="${id}"]`);
    await row.waitFor();
    await page.evaluate(() => (globalThis as any).document.getElementById('wf-alerts').replaceChildren());
    await row.locator('.wf-sync-capacity').click();
    await page.locator('[data-wf-alert="success"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction((i) => (globalThis as any).document.querySelector(`tr[data-instance-id="${i}"] [data-col="change-last-sync"]`) !== null, id, {
      timeout: 10_000,
    });
    return row;
  };

  before(async () => {
    const pga = await pgAdmin();
    await pga.query(`CREATE DATABASE ${dbName}`);
    await pga.end();
    server = await startServer();
    await server.ctx.auth.createUser({ ...ADMIN, role: 'admin' }, actor);
    const cred = await server.ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'trust' }, actor);
    id = (
      await server.ctx.instances.create({ name: `pg-${dbName.slice(-8)}`, db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id }, actor)
    ).id;
    browser = await openBrowser(server.url);
    page = await browser.newPage();
    await login(page, ADMIN.username, ADMIN.password);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    const pga = await pgAdmin();
    await pga.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await pga.end();
  });

  it('a first sync has no baseline: "暂无基线", never "0 B"', async () => {
    const row = await syncFromList();
    assert.match(await row.locator('[data-col="change"]').innerText(), /^暂无基线\s+上次同步以来 暂无基线$/);
    await page.goto(`/instances/${id}`);
    assert.equal((await page.innerText('#wf-card-growth7')).trim(), '暂无基线');
    assert.equal(await page.locator('#wf-card-growth7-since').count(), 0, 'no baseline: nothing to count from');
    assert.equal((await page.innerText('#wf-card-last-sync')).trim(), '上次同步以来: 暂无基线');
    await page.waitForSelector(`tr[data-database="${dbName}"] [data-col="change-last-sync"]`);
    assert.equal(await page.innerText(`tr[data-database="${dbName}"] [data-col="change-last-sync"]`), '上次同步以来 暂无基线');
  });

  it('grown and synced again the same day: the change since the last sync, to the byte', async () => {
    const first = await dbSize();
    assert.equal(first.change_last_sync_bytes, null);
    const c = await pgAdmin(dbName);
    await c.query('CREATE TABLE grow AS SELECT g AS id, repeat(md5(g::text), 8) AS v FROM generate_series(1, 40000) g');
    await c.end();
    const row = await syncFromList();
    const second = await dbSize();
    const delta = second.size_bytes - first.size_bytes;
    assert.ok(delta > 5 * 1024 * 1024, `grew by ${delta} bytes`);
    assert.equal(second.change_last_sync_bytes, delta);
    // The instance's row: a signed change since the last sync (the shared server's other databases move too).
    assert.match(await row.locator('[data-col="change-last-sync"]').innerText(), /^上次同步以来 [+-]?\d/);
    await screenshot(page, 'growth-instances-zh-CN-1440');
    await page.goto(`/instances/${id}`);
    assert.match(await page.innerText('#wf-card-growth7'), /^[+-]?\d/);
    assert.match(await page.innerText('#wf-card-last-sync'), /^上次同步以来: [+-]?\d/);
    // Minutes of history, not 7 days: the card says what its change is counted from.
    assert.match(await page.innerText('#wf-card-growth7-since'), /^自 \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? 起$/);
    assert.equal(await page.getAttribute('#wf-card-growth7-since', 'title'), '同步记录不足整个窗口：变化自窗口内首次同步算起');
    assert.match(await page.innerText('#wf-card-growth30'), /^30 天增长: [+-]?\d.* · 自 \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? 起$/);
    const cell = page.locator(`tr[data-database="${dbName}"] [data-col="change-last-sync"]`);
    await cell.waitFor();
    assert.equal(await cell.innerText(), `上次同步以来 ${formatBytesChange(delta)}`);
    await screenshot(page, 'growth-detail-zh-CN-1440');

    const en = await browser.newPage({ width: 390, height: 844, locale: 'en' });
    // The same user (no language of their own): the language cookie decides.
    await en.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(en, ADMIN.username, ADMIN.password);
    await en.goto(`/instances/${id}`);
    const enCell = en.locator(`tr[data-database="${dbName}"] [data-col="change-last-sync"]`);
    await enCell.waitFor();
    assert.equal(await enCell.innerText(), `since last sync ${formatBytesChange(delta)}`);
    assert.match(await en.innerText('#wf-card-last-sync'), /^since last sync: [+-]?\d/);
    assert.match(await en.innerText('#wf-card-growth7-since'), /^since \w{3} \d{1,2}, \d{4}, \d{2}:\d{2}(:\d{2})?$/);
    await screenshot(en, 'growth-detail-en-390');
    await en.goto('/instances');
    await en.locator(`tr[data-instance-id="${id}"] [data-col="change-last-sync"]`).waitFor();
    await screenshot(en, 'growth-instances-en-390');
    assert.deepEqual(browser.problems, []);
  });

  it("a disabled instance: the row's 同步容量 is off with the reason on hover (item 6)", async () => {
    await server.ctx.instances.update(id, { is_active: false }, actor);
    await page.goto('/instances');
    const wrap = page.locator(`tr[data-instance-id="${id}"] [data-wf-sync-disabled]`);
    await wrap.waitFor();
    assert.equal(await wrap.getAttribute('title'), '实例已禁用：启用后才能同步');
    assert.equal(await wrap.locator('button.wf-sync-capacity').isDisabled(), true);
    await page.goto(`/instances/${id}`);
    assert.equal(await page.locator('#wf-sync-capacity').isDisabled(), true);
    assert.deepEqual(browser.problems, []);
  });
});
