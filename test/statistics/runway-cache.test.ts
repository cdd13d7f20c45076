/**
 * The runway's kept fits (runway_fits, 0027) on both stores: a service
 * started on a store whose fits are kept for today (a restart) answers with
 * the same items as one that fits every series from the ledger, without
 * reading the series again; a row added to one instance's history, a sync of
 * one instance, or a new day refits what changed and nothing else;
 * invalidate() forgets the kept fits.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { sql } from 'kysely';
import { addDays } from '../../src/lib/clock.js';
import { RunwayService, decodeFit, encodeFit, type RunwayScope } from '../../src/services/runway.service.js';
import { RunwayRepository } from '../../src/store/runway.repository.js';
import { forEachStore, type TestContext } from '../helpers/context.js';
import { addInstance, FixedClock, insertHistory, type Row } from './fixtures.js';

const GB = 1024 ** 3;
const TODAY = '2024-06-30';

/** A repository that counts the calls that matter: series read, fits written. */
class CountingRepo extends RunwayRepository {
  seriesReads: number[][] = [];
  saved: number[][] = [];
  override async instanceSeries(ids: readonly number[], from: string, to: string) {
    this.seriesReads.push([...ids]);
    return super.instanceSeries(ids, from, to);
  }
  override async databaseSeries(ids: readonly number[], from: string, to: string) {
    this.seriesReads.push([...ids]);
    return super.databaseSeries(ids, from, to);
  }
  override async saveFits(...args: Parameters<RunwayRepository['saveFits']>) {
    this.saved.push([...args[1].keys()]);
    return super.saveFits(...args);
  }
}

function history(db: string, days: number, f: (i: number) => number, end = TODAY): Row[] {
  return Array.from({ length: days }, (_, i) => ({ db, date: addDays(end, i - (days - 1)), size: Math.round(f(i)) }));
}

