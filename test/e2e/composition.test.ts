/**
 * E2E for the composition bar (issue #21) in headless chromium against the
 * real app and the real PostgreSQL: the instance page before any collection
 * says so, 采集空间构成 collects, the stacked bar has a segment per measured
 * part, the legend names the parts in zh-CN and in English, the instance's
 * runway card is shown, a viewer has no collect button; screenshots in both
 * languages and no console error / failed request / CSP violation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const PASSWORD = 'e2e-password-1';
const actor = { userId: null, username: 'e2e' };

describe('composition bar on the instance page (chromium, real PostgreSQL)', () => {
  let server: Server;
  let browser: Session;
  let admin: Page;
  let instId: number;

  before(async () => {
    server = await startServer({ WHALEFALL_SCHEDULER: 'false' });
    const ctx = server.ctx;
    for (const role of ['viewer', 'admin'] as const) await ctx.auth.createUser({ username: `e2e-${role}`, password: PASSWORD, role }, actor);
    const cred = await ctx.credentials.create({ name: 'pg-postgres', username: 'postgres', password: 'trust' }, actor);
    instId = (await ctx.instances.create({ name: 'pg-composition', db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', credential_id: cred.id }, actor)).id;
    browser = await openBrowser(server.url);
    admin = await browser.newPage();
    await login(admin, 'e2e-admin', PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('zh-CN: not collected yet, then 采集空间构成 draws the stacked bar and the legend', async () => {
    await admin.goto(`/instances/${instId}`);
    await admin.locator('#wf-composition-empty').waitFor();
    assert.match(await admin.locator('#wf-composition-empty').innerText(), /尚未采集/);
    await admin.click('#wf-composition-collect');
    await admin.locator('#wf-composition-bar .progress').first().waitFor();
    const api = (await (await admin.request.get(`/api/instances/${instId}/composition`)).json()) as { data: { parts: { kind: string; bytes: number | null }[] } };
    const shown = api.data.parts.filter((p) => p.bytes !== null && p.bytes > 0).map((p) => p.kind);
    const segments = await admin.locator('#wf-composition-bar .progress').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    assert.deepEqual(segments, shown);
    const legend = await admin.locator('#wf-composition-legend').innerText();
    assert.match(legend, /表数据/);
    assert.match(legend, /复制槽保留的 WAL/);
    assert.match(await admin.locator('#wf-card-forecast').innerText(), /尚无数据/, 'never synced: no data, not "unpredictable"');
    await screenshot(admin, 'composition-zh-CN-1440');
  });

  it('English: the same bar with English labels; a viewer has no collect button', async () => {
    const en = await browser.newPage({ locale: 'en' });
    await en.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(en, 'e2e-viewer', PASSWORD);
    await en.goto(`/instances/${instId}`);
    await en.locator('#wf-composition-bar .progress').first().waitFor();
    const legend = await en.locator('#wf-composition-legend').innerText();
    assert.match(legend, /Heap/);
    assert.match(legend, /WAL held by slots/);
    assert.match(await en.locator('#wf-composition').innerText(), /Where the bytes went/);
    assert.equal(await en.locator('#wf-composition-collect').count(), 0);
    await screenshot(en, 'composition-en-1440');
    assert.deepEqual(browser.problems, []);
  });
});
