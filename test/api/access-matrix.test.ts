/**
 * Who may call what, table-driven. ACCESS below is the specification (the
 * README's API table): every registered route must be in it and every entry
 * must be a registered route. Each route is then called by every role
 * (anonymous, viewer, operator, admin) in every way of authenticating:
 *   - cookie session with its X-CSRFToken header,
 *   - bearer token,
 *   - for writes also: cookie session WITHOUT the CSRF header (must be 403).
 *   - a revoked bearer token (401 on every route that is not public; a public route ignores it),
 *   - an expired cookie session (the caller is anonymous: 401 unless public).
 * The table must also equal each route's own `config.access` (app.routeTable).
 * Below the route's role: 401 when anonymous, 403 when logged in. At or above:
 * the status the handler gives for a real request (real ids, valid bodies),
 * never 401/403.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Access } from '../../src/http/access.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { closedPort } from '../helpers/targets.js';
import { sha256 } from '../../src/lib/crypto.js';

type Role = Caller['role'];
type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
type RouteKey = `${Method} /${string}`;

/**
 * The access rule of every route. `/docs*` (swagger-ui and the OpenAPI
 * document) is left out on purpose: those routes are added by
 * @fastify/swagger-ui, carry no `config.access` (app.ts exempts them), are
 * public by design and serve static documentation only, no data.
 * HEAD routes are Fastify's automatic mirrors of GET routes: they are not
 * listed here, they inherit the rule of their GET route and are checked too.
 */
const ACCESS = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': 'viewer',
  'GET /api/auth/me': 'viewer',
  'POST /api/tokens': 'viewer',
  'GET /api/tokens': 'viewer',
  'DELETE /api/tokens/:id': 'viewer',
  'GET /api/users': 'admin',
  'POST /api/users': 'admin',
  'PATCH /api/users/:id': 'admin',
  'POST /api/users/:id/unlock': 'admin',
  'GET /api/audit': 'admin',
  'GET /api/credentials': 'admin',
  'POST /api/credentials': 'admin',
  'GET /api/credentials/:id': 'admin',
  'PATCH /api/credentials/:id': 'admin',
  'DELETE /api/credentials/:id': 'admin',
  'GET /api/instances': 'viewer',
  'POST /api/instances': 'admin',
  'GET /api/instances/:id': 'viewer',
  'PATCH /api/instances/:id': 'admin',
  'DELETE /api/instances/:id': 'admin',
  'POST /api/instances/:id/test-connection': 'operator',
  'POST /api/instances/:id/doctor': 'operator',
  'GET /api/engines': 'viewer',
  'GET /metrics': 'public',
  'GET /api/alerts': 'viewer',
  'GET /api/alerts/:id': 'viewer',
  'GET /api/alert-rules': 'viewer',
  'POST /api/alert-rules': 'admin',
  'PATCH /api/alert-rules/:id': 'admin',
  'DELETE /api/alert-rules/:id': 'admin',
  'GET /api/statistics/summary': 'viewer',
  'GET /api/statistics/runway': 'viewer',
  'GET /api/reports/capacity': 'viewer',
  'GET /api/instances/:id/composition': 'viewer',
  'POST /api/instances/:id/composition/collect': 'operator',
  'GET /api/statistics/top-growers': 'viewer',
  'GET /api/statistics/database-changes': 'viewer',
  'GET /api/statistics/instances/:id/series': 'viewer',
  'GET /api/statistics/instances/:id/database-series': 'viewer',
  'GET /api/statistics/instances/:id/database-forecast': 'viewer',
  'GET /api/statistics/instances/:id/forecast': 'viewer',
  'POST /api/statistics/aggregate': 'admin',
  'POST /api/instances/:id/tables/sync': 'operator',
  'GET /api/instances/:id/tables/databases': 'viewer',
  'GET /api/instances/:id/tables': 'viewer',
  'GET /api/tables/:id/series': 'viewer',
  'GET /api/tables/top-growing': 'viewer',
  'GET /api/statistics/capacity': 'viewer',
  'GET /api/instances/:id/history.csv': 'viewer',
  'GET /api/export/database-sizes.csv': 'viewer',
  'GET /api/instances/:id/databases': 'viewer',
  'GET /api/instances/:id/capacity': 'viewer',
  'GET /api/instances/:id/sync-records': 'viewer',
  'POST /database-sizes/instances/:id/sync-capacity': 'operator',
  'GET /instances/api/instances/total-sizes': 'viewer',
  'POST /api/sync/capacity': 'operator',
  'GET /api/sync-sessions': 'viewer',
  'GET /api/sync-sessions/:id': 'viewer',
  'GET /api/sync-sessions/:id/summary': 'viewer',
  'POST /api/sync-sessions/:id/cancel': 'operator',
  'GET /api/settings': 'admin',
  'PATCH /api/settings': 'admin',
  'PATCH /api/auth/me': 'viewer',
  'GET /api/instances/overview': 'viewer',
  // Web pages (src/http/pages): anonymous page requests are redirected to /login (see PAGES).
  'GET /static/app/:file': 'public',
  'GET /static/app/chunks/:file': 'public',
  'GET /static/css/:file': 'public',
  'GET /static/vendor/bootstrap/:dir/:file': 'public',
  'GET /static/vendor/fontawesome/:dir/:file': 'public',
  'GET /': 'public',
  'GET /login': 'public',
  'GET /instances': 'viewer',
  'GET /instances/:id': 'viewer',
  'POST /api/instances/import': 'admin',
  'GET /api/instances/export': 'viewer',
  'POST /api/instances/test-connection': 'operator',
  'POST /api/instances/discover': 'admin',
  'GET /capacity/instances': 'viewer',
  'GET /capacity/databases': 'viewer',
  'GET /sync-sessions': 'viewer',
  'GET /sync-sessions/:id': 'viewer',
  'GET /settings': 'admin',
  'GET /instances/:id/databases/:name': 'viewer',
  'GET /capacity/tables': 'viewer',
  'GET /capacity/runway': 'viewer',
  'GET /instances/import': 'admin',
} as const satisfies Record<RouteKey, Access>;
type Listed = keyof typeof ACCESS;
/** Page routes answer an anonymous caller with a redirect to /login (302), not a JSON 401. */
const PAGES = new Set<string>(['GET /instances', 'GET /instances/:id']);
for (const p of ['GET /capacity/instances', 'GET /capacity/databases', 'GET /sync-sessions', 'GET /sync-sessions/:id', 'GET /settings']) PAGES.add(p);
for (const p of ['GET /instances/:id/databases/:name', 'GET /capacity/tables', 'GET /capacity/runway']) PAGES.add(p);
PAGES.add('GET /instances/import');
const LISTED = Object.keys(ACCESS) as Listed[];

