/**
 * Hostile data from a monitored database: a PostgreSQL (the wire-protocol
 * responder behind the real `pg` driver) whose databases are named with
 * quotes, backslashes, `%`, `_`, newlines, 63/64-character and multibyte
 * names, with zero, multi-terabyte and NULL sizes. One real sync through the
 * service, then every read path (API JSON, CSV exports, /metrics, series by
 * database name) must answer 2xx and give each name back exactly, with no
 * LIKE-wildcard confusion between `a_b` and `axb` or `100%` and `100x`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { type PgResponder, type ResultSet, startPgResponder, SIZE_COLUMNS } from '../helpers/pg-responder.js';

const TB = 2 ** 40;
/** [name, size as pg's int8 text, or null]: every name a different hazard. */
export const HOSTILE_DBS: [string, string | null][] = [
  [`it's`, '1'],
  ['say "hi"', '2'],
  ['back\\slash', '3'],
  ['double\\\\back', '4'],
  ['100%', '5'],
  ['100x', '6'],
  ['a_b', '7'],
  ['axb', '8'],
  ['%', '9'],
  ['_', '10'],
  ['line1\nline2', '11'],
  ['tab\there', '12'],
  ['comma,semi;colon', '13'],
  ['=cmd|calc', '14'], // CSV formula injection
  ['<b>html</b>', '15'],
  ['x'.repeat(63), '16'],
  ['y'.repeat(64), '17'],
  ['鲸落数据库', '18'],
  ['🐳'.repeat(16), '19'],
  ['  spaced  ', '20'],
  ['empty-db', '0'],
  ['huge-5tb', String(5 * TB)],
  ['huge-900tb', String(900 * TB)],
  ['no-size', null],
];

