/**
 * The report's "unchanged for 90 days" candidates (ReportRepository.unchanged)
 * on both stores, case by case: the same size on the window's first and last
 * day and no other size in between (days missing or without a size do not
 * count), live user databases only, largest first, at most `limit`.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { sql } from 'kysely';
import { addDays } from '../../src/lib/clock.js';
import { ReportRepository } from '../../src/store/report.repository.js';
import { forEachStore, type TestContext } from '../helpers/context.js';
import { addInstance, insertHistory, type Row } from './fixtures.js';

const TO = '2024-06-30';
const FROM = addDays(TO, -89);
/** 100 days ending on TO. */
const days = (db: string, f: (date: string, i: number) => number | null, extra: Partial<Row> = {}): Row[] =>
  Array.from({ length: 100 }, (_, i) => ({ db, date: addDays(TO, i - 99), size: f(addDays(TO, i - 99), i) as number, ...extra })).filter(
    (r) => r.size !== undefined,
  );

forEachStore('report: unchanged databases', (get) => {
  let ctx: TestContext;
  let id = 0;
  before(async () => {
    ctx = get();
    id = await addInstance(ctx, 'one');
    await insertHistory(ctx, id, [
      ...days('constant', () => 500),
      ...days('grew_before', (d) => (d < FROM ? 100 : 400)), // changed only before the window
      ...days('back_again', (d) => (d === addDays(FROM, 40) ? 301 : 300)), // same at both ends, different in between
      ...days('from_missing', () => 200).filter((r) => r.date !== FROM),
      ...days('to_missing', () => 250).filter((r) => r.date !== TO),
      ...days('gap', () => 150).filter((r) => r.date !== addDays(FROM, 10)),
      ...days('null_day', () => 120),
      ...days('small', () => 10),
      ...days('system_db', () => 900),
      ...days('dropped', () => 800, { deleted: true }),
    ]);
    await sql`UPDATE database_size_stats SET size_bytes = NULL WHERE database_name = 'null_day' AND collected_date = ${addDays(FROM, 5)}`.execute(ctx.store.db);
    await ctx.store.db.updateTable('instance_databases').set({ is_system: 1 }).where('database_name', '=', 'system_db').execute();
  });

  it('lists what kept one size over the window, largest first', async () => {
    const repo = new ReportRepository(ctx.store.db);
    const all = await repo.unchanged(FROM, TO, 50);
    assert.deepEqual(
      all.map((r) => [r.database_name, r.size_bytes, r.first_date, r.last_date, r.instance_id]),
      [
        ['constant', 500, FROM, TO, id],
        ['grew_before', 400, FROM, TO, id],
        ['gap', 150, FROM, TO, id],
        ['null_day', 120, FROM, TO, id],
        ['small', 10, FROM, TO, id],
      ],
    );
    assert.deepEqual(
      (await repo.unchanged(FROM, TO, 2)).map((r) => r.database_name),
      ['constant', 'grew_before'],
    );
  });
});
