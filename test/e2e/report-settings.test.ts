/**
 * E2E for the settings page's 月度报告 / Monthly report tab in headless
 * chromium, in zh-CN and English: bad rates and currencies are refused in
 * the page's language under the field (nothing stored), a valid rate and
 * currency are saved (the store's effective settings change, a reload shows
 * them), and the report opened from the tab prices each tag's GB-months at
 * that rate; screenshots of the errors, the saved form and the report; no
 * console error / failed request / CSP violation.
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
const THIS_MONTH = `${TODAY.slice(0, 7)}-01`;
/** The month the tab's link opens by default: the one before this one. */
const LAST_MONTH = addDays(THIS_MONTH, -1).slice(0, 7);

/** Every day from the first of last month to today, at a flat size: the month's mean is exactly `size`. */
function flat(db: string, size: number): Row[] {
  const out: Row[] = [];
  for (let d = `${LAST_MONTH}-01`; d <= TODAY; d = addDays(d, 1)) out.push({ db, date: d, size });
  return out;
}

const CASES = {
  'zh-CN': {
    notNumber: '单价必须是数字',
    range: '单价必须在 0 到 1000000 之间',
    currency: '货币必须是 1–8 个字母',
    unit: 'CNY / GB·月',
    rate: '0.35',
    code: 'CNY',
    savedUnit: 'CNY / GB·月',
    heading: '费用分摊（showback）',
    rateLine: '单价 0.35 CNY / GB·月',
    // finance: 2 GB-months × 0.35; sales: 1 × 0.35; the estate 3 (its GB-months on the total line too) × 0.35.
    costs: [
      ['finance', '2.000', '0.70 CNY'],
      ['sales', '1.000', '0.35 CNY'],
      ['合计（每个实例只计一次）', '3.000', '1.05 CNY'],
    ],
  },
  en: {
    notNumber: 'The rate must be a number',
    range: 'The rate must be from 0 to 1000000',
    currency: 'The currency must be 1–8 letters',
    unit: 'CNY per GB-month',
    rate: '1.5',
    code: 'USD',
    savedUnit: 'USD per GB-month',
    heading: 'Showback',
    rateLine: 'Rate 1.5 USD per GB-month',
    costs: [
      ['finance', '2.000', '3.00 USD'],
      ['sales', '1.000', '1.50 USD'],
      ['Total (each instance counted once)', '3.000', '4.50 USD'],
    ],
  },
} as const;

