/**
 * Database names on /metrics (issue 17): `/metrics` has no session, so by
 * default (WHALEFALL_METRICS_DATABASE_NAMES=token) database series appear only
 * when WHALEFALL_METRICS_TOKEN is set, i.e. only to a scrape presenting it;
 * `hashed` replaces each name with a keyed hash; `public` is the explicit
 * opt-in. Each mode is scraped through the real route and checked by Debian's
 * promtool; `whalefall serve` itself is started to show the one start-up line
 * and that another process on the same key hashes the same way.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { newTestContext, type TestApp, type TestContext } from '../helpers/context.js';
import { startWhalefall, type Proc } from '../helpers/procs.js';
import { measuredDb } from '../helpers/collection.js';

const actor = { userId: null, username: 'test' };
const SIZES: Record<string, number> = { payroll_secret: 7_000_000, crm_customers: 3_000_000, 'hr "reviews"': 1_000_000 };
const NAMES = Object.keys(SIZES);

function promtoolCheck(text: string): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.on('error', reject);
    p.on('close', (code) => resolve({ out, code }));
    p.stdin.end(text);
  });
}

/** The `database` label values of whalefall_database_size_bytes, with their values. */
function databaseSeries(text: string): Map<string, number> {
  const fam = parsePrometheusTextFormat(text).find((f) => f.name === 'whalefall_database_size_bytes');
  return new Map((fam?.metrics ?? []).map((m) => [m.labels!.database!, Number(m.value)]));
}

const contexts: TestContext[] = [];
const apps: TestApp[] = [];
const procs: Proc[] = [];
after(async () => {
  for (const p of procs) {
    if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await p.exit;
  }
  for (const a of apps) await a.close();
  for (const c of contexts) await c.cleanup();
});

/** A store with one instance whose latest collection holds NAMES, under the given environment. */
async function seeded(env: Record<string, string>): Promise<{ ctx: TestContext; app: TestApp }> {
  const ctx = await newTestContext('sqlite', { env });
  contexts.push(ctx);
  const id = (await ctx.instances.create({ name: 'names-inst', db_type: 'postgresql', host: '10.0.0.9', port: 5432 }, actor)).id;
  await ctx.repos.capacity.saveCollection({
    instanceId: id,
    collectedDate: '2026-01-01',
    collectedAt: '2026-01-01T03:00:00.000Z',
    databases: NAMES.map((name) => measuredDb(name, SIZES[name]!)),
  });
  await ctx.store.db.updateTable('instances').set({ last_sync_status: 'completed', last_sync_at: '2026-01-01T03:00:00.000Z' }).where('id', '=', id).execute();
  const app = await buildApp(ctx);
  apps.push(app);
  return { ctx, app };
}

