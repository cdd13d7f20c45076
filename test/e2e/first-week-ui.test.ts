/**
 * Issue #20 items 7–9 in chromium, zh-CN and English, at 1440 and 390 px:
 * - the instances table fits 1440 px (no horizontal scroll, the delete button in view, names on one line, cut
 *   with an ellipsis and the full name on hover); at 390 px one card per instance with name, type, total,
 *   change and last sync;
 * - one date-time format per locale (zh-CN YYYY-MM-DD HH:mm, English "Dec 3, 2026, 08:14") and the time zone
 *   named once per page; the deleted tab shows last seen and deleted at;
 * - a one-day trend draws its point (pixels of the series colour inside the plot) at 390 px; y ticks on round
 *   binary steps; change charts say they need two periods; engine names in the TOP table; system databases
 *   out of the top-N until the switch; the database page's own size history; a mistyped URL's HTML 404.
 * Screenshots: test-output/screenshots/first-week-*.png.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions below run in the browser (no DOM types here) */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addDays, localDate } from '../../src/lib/clock.js';
import { insertHistory } from '../statistics/fixtures.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const ADMIN = { username: 'fw-admin', password: 'Fw-admin-pass1' };
const actor = { userId: null, username: 'e2e' };
const LONG = 'analytics-warehouse-primary-eu-central-1-replica-set-a';
const LOCALES = ['zh-CN', 'en'] as const;
const DATE_TIME: Record<(typeof LOCALES)[number], RegExp> = { 'zh-CN': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, en: /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2}$/ };