describe("settings: the monthly report's showback rate (chromium)", () => {
  let server: Server;
  let browser: Session;

  before(async () => {
    server = await startServer({ WHALEFALL_SCHEDULER: 'false', WHALEFALL_TZ: 'UTC' });
    const ctx = server.ctx;
    await ctx.auth.createUser({ username: 'e2e-admin', password: PASSWORD, role: 'admin' }, actor);
    const billing = await addInstance(ctx, 'pg-billing', { tags: ['finance'] });
    const crm = await addInstance(ctx, 'my-crm', { db_type: 'mysql', tags: ['sales'] });
    await insertHistory(ctx, billing, flat('ledger', 2 * GB));
    await insertHistory(ctx, crm, flat('crm', GB));
    browser = await openBrowser(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const feedback = (page: Page, field: string) => page.locator(`#wf-s-${field}-error`);

  for (const locale of ['zh-CN', 'en'] as const) {
    it(`${locale}: bad input refused under the field, the rate saved, the report priced with it`, async () => {
      const c = CASES[locale];
      const ctx = server.ctx;
      await ctx.settings.update({ showback_rate_per_gb_month: null, showback_currency: null }, actor);
      const page = await browser.newPage({ locale });
      await page.context().addCookies([{ name: 'wf_lang', value: locale, url: server.url }]);
      await login(page, 'e2e-admin', PASSWORD);
      await page.goto('/settings#report');
      const rate = page.locator('#wf-s-showback_rate_per_gb_month');
      await rate.waitFor({ state: 'visible' });
      await page.waitForFunction(() => (globalThis as any).document.getElementById('wf-s-showback_rate_per_gb_month').value === '0');
      assert.equal(await page.inputValue('#wf-s-showback_currency'), 'CNY');
      assert.equal((await page.textContent('#wf-s-showback-unit'))!.trim(), c.unit);
      // The report link: last month, in the page's language.
      assert.equal(await page.getAttribute('#wf-report-html', 'href'), `/api/reports/capacity?month=${LAST_MONTH}&lang=${encodeURIComponent(locale)}`);

      // Not a number: said under the field in this language, nothing sent.
      await rate.fill('0,35 元');
      await page.click('#wf-report-save');
      await feedback(page, 'showback_rate_per_gb_month').waitFor({ state: 'visible' });
      assert.match((await feedback(page, 'showback_rate_per_gb_month').textContent())!, new RegExp(c.notNumber));
      assert.equal(await rate.getAttribute('aria-invalid'), 'true');
      await page.waitForSelector('[data-wf-alert="danger"]');
      // Out of range, and a bad currency at the same time: both fields marked.
      await rate.fill('-2');
      await page.fill('#wf-s-showback_currency', '12');
      await page.click('#wf-report-save');
      await page.waitForFunction((t) => (globalThis as any).document.getElementById('wf-s-showback_rate_per_gb_month-error').textContent.includes(t), c.range);
      assert.match((await feedback(page, 'showback_currency').textContent())!, new RegExp(c.currency));
      assert.ok(await feedback(page, 'showback_currency').isVisible());
      assert.equal(await page.locator('[data-wf-alert="danger"]').count(), 1, 'one alert for the last attempt, not a stack');
      // The unit beside the rate keeps the saved currency while the typed one is invalid.
      assert.equal((await page.textContent('#wf-s-showback-unit'))!.trim(), c.unit);
      await screenshot(page, `settings-report-invalid-${locale}-1440`);
      const still = await ctx.settings.effective();
      assert.deepEqual([still.showback_rate_per_gb_month, still.showback_currency], [0, 'CNY']);

      // Typing clears the mark; a valid rate and currency are stored.
      await rate.fill(c.rate);
      assert.equal(await rate.getAttribute('aria-invalid'), 'false');
      await page.fill('#wf-s-showback_currency', c.code);
      await page.click('#wf-report-save');
      await page.waitForSelector('[data-wf-alert="success"]');
      assert.equal(await page.locator('[data-wf-alert="danger"]').count(), 0);
      const saved = await ctx.settings.effective();
      assert.deepEqual([saved.showback_rate_per_gb_month, saved.showback_currency], [Number(c.rate), c.code]);
      await page.reload();
      await page.waitForFunction((v) => (globalThis as any).document.getElementById('wf-s-showback_rate_per_gb_month').value === v, c.rate);
      assert.equal(await page.inputValue('#wf-s-showback_currency'), c.code);
      assert.equal((await page.textContent('#wf-s-showback-unit'))!.trim(), c.savedUnit);
      assert.equal(await page.locator('#wf-pane-report .is-invalid').count(), 0);
      await screenshot(page, `settings-report-saved-${locale}-1440`);

      // The report opened from the tab prices each tag at the saved rate, in this language.
      const [report] = await Promise.all([page.context().waitForEvent('page'), page.click('#wf-report-html')]);
      await report.waitForLoadState();
      assert.equal(await report.getAttribute('html', 'lang'), locale);
      assert.ok((await report.textContent('body'))!.includes(c.heading));
      assert.ok((await report.textContent('body'))!.includes(c.rateLine), `the report states the rate: ${c.rateLine}`);
      const rows = await report.$$eval('#wf-report-showback tr', (trs) =>
        trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      assert.deepEqual(rows, c.costs);
      await screenshot(report, `report-showback-${locale}`);
      assert.deepEqual(browser.problems, []);
    });
  }
});
