/**
 * The served OpenAPI document, as real clients use it, against a live service
 * on a loopback port:
 * - `redocly lint` (@redocly/cli, recommended rules) finds 0 errors;
 * - `openapi-typescript` generates types from it, and a small `openapi-fetch`
 *   program (log in, list instances, start a sync, poll it) compiles with tsc
 *   and runs against the service; its types are not `never` (assertions that
 *   would not compile on `never`), and a copy with one wrong type fails to
 *   compile, so the types are real;
 * - about 20 real responses (instances, capacity statistics, sync sessions,
 *   alerts, settings, users, errors 400/401/403/404) are valid against the
 *   schema the document gives for their status, with Ajv (JSON Schema 2020-12;
 *   required fields and additionalProperties as documented).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = (name: string) => path.join(ROOT, 'node_modules/.bin', name);
/** Inside the project (gitignored) so the program resolves openapi-fetch from node_modules. */
const WORK = path.join(ROOT, 'test-output', `openapi-client-${process.pid}`);
const QUIET = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
};

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? WORK, env: opts.env ?? QUIET, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The same, without blocking: the service under test runs in this process and must answer meanwhile. */
function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: WORK, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += String(c)));
    child.stderr.on('data', (c: Buffer) => (out += String(c)));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out }));
  });
}

/** The client program: what docs/api.md's recipe shows, with compile-time proofs that the types are real. */
const PROGRAM = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

type NotNever<T> = [T] extends [never] ? 'never' : 'ok';
const base = process.env.WF_BASE!;
const client = createClient<paths>({ baseUrl: base });

// Log in: the session cookie comes back in Set-Cookie, the CSRF token in the body.
const login = await client.POST('/api/auth/login', { body: { username: process.env.WF_USER!, password: process.env.WF_PASSWORD! } });
if (!login.data) throw new Error('login failed: ' + JSON.stringify(login.error));
const loginOk: NotNever<typeof login.data> = 'ok';
const csrf: string = login.data.data.csrf_token;
const role: 'viewer' | 'operator' | 'admin' = login.data.data.user.role;
const cookie = login.response.headers.get('set-cookie')!.split(';')[0]!;

// List instances, with the cookie.
const list = await client.GET('/api/instances', { params: { query: { limit: 50 } }, headers: { cookie } });
if (!list.data) throw new Error('list failed: ' + JSON.stringify(list.error));
const listOk: NotNever<typeof list.data.data> = 'ok';
const ids: number[] = list.data.data.map((i) => i.id);
const names: string[] = list.data.data.map((i) => i.name);
const total: string | null = list.response.headers.get('x-total-count');

// Start a sync of the first instance (a write: the cookie needs X-CSRFToken).
const started = await client.POST('/api/sync/capacity', { body: { instance_ids: [ids[0]!] }, headers: { cookie, 'x-csrftoken': csrf } });
if (!started.data) throw new Error('sync failed: ' + JSON.stringify(started.error));
const startedOk: NotNever<typeof started.data.data> = 'ok';
const sessionId: string = started.data.data.session_id;

// Poll the session with a bearer token until it ends.
const bearer = { authorization: 'Bearer ' + process.env.WF_TOKEN! };
let status = 'running';
let records: { instance_id: number; status: string; databases_count: number | null }[] = [];
for (let i = 0; i < 600 && status === 'running'; i++) {
  const s = await client.GET('/api/sync-sessions/{id}', { params: { path: { id: sessionId } }, headers: bearer });
  if (!s.data) throw new Error('session: ' + JSON.stringify(s.error));
  const sessionOk: NotNever<typeof s.data.data.records> = 'ok';
  status = s.data.data.status;
  records = s.data.data.records;
  if (status === 'running') await new Promise((r) => setTimeout(r, 100));
}

// An error answer is typed too: the envelope with its error_code.
const missing = await client.GET('/api/instances/{id}', { params: { path: { id: 999999999 } }, headers: bearer });
const code: string | undefined = missing.error?.error_code;

