/**
 * A batch sync asked for when no instance is active (none registered yet, or all disabled): a clear 409 in the
 * caller's language from the API, the same refusal from `whalefall sync --all`, and no empty session left behind.
 * The nightly run still records its (empty) session: that it ran is worth keeping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withCli } from '../helpers/cli.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const actor = { userId: null, username: 'test' };

describe('a batch sync with no active instance', () => {
  let ctx: TestContext;
  let app: TestApp;
  let operator: Caller;

  before(async () => {
    ctx = await newTestContext('sqlite');
    const t = await newTestApp(ctx);
    app = t.app;
    operator = t.callers.operator;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  const sessions = async () => (await ctx.capacity.sessions({})).total;
  const post = (lang: string, payload: object = {}) =>
    app.inject({ method: 'POST', url: '/api/sync/capacity', headers: { ...operator.headers(true), 'accept-language': lang }, payload });

  it("the API answers 409 in the caller's language and makes no session; the same once every instance is disabled", async () => {
    const zh = await post('zh-CN');
    assert.equal(zh.statusCode, 409, zh.body);
    assert.equal(zh.json().error_code, 'conflict');
    assert.equal(zh.json().error, '没有已启用的实例可同步 (no active instance to sync)');
    const en = await post('en');
    assert.equal(en.statusCode, 409);
    assert.equal(en.json().error, 'No active instance to sync');

    await ctx.instances.create({ name: 'off', db_type: 'postgresql', host: '127.0.0.1', port: 5432, is_active: false }, actor);
    assert.equal((await post('en')).statusCode, 409);
    assert.equal(await sessions(), 0, 'no empty session');
  });

  it('`whalefall sync --all` says so and exits 1, no session', async () => {
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_LANG: 'en' }, async (cli) => {
      const r = await cli(['sync', '--all']);
      assert.equal(r.code, 1);
      assert.match(r.err, /No active instance to sync/);
    });
    assert.equal(await sessions(), 0);
  });

  it('the nightly run keeps its session, empty', async () => {
    const s = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    const done = await s.done;
    assert.equal(s.total, 0);
    assert.equal(done.outcomes.length, 0);
    assert.equal(await sessions(), 1);
  });

  // An explicit empty list is not "all": with an active instance, it must not sync it.
  it('`{"instance_ids": []}` is a 400 naming the field in both languages, and starts no session', async () => {
    await ctx.instances.create({ name: 'on', db_type: 'postgresql', host: '127.0.0.1', port: 5432 }, actor);
    const before = await sessions();
    const zh = await post('zh-CN', { instance_ids: [] });
    assert.equal(zh.statusCode, 400, zh.body);
    assert.equal(zh.json().error_code, 'validation');
    assert.match(zh.json().error, /^instance_ids: 请至少给出一个实例 id.*\(give at least one instance id, or no body for every active instance\)$/);
    const en = await post('en', { instance_ids: [] });
    assert.equal(en.statusCode, 400, en.body);
    assert.equal(en.json().error, 'instance_ids: give at least one instance id, or no body for every active instance');
    await assert.rejects(ctx.capacitySync.startMany([], { syncType: 'manual_batch', actor }), /instance_ids/);
    assert.equal(await sessions(), before, 'no session');
  });
});
