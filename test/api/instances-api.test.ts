/**
 * Instances and credentials through the HTTP API, as an admin with a bearer
 * token: CRUD, the write-only password (never in a response, never in the
 * audit log), input validation (a 400 naming the field, and nothing stored),
 * 404/400 on ids, the seed's total-sizes and manual-sync refusals; then the
 * login surface: no hint on a wrong password, rate limit, cookie flags and
 * security headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import { newTestApp, newTestContext, type TestApp, type TestContext } from '../helpers/context.js';

const SECRET = 'Pw-canary-7f3a9c1e-never-echo';
const SECRET2 = 'Pw-canary-2-密码-🐳-b8d04e';

type Json = Record<string, unknown>;
interface Res {
  status: number;
  body: string;
  json: Json;
}

/** Any `password`-ish key anywhere in a JSON value. */
function secretKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretKeys(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [...(/^password|password_enc$/.test(k) ? [`${path}.${k}`] : []), ...secretKeys(v, `${path}.${k}`)]);
  }
  return [];
}

function assertNoSecret(res: Res, what: string): void {
  for (const s of [SECRET, SECRET2]) {
    assert.ok(!res.body.includes(s), `${what}: response body contains the password`);
    assert.ok(!JSON.stringify(res.json).includes(s), `${what}: decoded response contains the password`);
  }
  assert.deepEqual(secretKeys(res.json), [], `${what}: response has password fields`);
}