console.log(JSON.stringify({ role, ids, names, total, sessionId, status, records, code, proofs: [loginOk, listOk, startedOk] }));
`;

/** The same program with one wrong type: must not compile (the generated types are not `any`). */
const WRONG = PROGRAM.replace('const names: string[] = list.data.data.map((i) => i.name);', 'const names: number[] = list.data.data.map((i) => i.name);');

describe('OpenAPI document with real clients: redocly, openapi-typescript + openapi-fetch, Ajv', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let base: string;
  let doc: Doc;
  let instanceId: number;
  const admin = { username: 'oa-admin', password: 'oa-Admin-Secret-1' };

  before(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(WORK, { recursive: true });
    ctx = await newTestContext('sqlite');
    ({ app, callers } = await newTestApp(ctx));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const actor = { userId: null, username: 'test' };
    await ctx.auth.createUser({ username: admin.username, password: admin.password, role: 'admin' }, actor);
    const cred = await ctx.credentials.create({ name: 'local-pg', username: 'postgres', password: 'trust' }, actor);
    instanceId = (
      await ctx.instances.create(
        { name: 'local-pg', db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', credential_id: cred.id, tags: ['env:test'] },
        actor,
      )
    ).id;
    // The document exactly as served.
    const res = await fetch(`${base}/docs/json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as Doc;
    fs.writeFileSync(path.join(WORK, 'openapi.json'), JSON.stringify(doc, null, 2));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    fs.rmSync(WORK, { recursive: true, force: true });
  });

  it('is OpenAPI 3.1 and redocly lint (recommended rules) finds 0 errors', () => {
    assert.equal(doc.openapi, '3.1.0');
    const r = run(BIN('redocly'), ['lint', 'openapi.json', '--format=json', '--max-problems=1000']);
    const json = r.out.slice(r.out.indexOf('{'), r.out.lastIndexOf('}') + 1);
    const report = JSON.parse(json) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] };
    assert.equal(report.totals.errors, 0, JSON.stringify(report.problems.slice(0, 10)));
    assert.equal(r.status, 0, r.out.slice(0, 2000));
    // Warnings too: the recommended rules ask for operationIds, 2xx responses, a license, servers, used components.
    assert.equal(report.totals.warnings, 0, JSON.stringify(report.problems.slice(0, 10)));
  });

  it('openapi-typescript types + an openapi-fetch program: compiles with tsc, logs in, lists instances, starts a sync', async () => {
    const gen = run(BIN('openapi-typescript'), ['openapi.json', '-o', 'schema.d.ts']);
    assert.equal(gen.status, 0, gen.out);
    const schema = fs.readFileSync(path.join(WORK, 'schema.d.ts'), 'utf8');
    assert.match(schema, /"\/api\/instances": \{/);
    assert.match(schema, /Instance: \{/);
    fs.writeFileSync(
      path.join(WORK, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          types: ['node'],
          outDir: 'out',
          rootDir: '.',
        },
        files: ['client.ts'],
      }),
    );
    fs.writeFileSync(path.join(WORK, 'package.json'), JSON.stringify({ type: 'module' }));

    // A wrong type does not compile: the generated types are precise, not any.
    fs.writeFileSync(path.join(WORK, 'client.ts'), WRONG);
    const wrong = run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.', '--noEmit']);
    assert.notEqual(wrong.status, 0, 'the wrongly typed program must not compile');
    assert.match(wrong.out, /client\.ts\(\d+,\d+\): error TS2322: Type 'string\[\]' is not assignable to type 'number\[\]'/);

    fs.writeFileSync(path.join(WORK, 'client.ts'), PROGRAM);
    const tsc = run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.']);
    assert.equal(tsc.status, 0, tsc.out);

    const r = await runAsync(process.execPath, [path.join(WORK, 'out/client.js')], {
      ...QUIET,
      WF_BASE: base,
      WF_USER: admin.username,
      WF_PASSWORD: admin.password,
      WF_TOKEN: callers.viewer.bearer!,
    });
    assert.equal(r.status, 0, r.out);
    const out = JSON.parse(r.out.trim().split('\n').pop()!) as {
      role: string;
      ids: number[];
      names: string[];
      total: string;
      sessionId: string;
      status: string;
      records: { instance_id: number; status: string; databases_count: number | null }[];
      code: string;
    };
    assert.equal(out.role, 'admin');
    assert.deepEqual(out.ids, [instanceId]);
    assert.deepEqual(out.names, ['local-pg']);
    assert.equal(out.total, '1');
    assert.equal(out.status, 'completed', JSON.stringify(out));
    assert.equal(out.records.length, 1);
    assert.equal(out.records[0]!.instance_id, instanceId);
    assert.equal(out.records[0]!.status, 'completed');
    assert.ok((out.records[0]!.databases_count ?? 0) >= 1, 'the local PostgreSQL has at least one database');
    assert.equal(out.code, 'not_found');
    // What the program saw is what the store holds.
    const session = (await ctx.repos.sync.records(out.sessionId)).map((x) => x.status);
    assert.deepEqual(session, ['completed']);
  });

  it('real responses are valid against their documented schemas (Ajv, JSON Schema 2020-12)', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc as object, 'openapi');
    const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

    // A sync first, so the history, sessions and statistics have something in them.
    const sync = await fetch(`${base}/database-sizes/instances/${instanceId}/sync-capacity`, {
      method: 'POST',
      headers: { authorization: `Bearer ${callers.operator.bearer!}` },
    });
    assert.equal(sync.status, 200, await sync.clone().text());
    const sessionId = ((await sync.clone().json()) as { data: { session_id: string } }).data.session_id;
    const rule = await fetch(`${base}/api/alert-rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${callers.admin.bearer!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', kind: 'size_above', threshold: 1, channels: [{ type: 'generic', url: 'http://127.0.0.1:9/hook' }] }),
    });
    assert.equal(rule.status, 201);
    // An event to read: the rule fires on the instance just synced.
    await ctx.alerts.evaluateSoon(instanceId);
    const events = (await (await fetch(`${base}/api/alerts`, { headers: { authorization: `Bearer ${callers.viewer.bearer!}` } })).json()) as {
      data: { items: { id: number }[] };
    };

    const asViewer = { authorization: `Bearer ${callers.viewer.bearer!}` };
    const asAdmin = { authorization: `Bearer ${callers.admin.bearer!}` };
    // [documented path, method, url, headers, expected status]
    const cases: [string, string, string, Record<string, string>, number][] = [
      ['/api/instances', 'get', '/api/instances', asViewer, 200],
      ['/api/instances/{id}', 'get', `/api/instances/${instanceId}`, asViewer, 200],
      ['/api/instances/overview', 'get', '/api/instances/overview?limit=10', asViewer, 200],
      ['/api/instances/{id}/databases', 'get', `/api/instances/${instanceId}/databases`, asViewer, 200],
      ['/api/instances/{id}/capacity', 'get', `/api/instances/${instanceId}/capacity`, asViewer, 200],
      ['/api/instances/{id}/sync-records', 'get', `/api/instances/${instanceId}/sync-records`, asViewer, 200],
      ['/instances/api/instances/total-sizes', 'get', '/instances/api/instances/total-sizes', asViewer, 200],
      ['/api/engines', 'get', '/api/engines', asViewer, 200],
      ['/api/statistics/capacity', 'get', '/api/statistics/capacity?scope=database&period=daily&last=7', asViewer, 200],
      ['/api/statistics/summary', 'get', '/api/statistics/summary', asViewer, 200],
      ['/api/statistics/top-growers', 'get', '/api/statistics/top-growers?scope=database', asViewer, 200],
      ['/api/statistics/runway', 'get', '/api/statistics/runway', asViewer, 200],
      ['/api/statistics/instances/{id}/series', 'get', `/api/statistics/instances/${instanceId}/series`, asViewer, 200],
      ['/api/sync-sessions', 'get', '/api/sync-sessions', asViewer, 200],
      ['/api/sync-sessions/{id}', 'get', `/api/sync-sessions/${sessionId}`, asViewer, 200],
      ['/api/alerts', 'get', '/api/alerts', asViewer, 200],
      ['/api/alert-rules', 'get', '/api/alert-rules', asViewer, 200],
      ['/api/settings', 'get', '/api/settings', asAdmin, 200],
      ['/api/users', 'get', '/api/users', asAdmin, 200],
      ['/api/auth/me', 'get', '/api/auth/me', asViewer, 200],
      ['/api/tokens', 'get', '/api/tokens', asViewer, 200],
      ['/api/audit', 'get', '/api/audit', asAdmin, 200],
      ['/healthz', 'get', '/healthz', {}, 200],
      ['/api/instances', 'get', '/api/instances?limit=0', asViewer, 400],
      ['/api/instances', 'get', '/api/instances', {}, 401],
      ['/api/users', 'get', '/api/users', asViewer, 403],
      ['/api/instances/{id}', 'get', '/api/instances/999999999', asViewer, 404],
    ];
    assert.ok(events.data.items[0], 'the size_above rule fired');
    cases.push(['/api/alerts/{id}', 'get', `/api/alerts/${events.data.items[0].id}`, asViewer, 200]);

    const failures: string[] = [];
    for (const [docPath, method, url, headers, status] of cases) {
      const res = await fetch(base + url, { method: method.toUpperCase(), headers });
      const body: unknown = await res.json();
      assert.equal(res.status, status, `${url}: ${JSON.stringify(body).slice(0, 300)}`);
      const documented = doc.paths[docPath]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema;
      assert.ok(documented, `${method.toUpperCase()} ${docPath} documents ${status}`);
      const validate = ajv.getSchema(`openapi#/${pointer('paths', docPath, method, 'responses', String(status), 'content', 'application/json', 'schema')}`)!;
      if (!validate(body))
        failures.push(
          `${method.toUpperCase()} ${url} ${status}: ${(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('; ')}`,
        );
    }
    assert.deepEqual(failures, []);
    assert.ok(cases.length >= 28, `${cases.length} responses`);

    // The schemas are strict: an undocumented field or a missing required one is refused.
    const instanceSchema = ajv.getSchema('openapi#/components/schemas/Instance')!;
    const one = ((await (await fetch(`${base}/api/instances/${instanceId}`, { headers: asViewer })).json()) as { data: Record<string, unknown> }).data;
    assert.equal(instanceSchema(one), true);
    assert.equal(instanceSchema({ ...one, surprise: 1 }), false);
    const { name: _name, ...withoutName } = one;
    assert.equal(instanceSchema(withoutName), false);
  });
});
