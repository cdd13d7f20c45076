/**
 * Live batch progress (issue #20 item 4), in chromium: a batch of 20
 * instances — 19 on the real PostgreSQL, one behind a black hole that
 * accepts and never answers — started from 批量同步. The page polls
 * the session's summary (its counts, not its records: GET
 * /api/sync-sessions/:id/summary); at every poll the counters add up and
 * never go back, they move before the session ends, the page shows them with
 * the elapsed time and an estimate of the rest, and the page's last counters
 * are the session's final ones. zh-CN at 1440 px, English at 390 px.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startBlackHole } from '../helpers/targets.js';
import { login, openBrowser, screenshot, startServer, type Server, type Session } from './browser.js';

const ADMIN = { username: 'e2e-admin', password: 'E2e-admin-pass1' };
const actor = { userId: null, username: 'e2e' };
const CONNECT_TIMEOUT_MS = 4000;

interface Poll {
  status: string;
  total_instances: number;
  successful_instances: number;
  failed_instances: number;
  elapsed_ms: number | null;
  running_instances: number;
  remaining_ms_estimate: number | null;
  records?: unknown;
}

describe('batch progress adds up (chromium)', () => {
  let server: Server;
  let browser: Session;
  let hole: Awaited<ReturnType<typeof startBlackHole>>;

  before(async () => {
    hole = await startBlackHole();
    server = await startServer({ WHALEFALL_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), WHALEFALL_SYNC_RETRIES: '0', WHALEFALL_SYNC_CONCURRENCY: '4' });
    await server.ctx.auth.createUser({ ...ADMIN, role: 'admin' }, actor);
    const cred = await server.ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'trust' }, actor);
    for (let i = 0; i < 19; i++) {
      await server.ctx.instances.create(
        {
          name: `pg-${String(i).padStart(2, '0')}`,
          db_type: 'postgresql',
          host: '127.0.0.1',
          port: 5432,
          credential_id: cred.id,
          options: { exclude: ['wf_t_%'] },
        },
        actor,
      );
    }
    await server.ctx.instances.create({ name: 'pg-black-hole', db_type: 'postgresql', host: '127.0.0.1', port: hole.port, credential_id: cred.id }, actor);
    browser = await openBrowser(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await hole?.close();
  });

  const runBatch = async (page: Page, shot: string, texts: { progress: RegExp; finished: RegExp }) => {
    const polls: Poll[] = [];
    const full: string[] = [];
    page.on('response', (res) => {
      const at = new URL(res.url()).pathname;
      if (/^\/api\/sync-sessions\/[0-9a-f-]+\/summary$/.test(at)) void res.json().then((b: { data: Poll }) => polls.push(b.data));
      if (/^\/api\/sync-sessions\/[0-9a-f-]+$/.test(at)) full.push(at);
    });
    await page.goto('/instances');
    await page.waitForSelector('tr[data-instance-id]');
    await page.click('#wf-batch-sync');
    await page.waitForSelector('#wf-batch[data-wf-finished]', { timeout: 120_000 });
    const finished = await page.getAttribute('#wf-batch', 'data-wf-finished');
    assert.equal(finished, 'partial');
    assert.match(await page.innerText('#wf-batch-text'), texts.finished);
    await screenshot(page, shot);
    assert.deepEqual(full, [], 'the progress bar reads no record (the summary, not the whole session)');
    return polls;
  };

  const checkPolls = (polls: Poll[]) => {
    assert.ok(polls.length >= 3, `polled ${polls.length} times`);
    let before = { ok: 0, failed: 0 };
    for (const p of polls) {
      assert.equal(p.records, undefined, 'a summary has no records');
      assert.equal(p.total_instances, 20);
      assert.ok(p.successful_instances + p.failed_instances + p.running_instances <= 20, `counters add up (${JSON.stringify(p)})`);
      assert.ok(p.successful_instances >= before.ok && p.failed_instances >= before.failed, 'counters never go back');
      before = { ok: p.successful_instances, failed: p.failed_instances };
      assert.ok(p.elapsed_ms !== null && p.elapsed_ms >= 0);
    }
    const running = polls.filter((p) => p.status === 'running');
    assert.ok(
      running.some((p) => p.successful_instances > 0),
      'the counters moved before the session ended',
    );
    assert.ok(
      running.some((p) => p.remaining_ms_estimate !== null && p.remaining_ms_estimate > 0),
      'an estimate of the rest while running',
    );
    const last = polls[polls.length - 1]!;
    assert.deepEqual([last.status, last.successful_instances, last.failed_instances], ['partial', 19, 1]);
  };

  it('zh-CN at 1440 px: every poll adds up, the page shows elapsed time and an estimate', async () => {
    const page = await browser.newPage();
    await login(page, ADMIN.username, ADMIN.password);
    let seenTiming = false;
    const watch = setInterval(() => {
      void page
        .innerText('#wf-batch-text')
        .then((txt) => {
          if (/已用 .+，预计还需 /.test(txt)) seenTiming = true;
        })
        .catch(() => {});
    }, 200);
    const polls = await runBatch(page, 'batch-progress-zh-CN-1440', { progress: /完成/, finished: /成功 19，失败 1/ });
    clearInterval(watch);
    checkPolls(polls);
    assert.ok(seenTiming, 'the page showed the elapsed time and the estimate while running');
  });

  it('English at 390 px', async () => {
    const page = await browser.newPage({ width: 390, height: 844, locale: 'en' });
    await page.context().addCookies([{ name: 'wf_lang', value: 'en', url: server.url }]);
    await login(page, ADMIN.username, ADMIN.password);
    const polls = await runBatch(page, 'batch-progress-en-390', { progress: /done/, finished: /19 succeeded, 1 failed/ });
    checkPolls(polls);
    assert.deepEqual(browser.problems, []);
  });
});
