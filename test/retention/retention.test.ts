/**
 * Retention purge on both dialects: only raw database_size_stats rows older
 * than retention_days go, in bounded batches; instance totals, the database
 * lifecycle (and any aggregates) stay; null keeps everything.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { RetentionService } from '../../src/services/retention.service.js';
import { RetentionRepository } from '../../src/store/retention.repository.js';
import { forEachStore } from '../helpers/context.js';
import { measuredDb } from '../helpers/collection.js';

const actor = { userId: null, username: 'test' };
const day = (d: number) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10);

forEachStore('retention purge', (get) => {
  let instanceId: number;
  const count = async (table: 'database_size_stats' | 'instance_size_stats' | 'instance_databases') =>
    Number(
      (
        await get()
          .store.db.selectFrom(table)
          .select((e) => e.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  before(async () => {
    const ctx = get();
    instanceId = (await ctx.instances.create({ name: 'r1', db_type: 'mysql', host: '10.0.0.1', port: 3306 }, actor)).id;
    // 120 days × 40 databases through the real save path (so lifecycle and totals exist too).
    for (let d = 0; d < 120; d++) {
      await ctx.repos.capacity.saveCollection({
        instanceId,
        collectedDate: day(d),
        collectedAt: `${day(d)}T03:00:00.000Z`,
        databases: Array.from({ length: 40 }, (_, i) => measuredDb(`db${i}`, i * 100 + d)),
      });
    }
  });

  const service = (days: number | null, batchSize = 500) => {
    let pauses = 0;
    const svc = new RetentionService({
      repo: new RetentionRepository(get().store.db),
      retentionDays: async () => days,
      timeZone: 'Asia/Shanghai',
      logger: get().logger,
      batchSize,
      pause: async () => {
        pauses++;
      },
    });
    return { svc, pauses: () => pauses };
  };

  it('keeps everything when retention_days is null (the default)', async () => {
    const r = await service(null).svc.purge(new Date('2024-04-29T20:00:00Z'));
    assert.deepEqual(r, { retention_days: null, cutoff: null, deleted: 0, batches: 0, points_days: null, points_deleted: 0 });
    assert.equal(await count('database_size_stats'), 4800);
  });

  it('deletes only rows older than the cutoff, in bounded batches, nothing else', async () => {
    const totals = await count('instance_size_stats');
    const lifecycle = await count('instance_databases');
    // 2024-04-29T20:00Z is 2024-04-30 in Shanghai (day 120): keep 2024-03-31 (day 90) onwards.
    const { svc, pauses } = service(30, 500);
    const r = await svc.purge(new Date('2024-04-29T20:00:00Z'));
    assert.equal(r.cutoff, day(90));
    assert.equal(r.deleted, 90 * 40);
    assert.equal(r.batches, 8, '3,600 rows in batches of 500: 7 full + 1 short');
    assert.equal(pauses(), r.batches - 1);
    const left = await get()
      .store.db.selectFrom('database_size_stats')
      .select((e) => [e.fn.min('collected_date').as('first'), e.fn.countAll().as('n')])
      .executeTakeFirstOrThrow();
    assert.equal(left.first, day(90));
    assert.equal(Number(left.n), 30 * 40);
    assert.equal(await count('instance_size_stats'), totals, 'instance totals kept');
    assert.equal(await count('instance_databases'), lifecycle, 'lifecycle kept');
    // Idempotent: a second run finds nothing.
    assert.equal((await svc.purge(new Date('2024-04-29T20:00:00Z'))).deleted, 0);
  });

  it('refuses a retention below 30 days', async () => {
    await assert.rejects(service(7).svc.purge(new Date()), /≥ 30/);
    assert.equal(await count('database_size_stats'), 30 * 40);
  });
});
