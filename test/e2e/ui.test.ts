/**
 * The web UI in a real browser (Debian chromium, headless, playwright-core)
 * against the real app with real PostgreSQL and MariaDB instances:
 * login, 测试连接 before 保存 (a failed test and 取消 store nothing), add an
 * instance through the form, 同步容量, the detail
 * page (databases, a drawn chart), a dropped database shown as deleted,
 * 批量同步 to the end, a viewer without sync, a `<script>` database name shown
 * as text, the language switch remembered per user, screenshots of every
 * page in zh-CN and English at 1440 and 390 px. Nothing may go wrong on the
 * way: no console errors, no failed requests, no CSP violations.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions below run in the browser (no DOM types here) */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { mysqlAdmin, pgAdmin, uniqueName } from '../helpers/targets.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const ADMIN = { username: 'e2e-admin', password: 'E2e-admin-pass1' };
const VIEWER = { username: 'e2e-viewer', password: 'E2e-viewer-pass1' };
const actor = { userId: null, username: 'e2e' };

describe('web UI end to end (chromium)', () => {
  let server: Server;
  let browser: Session;
  let page: Page;
  const pgKeep = uniqueName('ui_keep');
  const pgDrop = uniqueName('ui_drop');
  const pgXss = `${uniqueName('ui')}<script>alert(1)</script>`;
  const myDb = uniqueName('ui_my');
  const pgName = `pg-${pgKeep.slice(-8)}`;
  let pgId: number;
  const dialogs: string[] = [];

  before(async () => {
    const pga = await pgAdmin();
    for (const db of [pgKeep, pgDrop, pgXss]) await pga.query(`CREATE DATABASE "${db.replace(/"/g, '""')}"`);
    await pga.end();
    const pgk = await pgAdmin(pgKeep);
    await pgk.query('CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g');
    await pgk.end();
    const my = await mysqlAdmin();
    await my.query(`CREATE DATABASE \`${myDb}\``);
    await my.end();
    server = await startServer();
    await server.ctx.auth.createUser({ ...ADMIN, role: 'admin' }, actor);
    await server.ctx.auth.createUser({ ...VIEWER, role: 'viewer' }, actor);
    const cred = await server.ctx.credentials.create({ name: 'mariadb-root', username: 'root', password: '' }, actor);
    // physical (InnoDB tablespace files): the shared MariaDB may hold other tests' schemas with thousands of
    // tables, where the logical information_schema sums can run past the query timeout on a loaded machine.
    await server.ctx.instances.create(
      {
        name: `mariadb-${myDb.slice(-8)}`,
        db_type: 'mysql',
        host: '127.0.0.1',
        port: 3306,
        credential_id: cred.id,
        tags: ['e2e'],
        options: { method: 'physical' },
      },
      actor,
    );
    browser = await openBrowser(server.url);
    page = await browser.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    const pga = await pgAdmin();
    for (const db of [pgKeep, pgDrop, pgXss]) await pga.query(`DROP DATABASE IF EXISTS "${db.replace(/"/g, '""')}" WITH (FORCE)`);
    await pga.end();
    const my = await mysqlAdmin();
    await my.query(`DROP DATABASE IF EXISTS \`${myDb}\``);
    await my.end();
  });

  it('logs in and shows the user with the role', async () => {
    await page.goto('/instances');
    assert.match(page.url(), /\/login\?next=%2Finstances$/);
    await page.fill('#wf-username', ADMIN.username);
    await page.fill('#wf-password', 'wrong-password');
    await page.click('#wf-login-submit');
    const err = await page.waitForSelector('[data-wf-alert="danger"]');
    assert.match(await err.innerText(), /用户名或密码|password/i);
    await login(page, ADMIN.username, ADMIN.password);
    assert.equal(await page.innerText('#wf-role'), '管理员');
    assert.match(await page.innerText('#wf-user'), /e2e-admin/);
  });

  it('测试连接 before 保存: a failed test and 取消 leave nothing in the store', async () => {
    const count = async () => [(await server.ctx.instances.list()).length, (await server.ctx.credentials.list()).length];
    const before = await count();
    await page.click('#wf-add-instance');
    await page.waitForSelector('#wf-instance-modal.show');
    await page.fill('#wf-f-name', `${pgName}-typo`);
    await page.selectOption('#wf-f-db_type', 'postgresql');
    await page.fill('#wf-f-host', '127.0.0.1');
    await page.fill('#wf-f-port', '1'); // nothing listens there
    await page.waitForSelector('#wf-f-credential option[value="new"]', { state: 'attached' });
    await page.selectOption('#wf-f-credential', 'new');
    await page.fill('#wf-c-name', `pg-typo-${pgKeep.slice(-8)}`);
    await page.fill('#wf-c-username', 'postgres');
    await page.fill('#wf-c-password', 'typo-password');
    await page.click('#wf-test-connection');
    await page.waitForSelector('[data-wf-test="failed"]', { timeout: 20_000 });
    assert.match(await page.innerText('[data-wf-test="failed"]'), /无法连接到实例/);
    await screenshot(page, 'instance-form-test-failed-zh-CN-1440');
    await page.click('#wf-instance-modal .modal-footer [data-bs-dismiss="modal"]');
    await page.waitForSelector('#wf-instance-modal', { state: 'hidden' });
    assert.deepEqual(await count(), before, 'no instance and no credential were stored');
  });

  it('adds a PostgreSQL instance through the form: 测试连接 shows the doctor without saving, 保存 stores it', async () => {
    await page.click('#wf-add-instance');
    await page.waitForSelector('#wf-instance-modal.show');
    await page.fill('#wf-f-name', pgName);
    await page.selectOption('#wf-f-db_type', 'postgresql');
    await page.fill('#wf-f-host', '127.0.0.1');
    await page.fill('#wf-f-port', '5432');
    await page.fill('#wf-f-tags', 'e2e, pg');
    await page.waitForSelector('#wf-f-credential option[value="new"]', { state: 'attached' });
    await page.selectOption('#wf-f-credential', 'new');
    await page.fill('#wf-c-name', `pg-cred-${pgKeep.slice(-8)}`);
    await page.fill('#wf-c-username', 'postgres');
    await page.fill('#wf-c-password', 'not-needed-trust');
    await page.click('#wf-test-connection');
    await page.waitForSelector('[data-wf-test="ok"]', { timeout: 20_000 });
    await page.waitForSelector('[data-wf-doctor]', { timeout: 20_000 });
    assert.match(await page.innerText('[data-wf-test="ok"]'), /连接成功/);
    assert.equal(
      (await server.ctx.instances.list()).find((i) => i.name === pgName),
      undefined,
      'the test saved nothing',
    );
    await screenshot(page, 'instance-form-zh-CN-1440');
    await page.click('#wf-save');
    await page.waitForSelector('#wf-instance-modal', { state: 'hidden' });
    const inst = (await server.ctx.instances.list()).find((i) => i.name === pgName);
    assert.ok(inst, 'the instance was saved');
    assert.ok(inst.credential_id);
    pgId = inst.id;
  });

  it('the same server under another name: the form names the registration and saves only on a yes', async () => {
    const other = await browser.newPage();
    await login(other, ADMIN.username, ADMIN.password);
    const asked: string[] = [];
    let answer = false;
    other.on('dialog', (d) => {
      asked.push(d.message());
      void (answer ? d.accept() : d.dismiss());
    });
    await other.click('#wf-add-instance');
    await other.waitForSelector('#wf-instance-modal.show');
    await other.fill('#wf-f-name', `${pgName}-again`);
    await other.selectOption('#wf-f-db_type', 'postgresql');
    await other.fill('#wf-f-host', '127.0.0.1');
    await other.fill('#wf-f-port', '5432');
    const again = () => server.ctx.instances.list().then((l) => l.find((i) => i.name === `${pgName}-again`));
    try {
      await other.click('#wf-save');
      await other.getByText('未保存：该服务器已登记，未确认重复登记').waitFor();
      assert.equal(asked.length, 1);
      assert.match(asked[0]!, new RegExp(`^127\\.0\\.0\\.1:5432 已登记为实例 ${pgName}。仍要再登记一次吗？`));
      assert.equal(await again(), undefined, 'a no stores nothing');
      answer = true;
      await other.click('#wf-save');
      await other.waitForSelector('#wf-instance-modal', { state: 'hidden' });
      const stored = await again();
      assert.ok(stored, 'a yes stores it');
      assert.equal(asked.length, 2);
    } finally {
      // The later tests count the instances: the second registration goes whatever happened above.
      const left = await again();
      if (left) await server.ctx.instances.delete(left.id, actor);
    }
    await other.context().close();
  });

  it('同步容量: spinner, the success alert with the server message, the row refreshed in place', async () => {
    const row = page.locator(`tr[data-instance-id="${pgId}"]`);
    await row.waitFor();
    assert.equal((await row.locator('[data-col="total"]').innerText()).trim(), '—');
    await page.evaluate(() => {
      (globalThis as any).__wfMarker = 1;
    });
    await page.evaluate(() => (globalThis as any).document.getElementById('wf-alerts').replaceChildren());
    const btn = row.locator('.wf-sync-capacity');
    await btn.click();
    const alert = page.locator('[data-wf-alert="success"]');
    await alert.waitFor({ timeout: 60_000 });
    assert.match(await alert.innerText(), /同步|成功/);
    assert.equal(await btn.isDisabled(), false, 'the button is usable again');
    await page.waitForFunction(
      (id) => (globalThis as any).document.querySelector(`tr[data-instance-id="${id}"] [data-col="total"]`).textContent.trim() !== '—',
      pgId,
      { timeout: 10_000 },
    );
    const total = await row.locator('[data-col="total"]').innerText();
    assert.match(total, /\d+(\.\d+)? (KB|MB|GB)/);
    assert.match((await row.locator('[data-col="total"]').getAttribute('title')) ?? '', /MB$/);
    assert.equal(await page.evaluate(() => (globalThis as any).__wfMarker), 1, 'no full page reload');
    await screenshot(page, 'instances-zh-CN-1440');
  });

  it('the detail page shows the databases, a drawn chart, and a `<script>` name as text', async () => {
    await page.goto(`/instances/${pgId}`);
    await page.waitForSelector(`tr[data-database="${pgKeep}"]`);
    const xss = page.locator('#wf-db-rows tr').filter({ hasText: '<script>alert(1)</script>' });
    assert.equal(await xss.count(), 1, 'the <script> database is listed as text');
    assert.equal(await page.locator('#wf-db-rows script').count(), 0);
    await screenshot(page, 'instance-detail-zh-CN-1440');
    await page.click('#wf-tab-trend');
    await page.waitForSelector('#wf-chart canvas');
    await page.waitForTimeout(300);
    const painted = await page.evaluate(() => {
      const c = (globalThis as any).document.querySelector('#wf-chart canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data as Uint8ClampedArray;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n;
    });
    assert.ok((painted as number) > 1000, `chart canvas has ${painted} painted pixels`);
    await screenshot(page, 'instance-trend-zh-CN-1440');
  });

  it('a dropped database appears under deleted after the next sync', async () => {
    const pga = await pgAdmin();
    await pga.query(`DROP DATABASE "${pgDrop}" WITH (FORCE)`);
    await pga.end();
    await page.click('#wf-tab-dbs');
    await page.waitForSelector('#wf-pane-dbs.show');
    const before = await page.locator('[data-wf-alert="success"]').count();
    await page.click('#wf-sync-capacity');
    await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('[data-wf-alert="success"]').length > n, before, { timeout: 60_000 });
    await page.click('label[for="wf-db-deleted"]');
    await page.waitForSelector(`tr[data-database="${pgDrop}"]`);
    assert.equal(await page.innerText('#wf-card-deleted'), String(await page.locator('#wf-db-rows tr[data-database]').count()));
    await page.click('#wf-tab-records');
    await page.waitForSelector('#wf-pane-records.show #wf-record-rows [data-wf-status="completed"]');
    await screenshot(page, 'instance-records-zh-CN-1440');
  });

  it('批量同步 shows the live progress until the session finishes', async () => {
    await page.goto('/instances');
    await page.waitForSelector('tr[data-instance-id]');
    await page.click('#wf-batch-sync');
    try {
      await page.waitForSelector('#wf-batch[data-wf-finished]', { timeout: 120_000 });
    } finally {
      await screenshot(page, 'instances-batch-zh-CN-1440');
    }
    assert.equal(await page.getAttribute('#wf-batch', 'data-wf-finished'), 'completed');
    assert.match(await page.innerText('#wf-batch-text'), /成功 2，失败 0/);
    await screenshot(page, 'instances-batch-zh-CN-1440');
  });

  it('filters, sorts and pages on the server', async () => {
    await page.fill('#wf-filter-q', pgName);
    const rows = (n: number) => page.waitForFunction((k) => (globalThis as any).document.querySelectorAll('#wf-rows tr[data-instance-id]').length === k, n);
    await rows(1);
    await page.fill('#wf-filter-q', 'no-such-instance-anywhere');
    await rows(0);
    assert.match(await page.innerText('#wf-rows'), /没有符合筛选条件的实例/);
    await page.click('#wf-filters button[type="reset"]');
    await rows(2);
    await page.click('th[data-sort="total_size_bytes"]');
    await page.waitForSelector('th[data-sort="total_size_bytes"][aria-sort="descending"]');
  });

  it('a viewer sees no sync or admin buttons, and the server refuses a sync anyway', async () => {
    const vpage = await browser.newPage();
    await login(vpage, VIEWER.username, VIEWER.password);
    await vpage.waitForSelector('tr[data-instance-id]');
    assert.equal(await vpage.locator('.wf-sync-capacity').count(), 0);
    assert.equal(await vpage.locator('#wf-batch-sync, #wf-add-instance, .wf-edit, .wf-delete').count(), 0);
    assert.equal(await vpage.innerText('#wf-role'), '只读');
    const cookies = await vpage.context().cookies();
    const session = cookies.find((c) => c.name === 'wf_session')!;
    const csrf = await vpage.getAttribute('body', 'data-csrf');
    const res = await fetch(`${server.url}/database-sizes/instances/${pgId}/sync-capacity`, {
      method: 'POST',
      headers: { cookie: `wf_session=${session.value}`, 'x-csrftoken': csrf ?? '' },
    });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: string }).error, /权限不足/);
    await vpage.goto(`/instances/${pgId}`);
    assert.equal(await vpage.locator('#wf-sync-capacity').count(), 0);
    await vpage.context().close();
  });

  it('switches to English, remembers it for the user, and screenshots every page in both languages at 1440 and 390 px', async () => {
    const shots = async (lang: 'zh-CN' | 'en') => {
      await navbarFits(page, lang);
      for (const width of [1440, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto('/instances');
        await page.waitForSelector('tr[data-instance-id]');
        await screenshot(page, `instances-${lang}-${width}`);
        await page.goto(`/instances/${pgId}`);
        await page.waitForSelector(`tr[data-database="${pgKeep}"]`);
        await screenshot(page, `instance-detail-${lang}-${width}`);
        await page.click('#wf-tab-trend');
        await page.waitForSelector('#wf-chart canvas');
        await page.waitForTimeout(200);
        await screenshot(page, `instance-trend-${lang}-${width}`);
      }
      await page.setViewportSize({ width: 1440, height: 900 });
    };
    await shots('zh-CN');
    await page.goto('/instances');
    await page.click('#wf-lang-menu');
    await Promise.all([page.waitForEvent('load'), page.click('[data-wf-lang="en"]')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.innerText('h1')).trim(), 'Instances');
    await shots('en');
    // Remembered per user: a new browser context (no cookie) logs in and gets English.
    const other = await browser.newPage();
    await login(other, ADMIN.username, ADMIN.password);
    assert.equal(await other.getAttribute('html', 'lang'), 'en');
    await other.click('#wf-logout');
    await other.waitForURL('**/login');
    for (const width of [1440, 390]) {
      await other.setViewportSize({ width, height: 900 });
      await screenshot(other, `login-en-${width}`);
    }
    await other.click('[data-wf-lang="zh-CN"]');
    await other.waitForSelector('html[lang="zh-CN"]');
    for (const width of [1440, 390]) {
      await other.setViewportSize({ width, height: 900 });
      await screenshot(other, `login-zh-CN-${width}`);
    }
    await other.context().close();
  });

  it('no console errors, failed requests, CSP violations or dialogs happened', () => {
    assert.deepEqual(browser.problems, []);
    assert.deepEqual(dialogs, []);
  });
});

