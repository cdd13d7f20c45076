import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { addInstance, alertStack, setInstanceTotal, type AlertStack } from './helpers.js';

/** The alert routes as buildApp registers them. */
describe('alerts API', () => {
  let ctx: TestContext;
  let s: AlertStack;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const bearer: Record<string, string> = {};
  const as = (role: string) => ({ authorization: `Bearer ${bearer[role]}` });

  before(async () => {
    ctx = await newTestContext('sqlite');
    s = await alertStack(ctx);
    app = await buildApp(ctx);
    await app.ready();
    for (const role of ['viewer', 'admin'] as const) {
      const u = await ctx.auth.createUser({ username: `a-${role}`, password: `pw-${role}-Secret1`, role }, { userId: null, username: 'test' });
      bearer[role] = (await ctx.auth.createToken(u.id, { name: 't' }, { userId: null, username: 'test' })).token;
    }
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  test('rules CRUD (admin), reads (viewer), events paged and filtered, URLs masked', async () => {
    const inst = await addInstance(ctx);
    const body = {
      name: 'api-rule',
      kind: 'size_above',
      instance_id: inst.id,
      threshold: 10,
      channels: [{ type: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=TOKEN-XYZ' }],
    };
    let r = await app.inject({ method: 'POST', url: '/api/alert-rules', headers: as('viewer'), payload: body });
    assert.equal(r.statusCode, 403);
    r = await app.inject({ method: 'POST', url: '/api/alert-rules', headers: as('admin'), payload: { ...body, threshold: -5 } });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error, /^threshold: /);
    r = await app.inject({ method: 'POST', url: '/api/alert-rules', headers: as('admin'), payload: { ...body, kind: 'bogus' } });
    assert.equal(r.statusCode, 400);
    r = await app.inject({ method: 'POST', url: '/api/alert-rules', headers: as('admin'), payload: body });
    assert.equal(r.statusCode, 201, r.body);
    const id = r.json().data.id as number;
    assert.equal(r.body.includes('TOKEN-XYZ'), false);
    r = await app.inject({ method: 'POST', url: '/api/alert-rules', headers: as('admin'), payload: body });
    assert.equal(r.statusCode, 409);

    r = await app.inject({ method: 'GET', url: '/api/alert-rules', headers: as('viewer') });
    assert.equal(r.statusCode, 200);
    // The new rule and the default sync_failing rule every store starts with (migration 0023).
    assert.deepEqual(
      r
        .json()
        .data.map((x: { kind: string }) => x.kind)
        .sort(),
      [body.kind, 'sync_failing'].sort(),
    );
    assert.equal(r.body.includes('TOKEN-XYZ'), false);

    r = await app.inject({ method: 'PATCH', url: `/api/alert-rules/${id}`, headers: as('admin'), payload: { threshold: 20 } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().data.threshold, 20);

    await setInstanceTotal(ctx, inst.id, new Date().toISOString().slice(0, 10), 50);
    await s.alerts.evaluate();
    r = await app.inject({ method: 'GET', url: '/api/alerts?state=firing&limit=10', headers: as('viewer') });
    assert.equal(r.statusCode, 200);
    const page = r.json().data;
    assert.equal(page.total, 1);
    assert.equal(page.items[0].rule_name, 'api-rule');
    r = await app.inject({ method: 'GET', url: '/api/alerts?state=resolved', headers: as('viewer') });
    assert.equal(r.json().data.total, 0);
    r = await app.inject({ method: 'GET', url: '/api/alerts?state=nope', headers: as('viewer') });
    assert.equal(r.statusCode, 400);

    r = await app.inject({ method: 'GET', url: `/api/alerts/${page.items[0].id}`, headers: as('viewer') });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().data.deliveries.length, 1);
    assert.equal(r.json().data.deliveries[0].url, 'https://oapi.dingtalk.com/robot/send?***');
    assert.equal(r.body.includes('TOKEN-XYZ'), false);
    r = await app.inject({ method: 'GET', url: '/api/alerts/999999', headers: as('viewer') });
    assert.equal(r.statusCode, 404);

    r = await app.inject({ method: 'DELETE', url: `/api/alert-rules/${id}`, headers: as('viewer') });
    assert.equal(r.statusCode, 403);
    r = await app.inject({ method: 'DELETE', url: `/api/alert-rules/${id}`, headers: as('admin') });
    assert.equal(r.statusCode, 200);
    r = await app.inject({ method: 'DELETE', url: `/api/alert-rules/${id}`, headers: as('admin') });
    assert.equal(r.statusCode, 404);
  });
});
