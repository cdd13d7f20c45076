/**
 * The monthly capacity report's reads (services/capacity-report.service.ts):
 * each instance's total at a month's end and its average over the month,
 * the latest composition of each instance (for the cleanup candidates), the
 * soft-deleted databases whose history remains, and the live databases whose
 * size did not change over a window. Set-based: a few statements for the
 * whole estate.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface InstanceAt {
  id: number;
  name: string;
  db_type: string;
  host: string;
  port: number;
  database_name: string | null;
  last_sync_at: string | null;
  tags: string;
  total_bytes: number | null;
  /** The day of that total (null when none). */
  total_date: string | null;
}

export class ReportRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every instance with its latest total in [from, to] (null when none). */
  async totalsAt(from: string, to: string): Promise<InstanceAt[]> {
    const latest = this.db
      .selectFrom('instance_size_stats')
      .select(['instance_id', (eb) => eb.fn.max('collected_date').as('d')])
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .groupBy('instance_id')
      .as('l');
    const rows = await this.db
      .selectFrom('instances as i')
      .leftJoin(latest, 'l.instance_id', 'i.id')
      .leftJoin('instance_size_stats as s', (j) => j.onRef('s.instance_id', '=', 'i.id').onRef('s.collected_date', '=', 'l.d'))
      .select([
        'i.id',
        'i.name',
        'i.db_type',
        'i.host',
        'i.port',
        'i.database_name',
        'i.last_sync_at',
        'i.tags',
        's.total_size_bytes as total_bytes',
        's.collected_date as total_date',
      ])
      .orderBy('i.id')
      .execute();
    return rows;
  }

  /** Per instance: the mean of its daily totals in [from, to] and the days measured. */
  async averages(from: string, to: string): Promise<Map<number, { avg: number; days: number }>> {
    const rows = await this.db
      .selectFrom('instance_size_stats')
      .select(['instance_id', (eb) => eb.fn.avg<number>('total_size_bytes').as('avg'), (eb) => eb.fn.countAll<number>().as('days')])
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .groupBy('instance_id')
      .execute();
    return new Map(rows.map((r) => [r.instance_id, { avg: Number(r.avg), days: Number(r.days) }]));
  }

  /** The daily totals in [from, to] of the given instances (the registrations of servers registered twice: few). */
  async dailyTotals(ids: readonly number[], from: string, to: string): Promise<{ instance_id: number; collected_date: string; total_size_bytes: number }[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('instance_size_stats')
      .select(['instance_id', 'collected_date', 'total_size_bytes'])
      .where('instance_id', 'in', [...ids])
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .execute();
    return rows.map((r) => ({ ...r, total_size_bytes: Number(r.total_size_bytes) }));
  }

  /** The latest composition row at or before `to` of every instance that has one. */
  async latestCompositions(to: string): Promise<{ instance_id: number; collected_date: string; parts: string }[]> {
    const latest = this.db
      .selectFrom('instance_composition')
      .select(['instance_id', (eb) => eb.fn.max('collected_date').as('d')])
      .where('collected_date', '<=', to)
      .groupBy('instance_id')
      .as('l');
    return this.db
      .selectFrom('instance_composition as c')
      .innerJoin(latest, (j) => j.onRef('l.instance_id', '=', 'c.instance_id').onRef('l.d', '=', 'c.collected_date'))
      .select(['c.instance_id', 'c.collected_date', 'c.parts'])
      .execute();
  }

  /** Soft-deleted databases with history rows left: the rows and the last size measured. */
  async deletedWithHistory(limit: number) {
    const rows = await this.db
      .selectFrom('instance_databases as d')
      .innerJoin('database_size_stats as s', (j) => j.onRef('s.instance_id', '=', 'd.instance_id').onRef('s.database_name', '=', 'd.database_name'))
      .select([
        'd.instance_id',
        'd.database_name',
        'd.deleted_at',
        (eb) => eb.fn.countAll<number>().as('rows'),
        (eb) => eb.fn.max('s.collected_date').as('last_date'),
      ])
      .where('d.is_deleted', '=', 1)
      .groupBy(['d.instance_id', 'd.database_name', 'd.deleted_at'])
      .orderBy(sql`COUNT(*)`, 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, rows: Number(r.rows) }));
  }

  /**
   * Live databases measured on `from` and on `to` with the same size and no
   * different size in between, largest first. Driven by the two days (a seek
   * per database on the day index and the unique key), then each candidate's
   * days in between checked by a range on the unique key that stops at the
   * first different size: at 20,000 databases this reads the candidates'
   * windows, not every database's 90 days (which took seconds).
   */
  async unchanged(from: string, to: string, limit: number) {
    const rows = await this.db
      .selectFrom('database_size_stats as s')
      .innerJoin('database_size_stats as f', (j) =>
        j
          .onRef('f.instance_id', '=', 's.instance_id')
          .onRef('f.database_name', '=', 's.database_name')
          .on('f.collected_date', '=', from)
          .onRef('f.size_bytes', '=', 's.size_bytes'),
      )
      .innerJoin('instance_databases as d', (j) => j.onRef('d.instance_id', '=', 's.instance_id').onRef('d.database_name', '=', 's.database_name'))
      .select(['s.instance_id', 's.database_name', 's.size_bytes'])
      .where('s.collected_date', '=', to)
      .where('s.size_bytes', 'is not', null)
      .where('d.is_deleted', '=', 0)
      .where('d.is_system', '=', 0)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('database_size_stats as c')
              .select(sql`1`.as('x'))
              .whereRef('c.instance_id', '=', 's.instance_id')
              .whereRef('c.database_name', '=', 's.database_name')
              .where('c.collected_date', '>', from)
              .where('c.collected_date', '<', to)
              .whereRef('c.size_bytes', '<>', 's.size_bytes'),
          ),
        ),
      )
      .orderBy('s.size_bytes', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ instance_id: r.instance_id, database_name: r.database_name, size_bytes: Number(r.size_bytes), first_date: from, last_date: to }));
  }
}
