/**
 * The per-sync series (issue #20 item 1), on both dialects: a first sync has
 * no baseline (null, never 0); a second sync the same day shows the change
 * since the previous sync in the instances list, the instance's changes and
 * the top growers, while the daily ledger keeps one row a day; the retention
 * job prunes points older than sync_points_days.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { CollectedDatabase } from '../../src/domain/collection.js';
import { RetentionService } from '../../src/services/retention.service.js';
import { RetentionRepository } from '../../src/store/retention.repository.js';
import { forEachStore } from '../helpers/context.js';
import { measuredDb } from '../helpers/collection.js';

const actor = { userId: null, username: 'test' };
const MB = 1024 * 1024;
const db = (name: string, size: number | null) => measuredDb(name, size);

forEachStore('per-sync series', (get) => {
  let id: number;
  // Both syncs must fall on one UTC day: just after midnight the first one (10 minutes earlier) would be yesterday's.
  const DAY = 86_400_000;
  const now = Date.now() % DAY < 11 * 60_000 ? Date.now() - 12 * 60_000 : Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const save = (minutesAgo: number, databases: CollectedDatabase[]) =>
    get().repos.capacity.saveCollection({ instanceId: id, collectedDate: at(minutesAgo).slice(0, 10), collectedAt: at(minutesAgo), databases });
  const row = async () => (await get().capacity.instanceOverview({})).items.find((r) => r.id === id)!;

  before(async () => {
    id = (await get().instances.create({ name: 'sp1', db_type: 'postgresql', host: '10.0.0.9', port: 5432 }, actor)).id;
  });

  it('a first sync has no baseline: null, never 0', async () => {
    await save(10, [db('app', 18 * MB), db('logs', 2 * MB)]);
    const r = await row();
    assert.equal(r.total_size_bytes, 20 * MB);
    assert.equal(r.change_last_sync_bytes, null);
    assert.equal(r.change_7d_bytes, null);
    assert.deepEqual(await get().capacity.changes(id), {
      total_size_bytes: 20 * MB,
      previous_sync_at: null,
      change_last_sync_bytes: null,
      change_7d_bytes: null,
      change_7d_since: null,
      change_30d_bytes: null,
      change_30d_since: null,
    });
    const growers = await get().statistics.topGrowers({ days: 7 });
    assert.equal(growers.items.filter((g) => g.instance_id === id).length, 0, 'no baseline: not listed as growing by 0');
  });

  it('a second sync the same day shows the change since the previous sync', async () => {
    await save(0, [db('app', 45 * MB), db('logs', null)]); // logs not measured now: keeps its size for the day
    const r = await row();
    assert.equal(r.total_size_bytes, 47 * MB);
    assert.equal(r.change_last_sync_bytes, 27 * MB);
    assert.equal(r.change_7d_bytes, 27 * MB);
    assert.equal(r.previous_sync_at, at(10));
    const c = await get().capacity.changes(id);
    assert.equal(c.change_last_sync_bytes, 27 * MB);
    assert.equal(c.change_7d_bytes, 27 * MB);
    assert.equal(c.change_30d_bytes, 27 * MB);
    // Ten minutes of history: the "7-day" and "30-day" changes say they are counted from the first sync.
    assert.equal(c.change_7d_since, at(10));
    assert.equal(c.change_30d_since, at(10));
    const dbs = await get().statistics.topGrowers({ days: 7, scope: 'database' });
    const app = dbs.items.find((g) => g.instance_id === id && g.database_name === 'app');
    assert.deepEqual(app && [app.first_bytes, app.last_bytes, app.change_bytes], [18 * MB, 45 * MB, 27 * MB]);
    assert.equal(
      dbs.items.find((g) => g.instance_id === id && g.database_name === 'logs'),
      undefined,
      'one point only: no baseline',
    );
    const inst = await get().statistics.topGrowers({ days: 7, scope: 'instance' });
    assert.equal(inst.items.find((g) => g.instance_id === id)?.change_bytes, 27 * MB);
    // The daily ledger still has one row a day.
    assert.equal((await get().repos.capacity.instanceHistory(id, '2000-01-01', '2999-01-01')).length, 1);
  });

  it('the retention job prunes points older than sync_points_days, nothing else', async () => {
    const points = () => get().store.db.selectFrom('sync_size_points').select(['collected_at']).where('instance_id', '=', id).execute();
    assert.equal((await points()).length, 3 + 2, 'two syncs: 2 totals + 2 databases + 1 database (logs unmeasured the second time)');
    const svc = new RetentionService({
      repo: new RetentionRepository(get().store.db),
      retentionDays: async () => null,
      syncPointsDays: async () => 1,
      timeZone: 'UTC',
      logger: get().logger,
      batchSize: 2,
      pause: async () => {},
    });
    // A day less 5 minutes from now: the first sync (10 minutes ago) is then older than a day, the second is not.
    const r = await svc.purge(new Date(now + DAY - 5 * 60_000));
    assert.equal(r.points_deleted, 3);
    assert.deepEqual(
      (await points()).map((p) => p.collected_at),
      [at(0), at(0)],
    );
    assert.equal((await row()).change_last_sync_bytes, null, 'the earlier point is gone: no baseline again');
  });

  it('a window whose first sync is within a day of its start covers the window: no "since"; a longer window says since when', async () => {
    id = (await get().instances.create({ name: 'sp2', db_type: 'postgresql', host: '10.0.0.10', port: 5432 }, actor)).id;
    const sixAndAHalfDays = 6.5 * 24 * 60;
    await save(sixAndAHalfDays, [db('app', 10 * MB), db('logs', 2 * MB)]);
    await save(0, [db('app', 45 * MB), db('logs', 2 * MB)]);
    const c = await get().capacity.changes(id);
    assert.equal(c.change_7d_bytes, 35 * MB);
    assert.equal(c.change_7d_since, null);
    assert.equal(c.change_30d_bytes, 35 * MB);
    assert.equal(c.change_30d_since, at(sixAndAHalfDays));
  });
});
