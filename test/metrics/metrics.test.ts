/**
 * /metrics end to end: a real sync of the local PostgreSQL (and one instance
 * that cannot connect), then the exposition text is parsed by an independent
 * Prometheus text-format parser and every value is checked against the store.
 * Also: the per-instance database label cap, label escaping of hostile names,
 * and the optional bearer token.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { metricsRoutes } from '../../src/http/api/metrics.routes.js';
import { documentOnlyResponses } from '../../src/http/serializer.js';
import { MetricsService } from '../../src/services/metrics.service.js';
import { MetricsRepository } from '../../src/store/metrics.repository.js';
import { buildApp } from '../../src/http/app.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { closedPort, pgAdmin, uniqueName } from '../helpers/targets.js';
import { measuredDb } from '../helpers/collection.js';

const actor = { userId: null, username: 'test' };

/** Debian's promtool, fed on stdin. */
function promtool(args: string[], input: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += String(d)));
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('error', reject);
    p.on('close', (code) => resolve({ stdout, stderr, code }));
    p.stdin.end(input);
  });
}
type Families = ReturnType<typeof parsePrometheusTextFormat>;

function family(fams: Families, name: string) {
  const f = fams.find((x) => x.name === name);
  assert.ok(f, `metric ${name} present`);
  return f;
}
function value(fams: Families, name: string, labels: Record<string, string>): number | undefined {
  const s = family(fams, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return s?.value === undefined ? undefined : Number(s.value);
}

describe('Prometheus /metrics', () => {
  let ctx: TestContext;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const dbs = [uniqueName('m_big'), uniqueName('m_small')];
  let pgId: number;
  let deadId: number;

  before(async () => {
    // Database names in clear (the default leaves them out without a token: database-names.test.ts).
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_METRICS_DATABASES_PER_INSTANCE: '3', WHALEFALL_METRICS_DATABASE_NAMES: 'public' } });
    app = await buildApp(ctx);
    await app.ready();
    const admin = await pgAdmin();
    for (const [i, name] of dbs.entries()) {
      await admin.query(`CREATE DATABASE ${name}`);
      const c = await pgAdmin(name);
      await c.query(`CREATE TABLE t AS SELECT g AS id, repeat('x', 200) AS p FROM generate_series(1, ${i === 0 ? 30000 : 10}) g`);
      await c.end();
    }
    await admin.end();
    const cred = await ctx.credentials.create({ name: 'pg', db_type: 'postgresql', username: 'postgres', password: 'x' }, actor);
    pgId = (await ctx.instances.create({ name: 'pg "local"\\prod', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id }, actor)).id;
    deadId = (
      await ctx.instances.create({ name: 'pg-dead', db_type: 'postgresql', host: '127.0.0.1', port: await closedPort(), credential_id: cred.id }, actor)
    ).id;
    await ctx.capacitySync.syncInstance(pgId, actor);
    await ctx.capacitySync.syncInstance(deadId, actor).catch(() => undefined);
  });

  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    const admin = await pgAdmin();
    for (const name of dbs) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('exposes parseable text whose values equal the store', async () => {
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheusTextFormat(r.body);
    const pg = (await ctx.repos.instances.get(pgId))!;
    const dead = (await ctx.repos.instances.get(deadId))!;
    const name = pg.name;

    assert.equal(family(fams, 'whalefall_instance_size_bytes').type, 'GAUGE');
    assert.equal(value(fams, 'whalefall_instance_size_bytes', { instance_name: name, db_type: 'postgresql' }), pg.total_size_bytes);
    assert.ok(pg.total_size_bytes! > 0);
    // Never synced successfully: no size and no success timestamp, but up = 0.
    assert.equal(value(fams, 'whalefall_instance_size_bytes', { instance_name: 'pg-dead' }), undefined);
    assert.equal(value(fams, 'whalefall_instance_last_sync_success_timestamp_seconds', { instance_name: 'pg-dead' }), undefined);
    assert.equal(value(fams, 'whalefall_instance_up', { instance_name: name }), 1);
    assert.equal(value(fams, 'whalefall_instance_up', { instance_name: 'pg-dead' }), 0);
    assert.equal(dead.last_sync_status, 'failed');
    assert.equal(value(fams, 'whalefall_instance_last_sync_success_timestamp_seconds', { instance_name: name }), Date.parse(pg.last_connected!) / 1000);

    // Database series: exactly the 3 largest of the latest collection, sizes as stored.
    const stored = await ctx.store.db
      .selectFrom('database_size_stats')
      .select(['database_name', 'size_bytes'])
      .where('instance_id', '=', pgId)
      .where('is_deleted', '=', 0)
      .execute();
    const top = stored.sort((a, b) => b.size_bytes! - a.size_bytes! || a.database_name.localeCompare(b.database_name)).slice(0, 3);
    const series = family(fams, 'whalefall_database_size_bytes').metrics.filter((m) => m.labels?.instance_name === name);
    assert.equal(stored.length > 3, true, 'the local server has more than 3 databases');
    assert.deepEqual(series.map((m) => [m.labels?.database, Number(m.value)]).sort(), top.map((t) => [t.database_name, t.size_bytes]).sort());
    assert.ok(
      series.some((m) => m.labels?.database === dbs[0]),
      'the 30,000-row database is among the largest',
    );

    // Event-fed counters and histogram.
    assert.equal(value(fams, 'whalefall_sync_records_total', { status: 'completed', sync_type: 'manual_single' }), 1);
    assert.equal(value(fams, 'whalefall_sync_records_total', { status: 'failed', sync_type: 'manual_single' }), 1);
    assert.equal(
      family(fams, 'whalefall_sync_sessions_total').metrics.reduce((n, m) => n + Number(m.value), 0),
      2,
    );
    const h = family(fams, 'whalefall_sync_duration_seconds');
    assert.equal(h.type, 'HISTOGRAM');
    // This parser keeps a histogram's buckets but drops its labels and _count/_sum: check those lines directly.
    assert.equal(h.metrics.length, 1, 'one db_type seen');
    assert.equal(Number(h.metrics[0]?.buckets?.['+Inf']), 2);
    assert.match(r.body, /^whalefall_sync_duration_seconds_count\{db_type="postgresql"\} 2$/m);
    // Default process metrics are there too.
    assert.ok(fams.some((f) => f.name === 'whalefall_process_resident_memory_bytes'));
  });

  it('caps database series per instance and escapes hostile label values', async () => {
    const id = (await ctx.instances.create({ name: 'synthetic', db_type: 'mysql', host: '10.0.0.1', port: 3306 }, actor)).id;
    const hostile = 'a"b\\c\nd 库,}{=';
    const databases = Array.from({ length: 300 }, (_, i) => measuredDb(i === 299 ? hostile : `db_${String(i).padStart(3, '0')}`, (i + 1) * 1_000_000));
    await ctx.repos.capacity.saveCollection({
      instanceId: id,
      collectedDate: '2024-01-01',
      collectedAt: '2024-01-01T03:00:00.000Z',
      databases: databases.slice(0, 10),
    });
    await ctx.repos.capacity.saveCollection({ instanceId: id, collectedDate: '2024-01-02', collectedAt: '2024-01-02T03:00:00.000Z', databases });
    const capped = new MetricsService({
      repo: new MetricsRepository(ctx.store.db),
      events: ctx.capacitySync.events,
      databaseNames: 'public',
      databasesPerInstance: 50,
      processMetrics: false,
    });
    const fams = parsePrometheusTextFormat(await capped.scrape());
    const series = family(fams, 'whalefall_database_size_bytes').metrics.filter((m) => m.labels?.instance_name === 'synthetic');
    assert.equal(series.length, 50);
    assert.equal(Math.min(...series.map((m) => Number(m.value))), 251_000_000, 'the 50 largest of the latest day');
    assert.equal(value(fams, 'whalefall_database_size_bytes', { instance_name: 'synthetic', database: hostile }), 300_000_000);
    // Instance names with quotes and backslashes round-trip too.
    assert.ok(family(fams, 'whalefall_instance_up').metrics.some((m) => m.labels?.instance_name === 'pg "local"\\prod'));

    const floor = new MetricsService({
      repo: new MetricsRepository(ctx.store.db),
      events: ctx.capacitySync.events,
      databaseNames: 'public',
      databasesPerInstance: 500,
      minDatabaseBytes: 295_000_000,
      processMetrics: false,
    });
    const few = family(parsePrometheusTextFormat(await floor.scrape()), 'whalefall_database_size_bytes').metrics.filter(
      (m) => m.labels?.instance_name === 'synthetic',
    );
    assert.equal(few.length, 6);
    // The estate shares' store read failing leaves that gauge out of the scrape, not the scrape itself.
    const warned: unknown[] = [];
    const shaky = new MetricsService({
      repo: new MetricsRepository(ctx.store.db),
      events: ctx.capacitySync.events,
      processMetrics: false,
      estateBytes: () => Promise.reject(new Error('store went away')),
      logger: { warn: (o: unknown) => warned.push(o) } as never,
    });
    const partial = parsePrometheusTextFormat(await shaky.scrape());
    assert.ok(family(partial, 'whalefall_instance_size_bytes').metrics.some((m) => m.labels?.instance_name === 'synthetic'));
    assert.equal(partial.find((f) => f.name === 'whalefall_instance_estate_bytes')?.metrics.length ?? 0, 0);
    assert.equal(warned.length, 1);
    // A deleted instance's series disappear at the next scrape (gauges are rebuilt).
    await ctx.instances.delete(id, actor);
    const gone = parsePrometheusTextFormat(await capped.scrape());
    assert.equal(family(gone, 'whalefall_database_size_bytes').metrics.filter((m) => m.labels?.instance_name === 'synthetic').length, 0);
  });

  it('up only for active, synced instances; active as its own gauge; no `instance` label anywhere', async () => {
    const never = (await ctx.instances.create({ name: 'never-synced', db_type: 'postgresql', host: '127.0.0.1', port: 5432 }, actor)).id;
    const off = (await ctx.instances.create({ name: 'disabled-failed', db_type: 'postgresql', host: '127.0.0.1', port: 5432 }, actor)).id;
    await ctx.store.db.updateTable('instances').set({ is_active: 0, last_sync_status: 'failed' }).where('id', '=', off).execute();
    try {
      const r = await app.inject({ method: 'GET', url: '/metrics' });
      const fams = parsePrometheusTextFormat(r.body);
      // `up == 0` pages only for a sync that failed.
      assert.equal(value(fams, 'whalefall_instance_up', { instance_name: 'never-synced' }), undefined);
      assert.equal(value(fams, 'whalefall_instance_up', { instance_name: 'disabled-failed' }), undefined);
      assert.equal(value(fams, 'whalefall_instance_up', { instance_name: 'pg-dead' }), 0);
      assert.equal(value(fams, 'whalefall_instance_active', { instance_name: 'never-synced', db_type: 'postgresql' }), 1);
      assert.equal(value(fams, 'whalefall_instance_active', { instance_name: 'disabled-failed' }), 0);
      for (const f of fams) for (const m of f.metrics) assert.ok(!('instance' in (m.labels ?? {})), `${f.name} has no "instance" label`);
    } finally {
      await ctx.instances.delete(never, actor);
      await ctx.instances.delete(off, actor);
    }
  });

  it('passes promtool check metrics, default process metrics included', async () => {
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    const { stdout, stderr, code } = await promtool(['check', 'metrics'], r.body);
    assert.equal(code, 0, `promtool: ${stdout}${stderr}`);
    assert.match(r.body, /^# TYPE whalefall_nodejs_active_handles gauge$/m, 'the per-type gauges stay (sum() = the dropped _total)');
    assert.doesNotMatch(r.body, /^whalefall_nodejs_active_\w+_total/m);
  });

  it('requires the bearer token when one is configured', async () => {
    const secret = 'metrics-Secret-42';
    const guarded = new MetricsService({ repo: new MetricsRepository(ctx.store.db), events: ctx.capacitySync.events, token: secret, processMetrics: false });
    const f = Fastify();
    documentOnlyResponses(f);
    await f.register(metricsRoutes({ metrics: guarded }));
    try {
      const none = await f.inject({ method: 'GET', url: '/metrics' });
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error_code, 'unauthorized');
      assert.match(String(none.headers['www-authenticate']), /^Bearer/);
      const wrong = await f.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${secret}x` } });
      assert.equal(wrong.statusCode, 401);
      assert.ok(!wrong.body.includes(secret));
      const right = await f.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${secret}` } });
      assert.equal(right.statusCode, 200);
      assert.ok(parsePrometheusTextFormat(right.body).some((x) => x.name === 'whalefall_instance_up'));
    } finally {
      await f.close();
    }
    assert.ok(!ctx.logs.join('').includes(secret), 'the token never reaches a log line');
  });
});