describe('hostile data from a monitored database', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let responder: PgResponder;
  let instanceId: number;
  let checked = 0;
  const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${callers.viewer.bearer}` } });

  before(async () => {
    // Names in clear on /metrics, so their escaping can be checked.
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_METRICS_DATABASE_NAMES: 'public' } });
    ({ app, callers } = await newTestApp(ctx));
    const rows = HOSTILE_DBS.map(([name, size], i) => [20_000 + i, name, false, size !== null, size, '15.7 (responder)']);
    const reply: ResultSet = {
      columns: SIZE_COLUMNS,
      rows,
    };
    responder = await startPgResponder({ handler: (sql) => (/pg_database_size\(oid\)/.test(sql) ? reply : undefined), serverVersion: '15.7 (responder)' });
    const actor = { userId: null, username: 'test' };
    const cred = await ctx.credentials.create({ name: 'hostile', username: 'collector', password: 'hostile-pw' }, actor);
    instanceId = (
      await ctx.instances.create({ name: 'hostile-pg', db_type: 'postgresql', host: responder.host, port: responder.port, credential_id: cred.id }, actor)
    ).id;
    const r = await ctx.capacitySync.syncInstance(instanceId, actor);
    assert.equal(r.data.saved_count, HOSTILE_DBS.length, JSON.stringify(r));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    await responder?.close();
  });

  it('the store holds every name exactly, with its exact size; NULL stays NULL', async () => {
    const rows = await ctx.store.db
      .selectFrom('database_size_stats')
      .select(['database_name', 'size_bytes', 'error'])
      .where('instance_id', '=', instanceId)
      .execute();
    const got = new Map(rows.map((r) => [r.database_name, r]));
    for (const [name, size] of HOSTILE_DBS) {
      const row = got.get(name);
      assert.ok(row, `missing ${JSON.stringify(name)}; stored: ${JSON.stringify([...got.keys()])}`);
      assert.equal(row.size_bytes, size === null ? null : Number(size), name);
      checked++;
    }
    assert.equal(rows.length, HOSTILE_DBS.length);
    const total = await ctx.store.db
      .selectFrom('instance_size_stats')
      .select('total_size_bytes')
      .where('instance_id', '=', instanceId)
      .executeTakeFirstOrThrow();
    const sum = HOSTILE_DBS.reduce((s, [, size]) => s + (size === null ? 0 : Number(size)), 0);
    assert.equal(total.total_size_bytes, sum);
  });

  it('every JSON read answers 200 and gives the names back', async () => {
    for (const url of [
      `/api/instances/${instanceId}/databases`,
      `/api/instances/${instanceId}/capacity`,
      '/api/statistics/summary',
      '/api/statistics/top-growers',
      '/api/statistics/database-changes',
      `/api/statistics/instances/${instanceId}/series`,
      `/api/statistics/instances/${instanceId}/forecast`,
      '/instances/api/instances/total-sizes',
    ]) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 300)}`);
      checked++;
    }
    const dbs = JSON.stringify((await get(`/api/instances/${instanceId}/databases`)).json().data);
    for (const [name] of HOSTILE_DBS) assert.ok(dbs.includes(JSON.stringify(name)), `databases list lacks ${JSON.stringify(name)}`);
  });

  it('the series of each database, by its exact name: no wildcard matches', async () => {
    for (const [name, size] of HOSTILE_DBS) {
      const res = await get(`/api/statistics/instances/${instanceId}/database-series?database=${encodeURIComponent(name)}`);
      checked++;
      if (name.length > 64 || /[\n\t]/.test(name)) {
        // the query parameter refuses what a name can hold; that is a 4xx, not a crash
        assert.ok(res.statusCode < 500, `${JSON.stringify(name)}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        continue;
      }
      assert.equal(res.statusCode, 200, `${JSON.stringify(name)}: ${res.body.slice(0, 300)}`);
      const body = JSON.stringify(res.json().data);
      if (size !== null) assert.ok(body.includes(`:${size}`), `${JSON.stringify(name)} series lacks its size ${size}: ${body.slice(0, 300)}`);
      // the wildcard twins' sizes must not leak in
      for (const [a, b] of [
        ['a_b', 'axb'],
        ['100%', '100x'],
        ['_', 'a_b'],
        ['%', '100%'],
      ]) {
        if (name === a) assert.ok(!body.includes(`"size_bytes":${HOSTILE_DBS.find(([n]) => n === b)![1]}`), `${a} matched ${b}: ${body.slice(0, 300)}`);
      }
    }
  });

  it('CSV exports quote every hazard and neutralise formulas', async () => {
    for (const url of [`/api/instances/${instanceId}/history.csv`, '/api/export/database-sizes.csv']) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 300)}`);
      checked++;
      for (const [name] of HOSTILE_DBS) {
        if (url.includes('history')) continue; // the instance history has no per-database rows
        if (/[",\n\r]/.test(name)) assert.ok(res.body.includes(`"${name.replace(/"/g, '""')}"`), `${url}: ${JSON.stringify(name)} not quoted`);
      }
      if (url.includes('database-sizes')) assert.doesNotMatch(res.body, /(^|,)=cmd/m, `${url}: formula cell not neutralised`);
    }
  });

  it('/metrics escapes the label values and parses back to the exact names', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    checked++;
    const families = parsePrometheusTextFormat(res.body);
    const labels = families.flatMap((f) => f.metrics.map((m) => m.labels?.database)).filter((x): x is string => x !== undefined);
    assert.ok(labels.length > 0, 'no database series in /metrics');
    const names = new Set(HOSTILE_DBS.map(([n]) => n));
    for (const l of labels) assert.ok(names.has(l), `/metrics label ${JSON.stringify(l)} is not one of the names (escaping broke it)`);
    for (const name of [`it's`, 'say "hi"', 'back\\slash', 'line1\nline2', '鲸落数据库', 'huge-900tb']) {
      assert.ok(labels.includes(name), `/metrics lacks ${JSON.stringify(name)}: ${JSON.stringify(labels)}`);
    }
  });

  it('prints the count', () => {
    console.log(`hostile data: ${HOSTILE_DBS.length} hostile database names and sizes synced, ${checked} read paths checked`);
  });
});
