/**
 * Tags everywhere: the instance list, the estate summary (and per tag), top
 * growers, database changes, alert events and the metrics all filter or
 * label by an instance's tags.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { addInstance, insertHistory } from '../statistics/fixtures.js';

const days = (n: number) => Array.from({ length: n }, (_, i) => `2024-03-0${i + 1}`);

describe('filters and labels by tag', () => {
  let ctx: TestContext;
  const ids: Record<string, number> = {};
  before(async () => {
    ctx = await newTestContext('sqlite');
    ids.a = await addInstance(ctx, 'a', { tags: ['env:prod', 'team:pay'] });
    ids.b = await addInstance(ctx, 'b', { tags: ['env:prod'] });
    ids.c = await addInstance(ctx, 'c', { tags: ['env:test'] });
    // a grows 1 MB/day, b 2 MB/day, c 10 MB/day (the biggest grower, but not prod).
    for (const [name, step] of [
      ['a', 1],
      ['b', 2],
      ['c', 10],
    ] as const) {
      await insertHistory(
        ctx,
        ids[name]!,
        days(7).map((d, i) => ({ db: `${name}_db`, date: d, size: (100 + i * step) * 1e6 })),
      );
      await ctx.repos.instances.update(ids[name]!, { total_size_bytes: (100 + 6 * step) * 1e6, database_count: 1 });
    }
  });
  after(async () => {
    await ctx?.cleanup();
  });

  it('instance list and statistics summary', async () => {
    assert.deepEqual(
      (await ctx.instances.list({ tag: 'env:prod' })).map((i) => i.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await ctx.instances.list({ tag: 'nope' })).map((i) => i.name),
      [],
    );
    const s = await ctx.statistics.summary({ tag: 'env:prod' });
    assert.equal(s.instances_total, 2);
    assert.equal(s.total_bytes, 106e6 + 112e6);
    assert.deepEqual(
      s.by_tag.map((g) => [g.tag, g.instances]),
      [
        ['env:prod', 2],
        ['team:pay', 1],
      ],
    );
    const all = await ctx.statistics.summary();
    assert.deepEqual(
      all.by_tag.map((g) => [g.tag, g.instances, g.total_bytes]),
      [
        ['env:prod', 2, 218e6],
        ['env:test', 1, 160e6],
        ['team:pay', 1, 106e6],
      ],
    );
  });

  it('top growers and database changes', async () => {
    const all = await ctx.statistics.topGrowers({ scope: 'instance', days: 7, to: '2024-03-07' });
    assert.deepEqual(
      all.items.map((r) => r.instance_name),
      ['c', 'b', 'a'],
    );
    const prod = await ctx.statistics.topGrowers({ scope: 'instance', days: 7, to: '2024-03-07', tag: 'env:prod' });
    assert.deepEqual(
      prod.items.map((r) => r.instance_name),
      ['b', 'a'],
    );
    const dbs = await ctx.statistics.topGrowers({ scope: 'database', days: 7, to: '2024-03-07', tag: 'team:pay' });
    assert.deepEqual(
      dbs.items.map((r) => r.database_name),
      ['a_db'],
    );
    assert.deepEqual((await ctx.statistics.topGrowers({ days: 7, to: '2024-03-07', tag: 'nope' })).items, []);
    const changes = await ctx.statistics.databaseChanges({ from: '2024-03-01', to: '2024-03-07', tag: 'env:test' });
    assert.deepEqual(
      changes.new_databases.map((d) => d.database_name),
      ['c_db'],
    );
  });

  it('alert events by tag', async () => {
    await ctx.alerts.createRule({ name: 'big', kind: 'size_above', threshold: 105e6 }, CLI_ACTOR);
    await ctx.alerts.evaluate();
    const all = await ctx.alerts.listEvents({});
    assert.equal(all.total, 3);
    const prod = await ctx.alerts.listEvents({ tag: 'env:prod' });
    assert.deepEqual(prod.items.map((e) => e.instance_id).sort(), [ids.a, ids.b].sort());
    assert.equal(prod.total, 2);
    assert.equal((await ctx.alerts.listEvents({ tag: 'nope' })).total, 0);
  });

  it('metrics: one whalefall_instance_tag series per (instance, tag)', async () => {
    const text = await ctx.metrics.scrape();
    const series = text.split('\n').filter((l) => l.startsWith('whalefall_instance_tag{'));
    assert.deepEqual(series.sort(), [
      'whalefall_instance_tag{instance_name="a",tag="env:prod"} 1',
      'whalefall_instance_tag{instance_name="a",tag="team:pay"} 1',
      'whalefall_instance_tag{instance_name="b",tag="env:prod"} 1',
      'whalefall_instance_tag{instance_name="c",tag="env:test"} 1',
    ]);
  });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`a tag filter matches whole tags only, in SQL (${kind})`, () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await newTestContext(kind);
      // `team"prod` is stored as the JSON text "team\"prod", which contains "prod": a text search finds it.
      const quoted = await addInstance(ctx, 'quoted', { tags: ['team"prod', 'Prod', 'xprod'] });
      const real = await addInstance(ctx, 'real', { tags: ['prod'] });
      for (const id of [quoted, real]) await insertHistory(ctx, id, [{ db: 'd', date: '2024-03-01', size: 5e6 }]);
    });
    after(async () => {
      await ctx?.cleanup();
    });

    it('?tag=prod never matches team"prod, Prod or xprod', async () => {
      assert.deepEqual(
        (await ctx.instances.list({ tag: 'prod' })).map((i) => i.name),
        ['real'],
      );
      const page = await ctx.capacity.instanceOverview({ tag: 'prod' });
      assert.deepEqual(
        page.items.map((i) => i.name),
        ['real'],
      );
      assert.equal((await ctx.statistics.summary({ tag: 'prod' })).instances_total, 1);
      assert.deepEqual(
        (await ctx.instances.list({ tag: 'team"prod' })).map((i) => i.name),
        ['quoted'],
      );
      const exported = parse(await ctx.fleet.export('yaml', { tag: 'prod' })) as { instances: { name: string }[] };
      assert.deepEqual(
        exported.instances.map((i) => i.name),
        ['real'],
      );
      assert.deepEqual(
        (await ctx.fleet.select({ tag: 'prod' })).map((i) => i.name),
        ['real'],
      );
    });

    it('an alert rule scoped to a tag fires on whole-tag instances only', async () => {
      await ctx.alerts.createRule({ name: 'tagged', kind: 'size_above', threshold: 1, tag: 'prod' }, CLI_ACTOR);
      await ctx.alerts.evaluate();
      const events = await ctx.alerts.listEvents({ tag: 'prod' });
      assert.deepEqual(
        events.items.map((e) => e.instance_name),
        ['real'],
      );
    });
  });
}
