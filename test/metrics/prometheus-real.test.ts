/**
 * A real Prometheus (Debian's `prometheus` binary) scrapes a running
 * Whalefall every second; the PromQL of docs/api.md (every ```promql block)
 * and every panel query of deploy/grafana/whalefall-capacity.json are run
 * through its HTTP API. The answers are checked against the store: the join
 * by tag (which failed with an `instance` label: Prometheus renamed it
 * `exported_instance` and the join went many-to-many), top growers after the
 * store grew, days until full. Prometheus scrapes with WHALEFALL_METRICS_TOKEN
 * (`authorization: credentials_file:` as docs/security.md shows): with the token
 * the database series carry their names; without it they are left out.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type TestApp, type TestContext } from '../helpers/context.js';
import { closedPort } from '../helpers/targets.js';
import { measuredDb } from '../helpers/collection.js';

const actor = { userId: null, username: 'test' };
const DOCS = path.join(import.meta.dirname, '../../docs/api.md');
const DASHBOARD = path.join(import.meta.dirname, '../../deploy/grafana/whalefall-capacity.json');
const GiB = 1024 ** 3;
const TOKEN = 'prom-scrape-token-7f3a';

type Sample = { metric: Record<string, string>; value: [number, string] };
type QueryAnswer = { status: string; error?: string; data?: { resultType: string; result: Sample[] } };

/** The ```promql blocks of docs/api.md, in order. */
function docQueries(): string[] {
  return [...fs.readFileSync(DOCS, 'utf8').matchAll(/```promql\n([\s\S]*?)\n```/g)].map((m) => m[1]!.trim());
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const db = (name: string, size: number) => measuredDb(name, size);

describe('PromQL against a real Prometheus scraping Whalefall', () => {
  let ctx: TestContext;
  let app: TestApp;
  let prom: ChildProcess | undefined;
  let promLog = '';
  let promUrl = '';
  let target = '';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-prom-'));
  const ids: Record<string, number> = {};
  const FIXTURE = [
    ['pay-db', ['env:prod', 'team:pay'], { capacity_limit_bytes: 100 * GiB }],
    ['web-db', ['env:prod'], {}],
    ['test-db', ['env:test'], { capacity_limit_bytes: 50 * GiB }],
    ['off-db', ['env:test'], {}],
  ] as const;

  async function query(expr: string): Promise<QueryAnswer> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await r.json()) as QueryAnswer;
  }
  async function vector(expr: string): Promise<Sample[]> {
    const a = await query(expr);
    assert.equal(a.status, 'success', `${expr}: ${a.error ?? ''}`);
    assert.equal(a.data?.resultType, 'vector', expr);
    return a.data!.result;
  }
  const byLabel = (rows: Sample[], label: string) => new Map(rows.map((r) => [r.metric[label]!, Number(r.value[1])]));

  /** One day's collection for an instance: sets its total as a sync would. */
  async function collect(name: string, day: string, sizes: number[]) {
    await ctx.repos.capacity.saveCollection({
      instanceId: ids[name]!,
      collectedDate: day,
      collectedAt: `${day}T03:00:00.000Z`,
      databases: sizes.map((s, i) => db(`db${i}`, s)),
    });
    await ctx.store.db
      .updateTable('instances')
      .set({ last_sync_status: 'completed', last_sync_at: `${day}T03:00:00.000Z` })
      .where('id', '=', ids[name]!)
      .execute();
  }

  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_METRICS_TOKEN: TOKEN } });
    ({ app } = await newTestApp(ctx));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    target = new URL(base).host;
    for (const [name, tags, options] of FIXTURE) {
      // One server each (a server registered twice counts once in the estate figures: the last test).
      const host = `10.0.0.${Object.keys(ids).length + 1}`;
      ids[name] = (await ctx.instances.create({ name, db_type: 'postgresql', host, port: 5432, tags: [...tags], options }, actor)).id;
    }
    await collect('pay-db', '2026-01-01', [10 * GiB, 2 * GiB]);
    await collect('web-db', '2026-01-01', [5 * GiB]);
    await collect('test-db', '2026-01-01', [1 * GiB]);
    await ctx.store.db.updateTable('instances').set({ is_active: 0 }).where('id', '=', ids['off-db']!).execute();

    const port = await closedPort();
    promUrl = `http://127.0.0.1:${port}`;
    fs.writeFileSync(path.join(dir, 'metrics-token'), TOKEN + '\n', { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: whalefall\n    metrics_path: /metrics\n    authorization:\n      type: Bearer\n      credentials_file: ${path.join(dir, 'metrics-token')}\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    prom = spawn(
      'prometheus',
      [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.on('data', (d) => (promLog += String(d)));
    prom.stderr!.on('data', (d) => (promLog += String(d)));
    await waitFor('Prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${promLog.slice(-2000)}`);
    });
    await waitFor('two scrapes of whalefall', async () => {
      const r = await vector('count_over_time(up{job="whalefall"}[1m])');
      return r.length === 1 && Number(r[0]!.value[1]) >= 2 && (await vector('up{job="whalefall"}'))[0]?.value[1] === '1' ? true : undefined;
    });
  });

  after(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    await app?.close();
    await ctx?.cleanup();
  });

  it('every series has instance_name; Prometheus keeps its own instance label (no exported_instance)', async () => {
    const rows = await vector('{job="whalefall", __name__=~"whalefall_instance_.*|whalefall_database_.*"}');
    assert.ok(rows.length >= 10, `${rows.length} series`);
    for (const r of rows) {
      assert.ok(r.metric.instance_name, `${r.metric.__name__} has instance_name`);
      assert.equal(r.metric.exported_instance, undefined);
      assert.match(r.metric.instance!, /^127\.0\.0\.1:\d+$/, 'instance is the scrape target');
    }
  });

  it('with the token, database series carry their names; without it the scrape is refused', async () => {
    const rows = await vector('whalefall_database_size_bytes{instance_name="pay-db"}');
    assert.deepEqual(Object.fromEntries(byLabel(rows, 'database')), { db0: 10 * GiB, db1: 2 * GiB });
    assert.equal((await fetch(`http://${target}/metrics`)).status, 401);
    const direct = await fetch(`http://${target}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.match(await direct.text(), /^whalefall_database_size_bytes\{instance_name="pay-db",database="db0"\} /m);
  });

  it('the join by tag (docs) equals the store, each instance in each of its tags', async () => {
    const [byTag, prodOnly] = docQueries();
    const sums = byLabel(await vector(byTag!), 'tag');
    assert.deepEqual(Object.fromEntries(sums), { 'env:prod': 17 * GiB, 'team:pay': 12 * GiB, 'env:test': 1 * GiB });
    const prod = byLabel(await vector(prodOnly!), 'instance_name');
    assert.deepEqual(Object.fromEntries(prod), { 'pay-db': 12 * GiB, 'web-db': 5 * GiB });
  });

  it('up only for active synced instances; the failed-sync alert query finds only the failure', async () => {
    const up = byLabel(await vector('whalefall_instance_up'), 'instance_name');
    assert.deepEqual([...up.keys()].sort(), ['pay-db', 'test-db', 'web-db']);
    assert.equal(byLabel(await vector('whalefall_instance_active'), 'instance_name').get('off-db'), 0);
    const alertQuery = docQueries().find((q) => q.includes('whalefall_instance_up'))!;
    assert.deepEqual(await vector(alertQuery), []);
    await ctx.store.db.updateTable('instances').set({ last_sync_status: 'failed' }).where('id', '=', ids['web-db']!).execute();
    const firing = await waitFor('the failure scraped', async () => {
      const r = await vector(alertQuery);
      return r.length ? r : undefined;
    });
    assert.deepEqual(
      firing.map((r) => r.metric.instance_name),
      ['web-db'],
    );
    await ctx.store.db.updateTable('instances').set({ last_sync_status: 'completed' }).where('id', '=', ids['web-db']!).execute();
  });

  it('after the store grows: top growers in order, days until full from the growth rate', async () => {
    // pay-db grows by 6 GiB, test-db by 1 GiB, web-db not at all.
    await collect('pay-db', '2026-01-02', [16 * GiB, 2 * GiB]);
    await collect('test-db', '2026-01-02', [2 * GiB]);
    await waitFor('the new sizes scraped', async () => {
      const now = byLabel(await vector('whalefall_instance_size_bytes'), 'instance_name');
      return now.get('pay-db') === 18 * GiB && now.get('test-db') === 2 * GiB ? true : undefined;
    });
    const queries = docQueries();
    const growers = await vector(queries.find((q) => q.startsWith('topk('))!);
    const growth = byLabel(growers, 'instance_name');
    // delta() extrapolates to the window's edges: the order and the signs are exact, the amounts a little larger.
    assert.deepEqual(
      growers.map((r) => r.metric.instance_name),
      [...growth.entries()].sort((a, b) => b[1] - a[1]).map(([n]) => n),
    );
    assert.equal(growers[0]!.metric.instance_name, 'pay-db');
    assert.ok(growth.get('pay-db')! >= 6 * GiB && growth.get('test-db')! >= 1 * GiB, JSON.stringify(Object.fromEntries(growth)));
    assert.ok(growth.get('pay-db')! > growth.get('test-db')!);
    assert.equal(growth.get('web-db'), 0);

    const runway = byLabel(await vector(queries.find((q) => q.includes('capacity_limit_bytes'))!), 'instance_name');
    // Only instances with a limit that grow; web-db has no limit, off-db never synced.
    assert.deepEqual([...runway.keys()].sort(), ['pay-db', 'test-db']);
    const rate = byLabel(await vector('max by (instance_name) (deriv(whalefall_instance_size_bytes[7d]))'), 'instance_name');
    for (const [name, limit, size] of [
      ['pay-db', 100 * GiB, 18 * GiB],
      ['test-db', 50 * GiB, 2 * GiB],
    ] as const) {
      const expected = (limit - size) / (rate.get(name)! * 86400);
      assert.ok(Math.abs(runway.get(name)! - expected) <= expected * 1e-9, `${name}: ${runway.get(name)} days vs ${expected}`);
      assert.ok(runway.get(name)! > 0);
    }
  });

  it('the Grafana dashboard: panels well formed, every query accepted by Prometheus', async () => {
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
      title: string;
      uid: string;
      templating: { list: { name: string; query: { query: string } }[] };
      panels: {
        id: number;
        type: string;
        title: string;
        gridPos: { x: number; y: number; w: number; h: number };
        targets: { refId: string; expr: string }[];
      }[];
    };
    assert.equal(typeof dash.title, 'string');
    assert.match(dash.uid, /^[a-z0-9-]{1,40}$/);
    const ids = new Set<number>();
    const types = new Set(['stat', 'timeseries', 'bargauge', 'table', 'gauge']);
    for (const p of dash.panels) {
      assert.ok(!ids.has(p.id), `panel id ${p.id} unique`);
      ids.add(p.id);
      assert.ok(types.has(p.type), `${p.title}: panel type ${p.type}`);
      assert.ok(p.title.length > 0);
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, `${p.title}: gridPos within 24 columns`);
      assert.ok(p.targets.length > 0, `${p.title}: has a query`);
      for (const t of p.targets) {
        // Grafana's variables, as Grafana would substitute them.
        const expr = t.expr.replaceAll('$tag', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h');
        const a = await query(expr);
        assert.equal(a.status, 'success', `${p.title} ${t.refId}: ${a.error ?? ''}\n${expr}`);
      }
    }
    for (const want of ['Estate total', 'Top growers', 'Runway', 'Sync'])
      assert.ok(
        dash.panels.some((p) => p.title.includes(want)),
        `a "${want}" panel`,
      );
    // The tag variable's query lists the tags.
    const tagVar = dash.templating.list.find((v) => v.name === 'tag')!;
    const labels = (await (await fetch(`${promUrl}/api/v1/label/tag/values?match[]=whalefall_instance_tag`)).json()) as { data: string[] };
    assert.match(tagVar.query.query, /label_values\(whalefall_instance_tag, tag\)/);
    assert.deepEqual(labels.data.sort(), ['env:prod', 'env:test', 'team:pay']);
    // Panel "Size by tag" with the variable set to env:test equals that tag's total.
    const bytag = dash.panels.find((p) => p.title === 'Size by tag')!.targets[0]!.expr.replaceAll('$tag', 'env:test');
    assert.deepEqual(Object.fromEntries(byLabel(await vector(bytag), 'tag')), { 'env:test': 2 * GiB });
  });

  it('a server registered twice counts once: the estate total and the by-tag sums (docs, dashboard) equal the summary', async () => {
    // web-db registered again under another name (same host:port), synced after it: the new registration counts.
    ids['web-db-again'] = (
      await ctx.instances.create({ name: 'web-db-again', db_type: 'postgresql', host: '10.0.0.2', port: 5432, tags: ['env:prod'] }, actor)
    ).id;
    await collect('web-db-again', '2026-01-03', [5 * GiB]);
    const summary = await ctx.statistics.summary();
    assert.deepEqual(
      summary.same_server_excluded.instances.map((e) => e.instance_name),
      ['web-db'],
    );
    await waitFor('the second registration scraped', async () =>
      byLabel(await vector('whalefall_instance_size_bytes'), 'instance_name').get('web-db-again') === 5 * GiB ? true : undefined,
    );
    // Expected from the sizes scraped now (whatever the earlier tests synced): each instance's size, web-db's not at all.
    const sizes = byLabel(await vector('whalefall_instance_size_bytes'), 'instance_name');
    const expected = new Map([...sizes].map(([name, bytes]) => [name, name === 'web-db' ? 0 : bytes]));
    assert.ok(sizes.get('web-db')! > 0, 'web-db has a size of its own');
    const shares = byLabel(await vector('whalefall_instance_estate_bytes'), 'instance_name');
    assert.deepEqual(Object.fromEntries(shares), Object.fromEntries(expected));
    const total = docQueries().find((q) => q === 'sum(whalefall_instance_estate_bytes)')!;
    assert.equal(Number((await vector(total))[0]!.value[1]), summary.total_bytes);
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    assert.equal(summary.total_bytes, sum(sizes) - sizes.get('web-db')!, 'web-db once');
    const tagsOf = new Map<string, readonly string[]>([...FIXTURE.map(([name, tags]) => [name, tags] as const), ['web-db-again', ['env:prod']]]);
    const byTagWanted: Record<string, number> = {};
    for (const [name, bytes] of expected) for (const tag of tagsOf.get(name)!) byTagWanted[tag] = (byTagWanted[tag] ?? 0) + bytes;
    const byTag = byLabel(await vector(docQueries()[0]!), 'tag');
    assert.deepEqual(Object.fromEntries(byTag), byTagWanted);
    const dash = fs.readFileSync(DASHBOARD, 'utf8');
    assert.ok(dash.includes('"expr": "sum(whalefall_instance_estate_bytes)"'), "the dashboard's estate total counts each server once");
  });
});