async function scrape(app: TestApp, token?: string): Promise<{ status: number; body: string }> {
  const r = await app.inject({ method: 'GET', url: '/metrics', headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.statusCode, body: r.body };
}

function noClearNames(body: string): void {
  for (const n of NAMES) assert.ok(!body.includes(n.split(' ')[0]!), `${JSON.stringify(n)} appears on /metrics`);
}

describe('/metrics database names: token (default), hashed, public', () => {
  it('default without a token: no database label value at all, instance series public, promtool passes, a start-up note', async () => {
    const { ctx, app } = await seeded({});
    const r = await scrape(app);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.body, /database="/);
    assert.equal(databaseSeries(r.body).size, 0);
    noClearNames(r.body);
    assert.match(r.body, /^whalefall_instance_size_bytes\{instance_name="names-inst",db_type="postgresql"\} 11000000$/m);
    const check = await promtoolCheck(r.body);
    assert.equal(check.code, 0, check.out);
    assert.match(ctx.metrics.startupNote ?? '', /WHALEFALL_METRICS_TOKEN.*WHALEFALL_METRICS_DATABASE_NAMES=hashed or =public/);

    // `whalefall serve` on this store logs the note once, and its /metrics over HTTP has no database name either.
    const serve = startWhalefall('serve', { WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_SCHEDULER: 'off', WHALEFALL_TZ: 'UTC' });
    procs.push(serve);
    const port = await serve.port;
    const http = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(http, /whalefall_instance_size_bytes\{instance_name="names-inst"/);
    assert.doesNotMatch(http, /database="/);
    await new Promise((r) => setTimeout(r, 200));
    const notes = serve.stdout().filter((l) => l.includes('whalefall_database_size_bytes'));
    assert.equal(notes.length, 1, serve.stdout().join('\n'));
    assert.match(notes[0]!, /set WHALEFALL_METRICS_TOKEN/);
  });

  it('default with WHALEFALL_METRICS_TOKEN: the scrape presenting it gets every name; none without it', async () => {
    const token = 'names-scrape-token-1';
    const { ctx, app } = await seeded({ WHALEFALL_METRICS_TOKEN: token });
    assert.equal((await scrape(app)).status, 401);
    assert.equal((await scrape(app, 'wrong-token')).status, 401);
    const r = await scrape(app, token);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.fromEntries(databaseSeries(r.body)), SIZES);
    const check = await promtoolCheck(r.body);
    assert.equal(check.code, 0, check.out);
    assert.equal(ctx.metrics.startupNote, undefined);
  });

  it('hashed: no clear name, a keyed hash per name (stable across processes on one key, other on another key); promtool passes', async () => {
    const { ctx, app } = await seeded({ WHALEFALL_METRICS_DATABASE_NAMES: 'hashed' });
    const r = await scrape(app);
    assert.equal(r.status, 200);
    noClearNames(r.body);
    const series = databaseSeries(r.body);
    assert.equal(series.size, NAMES.length, r.body);
    for (const label of series.keys()) assert.match(label, /^h_[0-9a-f]{16}$/);
    assert.deepEqual([...series.values()].sort(), Object.values(SIZES).sort(), 'one series per database, sizes kept');
    const check = await promtoolCheck(r.body);
    assert.equal(check.code, 0, check.out);
    assert.equal(ctx.metrics.startupNote, undefined);

    // Another process on the same store and key (secret.key): the very same labels.
    const serve = startWhalefall('serve', {
      WHALEFALL_DATA_DIR: ctx.dataDir,
      WHALEFALL_SCHEDULER: 'off',
      WHALEFALL_TZ: 'UTC',
      WHALEFALL_METRICS_DATABASE_NAMES: 'hashed',
    });
    procs.push(serve);
    const port = await serve.port;
    const again = databaseSeries(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    assert.deepEqual(Object.fromEntries(again), Object.fromEntries(series));

    // Another secret key: other labels for the same names (the hash is keyed, not a plain digest anyone can recompute).
    const other = await seeded({ WHALEFALL_METRICS_DATABASE_NAMES: 'hashed', WHALEFALL_SECRET_KEY: 'another-secret-key-for-hashing' });
    const otherLabels = [...databaseSeries((await scrape(other.app)).body).keys()];
    assert.equal(otherLabels.length, NAMES.length);
    for (const l of otherLabels) assert.ok(!series.has(l), `label ${l} is the same under another key`);
  });

  it('public: the operator opts in, names in clear', async () => {
    const { app } = await seeded({ WHALEFALL_METRICS_DATABASE_NAMES: 'public' });
    const r = await scrape(app);
    assert.deepEqual(Object.fromEntries(databaseSeries(r.body)), SIZES);
    const check = await promtoolCheck(r.body);
    assert.equal(check.code, 0, check.out);
  });

  it('an unknown mode is refused at start, naming the values', () => {
    assert.throws(
      () => loadConfig({ WHALEFALL_METRICS_DATABASE_NAMES: 'clear' }),
      (err: Error) => err instanceof ConfigError && /WHALEFALL_METRICS_DATABASE_NAMES must be one of token, hashed, public, got "clear"/.test(err.message),
    );
  });
});