const ROLES: Role[] = ['anonymous', 'viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { anonymous: 0, viewer: 1, operator: 2, admin: 3 };
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
type Mode = 'cookie+csrf' | 'cookie-no-csrf' | 'bearer' | 'revoked-bearer' | 'expired-session';

function isDocs(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * Every route of the app, as `METHOD /path`, read from `printRoutes`: the
 * router's own tree, so nothing registered can hide from it. (An `onRoute`
 * hook would be cleaner but must be added before the routes, inside
 * buildApp; see the report.) The tree nests shared prefixes by 4 columns.
 */
function registeredRoutes(app: TestApp): string[] {
  const text = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) throw new Error(`cannot parse printRoutes line: ${JSON.stringify(line)}`);
    const depth = m[1]!.length / 4;
    const path = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack.length = depth;
    stack.push(path);
    for (const method of m[3]?.split(', ') ?? []) out.push(`${method} ${path}`);
  }
  return out;
}

/** A request ready to send, and the status an authorized caller must get. */
interface Prepared {
  url: string;
  payload?: unknown;
  expect: number;
  /** The route ends the cookie session it is called with: use a fresh one. */
  freshSession?: boolean;
  /** Called with the response when the request was authorized. */
  check?: (body: string) => void;
  /** Extra request headers (e.g. the content type of a non-JSON body). */
  headers?: Record<string, string>;
  /** What an authorized caller gets with a (valid) bearer token, when not `expect` (a token never mints a token). */
  bearerExpect?: number;
}

