/**
 * Every refusal carries its key (issue #20 item 2): not found, bad input (the
 * schema's and the services' checks), not signed in, not allowed, and what the
 * HTTP layer refuses — each with `error_code`, `message_key` and its `params`.
 * `error` is the API's own zh-CN text without Accept-Language and English with
 * `Accept-Language: en`; both are the catalogue's rendering of the key, so the
 * UI (which renders the key) shows the same words in its own language.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isMsg, t, type Locale, type Params } from '../../src/client/shared/i18n/index.js';
import { MESSAGES } from '../../src/client/shared/i18n/messages.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;
type Body = { success?: unknown; error?: string; error_code?: string; message_key?: string; params?: Params };

/** Every key inside a message (a reason or a detail is itself a key): all must be in the catalogue. */
function keysOf(key: string, params: Params | undefined): string[] {
  return [key, ...Object.values(params ?? {}).flatMap((v) => (isMsg(v) ? keysOf(v.key, v.params) : []))];
}

describe('error envelopes carry error_code + message_key + params, in zh-CN and with Accept-Language: en', () => {
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

  /** The request in both languages: same status, code, key and params; the text is the key's in each. */
  async function refused(
    what: string,
    req: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; headers?: Record<string, string>; payload?: unknown },
    expect: { status: number; code: string; key: string; params?: Record<string, unknown> },
  ): Promise<Record<Locale, Body>> {
    const out = {} as Record<Locale, Body>;
    for (const [locale, lang] of [
      ['zh-CN', undefined],
      ['en', 'en-US,en;q=0.9,zh;q=0.5'],
    ] as const) {
      const res = await app.inject({
        method: req.method,
        url: req.url,
        headers: { ...req.headers, ...(lang ? { 'accept-language': lang } : {}) },
        ...(req.payload === undefined ? {} : { payload: req.payload as string | object }),
      });
      const body = res.json<Body>();
      assert.equal(res.statusCode, expect.status, `${what} (${locale}): ${res.body}`);
      assert.equal(body.success, false, what);
      assert.equal(body.error_code, expect.code, `${what} (${locale}): error_code`);
      assert.equal(body.message_key, expect.key, `${what} (${locale}): message_key`);
      for (const k of keysOf(body.message_key!, body.params)) assert.ok(k in MESSAGES, `${what}: ${k} is in the catalogue`);
      if (expect.params) for (const [k, v] of Object.entries(expect.params)) assert.deepEqual(body.params?.[k], v, `${what} (${locale}): params.${k}`);
      assert.equal(body.error, t(locale, body.message_key!, body.params), `${what} (${locale}): error is the key's text`);
      if (locale === 'zh-CN') assert.ok(CJK.test(body.error!), `${what}: the API's own text is Chinese, got ${body.error}`);
      else assert.ok(!CJK.test(body.error!), `${what}: English with Accept-Language: en, got ${body.error}`);
      out[locale] = body;
    }
    return out;
  }

  it('404: an unknown route, a missing instance, a missing credential, a missing user', async () => {
    const admin = callers.admin.headers(false);
    const route = await refused(
      'unknown route',
      { method: 'GET', url: '/api/no-such-thing?x=1', headers: admin },
      {
        status: 404,
        code: 'not_found',
        key: 'api.route_not_found',
        params: { method: 'GET', path: '/api/no-such-thing' },
      },
    );
    assert.equal(route.en.error, 'Not found: GET /api/no-such-thing');
    assert.equal(route['zh-CN'].error, '未找到 GET /api/no-such-thing (not found)');
    const inst = await refused(
      'missing instance',
      { method: 'GET', url: '/api/instances/987654', headers: admin },
      { status: 404, code: 'not_found', key: 'api.instance_not_found', params: { id: 987654 } },
    );
    assert.equal(inst.en.error, 'Instance 987654 not found');
    assert.equal(inst['zh-CN'].error, '实例 987654 不存在 (instance not found)');
    await refused(
      'missing credential',
      { method: 'DELETE', url: '/api/credentials/4242', headers: callers.admin.headers(true) },
      { status: 404, code: 'not_found', key: 'api.credential_not_found', params: { id: 4242 } },
    );
    await refused(
      'missing user',
      { method: 'PATCH', url: '/api/users/4242', headers: callers.admin.headers(true), payload: { role: 'viewer' } },
      { status: 404, code: 'not_found', key: 'api.user_not_found' },
    );
    // The capacity statistics of an instance that does not exist: 404, not zero cards (the runway said 404 already).
    await refused(
      'capacity of a missing instance',
      { method: 'GET', url: '/api/statistics/capacity?instance_id=4242', headers: callers.admin.headers(false) },
      { status: 404, code: 'not_found', key: 'api.instance_not_found', params: { id: 4242 } },
    );
    const rule = await refused(
      'missing alert rule',
      { method: 'DELETE', url: '/api/alert-rules/4242', headers: callers.admin.headers(true) },
      { status: 404, code: 'not_found', key: 'api.alert_rule_not_found', params: { id: 4242 } },
    );
    assert.equal(rule.en.error, 'Alert rule 4242 not found');
    await refused(
      'missing alert event',
      { method: 'GET', url: '/api/alerts/4242', headers: callers.admin.headers(false) },
      { status: 404, code: 'not_found', key: 'api.alert_event_not_found', params: { id: 4242 } },
    );
  });

  it('400: the schema (unknown field, missing field, wrong type) and the services (field + reason by key)', async () => {
    const w = callers.admin.headers(true);
    const unknown = await refused(
      'unknown field',
      { method: 'POST', url: '/api/credentials', headers: w, payload: { name: 'a', username: 'u', password: 'p', colour: 'red' } },
      {
        status: 400,
        code: 'validation',
        key: 'api.validation.invalid',
      },
    );
    assert.deepEqual(unknown.en.params?.detail, { key: 'api.validation.unknown_field', params: { where: 'body', field: 'colour' } });
    assert.equal(unknown.en.error, 'Invalid request: body: unknown field "colour"');
    assert.equal(unknown['zh-CN'].error, '请求参数无效 (invalid request): body: 未知字段 "colour" (unknown field)');

    const missing = await refused(
      'missing field',
      { method: 'POST', url: '/api/credentials', headers: w, payload: { name: 'a', password: 'p' } },
      { status: 400, code: 'validation', key: 'api.validation.invalid' },
    );
    assert.deepEqual(missing.en.params?.detail, { key: 'api.validation.missing', params: { where: 'body', field: 'username' } });

    const type = await refused(
      'wrong type',
      { method: 'POST', url: '/api/credentials', headers: w, payload: { name: 'a', username: 7, password: 'p' } },
      { status: 400, code: 'validation', key: 'api.validation.invalid' },
    );
    assert.equal((type.en.params?.detail as { key: string }).key, 'api.validation.type');

    // One of a few values (a union of literals): the allowed values named, not Ajv's "must be equal to constant".
    const days = await refused(
      'days not one of 7|30|90',
      { method: 'GET', url: '/api/statistics/top-growers?days=8', headers: callers.admin.headers(false) },
      { status: 400, code: 'validation', key: 'api.validation.invalid' },
    );
    assert.equal(days.en.error, 'Invalid request: querystring/days: must be one of 7 | 30 | 90');
    // A date: the form it must take, not its length.
    const from = await refused(
      'a timestamp where a date goes',
      { method: 'GET', url: '/api/sync-sessions?from=2026-12-08T00:00:00Z', headers: callers.admin.headers(false) },
      { status: 400, code: 'validation', key: 'api.validation.invalid' },
    );
    assert.equal(from.en.error, 'Invalid request: querystring/from: must be a YYYY-MM-DD');
    assert.equal(from['zh-CN'].error, '请求参数无效 (invalid request): querystring/from: 必须是 YYYY-MM-DD 格式 (must be a YYYY-MM-DD)');
    // A window that ends before it starts: refused as on every other route with from and to, not an empty list.
    // An engine filter names an engine: db_type=foo was an empty answer on the runway and the capacity statistics.
    for (const url of ['/api/statistics/runway?db_type=foo', '/api/statistics/capacity?db_type=foo']) {
      const bad = await refused(
        url,
        { method: 'GET', url, headers: callers.admin.headers(false) },
        { status: 400, code: 'validation', key: 'api.validation.invalid' },
      );
      assert.match(bad.en.error ?? '', /db_type: must be one of mysql \| mariadb \| postgresql \| sqlserver \| oracle$/);
    }
    const window = await refused(
      'from after to',
      { method: 'GET', url: '/api/sync-sessions?from=2026-12-09&to=2026-12-01', headers: callers.admin.headers(false) },
      { status: 400, code: 'validation', key: 'api.validation.field' },
    );
    assert.equal(window.en.error, 'from: the start date must not be after the end date');

    // A service check: the reason is a key of its own, rendered in the same language.
    const control = await refused(
      'control characters',
      { method: 'POST', url: '/api/credentials', headers: w, payload: { name: 'a\u0007b', username: 'u', password: 'p' } },
      {
        status: 400,
        code: 'validation',
        key: 'api.validation.field',
        params: { field: 'name', reason: { key: 'api.v.control_chars' } },
      },
    );
    assert.equal(control.en.error, 'name: control characters are not allowed');
    assert.equal(control['zh-CN'].error, 'name: 不能包含控制字符 (control characters are not allowed)');

    const host = await refused(
      'bad host',
      { method: 'POST', url: '/api/instances', headers: w, payload: { name: 'h', db_type: 'postgresql', host: 'bad host!', port: 5432 } },
      {
        status: 400,
        code: 'validation',
        key: 'api.validation.field',
        params: { field: 'host', reason: { key: 'api.v.host', params: { host: 'bad host!' } } },
      },
    );
    assert.equal(host.en.error, 'host: "bad host!" is not a valid host name or IP address');

    // Alert rule checks: each reason a key of its own (they were one bilingual string).
    const rule = { instance_id: null, db_type: null, tag: null, database_pattern: null, threshold: null, window: null, consecutive: null, limit_bytes: null };
    const threshold = await refused(
      'alert threshold out of range',
      { method: 'POST', url: '/api/alert-rules', headers: w, payload: { ...rule, name: 'r1', kind: 'days_until_full', threshold: 0 } },
      {
        status: 400,
        code: 'validation',
        key: 'api.validation.field',
        params: { field: 'threshold', reason: { key: 'api.v.alert.number', params: { min: 1, max: 3650 } } },
      },
    );
    assert.equal(threshold.en.error, 'threshold: must be a number from 1 to 3650');
    assert.equal(threshold['zh-CN'].error, 'threshold: 必须是 1–3650 之间的数字 (a number from 1 to 3650)');
    const secret = await refused(
      'alert secret on a plain webhook',
      {
        method: 'POST',
        url: '/api/alert-rules',
        headers: w,
        payload: { ...rule, name: 'r2', kind: 'database_disappeared', channels: [{ type: 'slack', url: 'https://hooks.example.com/x', secret: 's' }] },
      },
      {
        status: 400,
        code: 'validation',
        key: 'api.validation.field',
      },
    );
    assert.equal((secret.en.params?.reason as { key: string }).key, 'api.v.alert.secret_signing_only');
    await refused(
      'alert window on a size rule',
      { method: 'POST', url: '/api/alert-rules', headers: w, payload: { ...rule, name: 'r3', kind: 'size_above', threshold: 5, window: 'day' } },
      {
        status: 400,
        code: 'validation',
        key: 'api.validation.field',
        params: { field: 'window', reason: { key: 'api.v.alert.growth_only' } },
      },
    );

    await refused(
      'bad date',
      { method: 'GET', url: '/api/export/database-sizes.csv?from=2026-13-40', headers: callers.admin.headers(false) },
      { status: 400, code: 'validation', key: 'api.validation.field' },
    );
    await refused(
      'not JSON',
      { method: 'POST', url: '/api/credentials', headers: { ...w, 'content-type': 'application/json' }, payload: '{nope' },
      { status: 400, code: 'invalid_json', key: 'api.http.invalid_json' },
    );
  });

  it('401: not signed in, a revoked or unknown token, a wrong password', async () => {
    const anon = await refused('not signed in', { method: 'GET', url: '/api/instances' }, { status: 401, code: 'unauthorized', key: 'api.auth.required' });
    assert.equal(anon['zh-CN'].error, '请先登录 (authentication required)');
    await refused(
      'unknown token',
      { method: 'GET', url: '/api/instances', headers: { authorization: 'Bearer wf_not-a-token' } },
      { status: 401, code: 'unauthorized', key: 'api.auth.bad_token' },
    );
    await refused(
      'wrong password',
      { method: 'POST', url: '/api/auth/login', payload: { username: 't-viewer', password: 'wrong-password-1' } },
      { status: 401, code: 'unauthorized', key: 'api.auth.wrong_password' },
    );
  });

  it('403: a role too low, a cookie write without X-CSRFToken, a token made with a token', async () => {
    const role = await refused(
      'viewer deletes',
      { method: 'DELETE', url: '/api/credentials/1', headers: callers.viewer.headers(true) },
      { status: 403, code: 'forbidden', key: 'api.auth.role', params: { role: 'admin' } },
    );
    assert.equal(role.en.error, 'Not allowed: requires role admin');
    await refused(
      'no CSRF header',
      { method: 'POST', url: '/api/credentials', headers: callers.admin.headers(false), payload: { name: 'a', username: 'u', password: 'p' } },
      { status: 403, code: 'forbidden', key: 'api.auth.csrf' },
    );
    await refused(
      'token from token',
      { method: 'POST', url: '/api/tokens', headers: { authorization: `Bearer ${callers.admin.bearer!}` }, payload: { name: 'x' } },
      { status: 403, code: 'token_from_token', key: 'api.auth.token_from_token' },
    );
  });

  it('a request the HTTP parser refuses (malformed, headers too large): English when its bytes carry Accept-Language: en', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as net.AddressInfo).port;
    const raw = (text: string) =>
      new Promise<{ status: number; body: Body }>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(text));
        let buf = '';
        s.on('data', (d) => (buf += d.toString('utf8')));
        s.on('close', () => resolve({ status: Number(buf.split(' ')[1]), body: JSON.parse(buf.split('\r\n\r\n')[1]!) as Body }));
        s.on('error', reject);
      });
    const malformed = (lang: string) => `GET /api/instances HTTP/1.1\r\nHost: x\r\n${lang}Bad Header Line\r\n\r\n`;
    const zh = await raw(malformed(''));
    const en = await raw(malformed('Accept-Language: en-GB,en;q=0.9\r\n'));
    assert.deepEqual(
      [zh.status, zh.body.error_code, zh.body.message_key, zh.body.error],
      [400, 'bad_request', 'api.http.malformed', t('zh-CN', 'api.http.malformed')],
    );
    assert.deepEqual([en.status, en.body.message_key, en.body.error], [400, 'api.http.malformed', 'Malformed HTTP request']);
    const big = await raw(`GET /api/instances HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.deepEqual([big.status, big.body.message_key, big.body.error], [431, 'api.http.headers_too_large', 'The request headers are too large']);
    assert.ok(!CJK.test(big.body.error!));
  });

  it("an import report's row and file errors: each by key, message in the request's language (a dry run and a refused file)", async () => {
    const w = { ...callers.admin.headers(true), 'content-type': 'text/csv' };
    const csv =
      'name,db_type,host,port,is_active,tags,options,credential,colour\nok1,postgresql,db1,5432,true,a,,,x\nbad1,nosuch,db2,99999,maybe,[x,{,ghost,x\nok1,postgresql,db3,5432,true,,,,x\nshort,mysql\n';
    const yaml = 'instances:\n  - name: y1\n    db_type: postgresql\n    host: h\n    shade: blue\n  - just a string\n';
    for (const [format, body, url] of [
      ['csv', csv, '/api/instances/import?dry_run=true'],
      ['csv', csv, '/api/instances/import'],
      ['yaml', yaml, '/api/instances/import?format=yaml&dry_run=true'],
      ['yaml', 'instances: [a: 1\n', '/api/instances/import?format=yaml&dry_run=true'],
      ['csv', 'name,db_type,host\n"open,x,y\n', '/api/instances/import?dry_run=true'],
    ] as const) {
      const keys: Record<Locale, string[]> = { 'zh-CN': [], en: [] };
      for (const [locale, lang] of [
        ['zh-CN', undefined],
        ['en', 'en'],
      ] as const) {
        const res = await app.inject({
          method: 'POST',
          url,
          headers: { ...w, ...(format === 'yaml' ? { 'content-type': 'application/yaml' } : {}), ...(lang ? { 'accept-language': lang } : {}) },
          payload: body,
        });
        const json = res.json<{ data: { errors: { message: string; message_key: string; params?: Params }[] } }>();
        const errors = json.data.errors;
        assert.ok(errors.length > 0, `${format} ${url}: errors reported: ${res.body}`);
        for (const e of errors) {
          for (const k of keysOf(e.message_key, e.params)) assert.ok(k in MESSAGES, `${k} is in the catalogue`);
          assert.equal(e.message, t(locale, e.message_key, e.params), `${url} (${locale}): message is the key's text`);
          if (locale === 'zh-CN') assert.ok(CJK.test(e.message), `zh-CN: ${e.message}`);
          else assert.ok(!CJK.test(e.message), `en: ${e.message}`);
        }
        keys[locale] = errors.map((e) => e.message_key);
      }
      assert.deepEqual(keys.en, keys['zh-CN'], 'the same errors in both languages');
    }
    const en = await app.inject({ method: 'POST', url: '/api/instances/import?dry_run=true', headers: { ...w, 'accept-language': 'en' }, payload: csv });
    const messages = en.json<{ data: { errors: { message: string }[] } }>().data.errors.map((e) => e.message);
    for (const m of [
      'unknown column "colour" (known: name, db_type, host, port, database_name, credential, is_active, description, tags, options)',
      '"maybe" must be true or false (true/false, yes/no, 1/0)',
      'a tags cell starting with [ must be a JSON array',
      'must be a JSON object, such as {"connect_timeout_ms": 5000}',
      'no credential has this name (see GET /api/credentials)',
      'the name "ok1" is already used by row 2',
      '2 cells; the header has 9',
    ]) {
      assert.ok(messages.includes(m), `${m} in ${messages.join(' | ')}`);
    }
  });
});
