/**
 * Issue #20's guard rails through the HTTP API: registering a server twice
 * (409 duplicate_server until confirm_duplicate, the form's PATCH too, the
 * fleet import's confirm_duplicates) and the estate total counting it once;
 * the default sync_failing rule a fresh store starts with, firing for a
 * failed sync; system databases out of the top-N unless include_system.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_SYNC_FAILING_RULE } from '../../src/store/migrations/0023_first_week_defaults.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { insertHistory, days } from '../statistics/fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers read field by field
type Json = Record<string, any>;

describe('first-week guard rails (API)', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let viewer: Caller;

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin, viewer },
    } = (await newTestApp(ctx)) as { app: TestApp; callers: Record<string, Caller> } as never);
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, who: Caller = admin, headers: Record<string, string> = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: { ...who.headers(method !== 'GET'), ...headers },
      ...(payload === undefined ? {} : typeof payload === 'string' ? { payload } : { payload: payload as object }),
    });
    return { status: res.statusCode, json: res.json() as Json };
  };
  const names = async () => ((await call('GET', '/api/instances')).json.data as { name: string }[]).map((i) => i.name).sort();

  it('registering a server already registered answers 409 duplicate_server and stores nothing until confirmed', async () => {
    const first = await call('POST', '/api/instances', { name: 'pg-main', db_type: 'postgresql', host: 'DB1.example', port: 5432 });
    assert.equal(first.status, 201, JSON.stringify(first.json));
    // Same host (any case) and port, another name: refused with the other registration named.
    const dup = await call('POST', '/api/instances', { name: 'pg-again', db_type: 'postgresql', host: 'db1.example', port: 5432, database_name: 'other' });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error_code, 'duplicate_server');
    assert.match(dup.json.error, /pg-main/);
    assert.match(dup.json.error, /confirm_duplicate/);
    assert.deepEqual(
      dup.json.duplicates.map((d: Json) => d.name),
      ['pg-main'],
    );
    assert.deepEqual(await names(), ['pg-main']);
    // Another port is another server.
    assert.equal((await call('POST', '/api/instances', { name: 'pg-5433', db_type: 'postgresql', host: 'db1.example', port: 5433 })).status, 201);
    // Oracle: the service name picks the PDB, so another service on the same listener is not a duplicate; the same one is.
    assert.equal(
      (await call('POST', '/api/instances', { name: 'ora-a', db_type: 'oracle', host: 'ora.example', port: 1521, database_name: 'PDB1' })).status,
      201,
    );
    assert.equal(
      (await call('POST', '/api/instances', { name: 'ora-b', db_type: 'oracle', host: 'ora.example', port: 1521, database_name: 'PDB2' })).status,
      201,
    );
    assert.equal(
      (await call('POST', '/api/instances', { name: 'ora-c', db_type: 'oracle', host: 'ora.example', port: 1521, database_name: 'pdb1' })).status,
      409,
    );
    // Confirmed: stored.
    const confirmed = await call('POST', '/api/instances', {
      name: 'pg-again',
      db_type: 'postgresql',
      host: 'db1.example',
      port: 5432,
      confirm_duplicate: true,
    });
    assert.equal(confirmed.status, 201, JSON.stringify(confirmed.json));
    // Moving an instance onto a registered server (the edit form's PATCH) asks the same question.
    const moved = await call('PATCH', `/api/instances/${(await ctx.instances.getByName('pg-5433')).id}`, { port: 5432 });
    assert.equal(moved.status, 409);
    assert.equal(moved.json.error_code, 'duplicate_server');
    assert.equal((await ctx.instances.getByName('pg-5433')).port, 5433, 'nothing changed');
    // A viewer cannot confirm anything (the route is admin-only).
    assert.equal((await call('POST', '/api/instances', { name: 'v', db_type: 'postgresql', host: 'x', confirm_duplicate: true }, viewer)).status, 403);
  });

  it('the estate total counts a server registered twice once: the registration synced most recently', async () => {
    const a = (await ctx.instances.getByName('pg-main')).id;
    const b = (await ctx.instances.getByName('pg-again')).id;
    const before = (await call('GET', '/api/statistics/summary')).json.data;
    const d = days('2026-11-01', 2);
    await insertHistory(
      ctx,
      a,
      d.map((date) => ({ db: 'app', date, size: 1000 })),
    );
    await insertHistory(
      ctx,
      b,
      d.map((date) => ({ db: 'app', date, size: 1200 })),
    );
    await ctx.store.db.updateTable('instances').set({ last_sync_at: '2026-11-02T01:00:00.000Z' }).where('id', '=', a).execute();
    await ctx.store.db.updateTable('instances').set({ last_sync_at: '2026-11-02T02:00:00.000Z' }).where('id', '=', b).execute();
    const s = (await call('GET', '/api/statistics/summary')).json.data;
    assert.equal(s.total_bytes - before.total_bytes, 1200, 'the later sync (pg-again) counts, pg-main is left out');
    assert.deepEqual(s.same_server_excluded, {
      instances: [{ instance_id: a, instance_name: 'pg-main', counted_as_instance_id: b, bytes: 1000 }],
      bytes: 1000,
    });
    // Every line counts the server once: pg-main's database is in neither databases_total nor the by-type and by-tag lines.
    const pg = (x: Json) => x.by_db_type.find((g: Json) => g.db_type === 'postgresql') as Json;
    assert.equal(s.databases_total - before.databases_total, 1);
    assert.deepEqual([pg(s).databases - pg(before).databases, pg(s).total_bytes - pg(before).total_bytes], [1, 1200]);
    assert.equal(
      s.by_db_type.reduce((n: number, g: Json) => n + g.databases, 0),
      s.databases_total,
      'the by-type lines add up to the total',
    );
    await ctx.store.db.updateTable('instances').set({ tags: '["team:a"]' }).where('id', '=', a).execute();
    const tagLine = (await call('GET', '/api/statistics/summary')).json.data.by_tag.find((g: Json) => g.tag === 'team:a');
    assert.deepEqual(tagLine, { tag: 'team:a', instances: 1, databases: 0, total_bytes: 0 }, 'the left-out registration adds nothing under its tag');
    const csv = await app.inject({ method: 'GET', url: '/api/statistics/summary?format=csv', headers: admin.headers(false) });
    assert.match(csv.body, /\ntag,team:a,1,0,0(\r?\n|$)/);
    assert.match(csv.body, new RegExp(`\\ndb_type,postgresql,${pg(s).instances},${pg(s).databases},${pg(s).total_bytes}(\\r?\\n|$)`));
    await ctx.store.db.updateTable('instances').set({ tags: '[]' }).where('id', '=', a).execute();
    await ctx.store.db.updateTable('instances').set({ last_sync_at: '2026-11-02T03:00:00.000Z' }).where('id', '=', a).execute();
    const s2 = (await call('GET', '/api/statistics/summary')).json.data;
    assert.equal(s2.total_bytes - before.total_bytes, 1000, 'now pg-main is the fresher one');
    assert.equal(s2.same_server_excluded.instances[0].instance_name, 'pg-again');
  });

  it('the capacity statistics count a server registered twice once, period by period (total, its trend, the average)', async () => {
    const a = (await ctx.instances.getByName('pg-main')).id;
    const b = (await ctx.instances.getByName('pg-again')).id;
    // Before pg-again was registered, pg-main alone measured the server: that day counts pg-main whichever is fresher.
    await insertHistory(ctx, a, [{ db: 'app', date: '2026-10-30', size: 900 }]);
    const capacity = async (scope: string) => {
      const r = await call('GET', `/api/statistics/capacity?scope=${scope}&from=2026-10-30&to=2026-11-02`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const d = r.json.data;
      return { ...d, sizes: Object.fromEntries(d.total.map((p: { period_start: string; size_bytes: number }) => [p.period_start, p.size_bytes])) };
    };
    for (const scope of ['instance', 'database']) {
      // pg-main synced last (the test before): it counts, pg-again is left out.
      const c = await capacity(scope);
      assert.deepEqual(c.sizes, { '2026-10-30': 900, '2026-11-01': 1000, '2026-11-02': 1000 }, `${scope}: each server once a period`);
      assert.equal(c.cards.total_bytes, 1000);
      assert.equal(c.cards.average_bytes, 1000, 'the average over the servers counted');
      assert.equal(c.cards.max_bytes, 1000, 'the largest among those counted (pg-again, 1200, is left out)');
      assert.equal(c.cards.items_online, 2, 'both registrations are listed');
      assert.deepEqual(c.same_server_excluded, {
        instances: [{ instance_id: b, instance_name: 'pg-again', counted_as_instance_id: a, counted_as_instance_name: 'pg-main', bytes: 1200 }],
        bytes: 1200,
      });
      assert.deepEqual(
        c.items.map((it: { instance_name: string }) => it.instance_name),
        ['pg-again', 'pg-main'],
        'the TOP N still shows each registration',
      );
    }
    // pg-again syncs later: it counts where it measured, pg-main still stands alone on 10-30.
    await ctx.store.db.updateTable('instances').set({ last_sync_at: '2026-11-02T04:00:00.000Z' }).where('id', '=', b).execute();
    const c = await capacity('instance');
    assert.deepEqual(c.sizes, { '2026-10-30': 900, '2026-11-01': 1200, '2026-11-02': 1200 });
    assert.deepEqual(
      c.same_server_excluded.instances.map((e: { instance_name: string; counted_as_instance_name: string }) => [e.instance_name, e.counted_as_instance_name]),
      [['pg-main', 'pg-again']],
    );
    assert.equal(c.cards.max_bytes, 1200);
    // With a tag, the rule is the estate's: pg-main (tagged) is the same server as pg-again (not tagged), which counts.
    await ctx.store.db.updateTable('instances').set({ tags: '["team:a"]' }).where('id', '=', a).execute();
    const tagged = (await call('GET', '/api/statistics/summary?tag=team:a')).json.data;
    assert.equal(tagged.total_bytes, 0, 'pg-main counts under no tag: its twin counts for the server');
    assert.deepEqual(
      tagged.same_server_excluded.instances.map((e: { instance_name: string }) => e.instance_name),
      ['pg-main'],
    );
    await ctx.store.db.updateTable('instances').set({ tags: '[]' }).where('id', '=', a).execute();
    // Filtered to one registration, it is the whole answer.
    const only = (await call('GET', `/api/statistics/capacity?scope=instance&from=2026-10-30&to=2026-11-02&instance_id=${a}`)).json.data;
    assert.deepEqual(
      only.total.map((p: { size_bytes: number }) => p.size_bytes),
      [900, 1000, 1000],
    );
    assert.deepEqual(only.same_server_excluded, { instances: [], bytes: 0 });
  });

  it('fleet import: new rows for registered servers are reported and stored only with confirm_duplicates', async () => {
    const csv = 'name,db_type,host,port\nfleet-dup,postgresql,db1.example,5432\nfleet-new,mysql,my.example,3306\n';
    const dry = await call('POST', '/api/instances/import?dry_run=true', csv, admin, { 'content-type': 'text/csv' });
    assert.equal(dry.status, 200);
    assert.deepEqual(
      dry.json.data.duplicates.map((d: Json) => [d.name, d.same_as.sort()]),
      [['fleet-dup', ['pg-again', 'pg-main']]],
    );
    const refused = await call('POST', '/api/instances/import', csv, admin, { 'content-type': 'text/csv' });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error_code, 'duplicate_server');
    assert.equal(refused.json.data.applied, false);
    assert.ok(!(await names()).includes('fleet-new'), 'nothing imported');
    const ok = await call('POST', '/api/instances/import?confirm_duplicates=true', csv, admin, { 'content-type': 'text/csv' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.ok((await names()).includes('fleet-dup'));
  });

  it('a fresh store has a sync_failing rule without channels, and a failed sync fires it', async () => {
    const rules = (await call('GET', '/api/alert-rules')).json.data as Json[];
    const rule = rules.find((r) => r.name === DEFAULT_SYNC_FAILING_RULE);
    assert.ok(rule, JSON.stringify(rules));
    assert.deepEqual([rule.kind, rule.consecutive, rule.is_active, rule.channels, rule.instance_id], ['sync_failing', 1, true, [], null]);
    // A server that refuses connections: a port that was free a moment ago.
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const cred = await call('POST', '/api/credentials', { name: 'c-refused', username: 'u', password: 'p', db_type: 'postgresql' });
    const inst = await call('POST', '/api/instances', { name: 'refused', db_type: 'postgresql', host: '127.0.0.1', port, credential_id: cred.json.data.id });
    assert.equal(inst.status, 201, JSON.stringify(inst.json));
    const sync = await call('POST', `/database-sizes/instances/${inst.json.data.id}/sync-capacity`, {}, admin);
    assert.notEqual(sync.status, 200);
    await ctx.alerts.evaluate();
    const events = (await call('GET', `/api/alerts?instance_id=${inst.json.data.id}&state=firing`)).json.data.items as Json[];
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0]!.rule_id, rule.id);
  });

  it('system databases stay out of the top-N unless include_system=true (top growers and the capacity TOP N)', async () => {
    const id = (await call('POST', '/api/instances', { name: 'my-sys', db_type: 'mysql', host: 'sys.example', port: 3306 })).json.data.id as number;
    const d = days('2026-10-01', 3);
    await insertHistory(ctx, id, [
      ...d.map((date, i) => ({ db: 'mysql', date, size: 10_000_000 * (i + 1) })),
      ...d.map((date, i) => ({ db: 'shop', date, size: 1000 + i * 10 })),
    ]);
    await ctx.store.db.updateTable('instance_databases').set({ is_system: 1 }).where('instance_id', '=', id).where('database_name', '=', 'mysql').execute();
    const growers = async (q: string) =>
      ((await call('GET', `/api/statistics/top-growers?days=7&to=2026-10-03&${q}`)).json.data.items as Json[])
        .filter((r) => r.instance_id === id)
        .map((r) => r.database_name);
    assert.deepEqual(await growers(''), ['shop']);
    assert.deepEqual(await growers('include_system=true'), ['mysql', 'shop']);
    const top = async (q: string) => {
      const r = (await call('GET', `/api/statistics/capacity?scope=database&instance_id=${id}&from=2026-10-01&to=2026-10-03&top=5${q}`)).json.data;
      return { items: (r.items as Json[]).map((x) => x.database_name), total: r.cards.total_bytes, include: r.include_system };
    };
    const without = await top('');
    assert.deepEqual(without, { items: ['shop'], total: 30_000_000 + 1020, include: false }, 'the system database still counts in the total');
    assert.deepEqual(await top('&include_system=true'), { items: ['mysql', 'shop'], total: 30_000_000 + 1020, include: true });
    assert.equal((await call('GET', '/api/statistics/top-growers?include_system=maybe')).status, 400);
  });
});
