/**
 * E2E for the fleet UI (issues #10 and #11) in headless chromium against the
 * real app: upload a CSV on the import page, see the preview with every row's
 * action and the bad cells highlighted at their row and column (nothing
 * stored), fix the file, import, filter the instance list by an imported tag,
 * export what the filter shows; then 取消 a running batch against targets that
 * never answer from the instances page's progress, from the sessions list and
 * from a session's page, each session ending `cancelled` with its skipped and
 * aborted records; viewers see neither import nor cancel. Screenshots of the
 * import page in zh-CN and English at 1440 and 390 px.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions below run in the browser (no DOM types here) */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startBlackHole } from '../helpers/targets.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const PASSWORD = 'e2e-password-1';
const actor = { userId: null, username: 'e2e' };
const HEADER = 'name,db_type,host,port,database_name,credential,tags';
const GOOD = [
  'pay-db-1,postgresql,10.0.0.1,5432,,fleet-cred,env:prod;team:payments',
  'pay-db-2,mysql,10.0.0.2,3306,,fleet-cred,env:prod;team:payments',
  'legacy-1,postgresql,10.0.0.9,5432,,fleet-cred,env:staging',
];
// Row 5 (header = 1): a port out of range (column 4); row 6: an unknown credential (column 6).
const BAD = ['ops-db-1,postgresql,10.0.0.3,99999,,fleet-cred,team:ops', 'ops-db-2,postgresql,10.0.0.4,5432,,no-such-cred,team:ops'];
const FIXED = ['ops-db-1,postgresql,10.0.0.3,5433,,fleet-cred,team:ops', 'ops-db-2,postgresql,10.0.0.4,5432,,fleet-cred,team:ops'];
const csv = (rows: string[]) => `${[HEADER, ...rows].join('\n')}\n`;