describe('instances and credentials API [sqlite]', () => {
  let ctx: TestContext;
  let app: TestApp;
  let bearer: Record<string, string>;
  let seq = 0;
  const uniq = (p: string) => `${p}-${++seq}`;

  async function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Res> {
    const res = await app.inject({
      method,
      url,
      headers: { ...bearer, ...headers },
      ...(payload === undefined ? {} : typeof payload === 'string' ? { payload } : { payload: payload as object }),
    });
    let json: Json = {};
    try {
      json = res.json() as Json;
    } catch {
      /* not JSON */
    }
    return { status: res.statusCode, body: res.body, json };
  }
  const data = <T = Json>(r: Res) => r.json.data as T;

  async function counts(): Promise<{ instances: number; credentials: number }> {
    const n = async (table: 'instances' | 'credentials') =>
      Number(
        (
          await ctx.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { instances: await n('instances'), credentials: await n('credentials') };
  }

  const newCredential = async (over: Json = {}) => {
    const r = await api('POST', '/api/credentials', { name: uniq('cred'), db_type: 'postgresql', username: 'whalefall', password: SECRET, ...over });
    assert.equal(r.status, 201, r.body);
    return data<{ id: number; name: string }>(r);
  };
  // Every test instance is the local server: registered again on purpose (confirm_duplicate, issue #20's guard).
  const newInstance = async (over: Json = {}) => {
    const r = await api('POST', '/api/instances', {
      name: uniq('inst'),
      db_type: 'postgresql',
      host: '127.0.0.1',
      port: 5432,
      confirm_duplicate: true,
      ...over,
    });
    assert.equal(r.status, 201, r.body);
    return data<{ id: number; name: string }>(r);
  };

  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_LOGIN_RATE_LIMIT: '1000' } });
    const t = await newTestApp(ctx);
    app = t.app;
    bearer = { authorization: `Bearer ${t.callers.admin.bearer}` };
  });

  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  describe('credentials', () => {
    it('create / get / list / update never return the password', async () => {
      const c = await api('POST', '/api/credentials', { name: 'pg-cred', db_type: 'postgresql', username: 'whalefall', password: SECRET });
      assert.equal(c.status, 201, c.body);
      assertNoSecret(c, 'POST /api/credentials');
      const created = data<{ id: number; name: string; username: string; has_password: boolean; db_type: string }>(c);
      assert.equal(created.name, 'pg-cred');
      assert.equal(created.username, 'whalefall');
      assert.equal(created.db_type, 'postgresql');
      assert.equal(created.has_password, true);

      const got = await api('GET', `/api/credentials/${created.id}`);
      assert.equal(got.status, 200, got.body);
      assertNoSecret(got, 'GET /api/credentials/:id');
      assert.equal(data<{ name: string }>(got).name, 'pg-cred');

      const list = await api('GET', '/api/credentials');
      assert.equal(list.status, 200, list.body);
      assertNoSecret(list, 'GET /api/credentials');
      assert.ok(data<{ id: number }[]>(list).some((x) => x.id === created.id));

      const upd = await api('PATCH', `/api/credentials/${created.id}`, { password: SECRET2, username: 'whalefall2' });
      assert.equal(upd.status, 200, upd.body);
      assertNoSecret(upd, 'PATCH /api/credentials/:id');
      assert.equal(data<{ username: string }>(upd).username, 'whalefall2');

      // Stored encrypted, and the service can still reveal the new one for a connection.
      const row = await ctx.store.db.selectFrom('credentials').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
      assert.ok(!row.password_enc.includes(SECRET) && !row.password_enc.includes(SECRET2), 'password stored in clear');
      assert.equal((await ctx.credentials.reveal(created.id))!.password, SECRET2);
    });

    it('a credential in use cannot be deleted (409 conflict); unused, it can', async () => {
      const cred = await newCredential();
      const inst = await newInstance({ credential_id: cred.id });
      const before = await counts();
      const del = await api('DELETE', `/api/credentials/${cred.id}`);
      assert.equal(del.status, 409, del.body);
      assert.equal(del.json.error_code, 'conflict');
      assert.match(String(del.json.error), /使用|in use/);
      assert.deepEqual(await counts(), before);
      assert.equal((await api('GET', `/api/credentials/${cred.id}`)).status, 200);

      assert.equal((await api('DELETE', `/api/instances/${inst.id}`)).status, 200);
      const del2 = await api('DELETE', `/api/credentials/${cred.id}`);
      assert.equal(del2.status, 200, del2.body);
      assert.equal((await api('GET', `/api/credentials/${cred.id}`)).status, 404);
    });
  });

  describe('instances', () => {
    it('create / list / get / update / delete, password never in a response', async () => {
      const cred = await newCredential();
      const c = await api('POST', '/api/instances', {
        name: 'pg-prod',
        db_type: 'postgresql',
        host: 'db-1.example.com',
        port: 6432,
        credential_id: cred.id,
        description: 'primary',
        tags: ['prod', 'eu', 'prod'],
        options: { connect_timeout_ms: 5000, exclude: ['tmp_*'] },
      });
      assert.equal(c.status, 201, c.body);
      assertNoSecret(c, 'POST /api/instances');
      const inst = data<{
        id: number;
        name: string;
        host: string;
        port: number;
        credential_id: number;
        tags: string[];
        options: Json;
        is_active: boolean;
        description: string;
      }>(c);
      assert.equal(inst.name, 'pg-prod');
      assert.equal(inst.host, 'db-1.example.com');
      assert.equal(inst.port, 6432);
      assert.equal(inst.credential_id, cred.id);
      assert.equal(inst.is_active, true);
      assert.deepEqual(inst.tags, ['prod', 'eu']);
      assert.deepEqual(inst.options, { connect_timeout_ms: 5000, exclude: ['tmp_*'] });

      // No port: the engine's default.
      const d = await api('POST', '/api/instances', { name: uniq('my'), db_type: 'mysql', host: '127.0.0.1' });
      assert.equal(d.status, 201, d.body);
      const defaults = data<{ id: number; port: number }>(d);
      assert.equal(defaults.port, 3306);

      const list = await api('GET', '/api/instances');
      assert.equal(list.status, 200, list.body);
      assertNoSecret(list, 'GET /api/instances');
      assert.ok(data<{ id: number }[]>(list).some((x) => x.id === inst.id));
      const filtered = await api('GET', '/api/instances?db_type=mysql');
      assert.equal(filtered.status, 200, filtered.body);
      assert.ok(data<{ db_type: string }[]>(filtered).every((x) => x.db_type === 'mysql'));
      assert.ok(data<{ id: number }[]>(filtered).some((x) => x.id === defaults.id));

      const got = await api('GET', `/api/instances/${inst.id}`);
      assert.equal(got.status, 200, got.body);
      assertNoSecret(got, 'GET /api/instances/:id');
      assert.deepEqual(data(got), data(c));

      // A new port with the same credential: the stored password would go there, so the admin confirms.
      const unconfirmed = await api('PATCH', `/api/instances/${inst.id}`, { description: 'primary, EU', port: 5433, tags: ['prod'] });
      assert.equal(unconfirmed.status, 400, unconfirmed.body);
      assert.equal(JSON.parse(unconfirmed.body).error_code, 'confirm_move');
      assert.equal(data<{ port: number }>(await api('GET', `/api/instances/${inst.id}`)).port, inst.port, 'nothing changed');
      const upd = await api('PATCH', `/api/instances/${inst.id}`, { description: 'primary, EU', port: 5433, tags: ['prod'], confirm_move: true });
      assert.equal(upd.status, 200, upd.body);
      assertNoSecret(upd, 'PATCH /api/instances/:id');
      const u = data<{ description: string; port: number; tags: string[]; name: string }>(upd);
      assert.deepEqual([u.description, u.port, u.tags, u.name], ['primary, EU', 5433, ['prod'], 'pg-prod']);

      const del = await api('DELETE', `/api/instances/${inst.id}`);
      assert.equal(del.status, 200, del.body);
      assert.equal((await api('GET', `/api/instances/${inst.id}`)).status, 404);
      assert.equal((await api('DELETE', `/api/instances/${inst.id}`)).status, 404);
    });

    it('db_type: corrected freely before the first sync, refused (400, both languages) once the instance has history', async () => {
      const inst = await newInstance();
      const fixed = await api('PATCH', `/api/instances/${inst.id}`, { db_type: 'mysql' });
      assert.equal(fixed.status, 200, `never synced: a mistyped engine may be corrected: ${fixed.body}`);
      assert.equal((await api('PATCH', `/api/instances/${inst.id}`, { db_type: 'postgresql' })).status, 200);
      // Synced once (what a sync leaves on the row): its history is PostgreSQL's.
      await ctx.store.db
        .updateTable('instances')
        .set({ last_sync_at: new Date().toISOString(), last_sync_status: 'completed' })
        .where('id', '=', inst.id)
        .execute();
      const before = await ctx.store.db.selectFrom('instances').selectAll().where('id', '=', inst.id).executeTakeFirstOrThrow();
      const zh = await api('PATCH', `/api/instances/${inst.id}`, { db_type: 'mysql', port: 3306, confirm_move: true });
      assert.equal(zh.status, 400, zh.body);
      assert.equal(zh.json.error_code, 'validation');
      assert.match(String(zh.json.error), /^db_type: .*注册新实例.*\(.*register a new instance.*\)$/);
      const en = await api('PATCH', `/api/instances/${inst.id}`, { db_type: 'mysql' }, { 'accept-language': 'en' });
      assert.equal(en.status, 400, en.body);
      assert.match(String(en.json.error), /^db_type: .*postgresql.*register a new instance/);
      assert.deepEqual(await ctx.store.db.selectFrom('instances').selectAll().where('id', '=', inst.id).executeTakeFirstOrThrow(), before, 'nothing changed');
      // Its own type, sent back as the edit form does, is no change.
      const same = await api('PATCH', `/api/instances/${inst.id}`, { db_type: 'postgresql', description: 'same engine' });
      assert.equal(same.status, 200, same.body);
    });

    it('the audit log never holds the password', async () => {
      const cred = await newCredential({ password: SECRET });
      await api('PATCH', `/api/credentials/${cred.id}`, { password: SECRET2 });
      await newInstance({ credential_id: cred.id });
      const audit = await api('GET', '/api/audit?limit=1000');
      assert.equal(audit.status, 200, audit.body);
      assertNoSecret(audit, 'GET /api/audit');
      const actions = data<{ action: string }[]>(audit).map((a) => a.action);
      for (const a of ['credential.create', 'credential.update', 'instance.create']) assert.ok(actions.includes(a), `audit has ${a}`);
      const raw = await ctx.store.db.selectFrom('audit_log').selectAll().execute();
      const text = JSON.stringify(raw);
      assert.ok(!text.includes(SECRET) && !text.includes(SECRET2), 'audit_log rows contain the password');
      // Nor did anything log it.
      const logs = ctx.logs.join('');
      assert.ok(!logs.includes(SECRET) && !logs.includes(SECRET2), 'the service logs contain the password');
    });
  });

  describe('validation: 400 naming the field, nothing stored', () => {
    let a: { id: number; name: string };
    let b: { id: number; name: string };
    let usedCredentialName: string;
    const valid = () => ({ name: uniq('new'), db_type: 'postgresql', host: 'db-2.example.com', port: 5432 });

    before(async () => {
      a = await newInstance({ name: 'val-a' });
      b = await newInstance({ name: 'val-b' });
      usedCredentialName = (await newCredential()).name;
    });

    /** [title, method, url, body, text the error must contain (null: any 400)] */
    const cases: [string, 'POST' | 'PATCH', () => string, () => unknown, string | null][] = [
      ['unknown db_type', 'POST', () => '/api/instances', () => ({ ...valid(), db_type: 'mongodb' }), 'db_type'],
      ['unknown db_type on update', 'PATCH', () => `/api/instances/${a.id}`, () => ({ db_type: 'mongodb' }), 'db_type'],
      ...[0, 65536, -1, 'abc', 3.5].map((port): [string, 'POST', () => string, () => unknown, string] => [
        `port ${JSON.stringify(port)}`,
        'POST',
        () => '/api/instances',
        () => ({ ...valid(), port }),
        'port',
      ]),
      ['port 0 on update', 'PATCH', () => `/api/instances/${a.id}`, () => ({ port: 0 }), 'port'],
      ['empty host', 'POST', () => '/api/instances', () => ({ ...valid(), host: '' }), 'host'],
      ['blank host', 'POST', () => '/api/instances', () => ({ ...valid(), host: '   ' }), 'host'],
      ['host with a space', 'POST', () => '/api/instances', () => ({ ...valid(), host: 'db 1' }), 'host'],
      ['host with ;', 'POST', () => '/api/instances', () => ({ ...valid(), host: 'db1;sslmode=disable' }), 'host'],
      ['host with /', 'POST', () => '/api/instances', () => ({ ...valid(), host: 'db1/postgres' }), 'host'],
      ['host with ; on update', 'PATCH', () => `/api/instances/${a.id}`, () => ({ host: 'x;y' }), 'host'],
      ['name of 129 characters', 'POST', () => '/api/instances', () => ({ ...valid(), name: 'n'.repeat(129) }), 'name'],
      ['empty name', 'POST', () => '/api/instances', () => ({ ...valid(), name: '' }), 'name'],
      ['description of 2001 characters', 'POST', () => '/api/instances', () => ({ ...valid(), description: 'd'.repeat(2001) }), 'description'],
      ['unknown field', 'POST', () => '/api/instances', () => ({ ...valid(), colour: 'blue' }), 'colour'],
      ['unknown field on update', 'PATCH', () => `/api/instances/${a.id}`, () => ({ colour: 'blue' }), 'colour'],
      ['unknown option key', 'POST', () => '/api/instances', () => ({ ...valid(), options: { frobnicate: 1 } }), 'frobnicate'],
      ['tags a string, not an array', 'POST', () => '/api/instances', () => ({ ...valid(), tags: 'prod' }), 'tags'],
      ['tags an object, not an array', 'POST', () => '/api/instances', () => ({ ...valid(), tags: { prod: true } }), 'tags'],
      ['tags a string on update', 'PATCH', () => `/api/instances/${a.id}`, () => ({ tags: 'prod' }), 'tags'],
      ['port a boolean', 'POST', () => '/api/instances', () => ({ ...valid(), port: true }), 'port'],
      ['credential_id that does not exist', 'POST', () => '/api/instances', () => ({ ...valid(), credential_id: 987654 }), 'credential_id'],
      ['credential_id that does not exist on update', 'PATCH', () => `/api/instances/${a.id}`, () => ({ credential_id: 987654 }), 'credential_id'],
      ['oracle without database_name', 'POST', () => '/api/instances', () => ({ ...valid(), db_type: 'oracle', port: 1521 }), 'database_name'],
      ['switch to oracle without database_name', 'PATCH', () => `/api/instances/${a.id}`, () => ({ db_type: 'oracle' }), 'database_name'],
      ['malformed JSON body', 'POST', () => '/api/instances', () => '{"name": "x", ', null],
      ['malformed JSON body on update', 'PATCH', () => `/api/instances/${a.id}`, () => '{"name": ', null],
      ['body that is a JSON array', 'POST', () => '/api/instances', () => [valid()], 'body'],
      ['body that is a JSON array on update', 'PATCH', () => `/api/instances/${a.id}`, () => [{ name: 'x' }], 'body'],
      ['credential: unknown field', 'POST', () => '/api/credentials', () => ({ name: uniq('c'), username: 'u', password: SECRET, colour: 'blue' }), 'colour'],
      ['credential: no password', 'POST', () => '/api/credentials', () => ({ name: uniq('c'), username: 'u' }), 'password'],
      ['credential: empty username', 'POST', () => '/api/credentials', () => ({ name: uniq('c'), username: '', password: SECRET }), 'username'],
      [
        'credential: unknown db_type',
        'POST',
        () => '/api/credentials',
        () => ({ name: uniq('c'), db_type: 'mongodb', username: 'u', password: SECRET }),
        'db_type',
      ],
    ];

    // A name already taken is a conflict, not bad input: 409 `conflict`, the field named, nothing stored.
    it('duplicate names (user, credential, instance; created or renamed) → 409 conflict naming the field', async () => {
      const viewer = { username: uniq('viewer'), password: 'Password-123', role: 'viewer' };
      assert.equal((await api('POST', '/api/users', viewer)).status, 201);
      const dupes: [string, 'POST' | 'PATCH', string, unknown, string][] = [
        ['user', 'POST', '/api/users', viewer, `username: 用户 "${viewer.username}" 已存在 (already exists)`],
        ['credential', 'POST', '/api/credentials', { name: usedCredentialName, username: 'u', password: SECRET }, 'name: 凭据名称'],
        ['instance', 'POST', '/api/instances', { ...valid(), name: a.name }, `name: 实例名称 "${a.name}" 已存在`],
        ['instance renamed', 'PATCH', `/api/instances/${b.id}`, { name: a.name }, `name: 实例名称 "${a.name}" 已存在`],
      ];
      for (const [title, method, url, body, error] of dupes) {
        const beforeCounts = await counts();
        const rowsBefore = await ctx.store.db.selectFrom('instances').selectAll().orderBy('id').execute();
        const res = await api(method, url, body);
        assert.equal(res.status, 409, `${title}: ${res.body}`);
        assert.equal(res.json.error_code, 'conflict', `${title}: ${res.body}`);
        assert.ok(String(res.json.error).startsWith(error), `${title}: ${res.json.error}`);
        assertNoSecret(res, title);
        assert.deepEqual(await counts(), beforeCounts, `${title}: rows were stored`);
        assert.deepEqual(await ctx.store.db.selectFrom('instances').selectAll().orderBy('id').execute(), rowsBefore, `${title}: an instance changed`);
      }
      const en = await api('POST', '/api/users', viewer, { 'accept-language': 'en' });
      assert.equal(en.json.error, `username: user "${viewer.username}" already exists`);
    });

    for (const [title, method, url, body, field] of cases) {
      it(title, async () => {
        const beforeCounts = await counts();
        const rowsBefore = await ctx.store.db.selectFrom('instances').selectAll().orderBy('id').execute();
        const payload = body();
        const res = await api(method, url(), typeof payload === 'string' ? payload : JSON.stringify(payload), { 'content-type': 'application/json' });
        assert.equal(res.status, 400, `${title}: ${res.body}`);
        assert.equal(res.json.success, false, res.body);
        assert.equal(typeof res.json.error, 'string', res.body);
        if (field) assert.ok(String(res.json.error).includes(field), `${title}: the error should name "${field}": ${res.json.error}`);
        assertNoSecret(res, title);
        assert.deepEqual(await counts(), beforeCounts, `${title}: rows were stored`);
        assert.deepEqual(await ctx.store.db.selectFrom('instances').selectAll().orderBy('id').execute(), rowsBefore, `${title}: an instance changed`);
      });
    }
  });

  describe('ids', () => {
    it('unknown ids → 404', async () => {
      for (const [method, url] of [
        ['GET', '/api/instances/999999'],
        ['PATCH', '/api/instances/999999'],
        ['DELETE', '/api/instances/999999'],
        ['GET', '/api/instances/999999/databases'],
        ['GET', '/api/instances/999999/capacity'],
        ['GET', '/api/instances/999999/sync-records'],
        ['POST', '/api/instances/999999/test-connection'],
        ['GET', '/api/credentials/999999'],
        ['PATCH', '/api/credentials/999999'],
        ['DELETE', '/api/credentials/999999'],
      ] as const) {
        const body = method !== 'PATCH' ? undefined : url.startsWith('/api/credentials') ? { username: 'x' } : { description: 'x' };
        const r = await api(method, url, body);
        assert.equal(r.status, 404, `${method} ${url}: ${r.body}`);
        assert.equal(r.json.success, false);
      }
    });

    it('non-numeric or out-of-range ids → 400', async () => {
      for (const id of ['abc', '1.5', '0', '-3', '1;DROP']) {
        for (const [method, url] of [
          ['GET', `/api/instances/${id}`],
          ['DELETE', `/api/instances/${id}`],
          ['GET', `/api/credentials/${id}`],
          ['DELETE', `/api/credentials/${id}`],
          ['POST', `/database-sizes/instances/${id}/sync-capacity`],
        ] as const) {
          const r = await api(method, encodeURI(url));
          assert.equal(r.status, 400, `${method} ${url}: ${r.body}`);
          assert.equal(r.json.success, false);
        }
      }
    });
  });

  describe('seed routes', () => {
    it('GET /instances/api/instances/total-sizes: [{instance_id, total_size_mb, synced}] for every instance', async () => {
      const sized = await newInstance();
      await ctx.store.db
        .updateTable('instances')
        .set({ total_size_bytes: 3 * 1024 * 1024 + 512 * 1024 })
        .where('id', '=', sized.id)
        .execute();
      const res = await api('GET', '/instances/api/instances/total-sizes');
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.success, true);
      const rows = data<{ instance_id: number; total_size_mb: number; synced: boolean }[]>(res);
      const all = data<{ id: number }[]>(await api('GET', '/api/instances'));
      assert.deepEqual(
        rows.map((r) => r.instance_id).sort((x, y) => x - y),
        all.map((i) => i.id).sort((x, y) => x - y),
      );
      for (const r of rows) {
        assert.deepEqual(Object.keys(r).sort(), ['instance_id', 'synced', 'total_size_mb']);
        // Never synced: 0 as the original answered (its front end renders `null MB` otherwise), marked synced:false.
        assert.equal(typeof r.total_size_mb, 'number');
        if (r.instance_id !== sized.id) assert.deepEqual([r.total_size_mb, r.synced], [0, false]);
      }
      assert.deepEqual(
        rows.find((r) => r.instance_id === sized.id),
        { instance_id: sized.id, total_size_mb: 3.5, synced: true },
      );
    });

    it('sync-capacity of a disabled instance → 400 实例已禁用，无法同步容量信息', async () => {
      const cred = await newCredential();
      const inst = await newInstance({ credential_id: cred.id });
      const off = await api('PATCH', `/api/instances/${inst.id}`, { is_active: false });
      assert.equal(off.status, 200, off.body);
      assert.equal(data<{ is_active: boolean }>(off).is_active, false);
      const res = await api('POST', `/database-sizes/instances/${inst.id}/sync-capacity`);
      assert.equal(res.status, 400, res.body);
      assert.equal(res.json.success, false);
      assert.equal(res.json.error, '实例已禁用，无法同步容量信息');
    });

    it('sync-capacity of an instance without a credential → 400 实例缺少连接凭据，无法同步容量信息', async () => {
      const inst = await newInstance();
      const res = await api('POST', `/database-sizes/instances/${inst.id}/sync-capacity`);
      assert.equal(res.status, 400, res.body);
      assert.equal(res.json.success, false);
      assert.equal(res.json.error, '实例缺少连接凭据，无法同步容量信息');
    });

    it('sync-capacity of an unknown instance → 404', async () => {
      const res = await api('POST', '/database-sizes/instances/999999/sync-capacity');
      assert.equal(res.status, 404, res.body);
      assert.equal(res.json.success, false);
    });
  });

  describe('login and HTTP hardening', () => {
    before(async () => {
      await ctx.auth.createUser({ username: 'alice', password: 'Alice-Password-1' }, { userId: null, username: 'test' });
    });

    it('a wrong password → 401, with no hint which part was wrong', async () => {
      const wrongPw = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: 'not-it' } });
      const wrongUser = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody-here', password: 'Alice-Password-1' } });
      assert.equal(wrongPw.statusCode, 401, wrongPw.body);
      assert.equal(wrongUser.statusCode, 401, wrongUser.body);
      assert.deepEqual(wrongPw.json(), wrongUser.json(), 'wrong user and wrong password must answer the same');
      assert.equal(wrongPw.json().success, false);
      assert.equal(wrongPw.headers['set-cookie'], undefined);
      assert.ok(!/不存在|not found|unknown user|no such/i.test(wrongPw.body));
      const right = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: 'Alice-Password-1' } });
      assert.equal(right.statusCode, 200, right.body);
    });

    it('the session cookie is HttpOnly and SameSite=Lax', async () => {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: 'Alice-Password-1' } });
      assert.equal(res.statusCode, 200, res.body);
      const raw = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('wf_session='));
      assert.ok(raw, 'no wf_session cookie');
      assert.match(raw, /;\s*HttpOnly/i);
      assert.match(raw, /;\s*SameSite=Lax/i);
      assert.match(raw, /;\s*Path=\//i);
      assert.doesNotMatch(raw, /;\s*Secure/i, 'Secure only when WHALEFALL_COOKIE_SECURE=on');
      const c = res.cookies.find((x) => x.name === 'wf_session')!;
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, 'Lax');
    });

    it('security headers on pages, API answers and errors', async () => {
      for (const [url, headers] of [
        ['/healthz', {}],
        ['/api/instances', bearer],
        ['/api/instances', {}], // 401
        ['/api/instances/999999', bearer], // 404
      ] as const) {
        const res = await app.inject({ method: 'GET', url, headers });
        const csp = String(res.headers['content-security-policy'] ?? '');
        assert.match(csp, /(^|;)\s*script-src 'self'(;|$)/, `${url} (${res.statusCode}): CSP script-src: ${csp}`);
        assert.match(csp, /(^|;)\s*frame-ancestors 'none'(;|$)/, `${url} (${res.statusCode}): CSP frame-ancestors: ${csp}`);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', `${url} (${res.statusCode})`);
      }
    });
  });
});