describe('access matrix [sqlite]', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Role, Caller>;
  const userIds = {} as Record<Role, number>;
  let seq = 0;
  const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;
  let deadPort: number;
  let instanceId: number; // no credential: sync/test-connection answer 400 at once
  let deadInstanceId: number; // credential, but a closed port: batch sync fails fast
  let credentialId: number;
  let targetUserId: number;
  let sessionId: string;
  const batchSessions: string[] = [];
  const freshPasswords = {} as Record<Exclude<Role, 'anonymous'>, string>;
  /** Per role: a bearer token that was revoked, and a cookie session (with its CSRF token) that expired. */
  const dead = {} as Record<Exclude<Role, 'anonymous'>, { revokedBearer: string; expired: { cookie: string; csrf: string } }>;
  const checks = { count: 0 };

  const actor = { userId: null, username: 'test' };
  const newCredential = async () => (await ctx.credentials.create({ name: uniq('cred'), username: 'u', password: 'matrix-secret' }, actor)).id;
  const newRule = async () => (await ctx.alerts.createRule({ name: uniq('rule'), kind: 'size_above', threshold: 10 }, actor)).id;
  const newInstance = async (credential_id: number | null = null) =>
    (await ctx.instances.create({ name: uniq('inst'), db_type: 'postgresql', host: '127.0.0.1', port: deadPort, credential_id }, actor)).id;

  /** A new cookie session for a user of this role (for routes that end the session). */
  async function freshSession(role: Exclude<Role, 'anonymous'>): Promise<{ cookie: string; csrf: string }> {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: `fresh-${role}`, password: freshPasswords[role] } });
    assert.equal(res.statusCode, 200, res.body);
    return { cookie: `wf_session=${res.cookies.find((c) => c.name === 'wf_session')!.value}`, csrf: res.json().data.csrf_token as string };
  }

  const PREPARE: Record<Listed, (role: Role) => Promise<Prepared>> = {
    'GET /healthz': async () => ({ url: '/healthz', expect: 200 }),
    'GET /readyz': async () => ({ url: '/readyz', expect: 200 }),
    'POST /api/auth/login': async () => ({ url: '/api/auth/login', payload: { username: 'fresh-viewer', password: freshPasswords.viewer }, expect: 200 }),
    // A token is not a session: logging out with one is refused (it would not revoke it).
    'POST /api/auth/logout': async () => ({ url: '/api/auth/logout', expect: 200, freshSession: true, bearerExpect: 400 }),
    'GET /api/auth/me': async () => ({ url: '/api/auth/me', expect: 200 }),
    'POST /api/tokens': async () => ({ url: '/api/tokens', payload: { name: uniq('tok') }, expect: 201, bearerExpect: 403 }),
    'GET /api/tokens': async () => ({ url: '/api/tokens', expect: 200 }),
    // Never the caller's own bearer token: a fresh token of the caller's user per call.
    'DELETE /api/tokens/:id': async (role) => {
      const owner = role === 'anonymous' ? userIds.admin : userIds[role];
      const t = await ctx.auth.createToken(owner, { name: uniq('doomed') }, actor);
      return { url: `/api/tokens/${t.id}`, expect: 200 };
    },
    'GET /api/users': async () => ({ url: '/api/users', expect: 200 }),
    'POST /api/users': async () => ({ url: '/api/users', payload: { username: uniq('user'), password: 'Password-123', role: 'viewer' }, expect: 201 }),
    // A throwaway user, and a change that does not end anyone's session.
    'PATCH /api/users/:id': async () => ({ url: `/api/users/${targetUserId}`, payload: { locale: 'en' }, expect: 200 }),
    'POST /api/users/:id/unlock': async () => ({ url: `/api/users/${targetUserId}/unlock`, expect: 200 }),
    'GET /api/audit': async () => ({ url: '/api/audit', expect: 200 }),
    'GET /api/credentials': async () => ({ url: '/api/credentials', expect: 200 }),
    'POST /api/credentials': async () => ({ url: '/api/credentials', payload: { name: uniq('cred'), username: 'u', password: 'matrix-secret' }, expect: 201 }),
    'GET /api/credentials/:id': async () => ({ url: `/api/credentials/${credentialId}`, expect: 200 }),
    'PATCH /api/credentials/:id': async () => ({ url: `/api/credentials/${credentialId}`, payload: { username: 'u2' }, expect: 200 }),
    'DELETE /api/credentials/:id': async () => ({ url: `/api/credentials/${await newCredential()}`, expect: 200 }),
    'GET /api/instances': async () => ({ url: '/api/instances', expect: 200 }),
    'POST /api/instances': async () => ({
      url: '/api/instances',
      payload: { name: uniq('inst'), db_type: 'postgresql', host: '127.0.0.1', port: deadPort, confirm_duplicate: true },
      expect: 201,
    }),
    'GET /api/instances/:id': async () => ({ url: `/api/instances/${instanceId}`, expect: 200 }),
    'PATCH /api/instances/:id': async () => ({ url: `/api/instances/${instanceId}`, payload: { description: 'touched by the matrix' }, expect: 200 }),
    'DELETE /api/instances/:id': async () => ({ url: `/api/instances/${await newInstance()}`, expect: 200 }),
    'POST /api/instances/:id/test-connection': async () => ({
      url: `/api/instances/${instanceId}/test-connection`,
      expect: 400,
      check: (body) => assert.match(body, /实例缺少连接凭据/),
    }),
    'POST /api/instances/:id/doctor': async () => ({
      url: `/api/instances/${instanceId}/doctor`,
      expect: 400,
      check: (body) => assert.match(body, /实例缺少连接凭据/),
    }),
    'GET /api/alerts': async () => ({ url: '/api/alerts', expect: 200 }),
    'GET /api/alerts/:id': async () => ({ url: '/api/alerts/999999', expect: 404 }),
    'GET /api/alert-rules': async () => ({ url: '/api/alert-rules', expect: 200 }),
    'POST /api/alert-rules': async () => ({ url: '/api/alert-rules', payload: { name: uniq('rule'), kind: 'size_above', threshold: 10 }, expect: 201 }),
    'PATCH /api/alert-rules/:id': async () => ({ url: `/api/alert-rules/${await newRule()}`, payload: { threshold: 20 }, expect: 200 }),
    'DELETE /api/alert-rules/:id': async () => ({ url: `/api/alert-rules/${await newRule()}`, expect: 200 }),
    'GET /api/statistics/summary': async () => ({ url: '/api/statistics/summary', expect: 200 }),
    'GET /api/statistics/runway': async () => ({ url: '/api/statistics/runway', expect: 200 }),
    'GET /api/reports/capacity': async () => ({ url: '/api/reports/capacity?month=2024-01&format=csv', expect: 200 }),
    'GET /api/instances/:id/composition': async () => ({ url: `/api/instances/${instanceId}/composition`, expect: 200 }),
    'POST /api/instances/:id/composition/collect': async () => ({
      url: `/api/instances/${instanceId}/composition/collect`,
      expect: 400,
      check: (body) => assert.match(body, /实例缺少连接凭据，无法采集空间构成/),
    }),
    'GET /api/statistics/top-growers': async () => ({ url: '/api/statistics/top-growers', expect: 200 }),
    'GET /api/statistics/capacity': async () => ({ url: '/api/statistics/capacity', expect: 200 }),
    'GET /api/statistics/database-changes': async () => ({ url: '/api/statistics/database-changes', expect: 200 }),
    'GET /api/statistics/instances/:id/series': async () => ({ url: `/api/statistics/instances/${instanceId}/series`, expect: 200 }),
    'GET /api/statistics/instances/:id/database-series': async () => ({
      url: `/api/statistics/instances/${instanceId}/database-series?database=postgres`,
      expect: 404,
    }), // never synced: no such database yet
    'GET /api/statistics/instances/:id/database-forecast': async () => ({
      url: `/api/statistics/instances/${instanceId}/database-forecast?database=postgres`,
      expect: 404,
    }),
    'GET /api/statistics/instances/:id/forecast': async () => ({ url: `/api/statistics/instances/${instanceId}/forecast`, expect: 200 }),
    'POST /api/statistics/aggregate': async () => ({ url: '/api/statistics/aggregate', payload: { period: 'daily' }, expect: 200 }),
    'POST /api/instances/:id/tables/sync': async () => ({
      url: `/api/instances/${instanceId}/tables/sync`,
      payload: {},
      expect: 400,
      check: (body) => assert.match(body, /实例缺少连接凭据，无法同步表容量/),
    }),
    'GET /api/instances/:id/tables/databases': async () => ({ url: `/api/instances/${instanceId}/tables/databases`, expect: 200 }),
    'GET /api/instances/:id/tables': async () => ({ url: `/api/instances/${instanceId}/tables?database=postgres`, expect: 200 }),
    'GET /api/tables/:id/series': async () => ({ url: '/api/tables/999999/series', expect: 404 }),
    'GET /api/tables/top-growing': async () => ({ url: '/api/tables/top-growing', expect: 200 }),
    'GET /metrics': async () => ({ url: '/metrics', expect: 200, check: (body) => assert.match(body, /whalefall_instance_size_bytes/) }),
    'GET /api/instances/:id/history.csv': async () => ({ url: `/api/instances/${instanceId}/history.csv`, expect: 200 }),
    'GET /api/export/database-sizes.csv': async () => ({ url: '/api/export/database-sizes.csv', expect: 200 }),
    'GET /api/engines': async () => ({ url: '/api/engines', expect: 200, check: (body) => assert.match(body, /"db_type":"sqlserver"/) }),
    'GET /api/instances/:id/databases': async () => ({ url: `/api/instances/${instanceId}/databases`, expect: 200 }),
    'GET /api/instances/:id/capacity': async () => ({ url: `/api/instances/${instanceId}/capacity`, expect: 200 }),
    'GET /api/instances/:id/sync-records': async () => ({ url: `/api/instances/${instanceId}/sync-records`, expect: 200 }),
    'POST /database-sizes/instances/:id/sync-capacity': async () => ({
      url: `/database-sizes/instances/${instanceId}/sync-capacity`,
      expect: 400,
      check: (body) => assert.match(body, /实例缺少连接凭据，无法同步容量信息/),
    }),
    'GET /instances/api/instances/total-sizes': async () => ({ url: '/instances/api/instances/total-sizes', expect: 200 }),
    'POST /api/sync/capacity': async () => ({
      url: '/api/sync/capacity',
      payload: { instance_ids: [deadInstanceId] },
      expect: 202,
      check: (body) => batchSessions.push((JSON.parse(body) as { data: { session_id: string } }).data.session_id),
    }),
    'GET /api/sync-sessions': async () => ({ url: '/api/sync-sessions', expect: 200 }),
    'GET /api/sync-sessions/:id': async () => ({ url: `/api/sync-sessions/${sessionId}`, expect: 200 }),
    'GET /api/sync-sessions/:id/summary': async () => ({ url: `/api/sync-sessions/${sessionId}/summary`, expect: 200 }),
    // The session is finished: cancelling it is refused (the cancel itself is tested in test/production/cancel.test.ts).
    'POST /api/sync-sessions/:id/cancel': async () => ({
      url: `/api/sync-sessions/${sessionId}/cancel`,
      expect: 409,
      check: (body) => assert.match(body, /无法取消/),
    }),
    'GET /api/settings': async () => ({ url: '/api/settings', expect: 200 }),
    // null resets a setting to its default (bodies are not type-coerced).
    'PATCH /api/settings': async () => ({ url: '/api/settings', payload: { sync_concurrency: null }, expect: 200 }),
    'GET /api/instances/overview': async () => ({ url: '/api/instances/overview?sort=change_7d_bytes&dir=desc&limit=5', expect: 200 }),
    'PATCH /api/auth/me': async () => ({ url: '/api/auth/me', payload: { locale: 'zh-CN' }, expect: 200 }),
    'GET /static/app/:file': async () => ({ url: '/static/app/login.page.js', expect: 200 }),
    'GET /static/app/chunks/:file': async () => ({ url: '/static/app/chunks/missing.js', expect: 404 }),
    'GET /static/css/:file': async () => ({ url: '/static/css/app.css', expect: 200 }),
    'GET /static/vendor/bootstrap/:dir/:file': async () => ({ url: '/static/vendor/bootstrap/css/bootstrap.min.css', expect: 200 }),
    'GET /static/vendor/fontawesome/:dir/:file': async () => ({ url: '/static/vendor/fontawesome/webfonts/fa-solid-900.woff2', expect: 200 }),
    'GET /': async () => ({ url: '/', expect: 302 }),
    'GET /login': async () => ({ url: '/login', expect: 200, check: (body) => assert.match(body, /wf-login-form/) }),
    'GET /instances': async () => ({ url: '/instances', expect: 200, check: (body) => assert.match(body, /id="wf-logout"/) }),
    'GET /instances/:id': async () => ({ url: `/instances/${instanceId}`, expect: 200 }),
    // A dry run: the report, nothing stored.
    'POST /api/instances/import': async () => ({
      url: '/api/instances/import?dry_run=true',
      headers: { 'content-type': 'text/csv' },
      payload: `name,db_type,host\n${uniq('imp')},postgresql,127.0.0.1\n`,
      expect: 200,
      check: (body) => assert.match(body, /"created":1/),
    }),
    'GET /api/instances/export': async () => ({ url: '/api/instances/export?format=yaml', expect: 200, check: (body) => assert.match(body, /^instances:/) }),
    'POST /api/instances/test-connection': async () => ({
      url: '/api/instances/test-connection',
      payload: { ids: [instanceId] },
      expect: 200,
      check: (body) => assert.match(body, /"error_code":"no_credential","error":"实例没有凭据，未连接/),
    }),
    // Enabled for this context (WHALEFALL_DISCOVERY=on below); one closed port on 127.0.0.1.
    'POST /api/instances/discover': async () => ({ url: '/api/instances/discover', payload: { targets: ['127.0.0.1'], ports: [deadPort] }, expect: 200 }),
    'GET /capacity/instances': async () => ({ url: '/capacity/instances', expect: 200, check: (body) => assert.match(body, /id="wf-capacity"/) }),
    'GET /capacity/databases': async () => ({ url: '/capacity/databases', expect: 200, check: (body) => assert.match(body, /data-scope="database"/) }),
    'GET /sync-sessions': async () => ({ url: '/sync-sessions', expect: 200 }),
    'GET /sync-sessions/:id': async () => ({ url: `/sync-sessions/${sessionId}`, expect: 200 }),
    'GET /settings': async () => ({ url: '/settings', expect: 200, check: (body) => assert.match(body, /id="wf-settings"/) }),
    'GET /instances/:id/databases/:name': async () => ({
      url: `/instances/${instanceId}/databases/postgres`,
      expect: 200,
      check: (body) => assert.match(body, /id="wf-database"/),
    }),
    'GET /capacity/tables': async () => ({ url: '/capacity/tables', expect: 200, check: (body) => assert.match(body, /id="wf-top-table"/) }),
    'GET /capacity/runway': async () => ({ url: '/capacity/runway', expect: 200, check: (body) => assert.match(body, /id="wf-rw-table"/) }),
    'GET /instances/import': async () => ({ url: '/instances/import', expect: 200, check: (body) => assert.match(body, /id="wf-import-form"/) }),
  };

  before(async () => {
    // Many logins happen here (one per login/logout check): lift the per-minute limit.
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_LOGIN_RATE_LIMIT: '10000', WHALEFALL_DISCOVERY: 'on' } });
    ({ app, callers } = await newTestApp(ctx));
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${callers[role].bearer}` } });
      assert.equal(me.statusCode, 200, me.body);
      userIds[role] = me.json().data.id as number;
      assert.equal(me.json().data.role, role);
      freshPasswords[role] = `fresh-${role}-Secret1`;
      await ctx.auth.createUser({ username: `fresh-${role}`, password: freshPasswords[role], role }, actor);
    }
    targetUserId = (await ctx.auth.createUser({ username: 'matrix-target', password: 'Password-123', role: 'viewer' }, actor)).id;
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const t = await ctx.auth.createToken(userIds[role], { name: `revoked-${role}` }, actor);
      await ctx.auth.revokeToken(t.id, actor);
      const expired = await freshSession(role);
      const sid = sha256(expired.cookie.slice('wf_session='.length));
      const n = await ctx.store.db
        .updateTable('web_sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', sid)
        .executeTakeFirst();
      assert.equal(Number(n.numUpdatedRows), 1);
      dead[role] = { revokedBearer: t.token, expired };
    }
    deadPort = await closedPort();
    credentialId = await newCredential();
    instanceId = await newInstance();
    deadInstanceId = await newInstance(await newCredential());
    // A finished sync session to read back, made through the API itself.
    const started = await app.inject({
      method: 'POST',
      url: '/api/sync/capacity',
      headers: { authorization: `Bearer ${callers.operator.bearer}` },
      payload: { instance_ids: [deadInstanceId] },
    });
    assert.equal(started.statusCode, 202, started.body);
    sessionId = started.json().data.session_id as string;
    await waitForSession(sessionId);
  });

  async function waitForSession(id: string, deadline = Date.now() + 30_000): Promise<void> {
    for (;;) {
      const res = await app.inject({ method: 'GET', url: `/api/sync-sessions/${id}`, headers: { authorization: `Bearer ${callers.admin.bearer}` } });
      assert.equal(res.statusCode, 200, res.body);
      if (res.json().data.status !== 'running') return;
      if (Date.now() > deadline) throw new Error(`sync session ${id} still running`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  after(async () => {
    // Batch syncs run in the background: let every one finish before the store closes.
    const deadline = Date.now() + 30_000;
    try {
      for (const id of batchSessions) await waitForSession(id, deadline);
    } finally {
      await app?.close();
      await ctx?.cleanup();
    }
  });

  it('the table lists every registered route, and only registered routes', () => {
    const registered = registeredRoutes(app);
    assert.ok(registered.length > 0, 'printRoutes returned no routes');
    const listed = new Set<string>(Object.keys(ACCESS));
    const routes = registered.filter((r) => !isDocs(r.slice(r.indexOf(' ') + 1)));
    const heads = routes.filter((r) => r.startsWith('HEAD '));
    const others = new Set(routes.filter((r) => !r.startsWith('HEAD ')));
    const missing = [...others].filter((r) => !listed.has(r));
    assert.deepEqual(missing, [], `routes registered in the app but missing from ACCESS: ${missing.join(', ')}`);
    const stale = [...listed].filter((r) => !others.has(r));
    assert.deepEqual(stale, [], `ACCESS entries with no registered route: ${stale.join(', ')}`);
    const orphanHeads = heads.filter((h) => !listed.has(`GET ${h.slice(5)}`));
    assert.deepEqual(orphanHeads, [], `HEAD routes without a GET route in ACCESS: ${orphanHeads.join(', ')}`);
    // The router agrees entry by entry, and the OpenAPI document lists nothing else.
    for (const key of Object.keys(ACCESS)) {
      const [method, url] = key.split(' ') as [Method, string];
      assert.ok(app.hasRoute({ method, url }), `hasRoute(${key})`);
    }
    // The spec agrees with the code: each route's own config.access is the rule listed here.
    const disagree = app.routeTable
      .filter((r) => !isDocs(r.url) && r.method !== 'HEAD')
      .filter((r) => ACCESS[`${r.method} ${r.url}` as Listed] !== r.access)
      .map((r) => `${r.method} ${r.url}: route says ${r.access}, table says ${ACCESS[`${r.method} ${r.url}` as Listed]}`);
    assert.deepEqual(disagree, [], disagree.join('\n'));
    const spec = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(spec.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`));
    const undocumentedInTable = documented.filter((r) => !listed.has(r));
    assert.deepEqual(undocumentedInTable, [], `OpenAPI paths missing from ACCESS: ${undocumentedInTable.join(', ')}`);
  });

  /** Every route to check: the table, plus the automatic HEAD mirror of each GET route. */
  const MATRIX: [RouteKey, Listed][] = LISTED.flatMap((key): [RouteKey, Listed][] =>
    key.startsWith('GET ')
      ? [
          [key, key],
          [`HEAD ${key.slice(4)}` as RouteKey, key],
        ]
      : [[key, key]],
  );

  for (const [key, ruleKey] of MATRIX) {
    it(`${key} requires ${ACCESS[ruleKey]}`, async () => {
      const [method, pattern] = key.split(' ') as [Method, string];
      const rule: Access = ACCESS[ruleKey];
      const needed = rule === 'public' ? 0 : RANK[rule];
      const write = !SAFE.has(method);
      const modes: Mode[] = write
        ? ['cookie+csrf', 'cookie-no-csrf', 'bearer', 'revoked-bearer', 'expired-session']
        : ['cookie+csrf', 'bearer', 'revoked-bearer', 'expired-session'];
      const failures: string[] = [];
      for (const role of ROLES) {
        for (const mode of modes) {
          const p = await PREPARE[ruleKey](role);
          assert.ok(!p.url.includes(':'), `${key}: unfilled parameter in ${p.url} (pattern ${pattern})`);
          let headers: Record<string, string> = {};
          if (role !== 'anonymous') {
            if (mode === 'bearer') headers = { authorization: `Bearer ${callers[role].bearer}` };
            else if (mode === 'revoked-bearer') headers = { authorization: `Bearer ${dead[role].revokedBearer}` };
            else if (mode === 'expired-session') headers = { cookie: dead[role].expired.cookie, ...(write ? { 'x-csrftoken': dead[role].expired.csrf } : {}) };
            else if (p.freshSession) {
              const s = await freshSession(role);
              headers = { cookie: s.cookie, ...(mode === 'cookie+csrf' ? { 'x-csrftoken': s.csrf } : {}) };
            } else headers = callers[role].headers(mode === 'cookie+csrf');
          }
          const res = await app.inject({
            method,
            url: p.url,
            headers: { ...headers, ...p.headers },
            ...(p.payload === undefined ? {} : { payload: p.payload as object }),
          });
          checks.count++;
          let expected: number;
          // A public route answers the same whatever credentials come with it: a revoked token or an expired
          // session there is no caller (a probe or a proxy forwarding a stale header must not see the service down).
          if (rule === 'public') expected = p.expect;
          // Elsewhere a bearer token, once presented, must be valid. Pages answer it like any refusal: back to /login.
          else if (role !== 'anonymous' && mode === 'revoked-bearer') expected = PAGES.has(ruleKey) ? 302 : 401;
          // An expired session is no session: the caller is anonymous (a page redirects to /login).
          else if (role === 'anonymous' || mode === 'expired-session') expected = PAGES.has(ruleKey) ? 302 : 401;
          else if (write && mode === 'cookie-no-csrf') expected = 403;
          else if (RANK[role] < needed) expected = 403;
          else expected = mode === 'bearer' && p.bearerExpect !== undefined ? p.bearerExpect : p.expect;
          const ok = res.statusCode === expected;
          if (!ok) failures.push(`${role} via ${mode}: expected ${expected}, got ${res.statusCode} ${res.body.slice(0, 200)}`);
          else if (expected !== 401 && expected !== 403 && expected !== 302 && method !== 'HEAD' && p.check) {
            try {
              p.check(res.body);
            } catch (err) {
              failures.push(`${role} via ${mode}: ${(err as Error).message}`);
            }
          }
        }
      }
      assert.deepEqual(failures, [], `${key} (${rule}):\n  ${failures.join('\n  ')}`);
    });
  }

  it('prints the size of the matrix', () => {
    const routes = MATRIX.length;
    const writes = MATRIX.filter(([k]) => !SAFE.has(k.split(' ')[0]!)).length;
    const table = Object.keys(ACCESS).length;
    // The test runner shows this as `# access matrix: …`.
    console.log(
      `access matrix: ${routes} routes × ${ROLES.length} roles × 4–5 modes = ${checks.count} checks ` +
        `(${table} table routes + ${routes - table} HEAD mirrors; modes cookie+CSRF, bearer, revoked bearer, expired session, plus cookie without CSRF on the ${writes} write routes)`,
    );
  });

  it('the /docs routes are public: a bad or revoked bearer token gets the same answer as none', async () => {
    const docs = app.routeTable.filter((r) => isDocs(r.url));
    assert.ok(docs.length > 0, 'no /docs route registered');
    assert.deepEqual(
      docs.filter((r) => r.access !== 'public').map((r) => `${r.method} ${r.url}`),
      [],
    );
    for (const url of ['/docs', '/docs/json', '/docs/yaml', '/healthz', '/readyz']) {
      const plain = await app.inject({ method: 'GET', url });
      for (const authorization of ['Bearer wf_bogus', `Bearer ${dead.admin.revokedBearer}`]) {
        const res = await app.inject({ method: 'GET', url, headers: { authorization, 'accept-language': 'en' } });
        assert.equal(res.statusCode, plain.statusCode, `${url} with ${authorization.slice(0, 12)}…: ${res.body.slice(0, 200)}`);
        assert.equal(res.body, plain.body, url);
      }
    }
  });

  it('a revoked bearer token is refused (401)', async () => {
    const bearer = { authorization: `Bearer ${callers.viewer.bearer}` };
    const created = await app.inject({ method: 'POST', url: '/api/tokens', headers: callers.viewer.headers(true), payload: { name: uniq('to-revoke') } });
    assert.equal(created.statusCode, 201, created.body);
    const { id, token } = created.json().data as { id: number; token: string };
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: auth })).statusCode, 200);
    const revoked = await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: bearer });
    assert.equal(revoked.statusCode, 200, revoked.body);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: auth });
    assert.equal(me.statusCode, 401, me.body);
    assert.equal(me.json().success, false);
    const write = await app.inject({ method: 'POST', url: '/api/tokens', headers: auth, payload: { name: 'x' } });
    assert.equal(write.statusCode, 401, write.body);
  });

  it('an expired bearer token is refused (401)', async () => {
    const t = await ctx.auth.createToken(userIds.operator, { name: uniq('expiring'), expires_in_days: 1 }, actor);
    const auth = { authorization: `Bearer ${t.token}` };
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: auth })).statusCode, 200);
    await ctx.store.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', t.id)
      .execute();
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: auth })).statusCode, 401);
  });

  it('an expired cookie session is refused (401), reads and writes alike', async () => {
    const s = await freshSession('admin');
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: s.cookie } })).statusCode, 200);
    const uid = (await ctx.auth.userByName('fresh-admin')).id;
    await ctx.store.db
      .updateTable('web_sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('user_id', '=', uid)
      .execute();
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: s.cookie } });
    assert.equal(me.statusCode, 401, me.body);
    const write = await app.inject({ method: 'POST', url: '/api/tokens', headers: { cookie: s.cookie, 'x-csrftoken': s.csrf }, payload: { name: 'x' } });
    assert.equal(write.statusCode, 401, write.body);
  });

  it('logout ends the session: the same cookie is then refused (401)', async () => {
    const s = await freshSession('viewer');
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: s.cookie, 'x-csrftoken': s.csrf } });
    assert.equal(out.statusCode, 200, out.body);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: s.cookie } })).statusCode, 401);
  });

  it('logout with a bearer token is 400 not_a_session pointing to token revocation: the token keeps working, nothing is recorded', async () => {
    const t = await ctx.auth.createToken(userIds.viewer, { name: uniq('logout') }, actor);
    const auth = { authorization: `Bearer ${t.token}` };
    const logouts = async () => (await ctx.store.db.selectFrom('audit_log').select('id').where('action', '=', 'auth.logout').execute()).length;
    const before = await logouts();
    const zh = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: auth });
    assert.equal(zh.statusCode, 400, zh.body);
    assert.equal(zh.json().error_code, 'not_a_session');
    assert.match(zh.json().error, /令牌不是会话.*DELETE \/api\/tokens\/:id/);
    const en = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { ...auth, 'accept-language': 'en' } });
    assert.equal(en.json().error, 'An API token is not a session: logging out does not revoke it. Revoke it with DELETE /api/tokens/:id');
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: auth })).statusCode, 200);
    assert.equal(await logouts(), before, 'no logout recorded');
  });

  it("a cookie write with another session's CSRF token is refused (403)", async () => {
    const a = await freshSession('admin');
    const b = await freshSession('admin');
    const res = await app.inject({ method: 'POST', url: '/api/tokens', headers: { cookie: a.cookie, 'x-csrftoken': b.csrf }, payload: { name: 'x' } });
    assert.equal(res.statusCode, 403, res.body);
    const good = await app.inject({ method: 'POST', url: '/api/tokens', headers: { cookie: a.cookie, 'x-csrftoken': a.csrf }, payload: { name: uniq('ok') } });
    assert.equal(good.statusCode, 201, good.body);
  });

  it('a deactivated user is refused (401) with a session and with a token', async () => {
    const u = await ctx.auth.createUser({ username: 'soon-inactive', password: 'Password-123', role: 'admin' }, actor);
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'soon-inactive', password: 'Password-123' } });
    assert.equal(login.statusCode, 200, login.body);
    const cookie = `wf_session=${login.cookies.find((c) => c.name === 'wf_session')!.value}`;
    const token = (await ctx.auth.createToken(u.id, { name: 'x' }, actor)).token;
    const off = await app.inject({
      method: 'PATCH',
      url: `/api/users/${u.id}`,
      headers: { authorization: `Bearer ${callers.admin.bearer}` },
      payload: { is_active: false },
    });
    assert.equal(off.statusCode, 200, off.body);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
  });

  it('an unknown URL answers 404 (the not-found envelope), whoever asks', async () => {
    const who: [string, Record<string, string>][] = [
      ['anonymous', {}],
      ['viewer bearer', { authorization: `Bearer ${callers.viewer.bearer}` }],
      ['admin cookie', callers.admin.headers(true)],
    ];
    for (const [name, headers] of who) {
      for (const [method, url] of [
        ['GET', '/api/no-such-thing'],
        ['PUT', '/api/instances'],
        ['POST', '/api/instances/1/no-such-action'],
      ] as const) {
        const res = await app.inject({ method, url, headers });
        assert.equal(res.statusCode, 404, `${name} ${method} ${url}: ${res.body}`);
        assert.equal(res.json().error_code, 'not_found', `${name} ${method} ${url}: ${res.body}`);
      }
    }
  });

  // The role check runs in a preHandler hook, i.e. after body/params/query
  // validation: a caller below the route's role gets the validation 400 (with
  // the schema's wording) instead of 401/403. Authorization should come first.
  it('authorization is decided before input validation', async () => {
    const anon = await app.inject({ method: 'POST', url: '/api/instances', payload: { bogus: true } });
    assert.equal(anon.statusCode, 401, `anonymous, invalid body: ${anon.body}`);
    const anonId = await app.inject({ method: 'GET', url: '/api/instances/not-a-number' });
    assert.equal(anonId.statusCode, 401, `anonymous, invalid id: ${anonId.body}`);
    const viewer = await app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: { authorization: `Bearer ${callers.viewer.bearer}` },
      payload: { bogus: true },
    });
    assert.equal(viewer.statusCode, 403, `viewer, invalid body: ${viewer.body}`);
    const noCsrf = await app.inject({ method: 'POST', url: '/api/instances', headers: callers.admin.headers(false), payload: { bogus: true } });
    assert.equal(noCsrf.statusCode, 403, `admin cookie without CSRF, invalid body: ${noCsrf.body}`);
  });
});
