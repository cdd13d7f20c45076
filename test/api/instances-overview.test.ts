/**
 * GET /api/instances/overview: server-side filters, sort and paging with the
 * 7-day change and the change since the previous sync computed in the same
 * query from the per-sync series, on both store dialects.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { OVERVIEW_SORTS } from '../../src/domain/instances.js';
import { addDays, localDate } from '../../src/lib/clock.js';
import { forEachStore, newTestApp, type Caller, type TestApp } from '../helpers/context.js';

forEachStore('instances overview', (get) => {
  let app: TestApp;
  let viewer: Caller;
  const ids: Record<string, number> = {};
  const actor = { userId: null, username: 'test' };

  before(async () => {
    const ctx = get();
    ({
      app,
      callers: { viewer },
    } = await newTestApp(ctx));
    const specs = [
      { name: 'alpha-pg', db_type: 'postgresql', host: 'db1.example', tags: ['prod', '100%_real'], description: 'Billing' },
      { name: 'beta-my', db_type: 'mysql', host: 'db2.example', tags: ['dev'] },
      { name: 'gamma-pg', db_type: 'postgresql', host: 'db3.example', tags: ['prod'], is_active: false },
      { name: 'delta-my', db_type: 'mysql', host: 'db4.example', tags: [] },
    ];
    for (const s of specs) ids[s.name] = (await ctx.instances.create(s, actor)).id;
    const today = localDate(new Date(), 'UTC');
    // alpha: 100 → 160 over the window, with an older point outside it; beta: one point today; the others never synced.
    const rows = [
      { instance_id: ids['alpha-pg']!, collected_date: addDays(today, -20), total_size_bytes: 10 },
      { instance_id: ids['alpha-pg']!, collected_date: addDays(today, -7), total_size_bytes: 100 },
      { instance_id: ids['alpha-pg']!, collected_date: today, total_size_bytes: 160 },
      { instance_id: ids['beta-my']!, collected_date: today, total_size_bytes: 5000 },
    ];
    const now = new Date().toISOString();
    await ctx.store.db
      .insertInto('instance_size_stats')
      .values(rows.map((r) => ({ ...r, database_count: 3, collected_at: now })))
      .execute();
    // The per-sync series the changes come from: alpha 20 days ago, 6 days ago, 3 hours ago and now; beta once (no baseline).
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    const points = [
      { instance_id: ids['alpha-pg']!, size_bytes: 10, collected_at: ago(20 * 86_400_000) },
      { instance_id: ids['alpha-pg']!, size_bytes: 100, collected_at: ago(6 * 86_400_000) },
      { instance_id: ids['alpha-pg']!, size_bytes: 150, collected_at: ago(3 * 3_600_000) },
      { instance_id: ids['alpha-pg']!, size_bytes: 160, collected_at: now },
      { instance_id: ids['beta-my']!, size_bytes: 5000, collected_at: now },
    ];
    await ctx.store.db
      .insertInto('sync_size_points')
      .values(points.map((p) => ({ ...p, database_name: '' })))
      .execute();
    await ctx.store.db
      .updateTable('instances')
      .set({ total_size_bytes: 160, database_count: 3, last_sync_status: 'completed', last_sync_at: now })
      .where('id', '=', ids['alpha-pg']!)
      .execute();
    await ctx.store.db
      .updateTable('instances')
      .set({ total_size_bytes: 5000, database_count: 3, last_sync_status: 'failed', last_sync_at: now, last_sync_error: 'boom' })
      .where('id', '=', ids['beta-my']!)
      .execute();
  });
  after(async () => {
    await app?.close();
  });

  const list = async (qs: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/instances/overview?${qs}`, headers: viewer.headers(false) });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as {
      items: { name: string; change_7d_bytes: number | null; change_last_sync_bytes: number | null; last_sync_error: string | null }[];
      total: number;
      tags: string[];
    };
  };
  const names = (d: { items: { name: string }[] }) => d.items.map((i) => i.name);

  it('sorts by name and pages on the server, with the total and every tag', async () => {
    const d = await list('limit=2&offset=1');
    assert.deepEqual(names(d), ['beta-my', 'delta-my']);
    assert.equal(d.total, 4);
    assert.deepEqual(d.tags, ['100%_real', 'dev', 'prod']);
  });

  it('computes the 7-day change from the first sync inside the window and the change since the previous sync; no earlier sync stays null', async () => {
    const d = await list('sort=change_7d_bytes&dir=desc');
    assert.deepEqual(
      d.items.map((i) => [i.name, i.change_7d_bytes, i.change_last_sync_bytes]),
      [
        ['alpha-pg', 60, 10],
        ['beta-my', null, null],
        ['delta-my', null, null],
        ['gamma-pg', null, null],
      ],
    );
  });

  it('filters by type, status, tag (LIKE characters literal) and text', async () => {
    assert.deepEqual(names(await list('db_type=postgresql')), ['alpha-pg', 'gamma-pg']);
    assert.deepEqual(names(await list('status=inactive')), ['gamma-pg']);
    assert.deepEqual(names(await list('status=sync_failed')), ['beta-my']);
    assert.deepEqual(names(await list('status=never_synced')), ['delta-my', 'gamma-pg']);
    assert.deepEqual(names(await list('tag=prod')), ['alpha-pg', 'gamma-pg']);
    assert.deepEqual(names(await list(`tag=${encodeURIComponent('100%_real')}`)), ['alpha-pg']);
    assert.deepEqual(names(await list('tag=rod')), []);
    assert.deepEqual(names(await list('q=BILL')), ['alpha-pg']);
    assert.deepEqual(names(await list('q=db4')), ['delta-my']);
    assert.deepEqual(names(await list('q=%25')), []);
    assert.deepEqual(names(await list(`ids=${ids['beta-my']}&ids=${ids['gamma-pg']}`)), ['beta-my', 'gamma-pg']);
  });

  it('sorts by size descending with never-synced last', async () => {
    assert.deepEqual(names(await list('sort=total_size_bytes&dir=desc')), ['beta-my', 'alpha-pg', 'delta-my', 'gamma-pg']);
    assert.deepEqual(names(await list('sort=total_size_bytes&dir=asc')), ['alpha-pg', 'beta-my', 'delta-my', 'gamma-pg']);
  });

  it('every sort, both ways, paged: the pages together are the whole list in its order, with the same changes', async () => {
    for (const sort of OVERVIEW_SORTS)
      for (const dir of ['asc', 'desc']) {
        const whole = (await list(`sort=${sort}&dir=${dir}&limit=100`)).items;
        assert.equal(whole.length, 4);
        for (const size of [1, 3]) {
          const pages = [];
          for (let offset = 0; offset < 4; offset += size) pages.push(...(await list(`sort=${sort}&dir=${dir}&limit=${size}&offset=${offset}`)).items);
          assert.deepEqual(pages, whole, `${sort} ${dir}, ${size} a page`);
        }
      }
  });

  it('refuses an unknown sort column with a clear message', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/instances/overview?sort=password', headers: viewer.headers(false) });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /sort/);
  });
});
