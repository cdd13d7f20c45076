/**
 * Synthetic histories written straight into the ledger tables, and the
 * statistics services built on a test context.
 */
import type { Clock } from '../../src/lib/clock.js';
import { AggregationRepository } from '../../src/store/aggregation.repository.js';
import { StatisticsRepository } from '../../src/store/statistics.repository.js';
import { AggregationService } from '../../src/services/aggregation.service.js';
import { StatisticsService } from '../../src/services/statistics.service.js';
import { RunwayService } from '../../src/services/runway.service.js';
import { RunwayRepository } from '../../src/store/runway.repository.js';
import type { TestContext } from '../helpers/context.js';

export interface Row {
  db: string;
  date: string;
  size: number;
  deleted?: boolean;
  maxBytes?: number;
}

export class FixedClock implements Clock {
  constructor(public at: Date) {}
  now(): Date {
    return this.at;
  }
}

export async function statisticsOf(ctx: TestContext, clock: Clock, bandPct = 1) {
  const repo = new StatisticsRepository(ctx.store.db, ctx.store.dialect);
  return {
    repo,
    aggregation: new AggregationService(new AggregationRepository(ctx.store.db, ctx.store.dialect), clock, 'UTC', ctx.logger, bandPct),
    statistics: new StatisticsService(repo, ctx.repos.instances, clock, 'UTC'),
    runway: new RunwayService({ repo: new RunwayRepository(ctx.store.db), clock, timeZone: 'UTC' }),
  };
}

export async function addInstance(
  ctx: TestContext,
  name: string,
  extra: { db_type?: string; tags?: string[]; options?: Record<string, unknown>; last_sync_status?: string } = {},
) {
  const now = '2024-01-01T00:00:00.000Z';
  const row = await ctx.repos.instances.insert({
    name,
    db_type: extra.db_type ?? 'postgresql',
    // One server per instance: the estate total counts a server registered twice once (same-server.ts).
    host: `${name}.example`,
    port: 5432,
    tags: JSON.stringify(extra.tags ?? []),
    options: JSON.stringify(extra.options ?? {}),
    is_active: 1,
    last_sync_status: extra.last_sync_status ?? 'completed',
    created_at: now,
    updated_at: now,
  });
  return row.id;
}

/**
 * Raw rows (stamped at 03:00Z of their own day unless `writtenAt`), lifecycle
 * rows, and the instance totals the ledger would write: the sum of the
 * databases present that day. Also sets the instance's latest totals.
 */
export async function insertHistory(ctx: TestContext, instanceId: number, rows: Row[], writtenAt?: string) {
  const db = ctx.store.db;
  const stamp = (d: string) => writtenAt ?? `${d}T03:00:00.000Z`;
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('database_size_stats')
      .values(
        rows.slice(i, i + 500).map((r) => ({
          instance_id: instanceId,
          database_name: r.db,
          collected_date: r.date,
          size_bytes: r.size,
          data_bytes: r.size,
          index_bytes: 0,
          log_bytes: null,
          free_bytes: null,
          used_bytes: null,
          max_bytes: r.maxBytes ?? null,
          method: 'test',
          error: null,
          collected_at: stamp(r.date),
          is_deleted: r.deleted ? 1 : 0,
          deleted_at: r.deleted ? stamp(r.date) : null,
          created_at: stamp(r.date),
          updated_at: stamp(r.date),
        })),
      )
      .execute();
  }
  const totals = new Map<string, { sum: number; n: number }>();
  for (const r of rows) {
    const t = totals.get(r.date) ?? { sum: 0, n: 0 };
    if (!r.deleted) {
      t.sum += r.size;
      t.n++;
    }
    totals.set(r.date, t);
  }
  for (const [date, t] of totals) {
    await db
      .insertInto('instance_size_stats')
      .values({
        instance_id: instanceId,
        collected_date: date,
        total_size_bytes: t.sum,
        data_bytes: t.sum,
        log_bytes: null,
        database_count: t.n,
        collected_at: stamp(date),
      })
      .execute();
  }
  const names = [...new Set(rows.map((r) => r.db))];
  for (const name of names) {
    const mine = rows.filter((r) => r.db === name).sort((a, b) => a.date.localeCompare(b.date));
    const lastRow = mine[mine.length - 1]!;
    await db
      .insertInto('instance_databases')
      .values({
        instance_id: instanceId,
        database_name: name,
        is_system: 0,
        first_seen_date: mine[0]!.date,
        last_seen_date: lastRow.date,
        is_deleted: lastRow.deleted ? 1 : 0,
        deleted_at: lastRow.deleted ? stamp(lastRow.date) : null,
        created_at: stamp(mine[0]!.date),
        updated_at: stamp(lastRow.date),
      })
      .onConflict((oc) =>
        oc.columns(['instance_id', 'database_name']).doUpdateSet((eb) => ({
          last_seen_date: eb.ref('excluded.last_seen_date'),
          is_deleted: eb.ref('excluded.is_deleted'),
          deleted_at: eb.ref('excluded.deleted_at'),
        })),
      )
      .execute();
  }
  const dates = [...totals.keys()].sort();
  const latest = totals.get(dates[dates.length - 1]!)!;
  await db.updateTable('instances').set({ total_size_bytes: latest.sum, database_count: latest.n }).where('id', '=', instanceId).execute();
}

/** `n` consecutive dates from `start`. */
export function days(start: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = new Date(`${start}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + i);
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}
