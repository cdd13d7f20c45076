/**
 * Logins and tokens (issue 17, findings 3 and 6): failed logins delay the one (account, address) pair that
 * failed, never lock the account and never end its sessions; an admin lifts the delays. Tokens end with a
 * password reset or a disabled user, are minted only from a cookie session, and expire by default.
 * The last active admin cannot be demoted or disabled.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const actor = { userId: null, username: 'test' };

describe('login delays per (account, address)', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let now = new Date('2026-11-25T10:00:00Z');
  before(async () => {
    ctx = await newTestContext('sqlite', {
      env: { WHALEFALL_LOGIN_RATE_LIMIT: '1000', WHALEFALL_LOGIN_LOCKOUT_ATTEMPTS: '3', WHALEFALL_LOGIN_LOCKOUT_MINUTES: '15' },
      clock: { now: () => now },
    });
    ({ app, callers } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });
  const login = (username: string, password: string, remoteAddress = '10.0.0.1') =>
    app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, payload: { username, password } });
  const tick = (ms: number) => (now = new Date(now.getTime() + ms));

  it('after 3 free failures each attempt waits 1 s, 2 s, 4 s … (429 + Retry-After), from that address only; sessions live on', async () => {
    await ctx.auth.createUser({ username: 'victim', password: 'Right-Password-1', role: 'admin' }, actor);
    const session = await login('victim', 'Right-Password-1', '10.0.0.9');
    assert.equal(session.statusCode, 200);
    const cookie = `wf_session=${session.cookies.find((c) => c.name === 'wf_session')!.value}`;
    for (let i = 0; i < 3; i++) assert.equal((await login('victim', 'wrong')).statusCode, 401);
    // the third failure was the last free one: the next attempt must wait 1 s
    let r = await login('victim', 'wrong');
    assert.equal(r.statusCode, 401, 'the 4th attempt is checked, and sets a 1 s delay');
    r = await login('victim', 'Right-Password-1');
    assert.equal(r.statusCode, 429, r.body);
    assert.equal(r.json().error_code, 'login_throttled');
    assert.match(r.json().error, /登录失败次数过多.*too many failed logins/);
    assert.equal(r.headers['retry-after'], '1');
    tick(1000);
    assert.equal((await login('victim', 'wrong')).statusCode, 401);
    r = await login('victim', 'wrong');
    assert.equal(r.headers['retry-after'], '2', 'the delay doubles');
    tick(2000);
    assert.equal((await login('victim', 'wrong')).statusCode, 401);
    assert.equal((await login('victim', 'wrong')).headers['retry-after'], '4');
    // another address logs in at once, and the old session still works
    assert.equal((await login('victim', 'Right-Password-1', '10.0.0.2')).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode, 200);
    // the admin sees and lifts the delay
    const u = await ctx.auth.userByName('victim');
    assert.deepEqual(
      ctx.auth.loginDelays('victim').map((d) => d.address),
      ['10.0.0.1'],
    );
    const unlock = await app.inject({ method: 'POST', url: `/api/users/${u.id}/unlock`, headers: { authorization: `Bearer ${callers.admin.bearer}` } });
    assert.equal(unlock.statusCode, 200, unlock.body);
    assert.equal(unlock.json().data.addresses_cleared, 1);
    assert.equal((await login('victim', 'Right-Password-1')).statusCode, 200);
    const viewer = await app.inject({ method: 'POST', url: `/api/users/${u.id}/unlock`, headers: { authorization: `Bearer ${callers.viewer.bearer}` } });
    assert.equal(viewer.statusCode, 403);
  });

  it('delays stop at the configured maximum (15 minutes) and unknown names behave the same', async () => {
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const r = await login('ghost', 'wrong', '10.0.0.3');
      if (r.statusCode === 429) {
        last = Number(r.headers['retry-after']);
        tick(last * 1000);
      }
    }
    assert.equal(last, 15 * 60);
  });
});

describe('behind a proxy trusted for the clients’ own network (PostgreSQL store)', () => {
  let ctx: TestContext;
  let app: TestApp;
  before(async () => {
    ctx = await newTestContext('postgres', {
      env: { WHALEFALL_TRUST_PROXY: '10.0.0.0/8', WHALEFALL_LOGIN_RATE_LIMIT: '1000', WHALEFALL_LOGIN_LOCKOUT_ATTEMPTS: '3' },
    });
    ({ app } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('an X-Forwarded-For longer than an address is cut, not a 500: the failures are logged and counted, the delays hold', async () => {
    await ctx.auth.createUser({ username: 'xff-victim', password: 'Right-Password-1', role: 'viewer' }, actor);
    const forged = `${'A'.repeat(100)}, 10.0.0.7`;
    const login = (password: string) =>
      app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': forged },
        payload: { username: 'xff-victim', password },
      });
    for (let i = 0; i < 4; i++) {
      const r = await login('wrong');
      assert.equal(r.statusCode, 401, r.body);
    }
    assert.equal((await login('Right-Password-1')).statusCode, 429, 'the delay applies to the cut address');
    const rows = await ctx.store.db.selectFrom('audit_log').select(['action', 'source_ip']).where('username', '=', 'xff-victim').execute();
    assert.equal(rows.filter((r) => r.action === 'auth.login_failed').length, 4);
    for (const r of rows) assert.equal(r.source_ip, 'A'.repeat(64));
  });
});

describe('15 failed logins from three loopback addresses over real sockets', () => {
  let ctx: TestContext;
  let app: TestApp;
  let base: string;
  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_LOGIN_RATE_LIMIT: '1000' } });
    ({ app } = await newTestApp(ctx));
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  function post(
    path: string,
    body: unknown,
    localAddress: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string; setCookie: string[] }> {
    return new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = http.request(
        `${base}${path}`,
        { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text, setCookie: res.headers['set-cookie'] ?? [] }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  it('leave the admin session working and the admin able to log in from a fourth address', async () => {
    const first = await post('/api/auth/login', { username: 't-admin', password: 'pw-admin-Secret1' }, '127.0.0.1');
    assert.equal(first.status, 200, first.body);
    const cookie = first.setCookie[0]!.split(';')[0]!;
    const statuses: number[] = [];
    for (const addr of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      for (let i = 0; i < 5; i++) statuses.push((await post('/api/auth/login', { username: 't-admin', password: `wrong-${i}` }, addr)).status);
    }
    assert.deepEqual([...new Set(statuses)], [401], 'five failures per address are all still free (default 10)');
    const me = await fetch(`${base}/api/auth/me`, { headers: { cookie } });
    assert.equal(me.status, 200, 'the live session survives');
    const again = await post('/api/auth/login', { username: 't-admin', password: 'pw-admin-Secret1' }, '127.0.0.5');
    assert.equal(again.status, 200, again.body);
    const audit = await ctx.store.db.selectFrom('audit_log').select('source_ip').where('action', '=', 'auth.login_failed').execute();
    assert.deepEqual([...new Set(audit.map((a) => a.source_ip))].sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  });
});

describe('tokens and the last admin', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  const now = new Date('2026-11-25T10:00:00Z');
  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_TOKEN_DEFAULT_DAYS: '30' }, clock: { now: () => now } });
    ({ app, callers } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });
  const me = (token: string) => app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
  const admin = () => ({ authorization: `Bearer ${callers.admin.bearer}` });

  it('a token cannot mint a token; a cookie session can, with the default expiry', async () => {
    const viaToken = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: { authorization: `Bearer ${callers.operator.bearer}` },
      payload: { name: 'minted' },
    });
    assert.equal(viaToken.statusCode, 403, viaToken.body);
    assert.equal(viaToken.json().error_code, 'token_from_token');
    const viaSession = await app.inject({ method: 'POST', url: '/api/tokens', headers: callers.operator.headers(true), payload: { name: 'script' } });
    assert.equal(viaSession.statusCode, 201, viaSession.body);
    assert.equal(viaSession.json().data.expires_at, '2026-12-25T10:00:00.000Z', '30 days (WHALEFALL_TOKEN_DEFAULT_DAYS)');
  });

  it('expires_in_days: null (never) only for an admin', async () => {
    const op = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: callers.operator.headers(true),
      payload: { name: 'forever', expires_in_days: null },
    });
    assert.equal(op.statusCode, 403, op.body);
    assert.equal(op.json().error_code, 'token_no_expiry');
    const ad = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: callers.admin.headers(true),
      payload: { name: 'forever', expires_in_days: null },
    });
    assert.equal(ad.statusCode, 201, ad.body);
    assert.equal(ad.json().data.expires_at, null);
  });

  it('a password reset and a disabled user revoke every token of that user', async () => {
    for (const change of [{ password: 'Another-Password-9' }, { is_active: false }]) {
      const u = await ctx.auth.createUser({ username: `tok-${Object.keys(change)[0]}`, password: 'First-Password-1', role: 'operator' }, actor);
      const t = (await ctx.auth.createToken(u.id, { name: 'a' }, actor)).token;
      assert.equal((await me(t)).statusCode, 200);
      const res = await app.inject({ method: 'PATCH', url: `/api/users/${u.id}`, headers: admin(), payload: change });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await me(t)).statusCode, 401);
      if ('is_active' in change) {
        await app.inject({ method: 'PATCH', url: `/api/users/${u.id}`, headers: admin(), payload: { is_active: true } });
        assert.equal((await me(t)).statusCode, 401, 'enabling the user again does not revive the token');
      }
      const rows = await ctx.store.db.selectFrom('api_tokens').select('revoked_at').where('user_id', '=', u.id).execute();
      assert.ok(rows.every((r) => r.revoked_at !== null));
    }
  });

  it('the last active admin cannot demote or disable themselves; with a second admin they can', async () => {
    // newTestApp made t-admin; it is the only admin.
    const self = (await ctx.auth.userByName('t-admin')).id;
    for (const change of [{ role: 'operator' }, { is_active: false }]) {
      const res = await app.inject({ method: 'PATCH', url: `/api/users/${self}`, headers: admin(), payload: change });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().error_code, 'last_admin');
    }
    assert.equal((await ctx.auth.userByName('t-admin')).role, 'admin');
    await ctx.auth.createUser({ username: 'second-admin', password: 'Second-Admin-1', role: 'admin' }, actor);
    const res = await app.inject({ method: 'PATCH', url: `/api/users/${self}`, headers: admin(), payload: { role: 'operator' } });
    assert.equal(res.statusCode, 200, res.body);
  });
});
