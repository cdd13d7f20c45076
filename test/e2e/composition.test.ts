/**
 * E2E for the composition bar (issue #21) in headless chromium against the
 * real app and the real PostgreSQL: the instance page before any collection
 * says so, 采集空间构成 collects, the stacked bar has a segment per measured
 * part, the legend names the parts in zh-CN and in English, the instance's
 * runway card is shown, a viewer has no collect button; a part not measured
 * and an unknown ceiling read by key in each language; screenshots in both
 * languages and no console error / failed request / CSP violation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';
import { CompositionRepository } from '../../src/store/composition.repository.js';
import { localDate } from '../../src/lib/clock.js';
import { msg, msgText } from '../../src/client/shared/i18n/index.js';

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
    instId = (
      await ctx.instances.create(
        { name: 'pg-composition', db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', credential_id: cred.id },
        actor,
      )
    ).id;
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
    const api = (await (await admin.request.get(`/api/instances/${instId}/composition`)).json()) as {
      data: { parts: { kind: string; bytes: number | null }[] };
    };
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

  it("a part not measured and an unknown ceiling: the reason by key, in each page's language (issue #20 item 2)", async () => {
    const ctx = server.ctx;
    const cred = await ctx.credentials.create({ name: 'pg-reasons', username: 'postgres', password: 'trust' }, actor);
    const id = (
      await ctx.instances.create(
        { name: 'pg-reasons', db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', credential_id: cred.id },
        actor,
      )
    ).id;
    const wal = msg('composition.reason.pg_waldir', { cause: msg('cause.permission', { detail: 'permission denied for function pg_ls_waldir' }) });
    const ceiling = msg('composition.reason.ora_ceiling_unknown', { count: 1, names: 'ARCHIVE' });
    await new CompositionRepository(ctx.store.db).save({
      instance_id: id,
      collected_date: localDate(ctx.clock.now(), ctx.config.timeZone),
      parts: JSON.stringify([
        { kind: 'heap', bytes: 1048576, detail: null },
        { kind: 'wal', bytes: null, detail: null, reason: msgText(wal), reason_msg: wal },
      ]),
      ceiling_bytes: null,
      ceiling_source: null,
      disk_used_bytes: null,
      ceiling_detail: JSON.stringify({ reason: msgText(ceiling), reason_msg: ceiling }),
      method: 'test',
      collected_at: ctx.clock.now().toISOString(),
    });
    await admin.goto(`/instances/${id}`);
    await admin.locator('#wf-composition-missing').waitFor();
    assert.match(
      await admin.locator('#wf-composition-missing').innerText(),
      /权限不足: permission denied for function pg_ls_waldir \(pg_ls_waldir 需要 superuser 或 pg_monitor/,
    );
    assert.match(await admin.locator('#wf-composition-ceiling').innerText(), /1 个表空间容量未知/);
    const en = await browser.newPage({ locale: 'en' });
    await en.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(en, 'e2e-viewer', PASSWORD);
    await en.goto(`/instances/${id}`);
    await en.locator('#wf-composition-missing').waitFor();
    const missing = await en.locator('#wf-composition-missing').innerText();
    assert.match(missing, /Permission denied: permission denied for function pg_ls_waldir \(pg_ls_waldir needs superuser or pg_monitor/);
    const ceilingText = await en.locator('#wf-composition-ceiling').innerText();
    assert.match(ceilingText, /1 tablespace\(s\) of unknown size: ARCHIVE/);
    assert.doesNotMatch(missing + ceilingText, /[\u4e00-\u9fff]/);
    await screenshot(en, 'composition-reasons-en-1440');
    assert.deepEqual(browser.problems, []);
  });
});
