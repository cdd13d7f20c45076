/**
 * The OpenAPI document of buildApp: every operation has a stable camelCase
 * `operationId` (unique), tags, a summary, a 2xx response with its schema,
 * and its error answers as the ErrorEnvelope component; every documented
 * `error_code` is in the ErrorCode component. Response schemas never alter
 * what is sent: error bodies keep extra fields, success bodies keep fields
 * no schema lists (replies are JSON.stringify'd).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { buildApp } from '../../src/http/app.js';
import { Ok } from '../../src/http/envelope.js';
import { ERROR_CODES } from '../../src/lib/errors.js';
import { errorStatuses, TAGS } from '../../src/http/openapi.js';
import { AppError } from '../../src/lib/errors.js';
import { newTestContext, type TestContext } from '../helpers/context.js';

type Op = { operationId?: string; summary?: string; tags?: string[]; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };
type Doc = {
  openapi: string;
  info: { license?: { name: string } };
  servers?: { url: string }[];
  tags?: { name: string }[];
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, { oneOf?: { enum: string[]; description: string }[] }> };
};

describe('OpenAPI: every operation identified, typed and documented with its errors', () => {
  let ctx: TestContext;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let doc: Doc;
  const ops: [string, string, Op][] = [];

  before(async () => {
    ctx = await newTestContext('sqlite');
    app = await buildApp(ctx);
    // A probe route: an AppError with extra envelope fields, and a success body with fields its schema does not list.
    app.post(
      '/probe/:id',
      {
        config: { access: 'public' },
        schema: {
          hide: true,
          params: Type.Object({ id: Type.Integer() }),
          body: Type.Object({ n: Type.Integer() }),
          response: { 200: Ok(Type.Object({ id: Type.Integer() })) },
        },
      },
      async (req) => {
        const { id } = req.params;
        if (id === 1) throw new AppError('sync_failed', '同步容量失败: x', 'connection', { session_id: 'abc', nested: { a: [1, 2] } });
        if (id === 2) throw new AppError('conflict', 'busy');
        return { success: true as const, data: { id, extra: 'kept', deep: { x: 1 } } };
      },
    );
    await app.ready();
    doc = app.swagger() as unknown as Doc;
    for (const [path, byMethod] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(byMethod)) ops.push([path, method, op]);
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('is OpenAPI 3.1 with a license, servers and every tag described', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.license?.name, 'MIT');
    assert.ok(doc.servers?.length);
    const used = new Set(ops.flatMap(([, , op]) => op.tags ?? []));
    assert.deepEqual(
      [...used].filter((t) => !(t in TAGS)),
      [],
    );
    assert.deepEqual(
      doc.tags?.map((t) => t.name),
      Object.keys(TAGS),
    );
  });

  it('every API route is in the document', () => {
    const documented = new Set(ops.map(([path, method]) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    // The API: /api/*, the original's paths, the probes and /metrics (pages and static files are hidden).
    const api = /^\/(api|database-sizes|instances\/api)\/|^\/(healthz|readyz|metrics)$/;
    const routes = app.routeTable.filter((r) => r.method !== 'HEAD' && api.test(r.url));
    const missing = routes.map((r) => `${r.method} ${r.url}`).filter((k) => !documented.has(k));
    assert.deepEqual(missing, []);
    assert.ok(ops.length >= 69, `${ops.length} operations`);
  });

  it('every operation has a unique camelCase operationId, a summary and tags', () => {
    const ids = new Map<string, string>();
    for (const [path, method, op] of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.match(op.operationId ?? '', /^[a-z][a-zA-Z0-9]*$/, `${where} has a camelCase operationId`);
      assert.ok(!ids.has(op.operationId!), `${op.operationId} used by ${ids.get(op.operationId!)} and ${where}`);
      ids.set(op.operationId!, where);
      assert.ok(op.summary, `${where} has a summary`);
      assert.ok(op.tags?.length, `${where} has tags`);
    }
  });

  it('every operation documents a 2xx response with a schema', () => {
    for (const [path, method, op] of ops) {
      const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      assert.ok(ok.length > 0, `${method.toUpperCase()} ${path} has a 2xx`);
      for (const [status, r] of ok) {
        const media = Object.values(r.content ?? {});
        assert.ok(media.length > 0 && media.every((m) => m.schema), `${method.toUpperCase()} ${path} ${status} has a schema`);
      }
    }
  });

  it("every operation's error answers are the ErrorEnvelope component", () => {
    const PUBLIC = new Set(['/healthz', '/readyz', '/metrics', '/api/auth/login']);
    for (const [path, method, op] of ops) {
      const url = path.replace(/\{(\w+)\}/g, ':$1');
      for (const status of errorStatuses({ method: method.toUpperCase() as 'GET', url, config: { access: PUBLIC.has(url) ? 'public' : 'viewer' } as never })) {
        const schema = op.responses[String(status)]?.content?.['application/json']?.schema;
        assert.equal(schema?.$ref, '#/components/schemas/ErrorEnvelope', `${method.toUpperCase()} ${path} documents ${status}`);
      }
    }
  });

  it('the statuses the routes really answer are declared (the user trial saw each one undeclared)', () => {
    const declared = (method: string, path: string) => Object.keys(doc.paths[path]?.[method]?.responses ?? {});
    const expect: [string, string, string[]][] = [
      ['post', '/api/auth/login', ['401', '429']], // wrong password; ten bad tries
      ['post', '/api/sync/capacity', ['404', '413', '415', '429']], // {"instance_ids":[999]}
      ['post', '/api/instances/test-connection', ['404']], // {"ids":[1,999]}, {"names":["nosuch"]}
      ['get', '/api/statistics/runway', ['404']], // ?instance_id=999
      ['post', '/api/credentials', ['413']], // a 2 MB body
    ];
    for (const [method, path, statuses] of expect) {
      const has = declared(method, path);
      for (const status of statuses) assert.ok(has.includes(status), `${method.toUpperCase()} ${path} declares ${status} (has ${has.join(', ')})`);
    }
  });

  it('the ErrorCode component lists every documented error_code', () => {
    // One alternative per code, with its meaning (swagger writes `const` as a one-value enum, for swagger-ui).
    const codes = doc.components.schemas.ErrorCode?.oneOf?.map((c) => [c.enum[0], c.description]);
    assert.deepEqual(codes, Object.entries(ERROR_CODES));
    for (const name of ['OkEnvelope', 'ErrorEnvelope', 'Instance', 'SyncSession', 'AlertRule', 'User', 'Settings'])
      assert.ok(doc.components.schemas[name], name);
  });

  it("docs/api.md's error table lists exactly the codes of ERROR_CODES (the compiler holds every emitted code to it)", async () => {
    const text = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const table = text.slice(text.indexOf('| error_code | status | meaning |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const documented = rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!));
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
    assert.equal(new Set(documented).size, documented.length, 'each code once');
  });

  it('response schemas never alter what is sent: error bodies keep extra fields, success bodies every field', async () => {
    const h = { 'content-type': 'application/json' };
    const failed = await app.inject({ method: 'POST', url: '/probe/1', headers: h, payload: { n: 1 } });
    assert.equal(failed.statusCode, 400);
    assert.deepEqual(failed.json(), { success: false, error: '同步容量失败: x', error_code: 'connection', session_id: 'abc', nested: { a: [1, 2] } });
    const busy = await app.inject({ method: 'POST', url: '/probe/2', headers: h, payload: { n: 1 } });
    assert.equal(busy.statusCode, 409);
    assert.deepEqual(busy.json(), { success: false, error: 'busy', error_code: 'conflict' });
    const invalid = await app.inject({ method: 'POST', url: '/probe/3', headers: h, payload: { n: 'x' } });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().error_code, 'validation');
    const okBody = await app.inject({ method: 'POST', url: '/probe/3', headers: h, payload: { n: 1 } });
    assert.equal(okBody.body, JSON.stringify({ success: true, data: { id: 3, extra: 'kept', deep: { x: 1 } } }));
  });
});