describe('first-week UI: layout, dates, charts (chromium)', () => {
  let server: Server;
  let browser: Session;
  let single: number;
  const pages = new Map<string, Page>();

  const open = async (locale: (typeof LOCALES)[number], width: number): Promise<Page> => {
    const key = `${locale}-${width}`;
    let page = pages.get(key);
    if (!page) {
      page = await browser.newPage({ width, height: width < 500 ? 844 : 900, locale });
      await page.context().addCookies([{ name: 'wf_lang', value: locale, url: server.url }]);
      await login(page, ADMIN.username, ADMIN.password);
      pages.set(key, page);
    }
    return page;
  };

  before(async () => {
    server = await startServer();
    const ctx = server.ctx;
    await ctx.auth.createUser({ ...ADMIN, role: 'admin' }, actor);
    const cred = await ctx.credentials.create({ name: 'fw-cred', username: 'u', password: 'p' }, actor);
    const today = localDate(new Date(), ctx.config.timeZone);
    const mk = async (name: string, db_type: string, host: string, port: number, tags: string[] = []) =>
      (
        await ctx.instances.create(
          {
            name,
            db_type,
            host,
            port,
            credential_id: cred.id,
            tags,
            description: name === LONG ? 'Nightly ETL target for the finance and marketing dashboards' : undefined,
          },
          actor,
        )
      ).id;
    single = await mk('pg-one-day', 'postgresql', 'pg-one.example', 5432, ['env:prod']);
    const long = await mk(LONG, 'mysql', 'mysql-analytics-warehouse-primary.eu-central-1.internal.example.com', 3306, [
      'env:prod',
      'team:analytics',
      'tier:gold',
    ]);
    const days = [addDays(today, -2), addDays(today, -1), today];
    await insertHistory(ctx, single, [
      { db: 'postgres', date: today, size: 7_500_000 },
      { db: 'app', date: today, size: 19_550_000 },
      // Gone by today's sync: one day of history in all (the trend has a single point).
      { db: 'old_reports', date: today, size: 4_000_000, deleted: true },
    ]);
    await insertHistory(ctx, long, [
      ...days.map((date, i) => ({ db: 'mysql', date, size: 2_600_000 + i })),
      ...days.map((date, i) => ({ db: 'sales', date, size: 30_000_000 + i * 5_000_000 })),
    ]);
    for (const [id, db] of [
      [single, 'postgres'],
      [long, 'mysql'],
    ] as const) {
      await ctx.store.db.updateTable('instance_databases').set({ is_system: 1 }).where('instance_id', '=', id).where('database_name', '=', db).execute();
    }
    const now = new Date().toISOString();
    await ctx.store.db.updateTable('instances').set({ last_sync_status: 'completed', last_sync_at: now }).execute();
    for (let i = 0; i < 4; i++) await mk(`mariadb-${i}`, 'mysql', `10.0.0.${i + 1}`, 3306, ['env:test']);
    browser = await openBrowser(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const locale of LOCALES) {
    it(`${locale} 1440 px (and 1200-1366): the instances table fits, names on one line, dates in the locale's format, the zone named once`, async () => {
      const page = await open(locale, 1440);
      await page.goto('/instances');
      await page.locator(`tr[data-instance-id="${single}"]`).waitFor();
      const m = await page.evaluate(() => {
        const d = (globalThis as any).document;
        const wrap = d.querySelector('#wf-instances-table').parentElement;
        const dels = [...d.querySelectorAll('.wf-delete')].map((b: any) => b.getBoundingClientRect().right);
        const names = [...d.querySelectorAll('[data-col="name"] a')].map((a: any) => ({
          h: a.getBoundingClientRect().height,
          title: a.title,
          cut: a.scrollWidth > a.clientWidth,
        }));
        return {
          scroll: wrap.scrollWidth,
          width: wrap.clientWidth,
          dels,
          vw: (globalThis as any).innerWidth,
          names,
          tz: d.querySelectorAll('#wf-tz').length,
          times: [...d.querySelectorAll('[data-col="last-sync"] .small')].map((e: any) => e.textContent),
        };
      });
      await screenshot(page, `first-week-instances-${locale}-1440`);
      assert.ok(m.scroll <= m.width, `no horizontal scroll: ${m.scroll} > ${m.width}`);
      assert.equal(m.dels.length, 6);
      for (const r of m.dels) assert.ok(r <= m.vw, `delete button in view (${r} > ${m.vw})`);
      for (const n of m.names) assert.ok(n.h < 30, `name on one line (${n.h}px: ${n.title})`);
      const long = m.names.find((n) => n.title === LONG)!;
      assert.ok(long.cut, 'the long name is cut (ellipsis) with the full name in the title');
      assert.equal(m.tz, 1, 'the time zone is named once');
      const synced = m.times.filter((x: string) => /\d/.test(x));
      assert.ok(synced.length >= 2);
      for (const x of synced) assert.match(x, DATE_TIME[locale]);
      // A laptop's widths: still no sideways scroll, every delete button in view (English at 1280 hid it).
      for (const width of [1200, 1280, 1366]) {
        await page.setViewportSize({ width, height: 900 });
        if (width === 1280) await screenshot(page, `first-week-instances-${locale}-1280`);
        const n = await page.evaluate(() => {
          const d = (globalThis as any).document;
          const wrap = d.querySelector('#wf-instances-table').parentElement;
          return {
            scroll: wrap.scrollWidth,
            width: wrap.clientWidth,
            dels: [...d.querySelectorAll('.wf-delete')].map((b: any) => b.getBoundingClientRect().right),
          };
        });
        assert.ok(n.scroll <= n.width, `${width} px: no horizontal scroll (${n.scroll} > ${n.width})`);
        for (const r of n.dels) assert.ok(r <= width, `${width} px: delete button in view (${r} > ${width})`);
      }
    });

    it(`${locale} 390 px: one card per instance with name, type, total, change and last sync`, async () => {
      const page = await open(locale, 390);
      await page.goto('/instances');
      await page.locator(`tr[data-instance-id="${single}"]`).waitFor();
      const m = await page.evaluate(() => {
        const d = (globalThis as any).document;
        const win = globalThis as any;
        return {
          overflow: d.documentElement.scrollWidth,
          cards: [...d.querySelectorAll('tr[data-instance-id]')].map((tr: any) => ({
            display: win.getComputedStyle(tr).display,
            visible: ['name', 'type', 'total', 'change', 'last-sync'].filter((c) => tr.querySelector(`[data-col="${c}"]`)?.getBoundingClientRect().width > 0),
            hidden: ['address', 'databases'].filter((c) => tr.querySelector(`[data-col="${c}"]`)?.getBoundingClientRect().width > 0),
            right: tr.getBoundingClientRect().right,
          })),
        };
      });
      await screenshot(page, `first-week-instances-${locale}-390`);
      assert.ok(m.overflow <= 390, `no horizontal scroll at 390 px (${m.overflow})`);
      assert.equal(m.cards.length, 6);
      for (const c of m.cards) {
        assert.equal(c.display, 'grid');
        assert.deepEqual(c.visible, ['name', 'type', 'total', 'change', 'last-sync']);
        assert.deepEqual(c.hidden, []);
        assert.ok(c.right <= 390);
      }
    });

    it(`${locale} 390 px: a one-day trend draws its point; the deleted tab shows last seen and deleted at`, async () => {
      const page = await open(locale, 390);
      await page.goto(`/instances/${single}`);
      await page.locator('#wf-db-rows tr[data-database="app"]').waitFor();
      // postgres is tagged system
      assert.equal(await page.locator('#wf-db-rows tr[data-database="postgres"] .badge').first().innerText(), locale === 'en' ? 'system' : '系统库');
      await page.click('label[for="wf-db-deleted"]');
      const del = page.locator('#wf-db-rows tr[data-database="old_reports"]');
      await del.waitFor();
      assert.ok(await page.locator('#wf-col-deleted-at').isVisible());
      assert.match(await del.locator('[data-col="deleted-at"]').innerText(), DATE_TIME[locale]);
      const lastSeen = await del.locator('[data-col="last-seen"]').innerText();
      assert.match(lastSeen, locale === 'en' ? /^[A-Z][a-z]{2} \d{1,2}, \d{4}$/ : /^\d{4}-\d{2}-\d{2}$/);
      await screenshot(page, `first-week-deleted-${locale}-390`);
      await page.click('#wf-tab-trend');
      await page.waitForFunction(() => (globalThis as any).document.querySelector('#wf-chart canvas')?.width > 0);
      await screenshot(page, `first-week-trend-one-day-${locale}-390`);
      // The chart is drawn on the next frame: wait until the total's colour (ECharts' first, #5070dd) shows up inside the plot, below the legend.
      await page.waitForFunction(
        () => {
          const c = (globalThis as any).document.querySelector('#wf-chart canvas');
          const g = c.getContext('2d');
          const { data } = g.getImageData(0, 40, c.width, c.height - 100);
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - 80) < 12 && Math.abs(data[i + 1] - 112) < 12 && Math.abs(data[i + 2] - 221) < 12 && data[i + 3] === 255) return true;
          return false;
        },
        undefined,
        { timeout: 10_000 },
      );
      await screenshot(page, `first-week-trend-one-day-${locale}-390`);
    });

    it(`${locale} 1440 px: capacity TOP table names engines, system databases only with the switch, change charts need two periods`, async () => {
      const page = await open(locale, 1440);
      await page.goto('/capacity/databases');
      await page.locator('#wf-cap-rows tr').first().waitFor();
      const items = async () => page.$$eval('#wf-cap-rows tr', (trs: any[]) => trs.map((tr) => tr.dataset.wfItem));
      assert.ok(!(await items()).some((x: string) => x.endsWith('/ mysql') || x.endsWith('/ postgres')), 'no system database in the TOP N');
      const types = await page.$$eval('#wf-cap-rows [data-db-type]', (els: any[]) => els.map((e) => e.textContent));
      assert.ok(types.includes('MySQL') && types.includes('PostgreSQL'), types.join());
      await page.click('label[for="wf-cap-include-system"]');
      await page.waitForFunction(() =>
        [...(globalThis as any).document.querySelectorAll('#wf-cap-rows tr')].some((tr: any) => tr.dataset.wfItem.endsWith('/ postgres')),
      );
      await page.click('label[for="wf-cap-include-system"]');
      await page.selectOption('#wf-cap-instance', String(single));
      await page.click('#wf-cap-apply');
      await page.locator('#wf-chart-change-note').waitFor({ state: 'visible' });
      assert.ok(await page.locator('#wf-chart-change_pct-note').isVisible());
      assert.ok(!(await page.locator('#wf-chart-change').isVisible()));
      await screenshot(page, `first-week-capacity-${locale}-1440`);
    });

    it(`${locale}: the database page shows the database's own size history; a mistyped URL gets the HTML 404 page`, async () => {
      const page = await open(locale, 1440);
      await page.goto(`/instances/${single}/databases/app`);
      await page.waitForFunction(() => (globalThis as any).document.querySelector('#wf-chart-db canvas')?.width > 0);
      await screenshot(page, `first-week-database-${locale}-1440`);
      const res = await page.goto('/instancs');
      assert.equal(res?.status(), 404);
      assert.match(await page.locator('.wf-error-message').innerText(), /\/instancs/);
      assert.equal(await page.locator('#wf-user').count(), 1, 'the navbar is there');
      await screenshot(page, `first-week-404-${locale}-1440`);
    });
  }

  it('nothing went wrong in the pages (console, requests, CSP)', () => {
    assert.deepEqual(
      browser.problems.filter((p) => !/HTTP 404 for GET .*\/instancs$/.test(p)),
      [],
    );
  });
});
