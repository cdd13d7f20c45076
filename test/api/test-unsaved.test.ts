/**
 * POST /api/instances/test-connection with unsaved settings (issue #20 item
 * 3): the add/edit form's settings are tested as they are — a stored
 * credential or a user name and password typed in the form — and nothing is
 * written: no instance, no credential, no audit row; the password is never
 * returned or logged. Against the real PostgreSQL; a closed port for the
 * failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { closedPort } from '../helpers/targets.js';

const SECRET = 'typed-in-the-form-Secret9';

describe('test-connection with unsaved settings', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let operator: Caller;
  let credId: number;
  let instanceId: number;
  const actor = { userId: null, username: 'test' };

  /** Every row of the tables a save would write. */
  const snapshot = async () =>
    JSON.stringify(
      await Promise.all((['instances', 'credentials', 'audit_log', 'sync_sessions'] as const).map((t) => ctx.store.db.selectFrom(t).selectAll().execute())),
    );
  const post = (who: Caller, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/api/instances/test-connection', headers: who.headers(true), payload });

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin, operator },
    } = await newTestApp(ctx));
    credId = (await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'trust' }, actor)).id;
    instanceId = (
      await ctx.instances.create({ name: 'stored', db_type: 'postgresql', host: '127.0.0.1', port: await closedPort(), credential_id: credId }, actor)
    ).id;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('tests typed-in settings with an inline password: version and grants, nothing written, the password nowhere', async () => {
    const before = await snapshot();
    const res = await post(admin, { name: 'new-pg', db_type: 'postgresql', host: '127.0.0.1', port: 5432, username: 'postgres', password: SECRET });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.match(body.message, /^连接成功 \(\d+\.\d+/);
    assert.ok(body.data.latency_ms >= 0);
    assert.equal(typeof body.data.doctor.ok, 'boolean');
    assert.ok(body.data.doctor.checks.length > 0);
    assert.equal(await snapshot(), before, 'nothing written');
    assert.ok(!res.body.includes(SECRET));
    assert.ok(!ctx.logs.join('').includes(SECRET), 'the password is not logged');
  });

  it('a failed test says why and writes nothing', async () => {
    const before = await snapshot();
    const res = await post(admin, { db_type: 'postgresql', host: '127.0.0.1', port: await closedPort(), username: 'postgres', password: SECRET });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /无法连接到实例/);
    assert.ok(!res.body.includes(SECRET));
    assert.equal(await snapshot(), before);
  });

  it('the edit form: the stored instance with the fields changed in the form, its stored credential', async () => {
    const before = await snapshot();
    // Stored with a closed port; the form says 5432: the form wins, the stored credential is used.
    const res = await post(admin, { instance_id: instanceId, port: 5432 });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await ctx.instances.get(instanceId)).port !== 5432, true, 'the stored instance is unchanged');
    assert.equal(await snapshot(), before);
  });

  it('refuses bad input clearly: no credential, half a credential, a selection mixed in, a bad host', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ db_type: 'postgresql', host: '127.0.0.1' }, /credential_id/],
      [{ db_type: 'postgresql', host: '127.0.0.1', username: 'postgres' }, /password/],
      [{ db_type: 'postgresql', host: '127.0.0.1', credential_id: credId, ids: [instanceId] }, /not both/],
      [{ db_type: 'postgresql', host: 'a b', credential_id: credId }, /host/],
      [{ db_type: 'postgresql', host: '127.0.0.1', credential_id: 999_999 }, /credential/],
    ];
    for (const [payload, msg] of cases) {
      const res = await post(admin, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.match(res.json().error, msg);
    }
  });

  it('unsaved settings need admin (like saving them); the operator keeps the test of registered instances', async () => {
    const res = await post(operator, { db_type: 'postgresql', host: '127.0.0.1', username: 'postgres', password: SECRET });
    assert.equal(res.statusCode, 403);
    const bulk = await post(operator, { ids: [instanceId] });
    assert.equal(bulk.statusCode, 200);
  });
});
