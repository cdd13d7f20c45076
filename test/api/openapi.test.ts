/**
 * OpenAPI document: with the documentErrors hook every route (except
 * swagger-ui's own /docs routes) declares its error answers with the
 * envelope schema, and those schemas never alter what is sent: error bodies
 * keep extra fields, success bodies are byte-identical to the app's.
 *
 * Until app.ts registers the hook (see the helper's report), this test builds
 * the same routes on a bare Fastify with the hook, swagger and the envelope
 * error handler; the route list is checked against buildApp's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import { authRoutes } from '../../src/http/api/auth.routes.js';
import { credentialsRoutes } from '../../src/http/api/credentials.routes.js';
import { exportRoutes } from '../../src/http/api/export.routes.js';
import { healthRoutes } from '../../src/http/api/health.routes.js';
import { instancesRoutes } from '../../src/http/api/instances.routes.js';
import { statisticsRoutes } from '../../src/http/api/statistics.routes.js';
import { alertsRoutes } from '../../src/http/api/alerts.routes.js';
import { metricsRoutes } from '../../src/http/api/metrics.routes.js';
import { seedRoutes } from '../../src/http/api/seed.routes.js';
import { settingsRoutes } from '../../src/http/api/settings.routes.js';
import { syncRoutes } from '../../src/http/api/sync.routes.js';
import { usersRoutes } from '../../src/http/api/users.routes.js';
import { fleetRoutes } from '../../src/http/api/fleet.routes.js';
import { tablesRoutes } from '../../src/http/api/tables.routes.js';
import { compositionRoutes } from '../../src/http/api/composition.routes.js';
import { buildApp } from '../../src/http/app.js';
import { documentErrors, errorStatuses } from '../../src/http/openapi.js';
import { AppError } from '../../src/lib/errors.js';
import { ExportService } from '../../src/services/export.service.js';
import { MetricsService } from '../../src/services/metrics.service.js';
import { ExportRepository } from '../../src/store/export.repository.js';
import { MetricsRepository } from '../../src/store/metrics.repository.js';
import { newTestContext, type TestContext } from '../helpers/context.js';

type Doc = { paths: Record<string, Record<string, { summary?: string; tags?: string[]; responses?: Record<string, { content?: { 'application/json'?: { schema?: { properties?: Record<string, unknown> } } } }> }>> };
const STATUS: Record<string, number> = { validation: 400, sync_failed: 400, unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409 };

describe('OpenAPI: every route documented with its errors', () => {
  let ctx: TestContext;
  let harness: FastifyInstance;
  let real: Awaited<ReturnType<typeof buildApp>>;
  let doc: Doc;

  before(async () => {
    ctx = await newTestContext('sqlite');
    real = await buildApp(ctx);
    await real.ready();
    harness = Fastify();
    harness.addHook('onRoute', documentErrors);
    await harness.register(swagger, { openapi: { info: { title: 't', version: '0' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } } });
    harness.setErrorHandler((e: FastifyError | AppError, _req, reply) => {
      if (e instanceof AppError) return reply.status(STATUS[e.kind]!).send({ success: false, error: e.message, error_code: e.code ?? e.kind, ...e.extra });
      const fe = e as FastifyError;
      return reply.status(fe.validation ? 400 : 500).send({ success: false, error: fe.message, error_code: fe.validation ? 'validation' : 'internal' });
    });
    for (const p of [healthRoutes, authRoutes, usersRoutes, credentialsRoutes, instancesRoutes, syncRoutes, seedRoutes, settingsRoutes, statisticsRoutes, alertsRoutes, tablesRoutes]) await harness.register(p(ctx));
    await harness.register(metricsRoutes({ metrics: new MetricsService({ repo: new MetricsRepository(ctx.store.db), events: ctx.capacitySync.events, processMetrics: false }) }));
    await harness.register(exportRoutes({ exports: new ExportService(new ExportRepository(ctx.store.db), ctx.instances) }));
    await harness.register(fleetRoutes(ctx));
    await harness.register(compositionRoutes(ctx));
    // Probe routes: an AppError with extra envelope fields, and a validated body.
    harness.post('/probe/:id', { config: { access: 'operator' }, schema: { params: Type.Object({ id: Type.Integer() }), body: Type.Object({ n: Type.Integer() }) } }, async (req) => {
      const { id } = req.params as { id: number };
      if (id === 1) throw new AppError('sync_failed', '同步容量失败: x', 'connection', { session_id: 'abc', nested: { a: [1, 2] } });
      if (id === 2) throw new AppError('conflict', 'busy');
      return { success: true, data: { id, extra: 'kept', deep: { x: 1 } } };
    });
    await harness.ready();
    doc = harness.swagger() as unknown as Doc;
  });
  after(async () => {
    await harness?.close();
    await real?.close();
    await ctx?.cleanup();
  });

  it('the documented routes cover every route of buildApp', () => {
    const realRoutes = real
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .filter((l) => l.includes('('));
    assert.ok(realRoutes.length > 0);
    const json = (real.swagger() as unknown as Doc).paths;
    for (const path of Object.keys(json)) if (!path.startsWith('/docs')) assert.ok(doc.paths[path], `${path} in the harness`);
  });

  it('every route declares its error answers with the envelope schema', () => {
    let n = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path.startsWith('/docs') || path.startsWith('/probe')) continue;
      for (const [method, op] of Object.entries(ops)) {
        n++;
        const url = path.replace(/\{(\w+)\}/g, ':$1');
        const access = url === '/healthz' || url === '/readyz' || url === '/metrics' || url === '/api/auth/login' ? 'public' : 'viewer';
        for (const status of errorStatuses({ method: method.toUpperCase() as 'GET', url, config: { access } as never })) {
          const r = op.responses?.[String(status)];
          assert.ok(r, `${method.toUpperCase()} ${path} documents ${status}`);
          const props = r.content?.['application/json']?.schema?.properties ?? {};
          assert.deepEqual(Object.keys(props).sort(), ['error', 'error_code', 'success'], `${method} ${path} ${status}`);
        }
      }
    }
    assert.ok(n >= 35, `${n} operations`);
  });

  it('error bodies pass through intact (extra fields kept), success bodies untouched', async () => {
    const h = { 'content-type': 'application/json' };
    const failed = await harness.inject({ method: 'POST', url: '/probe/1', headers: h, payload: { n: 1 } });
    assert.equal(failed.statusCode, 400);
    assert.deepEqual(failed.json(), { success: false, error: '同步容量失败: x', error_code: 'connection', session_id: 'abc', nested: { a: [1, 2] } });
    const busy = await harness.inject({ method: 'POST', url: '/probe/2', headers: h, payload: { n: 1 } });
    assert.equal(busy.statusCode, 409);
    assert.deepEqual(busy.json(), { success: false, error: 'busy', error_code: 'conflict' });
    const invalid = await harness.inject({ method: 'POST', url: '/probe/3', headers: h, payload: { n: 'x' } });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().error_code, 'validation');
    const okBody = await harness.inject({ method: 'POST', url: '/probe/3', headers: h, payload: { n: 1 } });
    assert.deepEqual(okBody.json(), { success: true, data: { id: 3, extra: 'kept', deep: { x: 1 } } });
    const a = await harness.inject({ method: 'GET', url: '/api/engines' });
    // No principal in the harness: 401 through the documented 401 schema, intact.
    assert.ok([200, 401].includes(a.statusCode));
    const b = await real.inject({ method: 'GET', url: '/healthz' });
    const c = await harness.inject({ method: 'GET', url: '/healthz' });
    assert.deepEqual(Object.keys(c.json()).sort(), Object.keys(b.json()).sort());
  });

  it('every route has a summary and tags', () => {
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path.startsWith('/docs') || path.startsWith('/probe')) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (!op.summary) missing.push(`${method.toUpperCase()} ${path}`);
        assert.ok(op.tags?.length, `${method.toUpperCase()} ${path} has tags`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