/**
 * The navbar at the common widths: the toggler's menu below the language's breakpoint (nav.ts, NAV_EXPAND), above it
 * one row (56 px, Bootstrap's height for one line) in which no entry's text wraps.
 */
async function navbarFits(page: Page, lang: 'zh-CN' | 'en'): Promise<void> {
  const oneRowFrom = lang === 'en' ? 1200 : 992;
  for (const width of [992, 1100, 1199, 1200, 1280, 1366, 1440, 1536, 1600, 1920]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto('/instances');
    const nav = await page.evaluate(() => {
      const win = globalThis as any;
      const d = win.document;
      const wrapped: string[] = [];
      for (const el of d.querySelectorAll('.wf-navbar .navbar-nav .nav-link, #wf-user, #wf-logout')) {
        const walker = d.createTreeWalker(el, win.NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          if (!n.textContent.trim()) continue;
          const range = d.createRange();
          range.selectNodeContents(n);
          if (range.getClientRects().length > 1) wrapped.push(n.textContent.trim());
        }
      }
      return {
        collapsed: win.getComputedStyle(d.querySelector('.wf-navbar .navbar-toggler')).display !== 'none',
        height: d.querySelector('.wf-navbar').getBoundingClientRect().height as number,
        wrapped,
      };
    });
    const where = `${lang} at ${width} px`;
    assert.equal(nav.collapsed, width < oneRowFrom, `${where}: the toggler's menu below ${oneRowFrom} px only`);
    if (nav.collapsed) continue;
    assert.deepEqual(nav.wrapped, [], `${where}: entries whose text wraps`);
    assert.ok(nav.height <= 57, `${where}: the navbar is one row (${nav.height} px high)`);
  }
}
