/**
 * Every API route is in docs/api.md: a route added without its line there fails here (the trial found the tables
 * routes, a session's cancel and a user's unlock in the OpenAPI document only). Pages (HTML) and /docs are left
 * out; a route counts as documented when its path, as registered (`/api/instances/:id/tables`), is written there.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type TestApp, type TestContext } from '../helpers/context.js';

const API = /^\/(api|database-sizes|instances\/api|metrics|healthz|readyz)(\/|$)/;

describe('docs/api.md names every API route', () => {
  let ctx: TestContext;
  let app: TestApp;
  before(async () => {
    ctx = await newTestContext('sqlite');
    app = (await newTestApp(ctx)).app;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('each registered route is written in api.md with its method', () => {
    const doc = fs.readFileSync('docs/api.md', 'utf8');
    const routes = app.routeTable.filter((r) => r.method !== 'HEAD' && API.test(r.url));
    assert.ok(routes.length > 50, `${routes.length} routes`);
    // `GET /api/x`, `GET/POST /api/x` or `…, POST /api/x` in a table cell: the method next to the path, or the path with the
    // method among a cell's list of methods (`GET/PATCH/DELETE /api/credentials/:id`).
    const mentioned = (method: string, url: string) =>
      [...doc.matchAll(/`((?:GET|POST|PATCH|PUT|DELETE)(?:\/(?:GET|POST|PATCH|PUT|DELETE))*) ([^`?\s]+)/g)].some(
        ([, methods, path]) => path === url && methods!.split('/').includes(method),
      );
    const missing = routes.filter((r) => !mentioned(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual([...new Set(missing)], [], `not in docs/api.md:\n${missing.join('\n')}`);
  });
});