describe('fleet UI: import page, export, cancel a running session', () => {
  let server: Server;
  let browser: Session;
  let admin: Page;
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  let holeIds: number[] = [];
  let n = 0;

  /** Instances that never answer (connect to a black hole), tagged `hole`. */
  async function holeInstances(count: number): Promise<number[]> {
    const cred = (await server.ctx.credentials.list()).find((c) => c.name === 'fleet-cred')!;
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const inst = await server.ctx.instances.create(
        { name: `hole-${++n}`, db_type: 'postgresql', host: '127.0.0.1', port: hole.port, credential_id: cred.id, tags: ['hole'] },
        actor,
      );
      ids.push(inst.id);
    }
    return ids;
  }

  before(async () => {
    hole = await startBlackHole();
    // Two at a time, a connect timeout far beyond the test: only a cancel ends these sessions.
    server = await startServer({
      WHALEFALL_CONNECT_TIMEOUT_MS: '120000',
      WHALEFALL_SYNC_RETRIES: '0',
      WHALEFALL_SCHEDULER: 'false',
      WHALEFALL_SYNC_CONCURRENCY: '2',
    });
    const ctx = server.ctx;
    for (const role of ['viewer', 'operator', 'admin'] as const) await ctx.auth.createUser({ username: `e2e-${role}`, password: PASSWORD, role }, actor);
    await ctx.credentials.create({ name: 'fleet-cred', username: 'app', password: 'not-a-real-one' }, actor);
    await ctx.instances.create({ name: 'legacy-1', db_type: 'postgresql', host: '10.0.0.8', port: 5432 }, actor);
    await ctx.instances.create({ name: 'legacy-2', db_type: 'postgresql', host: '10.0.0.10', port: 5432 }, actor);
    browser = await openBrowser(server.url);
    admin = await browser.newPage();
    admin.on('dialog', (d) => void d.accept());
    await login(admin, 'e2e-admin', PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await hole?.close();
  });

  const names = async () => (await server.ctx.instances.list()).map((i) => i.name).sort();

  it('upload a CSV, see the errors at their row and column, fix, import, filter by an imported tag, export', async () => {
    await admin.goto('/instances');
    await Promise.all([admin.waitForURL('**/instances/import'), admin.click('#wf-import')]);
    await admin.setInputFiles('#wf-import-file', { name: 'fleet.csv', mimeType: 'text/csv', buffer: Buffer.from(csv([...GOOD, ...BAD])) });
    await admin.waitForFunction(() => (globalThis as any).document.getElementById('wf-import-text').value.includes('ops-db-2'));
    assert.equal(await admin.inputValue('#wf-import-format'), 'csv');
    await admin.click('#wf-import-preview');
    await admin.locator('#wf-import-has-errors').waitFor();
    const actions = await admin.$$eval('#wf-import-rows tr', (trs) =>
      trs.map((tr) => `${tr.getAttribute('data-wf-import-row')}:${tr.getAttribute('data-wf-action')}`),
    );
    assert.deepEqual(actions, ['2:create', '3:create', '4:update', '5:invalid', '6:invalid']);
    // The update says what changes; the bad rows are red with the error at its row and column.
    assert.match((await admin.textContent('[data-wf-import-row="4"] .wf-import-changes'))!, /host/);
    for (const [row, column, field] of [
      ['5', '4', 'port'],
      ['6', '6', 'credential'],
    ]) {
      const tr = admin.locator(`[data-wf-import-row="${row}"]`);
      assert.match((await tr.getAttribute('class'))!, /table-danger/);
      const err = tr.locator(`[data-wf-error-row="${row}"][data-wf-error-column="${column}"][data-wf-error-field="${field}"]`);
      assert.equal(await err.count(), 1, `row ${row} column ${column}`);
    }
    assert.match((await admin.textContent('#wf-import-counts'))!, /5.*2.*1.*0.*2/);
    assert.match((await admin.textContent('#wf-import-missing'))!, /legacy-2/);
    assert.equal(await admin.isDisabled('#wf-import-apply'), true);
    assert.equal(await admin.isDisabled('#wf-import-preview'), false);
    await screenshot(admin, 'instances-import-errors-zh-CN-1440');
    assert.deepEqual(await names(), ['legacy-1', 'legacy-2'], 'a dry run stores nothing');

    // Fix the two cells in the editor: the old preview is stale until previewed again.
    await admin.fill('#wf-import-text', csv([...GOOD, ...FIXED]));
    assert.equal(await admin.isDisabled('#wf-import-apply'), true);
    await admin.click('#wf-import-preview');
    await admin.locator('#wf-import-ready').waitFor();
    assert.equal(await admin.locator('[data-wf-action="invalid"]').count(), 0);
    assert.equal(await admin.isDisabled('#wf-import-apply'), false);
    assert.deepEqual(await names(), ['legacy-1', 'legacy-2']);
    await admin.click('#wf-import-apply');
    await admin.locator('#wf-import-done').waitFor();
    assert.match((await admin.textContent('#wf-import-done'))!, /4.*1.*0/);
    assert.equal(await admin.isDisabled('#wf-import-apply'), true, 'no second import of the same preview');
    assert.deepEqual(await names(), ['legacy-1', 'legacy-2', 'ops-db-1', 'ops-db-2', 'pay-db-1', 'pay-db-2']);
    const legacy = (await server.ctx.instances.list()).find((i) => i.name === 'legacy-1')!;
    assert.equal(legacy.host, '10.0.0.9');

    // The list's tag filter knows the imported tags.
    await admin.click('#wf-import-done a');
    await admin.waitForURL('**/instances');
    await admin.locator('#wf-filter-tag option[value="team:payments"]').waitFor({ state: 'attached' });
    await admin.selectOption('#wf-filter-tag', 'team:payments');
    await admin.waitForFunction(() => (globalThis as any).document.querySelectorAll('#wf-rows tr[data-instance-id]').length === 2);
    const shown = await admin.$$eval('#wf-rows tr[data-instance-id] .wf-name-cell a', (as) => as.map((a) => a.textContent).sort());
    assert.deepEqual(shown, ['pay-db-1', 'pay-db-2']);
    // Export follows the filter; what it gives re-imports as unchanged.
    const href = (await admin.getAttribute('#wf-export-csv', 'href'))!;
    assert.match(href, /format=csv&tag=team%3Apayments/);
    const exported = await (await admin.request.get(href)).text();
    assert.match(exported, /^\uFEFF?name,db_type,host/);
    assert.match(exported, /pay-db-1/);
    assert.doesNotMatch(exported, /ops-db|legacy/);
    assert.doesNotMatch(exported, /not-a-real-one/);
    const yaml = await (await admin.request.get((await admin.getAttribute('#wf-export-yaml', 'href'))!)).text();
    assert.match(yaml, /^instances:/);
    const again = await server.ctx.fleet.import(exported, { format: 'csv', dryRun: true }, actor);
    assert.deepEqual([again.created, again.updated, again.unchanged, again.errors.length], [0, 0, 2, 0]);
  });

  it('a YAML paste previews the same way, and a refused import shows its report', async () => {
    await admin.goto('/instances/import');
    await admin.selectOption('#wf-import-format', 'yaml');
    await admin.fill('#wf-import-text', 'instances:\n  - name: yaml-db\n    db_type: postgresql\n    host: 10.0.0.20\n    port: 0\n');
    await admin.click('#wf-import-preview');
    await admin.locator('[data-wf-import-row="1"][data-wf-action="invalid"]').waitFor();
    assert.equal(await admin.locator('[data-wf-error-row="1"][data-wf-error-field="port"]').count(), 1);
    // A file-level error (YAML syntax) is listed with its line.
    await admin.fill('#wf-import-text', 'instances:\n  - name: [unclosed\n');
    await admin.click('#wf-import-preview');
    await admin.locator('#wf-import-file-error-list').waitFor();
    assert.equal(await admin.locator('#wf-import-rows tr').count(), 0);
    assert.ok(!(await names()).includes('yaml-db'));
  });

  it('viewers get export but neither the import page nor its link', async () => {
    const viewer = await browser.newPage();
    await login(viewer, 'e2e-viewer', PASSWORD);
    assert.equal(await viewer.locator('#wf-import').count(), 0);
    assert.equal(await viewer.locator('#wf-export-csv').count(), 1);
    assert.equal((await viewer.request.get('/instances/import')).status(), 403);
    assert.equal((await viewer.request.post('/api/instances/import?dry_run=true', { headers: { 'content-type': 'text/csv' }, data: csv(GOOD) })).status(), 403);
    await viewer.context().close();
  });

  it('取消 on the instances page stops a batch against targets that never answer: cancelled, the rest skipped or aborted', async () => {
    holeIds = await holeInstances(6);
    const op = await browser.newPage();
    const dialogs: string[] = [];
    op.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await login(op, 'e2e-operator', PASSWORD);
    await op.selectOption('#wf-filter-tag', 'hole');
    await op.waitForFunction(() => (globalThis as any).document.querySelectorAll('#wf-rows tr[data-instance-id]').length === 6);
    await op.check('#wf-select-all');
    await op.click('#wf-batch-sync');
    await op.locator('#wf-batch-cancel').waitFor();
    // Two running, four waiting (concurrency 2).
    await op.waitForFunction(() => /0\/6/.test((globalThis as any).document.getElementById('wf-batch-text')?.textContent ?? ''));
    const sessionId = (await op.getAttribute('#wf-batch-link', 'href'))!.split('/').pop()!;
    await waitRunning(sessionId, 2);
    await op.click('#wf-batch-cancel');
    await op.waitForSelector('#wf-batch[data-wf-finished="cancelled"]', { timeout: 30_000 });
    assert.equal(dialogs.length, 1);
    assert.match((await op.textContent('#wf-batch-text'))!, /失败或中止 2，跳过 4/);
    assert.equal(await op.isVisible('#wf-batch-cancel'), false);
    await screenshot(op, 'instances-batch-cancelled-zh-CN-1440');
    await assertCancelled(op, sessionId, 6);
    await op.context().close();
  });

  it('取消 from the sessions list and from a session page; viewers see no cancel', async () => {
    for (const where of ['list', 'detail'] as const) {
      const started = await server.ctx.capacitySync.startMany(holeIds.slice(0, 4), { syncType: 'manual_batch', actor });
      await waitRunning(started.session_id, 2);
      const viewer = await browser.newPage();
      await login(viewer, 'e2e-viewer', PASSWORD);
      await viewer.goto(where === 'list' ? '/sync-sessions' : `/sync-sessions/${started.session_id}`);
      await viewer
        .locator(where === 'list' ? `[data-wf-session="${started.session_id}"]` : '[data-wf-record]')
        .first()
        .waitFor();
      assert.equal(await viewer.locator('.wf-cancel-session').count(), 0, 'no cancel for viewers');
      await viewer.context().close();
      if (where === 'list') {
        await admin.goto('/sync-sessions');
        const row = admin.locator(`[data-wf-session="${started.session_id}"]`);
        await row.locator('.wf-cancel-session').click();
        await admin.waitForSelector(`[data-wf-session="${started.session_id}"] [data-wf-status="cancelled"]`, { timeout: 30_000 });
        assert.equal(await row.locator('.wf-cancel-session').count(), 0);
        await admin.selectOption('[name="status"]', 'cancelled');
        await admin.waitForFunction(() => (globalThis as any).document.querySelectorAll('[data-wf-session]').length >= 2);
      } else {
        await admin.goto(`/sync-sessions/${started.session_id}`);
        await admin.locator('#wf-s-cancel .wf-cancel-session').click();
        await admin.waitForSelector('#wf-s-status [data-wf-status="cancelled"]', { timeout: 30_000 });
        assert.equal(await admin.locator('#wf-s-cancel .wf-cancel-session').count(), 0);
        await screenshot(admin, 'sync-session-cancelled-zh-CN-1440');
      }
      await started.done;
      await assertCancelled(admin, started.session_id, 4);
    }
  });

  it('screenshots of the import page in zh-CN and English at 1440 and 390 px', async () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      for (const width of [1440, 390]) {
        const page = await browser.newPage({ width, height: 900, locale });
        await login(page, 'e2e-admin', PASSWORD);
        const csrf = ((await (await page.request.get('/api/auth/me')).json()) as { data: { csrf_token: string } }).data.csrf_token;
        assert.equal((await page.request.patch('/api/auth/me', { headers: { 'x-csrftoken': csrf }, data: { locale } })).status(), 200);
        await page.goto('/instances/import');
        assert.equal(await page.getAttribute('html', 'lang'), locale);
        await page.fill('#wf-import-text', csv([...GOOD, ...BAD]));
        await page.click('#wf-import-preview');
        await page.locator('#wf-import-has-errors').waitFor();
        await page.waitForTimeout(300);
        await screenshot(page, `instances-import-${locale}-${width}`);
        await page.goto('/instances');
        await page.locator('#wf-rows tr[data-instance-id]').first().waitFor();
        await screenshot(page, `instances-fleet-${locale}-${width}`);
        await page.context().close();
      }
    }
  });

  it('no console errors, failed requests or CSP violations', () => {
    assert.deepEqual(browser.problems, []);
  });

  /** Wait until `count` records of the session are running (the rest wait their turn). */
  async function waitRunning(sessionId: string, count: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const s = await server.ctx.capacity.session(sessionId);
      if (s.records.filter((r) => r.status === 'running').length >= count) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`session ${sessionId} never had ${count} running records`);
  }

  /** The session page shows `cancelled`, the running records aborted and the rest skipped, counts adding up. */
  async function assertCancelled(page: Page, sessionId: string, total: number): Promise<void> {
    const s = await server.ctx.capacity.session(sessionId);
    assert.equal(s.status, 'cancelled');
    const by = (st: string) => s.records.filter((r) => r.status === st && r.error_code === 'cancelled').length;
    assert.equal(by('failed'), 2, 'the two running records aborted');
    assert.equal(by('skipped'), total - 2, 'the others skipped');
    await page.goto(`/sync-sessions/${sessionId}`);
    await page.waitForSelector('#wf-s-status [data-wf-status="cancelled"]');
    assert.equal(await page.locator('[data-wf-record][data-wf-status="skipped"]').count(), total - 2);
    assert.equal(await page.locator('[data-wf-record][data-wf-status="failed"]').count(), 2);
    const summary = (await page.textContent('#wf-s-cancelled'))!;
    assert.ok(summary.includes(String(total - 2)) && summary.includes('2'), summary);
    assert.equal(await page.locator('.wf-cancel-session').count(), 0);
  }
});
