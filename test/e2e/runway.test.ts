/**
 * E2E for the 容量预警 / Runway page in headless chromium: stored histories
 * (a linear grower with a bulk load three days ago, a purge followed by
 * growth, a flat one, one without a ceiling, an Oracle tablespace with an
 * autoextend max), ranked soonest-full first with state badges, the interval,
 * the ceiling and its source, the change point and why it jumped; the
 * filters by scope, type and tag; the what-if recomputed in the browser
 * (another ceiling, another growth), labelled hypothetical; the navbar entry
 * and the instance page's jumps; in zh-CN and English, with screenshots and
 * no console error / failed request / CSP violation.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions passed to waitForFunction run in the browser (no DOM types here) */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addDays, localDate } from '../../src/lib/clock.js';
import { addInstance, insertHistory, type Row } from '../statistics/fixtures.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const PASSWORD = 'e2e-password-1';
const actor = { userId: null, username: 'e2e' };
const GB = 1024 ** 3;
const TODAY = localDate(new Date(), 'UTC');
const days = (n: number, db: string, f: (i: number) => number): Row[] =>
  Array.from({ length: n }, (_, i) => ({ db, date: addDays(TODAY, i - (n - 1)), size: Math.round(f(i)) }));

describe('runway page (chromium)', () => {
  let server: Server;
  let browser: Session;
  let page: Page;
  const ids: Record<string, number> = {};

  before(async () => {
    server = await startServer({ WHALEFALL_SCHEDULER: 'false', WHALEFALL_TZ: 'UTC' });
    const ctx = server.ctx;
    await ctx.auth.createUser({ username: 'e2e-viewer', password: PASSWORD, role: 'viewer' }, actor);
    ids.linear = await addInstance(ctx, 'pg-orders', { tags: ['prod'], options: { capacity_limit_bytes: 1000 * GB } });
    ids.purge = await addInstance(ctx, 'my-logs', { db_type: 'mysql', tags: ['prod'], options: { capacity_limit_bytes: 500 * GB } });
    ids.flat = await addInstance(ctx, 'pg-archive', { tags: ['dev'], options: { capacity_limit_bytes: 100 * GB } });
    ids.open = await addInstance(ctx, 'pg-scratch', { tags: ['dev'] });
    ids.ora = await addInstance(ctx, 'ora-erp', { db_type: 'oracle' });
    // pg-orders: two databases; 'orders' +2 GB a day, 'audit' +0.1 GB a day, and 30 GB bulk-loaded into 'audit' three days ago.
    await insertHistory(ctx, ids.linear, [
      ...days(120, 'orders', (i) => 200 * GB + i * 2 * GB),
      ...days(120, 'audit', (i) => 20 * GB + i * 0.1 * GB + (i >= 117 ? 30 * GB : 0)),
    ]);
    await insertHistory(
      ctx,
      ids.purge,
      days(120, 'app', (i) => (i < 60 ? 300 * GB + i * 3 * GB : 100 * GB + (i - 60) * GB)),
    );
    await insertHistory(
      ctx,
      ids.flat,
      days(120, 'app', () => 50 * GB),
    );
    await insertHistory(
      ctx,
      ids.open,
      days(120, 'app', (i) => 10 * GB + i * GB),
    );
    await insertHistory(
      ctx,
      ids.ora,
      days(120, 'USERS', (i) => 20 * GB + i * 0.5 * GB).map((r) => ({ ...r, maxBytes: 100 * GB })),
    );
    browser = await openBrowser(server.url);
    page = await browser.newPage();
    await login(page, 'e2e-viewer', PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const names = (p: Page) => p.locator('#wf-rw-rows tr td.wf-name a').allInnerTexts();

  it('zh-CN: ranked soonest first with badges, interval, ceiling source, change point and why it jumped', async () => {
    await page.locator('nav a[href="/capacity/runway"]').click();
    await page.waitForURL('**/capacity/runway');
    assert.match(await page.locator('nav a[href="/capacity/runway"]').innerText(), /容量预警/);
    await page.locator('#wf-rw-rows tr[data-state]').first().waitFor();
    // pg-orders: (1000 − 468) / 2.1 ≈ 254 d; my-logs: (500 − 159) / 1 = 341 d; then the states without days.
    assert.deepEqual((await names(page)).slice(0, 2), ['pg-orders', 'my-logs']);
    const rows = page.locator('#wf-rw-rows tr');
    const orders = rows.filter({ hasText: 'pg-orders' });
    assert.match(await orders.locator('.wf-state').innerText(), /增长中/);
    assert.match(await orders.innerText(), /实例选项/);
    const jump = await orders.locator('.wf-jump').innerText();
    assert.match(jump, new RegExp(`数据库: audit \\+30`));
    const logs = rows.filter({ hasText: 'my-logs' });
    assert.match(await logs.innerText(), /341 天/);
    const flat = rows.filter({ hasText: 'pg-archive' });
    assert.match(await flat.locator('.wf-state').innerText(), /未增长/);
    assert.match(await rows.filter({ hasText: 'pg-scratch' }).locator('.wf-state').innerText(), /无上限/);
    assert.match(await page.locator('#wf-rw-meta').innerText(), /共 5 项/);
    await screenshot(page, 'runway-zh-CN-1440');
  });

  it('zh-CN: filters by tag, type and scope (the Oracle tablespace against its autoextend max)', async () => {
    await page.selectOption('#wf-rw-tag', 'dev');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#wf-rw-rows tr[data-state]').length === 2);
    assert.deepEqual((await names(page)).sort(), ['pg-archive', 'pg-scratch']);
    await page.selectOption('#wf-rw-tag', '');
    await page.selectOption('#wf-rw-scope', 'database');
    await page.selectOption('#wf-rw-db-type', 'oracle');
    await page.waitForFunction(
      () =>
        (globalThis as any).document.querySelectorAll('#wf-rw-rows tr[data-state]').length === 1 &&
        (globalThis as any).document.querySelector('#wf-rw-rows td.wf-name a')?.textContent === 'USERS',
    );
    const row = await page.locator('#wf-rw-rows tr').first().innerText();
    assert.match(row, /41 天/);
    assert.match(row, /自动扩展上限/);
    await page.selectOption('#wf-rw-db-type', '');
    await page.selectOption('#wf-rw-scope', 'instance');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#wf-rw-rows tr[data-state]').length === 5);
  });

  it('zh-CN: filters changed quickly draw the last one’s rows, whichever answer arrives last', async () => {
    // The answer for tag "dev" is held back until after the next filter's answer.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route(/\/api\/statistics\/runway\?.*tag=dev/, async (route) => {
      await held;
      await route.continue();
    });
    try {
      await page.selectOption('#wf-rw-tag', 'dev');
      await page.selectOption('#wf-rw-tag', '');
      await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#wf-rw-rows tr[data-state]').length === 5);
      const answered = page.waitForResponse(/\/api\/statistics\/runway\?.*tag=dev/);
      release();
      await answered;
      await page.waitForTimeout(200);
      assert.equal(await page.locator('#wf-rw-rows tr[data-state]').count(), 5, 'the unfiltered rows stay: the late "dev" answer is dropped');
    } finally {
      release();
      await page.unroute(/\/api\/statistics\/runway\?.*tag=dev/);
    }
  });

  it('zh-CN: the what-if starts from the fit, then recomputes another ceiling and growth, labelled hypothetical', async () => {
    await page.locator('#wf-rw-rows tr', { hasText: 'my-logs' }).locator('.wf-whatif-open').click();
    await page.locator('#wf-whatif:not(.d-none)').waitFor();
    assert.match(await page.locator('#wf-whatif').innerText(), /假设值，不是预测/);
    assert.equal(await page.inputValue('#wf-whatif-ceiling'), '500');
    // Starting values reproduce the forecast: 341 days.
    assert.match(await page.locator('#wf-whatif-result').innerText(), /假设：341 天后满/);
    assert.match(await page.locator('#wf-whatif-actual').innerText(), /实际预测：341 天/);
    // Level 159 GB; 1000 GB at 10 %/month = 0.53 GB/day: (1000 − 159) / 0.53 = 1586.8 → 1587 days.
    await page.fill('#wf-whatif-ceiling', '1000');
    await page.fill('#wf-whatif-growth', '10');
    await page.waitForFunction(() => /1587/.test((globalThis as any).document.getElementById('wf-whatif-result').textContent ?? ''));
    await page.fill('#wf-whatif-growth', '0');
    await page.waitForFunction(() => /不增长/.test((globalThis as any).document.getElementById('wf-whatif-result').textContent ?? ''));
    await page.fill('#wf-whatif-growth', '10');
    await screenshot(page, 'runway-whatif-zh-CN-1440');
    // The list itself is unchanged: hypothetical only.
    assert.match(await page.locator('#wf-rw-rows tr', { hasText: 'my-logs' }).innerText(), /341 天/);
  });

  it('the instance page names the jump: day, database', async () => {
    await page.goto(`/instances/${ids.linear}`);
    const j = await page.locator('#wf-runway-jumps').innerText();
    assert.match(j, /为何突增/);
    assert.match(j, new RegExp(`${addDays(TODAY, -2).slice(5).replace('-', '.')}|${addDays(TODAY, -2)}|audit`));
    assert.match(j, /audit \+30/);
    await screenshot(page, 'runway-instance-jump-zh-CN-1440');
  });

  it('English: labels, badges and the what-if; no browser problems', async () => {
    const en = await browser.newPage({ locale: 'en' });
    await en.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(en, 'e2e-viewer', PASSWORD);
    await en.goto('/capacity/runway');
    await en.locator('#wf-rw-rows tr[data-state]').first().waitFor();
    assert.match(await en.locator('nav a[href="/capacity/runway"]').innerText(), /Runway/);
    assert.match(await en.locator('h1').innerText(), /what runs out first/);
    const orders = en.locator('#wf-rw-rows tr', { hasText: 'pg-orders' });
    assert.match(await orders.locator('.wf-state').innerText(), /growing/);
    assert.match(await orders.locator('.wf-jump').innerText(), /databases: audit \+30/);
    assert.match(await en.locator('#wf-rw-rows tr', { hasText: 'pg-archive' }).locator('.wf-state').innerText(), /not growing/);
    await en.locator('#wf-rw-rows tr', { hasText: 'my-logs' }).locator('.wf-whatif-open').click();
    assert.match(await en.locator('#wf-whatif').innerText(), /Hypothetical, not a forecast/);
    assert.match(await en.locator('#wf-whatif-result').innerText(), /Hypothetically full in 341 days/);
    await en.fill('#wf-whatif-ceiling', '1000');
    await en.fill('#wf-whatif-growth', '10');
    await en.waitForFunction(() => /1587 days/.test((globalThis as any).document.getElementById('wf-whatif-result').textContent ?? ''));
    await screenshot(en, 'runway-whatif-en-1440');
    const narrow = await browser.newPage({ locale: 'en', width: 390 });
    await narrow.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(narrow, 'e2e-viewer', PASSWORD);
    await narrow.goto('/capacity/runway');
    await narrow.locator('#wf-rw-rows tr[data-state]').first().waitFor();
    await screenshot(narrow, 'runway-en-390');
    assert.deepEqual(browser.problems, []);
  });
});
