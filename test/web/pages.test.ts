/**
 * Server side of the web UI without a browser: every dictionary key used by
 * a view or a client module exists in both languages; pages redirect
 * anonymous callers to /login; error pages show the server's message;
 * user data is escaped in server-rendered HTML; the language is per user.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MESSAGES } from '../../src/client/shared/i18n/messages.js';
import { t } from '../../src/client/shared/i18n/index.js';
import { safeNext } from '../../src/http/pages/pages.routes.js';
import { formatBytesChange, formatDateTime } from '../../src/client/shared/format.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const VIEWS = path.resolve('src/http/pages/views');
const CLIENT = path.resolve('src/client');

describe('web pages', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({ app, callers } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('every key used in views and client modules is in the dictionary, in both languages', () => {
    const files = [
      ...fs.readdirSync(VIEWS).map((f) => path.join(VIEWS, f)),
      ...fs
        .readdirSync(CLIENT)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(CLIENT, f)),
    ];
    const used = new Set<string>();
    for (const f of files) for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bt\('([a-z_0-9-]+\.[A-Za-z_0-9.-]+)'/g)) used.add(m[1]!);
    assert.ok(used.size > 50, `${used.size} keys found`);
    const missing = [...used].filter((k) => !(k in MESSAGES));
    assert.deepEqual(missing, []);
    const noEnglish = Object.entries(MESSAGES)
      .filter(([, v]) => !(v as { en?: string }).en)
      .map(([k]) => k);
    assert.deepEqual(noEnglish, []);
    assert.equal(t('en', 'common.page_info', { from: 1, to: 2, total: 3 }), '1–2 of 3');
    assert.equal(t('zh-CN', 'instances.sync_capacity'), '同步容量');
  });

  it('formats dates in the configured time zone and sizes with one formatter', () => {
    assert.equal(formatDateTime('2026-01-01T16:30:00.000Z', 'zh-CN', 'Asia/Shanghai'), '2026-01-02 00:30');
    assert.equal(formatDateTime('2026-01-01T16:30:00.000Z', 'en', 'Asia/Shanghai'), 'Jan 2, 2026, 00:30');
    assert.equal(formatDateTime(null, 'en', 'UTC'), '—');
    assert.equal(formatBytesChange(1536), '+1.50 KB');
    assert.equal(formatBytesChange(-1024 * 1024 * 3), '-3.00 MB');
  });

  it('only local paths are redirect targets after login', () => {
    assert.equal(safeNext('/instances/3'), '/instances/3');
    assert.equal(safeNext('//evil.example/'), '/instances');
    assert.equal(safeNext('https://evil.example/'), '/instances');
    assert.equal(safeNext('/\\evil.example'), '/instances');
    assert.equal(safeNext('/a/b?c=1#d'), '/a/b?c=1#d');
  });

  it('open-redirect payloads: what the login page hands the browser resolves to this origin (WHATWG URL parser)', async () => {
    // Each is the raw query string; the browser's location.assign(next) resolves next against the login page's URL.
    const payloads = [
      '/%09/other-host/phish',
      '/%0A/other-host/phish',
      '/%0D/other-host',
      '/%09%5Cother-host/phish',
      '/%5C%5Cother-host',
      '/%5Cother-host',
      '%5C%5Cother-host',
      '/%2F/other-host',
      '/%20/other-host',
      '/.%0A./other-host',
      'javascript:alert(1)',
      '/%00/other-host',
      '/%E2%80%A8/x',
    ];
    const page = 'http://127.0.0.1:3000/login';
    for (const p of payloads) {
      const res = await app.inject({ method: 'GET', url: `/login?next=${p}` });
      assert.equal(res.statusCode, 200, p);
      const raw = /data-next="([^"]*)"/.exec(res.body)?.[1] ?? '';
      const next = raw
        .replace(/&#39;/g, "'")
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
      const target = new URL(next, page);
      assert.equal(target.origin, 'http://127.0.0.1:3000', `${p} → ${JSON.stringify(next)} → ${target.href}`);
    }
  });

  it('redirects anonymous page requests to /login with the way back', async () => {
    const res = await app.inject({ method: 'GET', url: '/instances/7?x=1' });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/login?next=%2Finstances%2F7%3Fx%3D1');
    const login = await app.inject({ method: 'GET', url: '/login?next=%2Finstances%2F7' });
    assert.equal(login.statusCode, 200);
    assert.match(login.body, /data-next="\/instances\/7"/);
    assert.doesNotMatch(login.body, /<script>(?!<\/script>)[^<]/, 'no inline script');
  });

  it('an unknown instance renders the error page with the server message (404, HTML)', async () => {
    const res = await app.inject({ method: 'GET', url: '/instances/999999', headers: callers.viewer.headers(false) });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /实例 999999 不存在 \(instance not found\)/);
  });

  it("error pages are in the page's language with a human message: an unknown id, a malformed id or uuid", async () => {
    const zh = callers.viewer.headers(false);
    const en = { cookie: `${zh.cookie}; wf_lang=en` };
    const unknown = await app.inject({ method: 'GET', url: '/instances/999999', headers: en });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.body, /Instance 999999 not found/);
    assert.doesNotMatch(unknown.body, /不存在/);
    for (const url of ['/instances/abc', '/sync-sessions/nonexist']) {
      for (const [headers, text] of [
        [en, /There is no page at \/(instances\/abc|sync-sessions\/nonexist)/],
        [zh, /页面 \/(instances\/abc|sync-sessions\/nonexist) 不存在/],
      ] as const) {
        const res = await app.inject({ method: 'GET', url, headers });
        assert.equal(res.statusCode, 404, `${url}: ${res.body.slice(0, 200)}`);
        assert.match(res.body, text, url);
        assert.doesNotMatch(res.body, /params\/id|must be integer|must match format/, url);
      }
    }
  });

  it('a mistyped page URL in a browser gets the HTML 404 page, a forbidden page the HTML 403; API routes keep JSON', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const page = await app.inject({ method: 'GET', url: '/instancs?x=<b>', headers: { ...callers.viewer.headers(false), ...html } });
    assert.equal(page.statusCode, 404);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /页面 \/instancs 不存在/);
    assert.match(page.body, /id="wf-user"/, 'the navbar of a signed-in user');
    const anon = await app.inject({ method: 'GET', url: '/nope', headers: { ...html, cookie: 'wf_lang=en' } });
    assert.equal(anon.statusCode, 404);
    assert.match(anon.body, /There is no page at \/nope/);
    // API clients and /api/… stay JSON, even from a browser.
    for (const [url, headers] of [
      ['/instancs', {}],
      ['/api/nope', html],
      ['/api/instances/x/y', html],
      ['/static/nope.js', html],
    ] as const) {
      const res = await app.inject({ method: 'GET', url, headers });
      assert.equal(res.statusCode, 404, url);
      assert.doesNotMatch(String(res.headers['content-type']), /text\/html/, url);
    }
    const post = await app.inject({ method: 'POST', url: '/nope', headers: html });
    assert.equal(post.json().error_code, 'not_found');
    const forbidden = await app.inject({ method: 'GET', url: '/settings', headers: { ...callers.viewer.headers(false), ...html } });
    assert.equal(forbidden.statusCode, 403);
    assert.match(String(forbidden.headers['content-type']), /text\/html/);
    assert.match(forbidden.body, /没有权限/);
    const forbiddenApi = await app.inject({ method: 'GET', url: '/api/users', headers: { ...callers.viewer.headers(false), ...html } });
    assert.equal(forbiddenApi.statusCode, 403);
    assert.equal(forbiddenApi.json().success, false);
  });

  it('escapes user data in server-rendered pages and shows role-based buttons only', async () => {
    const inst = await ctx.instances.create(
      { name: '<img src=x onerror=alert(1)>', db_type: 'postgresql', host: '127.0.0.1', description: '<b>bold</b>' },
      { userId: null, username: 't' },
    );
    const viewer = await app.inject({ method: 'GET', url: `/instances/${inst.id}`, headers: callers.viewer.headers(false) });
    assert.equal(viewer.statusCode, 200);
    assert.doesNotMatch(viewer.body, /<img src=x/);
    assert.match(viewer.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.doesNotMatch(viewer.body, /<b>bold<\/b>/);
    assert.doesNotMatch(viewer.body, /id="wf-sync-capacity"/);
    const operator = await app.inject({ method: 'GET', url: `/instances/${inst.id}`, headers: callers.operator.headers(false) });
    assert.match(operator.body, /id="wf-sync-capacity"/);
    const list = await app.inject({ method: 'GET', url: '/instances', headers: callers.operator.headers(false) });
    assert.match(list.body, /id="wf-batch-sync"/);
    assert.doesNotMatch(list.body, /id="wf-add-instance"/);
    const adminList = await app.inject({ method: 'GET', url: '/instances', headers: callers.admin.headers(false) });
    assert.match(adminList.body, /id="wf-add-instance"/);
    assert.match(adminList.headers['content-security-policy'] as string, /script-src 'self'/);
  });

  it('remembers the language per user (PATCH /api/auth/me) and refuses an unknown one', async () => {
    const bad = await app.inject({ method: 'PATCH', url: '/api/auth/me', headers: callers.viewer.headers(true), payload: { locale: 'fr' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /zh-CN \| en/);
    const ok = await app.inject({ method: 'PATCH', url: '/api/auth/me', headers: callers.viewer.headers(true), payload: { locale: 'en' } });
    assert.equal(ok.statusCode, 200, ok.body);
    const page = await app.inject({ method: 'GET', url: '/instances', headers: callers.viewer.headers(false) });
    assert.match(page.body, /<html lang="en">/);
    assert.match(page.body, /Log out/);
    const other = await app.inject({ method: 'GET', url: '/instances', headers: callers.operator.headers(false) });
    assert.match(other.body, /<html lang="zh-CN">/);
    const anon = await app.inject({ method: 'GET', url: '/login', headers: { cookie: 'wf_lang=en' } });
    assert.match(anon.body, /<html lang="en">/);
  });

  it('serves the client bundle, Bootstrap and Font Awesome locally, and nothing outside them', async () => {
    for (const url of ['/static/app/instances.page.js', '/static/vendor/bootstrap/js/bootstrap.bundle.min.js', '/static/vendor/fontawesome/css/all.min.css']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
    }
    for (const url of [
      '/static/vendor/bootstrap/..%2F..%2Fpackage.json',
      '/static/vendor/fontawesome/css/..%2F..%2F..%2F..%2Fpackage.json',
      '/static/css/app.css.map',
      '/static/app/..%2Fbuild.ts',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
    }
  });
});