describe('login rate limit (default WHALEFALL_LOGIN_RATE_LIMIT=10) [sqlite]', () => {
  let ctx: TestContext;
  let app: TestApp;

  before(async () => {
    ctx = await newTestContext('sqlite');
    assert.equal(ctx.config.loginRateLimit, 10);
    app = await buildApp(ctx); // not newTestApp: its logins would count
    await app.ready();
    await ctx.auth.createUser({ username: 'bob', password: 'Bob-Password-1' }, { userId: null, username: 'test' });
  });

  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('the 11th login attempt within a minute → 429', async () => {
    for (let i = 1; i <= 10; i++) {
      const r = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'bob', password: `wrong-${i}` } });
      assert.equal(r.statusCode, 401, `attempt ${i}: ${r.body}`);
    }
    // Even with the right password: the limit counts attempts, not failures.
    const r = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'bob', password: 'Bob-Password-1' } });
    assert.equal(r.statusCode, 429, r.body);
    assert.equal(r.headers['set-cookie'], undefined);
    const body = r.json() as Json;
    assert.equal(body.success, false);
    assert.ok(r.headers['retry-after'], 'Retry-After header');
    // The envelope: a message saying what happened, and a code.
    assert.equal(body.error_code, 'rate_limited', `429 envelope: ${r.body}`);
    assert.match(String(body.error), /请求过于频繁|too many requests/, `429 envelope: ${r.body}`);
  });

  it('other routes are not rate-limited by the login limit', async () => {
    for (let i = 0; i < 15; i++) {
      const r = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(r.statusCode, 200);
    }
  });
});