forEachStore('runway kept fits', (get) => {
  let ctx: TestContext;
  const clock = new FixedClock(new Date(`${TODAY}T12:00:00Z`));
  const ids: Record<string, number> = {};
  const service = () => {
    const repo = new CountingRepo(ctx.store.db);
    return { repo, svc: new RunwayService({ repo, clock, timeZone: 'UTC' }) };
  };
  /** Every item of a scope, without the time it was computed. */
  const all = async (svc: RunwayService, scope: RunwayScope) => (await svc.list({ scope, limit: 100_000 })).items;
  /** What a service with nothing kept answers (the reference): kept fits cleared first, and cleared again after. */
  const fresh = async (scope: RunwayScope) => {
    const { svc, repo } = service();
    await repo.clearFits();
    return all(svc, scope);
  };

  before(async () => {
    ctx = get();
    let seed = 5;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    ids.linear = await addInstance(ctx, 'linear', { options: { capacity_limit_bytes: 1000 * GB } });
    ids.mixed = await addInstance(ctx, 'mixed', { options: { capacity_limit_bytes: 2000 * GB } });
    ids.ora = await addInstance(ctx, 'ora', { db_type: 'oracle' });
    ids.empty = await addInstance(ctx, 'empty');
    await insertHistory(
      ctx,
      ids.linear,
      history('app', 200, (i) => 200 * GB + i * 2 * GB),
    );
    await insertHistory(ctx, ids.mixed, [
      ...history('flat', 150, () => 50 * GB),
      ...history('purge', 150, (i) => (i < 90 ? 300 * GB + i * 3 * GB : 100 * GB + (i - 90) * GB)),
      ...history('noisy', 150, (i) => 100 * GB + i * 0.1 * GB + rnd() * 30 * GB),
      ...history('short', 3, (i) => GB + i),
    ]);
    await insertHistory(
      ctx,
      ids.ora,
      history('USERS', 120, (i) => 20 * GB + i * 0.5 * GB).map((r) => ({ ...r, maxBytes: 100 * GB })),
    );
  });

  it('a fit survives its JSON exactly, infinities included', () => {
    const fit = {
      slope: 0.1 + 0.2,
      intercept: -1 / 3,
      startIndex: 3,
      fit_start_date: '2024-01-01',
      change_point_date: null,
      sigma: Infinity,
      level: 2 ** 53 - 1,
      slope_low: -Infinity,
      slope_high: 1e-300,
      level_low: NaN,
      level_high: 5,
      points_used: 9,
      last_date: '2024-01-09',
      last_bytes: 7,
      mean_bytes: 6.000000000000001,
    };
    assert.deepEqual(decodeFit(encodeFit(fit)), fit);
  });

  it('after a restart the kept fits answer, the same items as fitting from the ledger, no series read', async () => {
    for (const scope of ['instance', 'database'] as const) {
      const reference = await fresh(scope);
      assert.ok(reference.length >= (scope === 'instance' ? 3 : 6), `${scope}: ${reference.length} items`);
      // The reference run kept its fits: a new service (a restarted process) reads them.
      const { svc, repo } = service();
      const first = await svc.list({ scope, limit: 1 });
      assert.deepEqual(repo.saved, [], `${scope}: nothing refitted`);
      // The one series read is the returned item's backtest (its window again), not the estate pass.
      assert.equal(repo.seriesReads.length, 1, `${scope}: ${JSON.stringify(repo.seriesReads)}`);
      assert.deepEqual(first.items, reference.slice(0, 1));
      assert.deepEqual(await all(svc, scope), reference);
    }
    const kept = await ctx.store.db
      .selectFrom('runway_fits')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('scope', '=', 'database')
      .executeTakeFirstOrThrow();
    assert.equal(Number(kept.n), 6);
  });

  it('history added to one instance (an import, a late row) refits that instance only', async () => {
    await service().svc.list({ scope: 'database' }); // kept for today
    // A new database measured on the last days of `linear`: new ledger rows (its lifecycle row too), no sync.
    const at = `${TODAY}T03:00:00.000Z`;
    await ctx.store.db
      .insertInto('database_size_stats')
      .values(
        history('late', 30, (i) => 5 * GB + i * GB).map((r) => ({
          instance_id: ids.linear!,
          database_name: r.db,
          collected_date: r.date,
          size_bytes: r.size,
          method: 'test',
          collected_at: at,
          is_deleted: 0,
          created_at: at,
          updated_at: at,
        })),
      )
      .execute();
    await ctx.store.db
      .insertInto('instance_databases')
      .values({
        instance_id: ids.linear!,
        database_name: 'late',
        is_system: 0,
        first_seen_date: addDays(TODAY, -29),
        last_seen_date: TODAY,
        is_deleted: 0,
        deleted_at: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    const { svc, repo } = service();
    const items = await all(svc, 'database');
    assert.deepEqual(repo.saved, [[ids.linear]]);
    assert.ok(items.some((i) => i.database_name === 'late'));
    assert.deepEqual(items, await fresh('database'));
  });

  it('a sync of one instance (its sizes rewritten in place, last_sync_at moved) refits that instance only', async () => {
    await service().svc.list({ scope: 'instance' });
    await service().svc.list({ scope: 'database' });
    await sql`UPDATE database_size_stats SET size_bytes = size_bytes * 2 WHERE instance_id = ${ids.ora} AND collected_date = ${TODAY}`.execute(ctx.store.db);
    await sql`UPDATE instance_size_stats SET total_size_bytes = total_size_bytes * 2 WHERE instance_id = ${ids.ora} AND collected_date = ${TODAY}`.execute(
      ctx.store.db,
    );
    await ctx.store.db
      .updateTable('instances')
      .set({ last_sync_at: `${TODAY}T11:00:00.000Z` })
      .where('id', '=', ids.ora!)
      .execute();
    const seen: Partial<Record<RunwayScope, Awaited<ReturnType<typeof all>>>> = {};
    for (const scope of ['instance', 'database'] as const) {
      const { svc, repo } = service();
      const items = (seen[scope] = await all(svc, scope));
      assert.deepEqual(repo.saved, [[ids.ora]], scope);
      const ora = items.find((i) => i.instance_name === 'ora')!;
      assert.equal(ora.latest_bytes, 2 * (20 * GB + 119 * 0.5 * GB));
    }
    // Compared once both were read from what was kept (the reference clears it).
    for (const scope of ['instance', 'database'] as const) assert.deepEqual(seen[scope], await fresh(scope));
  });

  it('a new day refits every instance; invalidate() forgets the kept fits', async () => {
    await service().svc.list({ scope: 'database' });
    const day = clock.at;
    clock.at = new Date(`${addDays(TODAY, 1)}T12:00:00Z`);
    try {
      const { svc, repo } = service();
      const items = await all(svc, 'database');
      assert.deepEqual(repo.saved.flat().sort(), Object.values(ids).sort());
      assert.deepEqual(items, await fresh('database'));
      await svc.invalidate();
      const left = await ctx.store.db
        .selectFrom('runway_fits')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(left.n), 0);
      assert.equal(await repo.fitRun('database'), undefined);
    } finally {
      clock.at = day;
    }
  });

  it('warm() fits both scopes ahead (the nightly task) and a restarted service then reads no series', async () => {
    const { svc } = service();
    await svc.invalidate();
    const warmed = await svc.warm();
    assert.deepEqual(
      warmed.map((w) => w.scope),
      ['instance', 'database'],
    );
    assert.ok(warmed.every((w) => w.series > 0));
    const again = service();
    await again.svc.list({ scope: 'instance', limit: 100_000, db_type: 'none' });
    await again.svc.list({ scope: 'database', limit: 100_000, db_type: 'none' });
    assert.deepEqual(again.repo.seriesReads, []);
    assert.deepEqual(again.repo.saved, []);
  });
});
