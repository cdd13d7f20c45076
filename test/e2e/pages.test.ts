/**
 * E2E for the capacity statistics, sync sessions and settings pages in
 * headless chromium against the real app: data shown, filters, drawn charts,
 * CSV export equal to what is shown, a running batch session updating live,
 * settings that persist, viewer/operator kept out (and refused by the
 * server), screenshots in zh-CN and English at 1440 and 390 px, and no
 * console error / failed request / CSP violation anywhere.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addDays, localDate } from '../../src/lib/clock.js';
import { startBlackHole } from '../helpers/targets.js';
import { addInstance, insertHistory, type Row } from '../statistics/fixtures.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const PASSWORD = 'e2e-password-1';
const MB = 1024 * 1024;

describe('capacity, sync sessions and settings pages', () => {
  let server: Server;
  let browser: Session;
  let admin: Page;
  let today: string;
  const ids: Record<string, number> = {};
  let hole: Awaited<ReturnType<typeof startBlackHole>>;

  before(async () => {
    hole = await startBlackHole();
    server = await startServer({ WHALEFALL_CONNECT_TIMEOUT_MS: '4000', WHALEFALL_SYNC_RETRIES: '0', WHALEFALL_SCHEDULER: 'false' });
    const ctx = server.ctx;
    const actor = { userId: null, username: 'e2e' };
    for (const role of ['viewer', 'operator', 'admin'] as const) await ctx.auth.createUser({ username: `e2e-${role}`, password: PASSWORD, role }, actor);
    today = localDate(new Date(), ctx.config.timeZone);
    // 40 days of history for three instances: steady growth, a flat one, a shrinking one.
    const plan: [string, string, (i: number) => Row[]][] = [
      [
        'pg-orders',
        'postgresql',
        (i) => [
          { db: 'orders', date: '', size: 800 * MB + i * 20 * MB },
          { db: 'users', date: '', size: 120 * MB },
        ],
      ],
      [
        'my-shop',
        'mysql',
        (i) => [
          { db: 'shop', date: '', size: 300 * MB + i * 2 * MB },
          { db: 'orders_archive', date: '', size: 90 * MB },
        ],
      ],
      ['pg-logs', 'postgresql', (i) => [{ db: 'logs', date: '', size: 600 * MB - i * 5 * MB }]],
    ];
    for (const [name, dbType, rows] of plan) {
      ids[name] = await addInstance(ctx, name, { db_type: dbType });
      const all: Row[] = [];
      for (let i = 0; i < 40; i++) {
        const date = addDays(today, i - 39);
        for (const r of rows(i)) all.push({ ...r, date });
      }
      await insertHistory(ctx, ids[name]!, all);
    }
    await ctx.aggregation.aggregate({ from: addDays(today, -39), to: today });
    browser = await openBrowser(server.url);
    admin = await browser.newPage();
    await login(admin, 'e2e-admin', PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await hole?.close();
  });

  // Browser-side code is passed as text: the tests are type-checked without the DOM library.
  /** The chart's canvas exists and has more than 1,000 painted pixels. */
  async function chartDrawn(page: Page, id: string): Promise<boolean> {
    return page.evaluate(`(() => {
      const c = document.querySelector('#wf-chart-${id} canvas');
      if (!c || !c.width || !c.height) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
      return painted > 1000;
    })()`);
  }

  /**
   * Poll from Node until `check` holds: page.waitForFunction would poll with
   * eval inside the page, which the strict CSP refuses (as it should).
   */
  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const loaded = (page: Page) => until('the cards', async () => (await page.textContent('#wf-card-total')) !== '—');
  const rows = (page: Page, n: number) => until(`${n} rows`, async () => (await page.locator('#wf-cap-rows tr').count()) === n);
  const cron = (page: Page, value?: string) =>
    until('the cron field', async () => ((v) => (value === undefined ? v !== '' : v === value))(await page.inputValue('#wf-s-sync_cron')));

  it('instance capacity: cards, three drawn charts, TOP N, filters, line/bar, CSV equal to what is shown', async () => {
    await admin.goto('/capacity/instances');
    await loaded(admin);
    assert.equal(await admin.textContent('#wf-card-online'), '3 / 3');
    // Latest day: orders 800+39*20 + users 120 = 1700 MB; shop 300+78+90 = 468 MB; logs 600-195 = 405 MB.
    assert.equal(await admin.textContent('#wf-card-max'), '1.66 GB');
    assert.deepEqual(await admin.$$eval('#wf-cap-rows tr', (trs) => trs.map((tr) => tr.getAttribute('data-wf-item'))), ['pg-orders', 'my-shop', 'pg-logs']);
    for (const c of ['trend', 'change', 'change_pct']) assert.ok(await chartDrawn(admin, c), `chart ${c} drawn`);

    await admin.click('[data-wf-chart="trend"][data-wf-type="bar"]');
    assert.ok(await chartDrawn(admin, 'trend'));
    assert.equal(await admin.getAttribute('[data-wf-chart="trend"][data-wf-type="bar"]', 'class').then((c) => c!.includes('active')), true);

    await admin.selectOption('#wf-cap-db-type', 'mysql');
    await admin.selectOption('#wf-cap-last', '7');
    await Promise.all([
      admin.waitForResponse((r) => r.url().includes('/api/statistics/capacity?') && r.url().includes('db_type=mysql')),
      admin.click('#wf-cap-apply'),
    ]);
    await rows(admin, 1);
    assert.equal(await admin.textContent('#wf-card-online'), '1 / 1');
    assert.equal(await admin.textContent('#wf-cap-rows tr td:nth-child(2)'), 'my-shop');

    const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('#wf-export')]);
    const csv = fs
      .readFileSync((await download.path())!, 'utf8')
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    assert.equal(csv[0], 'series,instance_id,instance_name,db_type,database_name,period_start,period_end,size_bytes,change_bytes,change_pct');
    // What is shown: the total and my-shop over the last 7 days, nothing else.
    assert.equal(csv.filter((l) => l.startsWith('total,')).length, 7);
    assert.equal(csv.filter((l) => l.startsWith(`top,${ids['my-shop']},my-shop,mysql,`)).length, 7);
    assert.equal(csv.length, 1 + 14);
    assert.ok(
      csv.includes(
        `top,${ids['my-shop']},my-shop,mysql,,${today},${today},${(300 + 78 + 90) * MB},${2 * MB},${Math.round(((2 * MB * 100) / ((300 + 76 + 90) * MB)) * 100) / 100}`,
      ),
      'change_pct rounded to 2 places (issue #18)',
    );
  });

  it('database capacity: name filter, instance filter, weekly periods from the aggregation', async () => {
    await admin.goto('/capacity/databases');
    await loaded(admin);
    assert.equal(await admin.$$eval('#wf-cap-rows tr', (trs) => trs.length), 5);
    await admin.fill('#wf-cap-database', 'ORDERS');
    await admin.click('#wf-cap-apply');
    await rows(admin, 2);
    assert.deepEqual(await admin.$$eval('#wf-cap-rows tr', (trs) => trs.map((tr) => tr.getAttribute('data-wf-item'))), [
      'pg-orders / orders',
      'my-shop / orders_archive',
    ]);
    await admin.selectOption('#wf-cap-instance', String(ids['pg-orders']));
    await admin.selectOption('#wf-cap-period', 'weekly');
    await admin.selectOption('#wf-cap-last', '7');
    await admin.selectOption('#wf-cap-top', '5');
    await admin.click('#wf-cap-apply');
    await rows(admin, 1);
    assert.match((await admin.textContent('#wf-cap-table-title'))!, /TOP 5/);
    assert.ok(await chartDrawn(admin, 'change_pct'));
    const shown = (await admin.getAttribute('#wf-export', 'href'))!;
    assert.match(shown, /period=weekly/);
    assert.match(shown, /database=ORDERS/);
  });

  it('a running batch session updates live on the sessions pages, every record with its error', async () => {
    const ctx = server.ctx;
    const actor = { userId: null, username: 'e2e' };
    const cred = await ctx.credentials.create({ name: 'e2e-cred', username: 'nobody', password: 'not-the-password' }, actor);
    const slow = await ctx.instances.create({ name: 'slow-hole', db_type: 'postgresql', host: '127.0.0.1', port: hole.port, credential_id: cred.id }, actor);
    const started = await ctx.capacitySync.startMany([slow.id], { syncType: 'manual_batch', actor });
    await admin.goto('/sync-sessions');
    const row = admin.locator(`[data-wf-session="${started.session_id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-wf-status]').getAttribute('data-wf-status'), 'running');
    assert.equal(await admin.isVisible('#wf-live'), true);
    await row.locator('a').click();
    await admin.waitForURL(`**/sync-sessions/${started.session_id}`);
    await admin.locator('[data-wf-record="slow-hole"]').waitFor();
    assert.equal(await admin.isVisible('#wf-live'), true);
    // No reload: the poll turns the record and the session to failed when the connect times out.
    await admin.waitForSelector('[data-wf-record="slow-hole"][data-wf-status="failed"]', { timeout: 30_000 });
    await admin.waitForSelector('#wf-s-status [data-wf-status="failed"]');
    assert.match((await admin.textContent('[data-wf-record="slow-hole"] td:last-child'))!, /\S/);
    // The process that ran the record (issue #16 item 5): this one, the server runs in the test process.
    assert.equal((await admin.textContent('[data-wf-record="slow-hole"] [data-wf-holder]'))!.trim(), `${os.hostname()}:${process.pid}`);
    assert.equal(await admin.isVisible('#wf-live'), false);
    await started.done;
    // The list filters.
    await admin.goto('/sync-sessions');
    await admin.selectOption('[name="status"]', 'completed');
    await admin.waitForSelector('[data-wf-session]', { state: 'detached' });
    await admin.selectOption('[name="status"]', 'failed');
    await admin.locator(`[data-wf-session="${started.session_id}"]`).waitFor();
  });

  it('settings persist: cron, a token shown once, an alert rule with a webhook, a user', async () => {
    const ctx = server.ctx;
    await admin.goto('/settings');
    await cron(admin);
    await admin.fill('#wf-s-sync_cron', '15 3 * * *');
    await admin.fill('#wf-s-sync_concurrency', '3');
    await admin.click('#wf-schedule-save');
    await admin.waitForSelector('[data-wf-alert="success"]');
    assert.equal((await ctx.settings.effective()).sync_cron, '15 3 * * *');
    assert.equal((await ctx.settings.effective()).sync_concurrency, 3);
    await admin.reload();
    await cron(admin, '15 3 * * *');
    // A bad cron: the server's message, nothing changed.
    await admin.fill('#wf-s-sync_cron', 'not a cron');
    await admin.click('#wf-schedule-save');
    await admin.waitForSelector('[data-wf-alert="danger"]');
    assert.equal((await ctx.settings.effective()).sync_cron, '15 3 * * *');
    assert.doesNotMatch((await admin.textContent('[data-wf-alert="danger"]'))!, /object Object/);

    await admin.click('#wf-tab-exclusions');
    await admin.fill('#wf-x-postgresql', 'tmp_*\nscratch');
    await admin.click('#wf-exclusions-save');
    await admin.waitForSelector('[data-wf-alert="success"]');
    assert.deepEqual((await ctx.settings.effective()).exclusions.postgresql, ['tmp_*', 'scratch']);

    await admin.click('#wf-tab-tokens');
    await admin.fill('#wf-t-name', 'e2e-script');
    await admin.click('#wf-token-add');
    await admin.waitForSelector('#wf-token-once:not(.wf-hidden)');
    const token = await admin.inputValue('#wf-token-value');
    assert.ok(token.length > 20);
    await admin.locator('[data-wf-token="e2e-script"]').waitFor();
    const me = await admin.request.get('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status(), 200, 'the token shown works');
    await admin.reload();
    await admin.locator('[data-wf-token="e2e-script"]').waitFor();
    assert.equal((await admin.content()).includes(token), false, 'shown once: not on the page again');

    await admin.click('#wf-tab-alerts');
    await admin.click('#wf-rule-add');
    await admin.waitForSelector('#wf-rule-modal.show');
    await admin.fill('#wf-r-name', 'big-db');
    await admin.selectOption('#wf-r-kind', 'size_above');
    await admin.fill('#wf-r-threshold', '1000');
    await admin.click('#wf-r-add-channel');
    await admin.fill('.wf-channel-url', 'http://127.0.0.1:9/hook');
    await admin.click('#wf-rule-save');
    await admin.locator('[data-wf-rule="big-db"]').waitFor();
    const rule = (await ctx.alerts.listRules()).find((r) => r.name === 'big-db')!;
    assert.equal(rule.threshold, 1000 * MB);
    assert.equal(rule.channels.length, 1);
    // Edit without touching the webhook keeps it; a wrong field gets the server's message in the form.
    await admin.click('[data-wf-rule="big-db"] button[title]');
    await admin.waitForSelector('#wf-rule-modal.show');
    await admin.fill('#wf-r-threshold', '2000');
    await admin.click('#wf-rule-save');
    await admin.waitForSelector('#wf-rule-modal.show', { state: 'detached' });
    const edited = (await ctx.alerts.listRules()).find((r) => r.name === 'big-db')!;
    assert.equal(edited.threshold, 2000 * MB);
    assert.equal(edited.channels.length, 1);

    await admin.click('#wf-tab-users');
    await admin.fill('#wf-u-username', 'new-viewer');
    await admin.fill('#wf-u-password', 'long-enough-pw');
    await admin.click('#wf-user-add');
    await admin.locator('[data-wf-user="new-viewer"]').waitFor();
    await admin.selectOption('[data-wf-user="new-viewer"] select', 'operator');
    await admin.waitForSelector('[data-wf-alert="success"]');
    assert.equal((await ctx.auth.listUsers()).find((u) => u.username === 'new-viewer')!.role, 'operator');

    // A rule that fires: its event and delivery log (a local receiver) on the alerts tab.
    const received: string[] = [];
    const receiver = http.createServer((req, res) => {
      req.on('data', (c: Buffer) => received.push(c.toString()));
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const port = (receiver.address() as { port: number }).port;
      await ctx.alerts.createRule(
        {
          name: 'orders-over-1g',
          kind: 'size_above',
          threshold: 1024 * MB,
          database_pattern: 'orders',
          channels: [{ type: 'generic', url: `http://127.0.0.1:${port}/hook` }],
        },
        { userId: null, username: 'e2e' },
      );
      await ctx.alerts.evaluate();
      await ctx.alerts.idle();
      await admin.reload();
      await admin.click('#wf-tab-alerts');
      const event = admin.locator('#wf-events tr', { hasText: 'orders-over-1g' });
      await event.waitFor();
      await event.locator('button').click();
      await admin.waitForSelector('#wf-event-modal.show');
      await admin.locator('#wf-event-body tbody tr').first().waitFor();
      assert.match((await admin.textContent('#wf-event-body'))!, /127\.0\.0\.1/);
      await screenshot(admin, 'settings-delivery-log-zh-CN-1440');
      await admin.click('#wf-event-modal .btn-close');
      await admin.waitForSelector('#wf-event-modal.show', { state: 'detached' });
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });

  it('viewer and operator: no settings link, the page and the API refuse them', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const page = await browser.newPage();
      await login(page, `e2e-${role}`, PASSWORD);
      assert.equal(await page.locator('a[href="/settings"]').count(), 0);
      assert.equal(await page.locator('a[href="/capacity/instances"]').count(), 1);
      const res = await page.request.get('/settings');
      assert.equal(res.status(), 403);
      const csrf = ((await (await page.request.get('/api/auth/me')).json()) as { data: { csrf_token: string } }).data.csrf_token;
      const patch = await page.request.patch('/api/settings', { headers: { 'x-csrftoken': csrf }, data: { sync_cron: '0 1 * * *' } });
      assert.equal(patch.status(), 403);
      assert.equal((await page.request.get('/api/users')).status(), 403);
      assert.equal((await server.ctx.settings.effective()).sync_cron, '15 3 * * *');
      await page.context().close();
    }
  });

  it('screenshots of each page in zh-CN and English at 1440 and 390 px', async () => {
    const sessions = await server.ctx.capacity.sessions({ limit: 1 });
    const pages: [string, string, (p: Page) => Promise<void>][] = [
      ['capacity-instances', '/capacity/instances', loaded],
      ['capacity-databases', '/capacity/databases', loaded],
      ['sync-sessions', '/sync-sessions', (p) => p.locator('[data-wf-session]').first().waitFor()],
      ['sync-session', `/sync-sessions/${sessions.items[0]!.session_id}`, (p) => p.locator('[data-wf-record]').first().waitFor()],
      ['settings', '/settings', (p) => cron(p)],
      ['settings-alerts', '/settings#alerts', (p) => p.locator('#wf-pane-alerts.show [data-wf-rule]').first().waitFor()],
    ];
    for (const locale of ['zh-CN', 'en'] as const) {
      for (const width of [1440, 390]) {
        const page = await browser.newPage({ width, height: 900, locale });
        await login(page, 'e2e-admin', PASSWORD);
        const csrf = ((await (await page.request.get('/api/auth/me')).json()) as { data: { csrf_token: string } }).data.csrf_token;
        assert.equal((await page.request.patch('/api/auth/me', { headers: { 'x-csrftoken': csrf }, data: { locale } })).status(), 200);
        for (const [name, url, ready] of pages) {
          await page.goto(url);
          await ready(page);
          assert.equal(await page.getAttribute('html', 'lang'), locale);
          await page.waitForTimeout(400); // let fades and chart animations settle
          await screenshot(page, `${name}-${locale}-${width}`);
        }
        await page.context().close();
      }
    }
  });

  it('no console errors, failed requests or CSP violations', () => {
    assert.deepEqual(browser.problems, []);
  });
});
