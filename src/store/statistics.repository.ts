/**
 * All SQL of the statistics feature: the period aggregation (set-based, one
 * statement per period kind and scope over the touched range), the series,
 * top growers, lifecycle windows and the estate summary.
 *
 * Portability: dates are 'YYYY-MM-DD' text on SQLite and DATE on PostgreSQL,
 * so no date arithmetic happens in SQL — the service computes period
 * boundaries and they arrive here as a VALUES list of (start, end) pairs.
 * PostgreSQL cannot infer a type for a bare parameter inside VALUES, hence
 * the one dialect switch (`dateParam`).
 */
import { sql, type AliasedSelectQueryBuilder, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DialectName } from './db.js';
import { likeLiteral } from './instances.repository.js';
import type { AggregationRow, AggregationsTable, Database } from './schema.js';
import { hasTag } from './tags.js';
import { windowBaselineSize } from './sync-points.sql.js';

export type AggregationScope = AggregationsTable['scope'];
export type AggregationPeriod = AggregationsTable['period'];
export type { AggregationRow };

export interface PeriodBounds {
  start: string;
  end: string;
}

/** Period pairs per statement: 2 parameters each stays far below SQLite's 32,766. */
const PERIODS_PER_STATEMENT = 2000;

export interface GrowersQuery {
  from: string;
  to: string;
  /** The window as timestamps (local midnight of `from`, of the day after `to`), for the per-sync series. */
  fromTs: string;
  untilTs: string;
  by: 'bytes' | 'pct';
  limit: number;
  instanceIds?: number[];
}

interface GrowerBase {
  instance_id: number;
  instance_name: string;
  database_name: string;
  first_bytes: number | null;
  last_bytes: number | null;
}

/** The capacity pages' filters (all optional). */
export interface CapacityFilter {
  dbType?: string;
  instanceId?: number;
  /** Part of a database name (case-insensitive). */
  database?: string;
}

export interface CapacityRow {
  instance_id: number;
  instance_name: string;
  db_type: string;
  database_name: string;
  period_start: string;
  period_end: string;
  size_bytes: number;
  change_bytes: number | null;
  change_pct: number | null;
}

export interface AggregateCounts {
  instance_rows: number;
  database_rows: number;
}

export class StatisticsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  private dateParam(v: string): RawBuilder<string> {
    return this.dialect === 'postgres' ? sql<string>`CAST(${v} AS DATE)` : sql<string>`${v}`;
  }

  private periodsTable(periods: readonly PeriodBounds[]): RawBuilder<unknown> {
    const rows = periods.map((p) => sql`(${this.dateParam(p.start)}, ${this.dateParam(p.end)})`);
    return sql`(VALUES ${sql.join(rows)})`;
  }

  /**
   * Recompute every aggregate of `period` for the given contiguous, ordered
   * periods, then change and trend of those periods and of every later one up
   * to `changeUntil` (the period after the range, whose "previous" may have
   * changed). One transaction: readers never see a half-computed range.
   */
  async aggregate(
    period: AggregationPeriod,
    periods: readonly PeriodBounds[],
    changeUntil: string,
    computedAt: string,
    bandPct: number,
  ): Promise<AggregateCounts> {
    if (periods.length === 0) return { instance_rows: 0, database_rows: 0 };
    const first = periods[0]!.start;
    const last = periods[periods.length - 1]!;
    return this.db.transaction().execute(async (trx) => {
      // Aggregates whose source rows vanished (e.g. a row marked deleted since) must not linger.
      await trx
        .deleteFrom('aggregations')
        .where('period', '=', period)
        .where('period_start', '>=', first)
        .where('period_start', '<=', last.start)
        .execute();
      const counts: AggregateCounts = { instance_rows: 0, database_rows: 0 };
      for (let i = 0; i < periods.length; i += PERIODS_PER_STATEMENT) {
        const part = periods.slice(i, i + PERIODS_PER_STATEMENT);
        counts.instance_rows += await this.insertInstanceScope(trx, period, part, computedAt);
        counts.database_rows += await this.insertDatabaseScope(trx, period, part, computedAt);
      }
      await this.updateChange(trx, period, first, changeUntil, bandPct);
      return counts;
    });
  }

  /** After a SELECT ending in a join, SQLite needs a WHERE before ON CONFLICT (else it reads it as the join's ON): `WHERE true`. */
  private static readonly UPSERT = sql`ON CONFLICT (scope, instance_id, database_name, period, period_start) DO UPDATE SET
      period_end = excluded.period_end, avg_bytes = excluded.avg_bytes, max_bytes = excluded.max_bytes,
      min_bytes = excluded.min_bytes, last_bytes = excluded.last_bytes, days_with_data = excluded.days_with_data,
      change_bytes = NULL, change_pct = NULL, trend = excluded.trend, computed_at = excluded.computed_at`;

  /**
   * Instance totals come from instance_size_stats: the ledger's sum of the databases present that day.
   * Set-based in one pass: a hash aggregate per (instance, period) that keeps the period's last date, then the
   * last day's row by its unique key — no window function, so no sort of the window's rows (EXPLAIN ANALYZE on
   * PostgreSQL 15, a quarter of 5,000 databases: the sort spilled 19 MB to disk and took 3.25 s; this takes 0.85 s).
   */
  private async insertInstanceScope(trx: Transaction<Database>, period: AggregationPeriod, part: readonly PeriodBounds[], computedAt: string) {
    const r = await sql`
      INSERT INTO aggregations (scope, instance_id, database_name, period, period_start, period_end,
        avg_bytes, max_bytes, min_bytes, last_bytes, days_with_data, trend, computed_at)
      SELECT 'instance', a.instance_id, '', ${period}, a.ps, a.pe,
        CAST(ROUND(a.avg_b) AS BIGINT), a.max_b, a.min_b, l.total_size_bytes, a.n, 'unknown', ${computedAt}
      FROM (
        SELECT s.instance_id, p.column1 AS ps, p.column2 AS pe, AVG(s.total_size_bytes) AS avg_b, MAX(s.total_size_bytes) AS max_b,
          MIN(s.total_size_bytes) AS min_b, COUNT(*) AS n, MAX(s.collected_date) AS last_date
        FROM instance_size_stats s
        JOIN ${this.periodsTable(part)} AS p ON s.collected_date >= p.column1 AND s.collected_date <= p.column2
        WHERE s.collected_date >= ${this.dateParam(part[0]!.start)} AND s.collected_date <= ${this.dateParam(part[part.length - 1]!.end)}
        GROUP BY s.instance_id, p.column1, p.column2
      ) a
      JOIN instance_size_stats l ON l.instance_id = a.instance_id AND l.collected_date = a.last_date
      WHERE true
      ${StatisticsRepository.UPSERT}`.execute(trx);
    return Number(r.numAffectedRows ?? 0);
  }

  /**
   * Database rows count only days the database was present (is_deleted = 0)
   * and measured: a database deleted mid-period and restored later averages
   * over the days it existed, and a missing day is not a zero. Set-based as
   * the instance scope (the last day's row is one of the rows aggregated, so
   * it is present and measured).
   */
  private async insertDatabaseScope(trx: Transaction<Database>, period: AggregationPeriod, part: readonly PeriodBounds[], computedAt: string) {
    const r = await sql`
      INSERT INTO aggregations (scope, instance_id, database_name, period, period_start, period_end,
        avg_bytes, max_bytes, min_bytes, last_bytes, days_with_data, trend, computed_at)
      SELECT 'database', a.instance_id, a.database_name, ${period}, a.ps, a.pe,
        CAST(ROUND(a.avg_b) AS BIGINT), a.max_b, a.min_b, l.size_bytes, a.n, 'unknown', ${computedAt}
      FROM (
        SELECT s.instance_id, s.database_name, p.column1 AS ps, p.column2 AS pe, AVG(s.size_bytes) AS avg_b, MAX(s.size_bytes) AS max_b,
          MIN(s.size_bytes) AS min_b, COUNT(*) AS n, MAX(s.collected_date) AS last_date
        FROM database_size_stats s
        JOIN ${this.periodsTable(part)} AS p ON s.collected_date >= p.column1 AND s.collected_date <= p.column2
        WHERE s.collected_date >= ${this.dateParam(part[0]!.start)} AND s.collected_date <= ${this.dateParam(part[part.length - 1]!.end)}
          AND s.is_deleted = 0 AND s.size_bytes IS NOT NULL
        GROUP BY s.instance_id, s.database_name, p.column1, p.column2
      ) a
      JOIN database_size_stats l ON l.instance_id = a.instance_id AND l.database_name = a.database_name AND l.collected_date = a.last_date
      WHERE true
      ${StatisticsRepository.UPSERT}`.execute(trx);
    return Number(r.numAffectedRows ?? 0);
  }

  /**
   * Change against the latest earlier period with data (a period without data
   * is not a zero either), its percentage, and the trend from the ±band. One
   * UPDATE … FROM: the change is computed in the derived table, so the SET
   * expressions need not see each other's results (three UPDATEs did that
   * before, each rewriting every row of the range: EXPLAIN ANALYZE on
   * PostgreSQL 15, 5,200 rows, 0.8 s each — most of the 04:00 job).
   */
  private async updateChange(trx: Transaction<Database>, period: AggregationPeriod, from: string, until: string, bandPct: number) {
    const change = sql`c.change_bytes`;
    const pct = sql`CASE WHEN ${change} IS NOT NULL AND c.last_bytes - ${change} > 0 THEN ${change} * 100.0 / (c.last_bytes - ${change}) END`;
    await sql`
      UPDATE aggregations SET change_bytes = ${change}, change_pct = ${pct},
        trend = CASE WHEN ${pct} IS NULL THEN 'unknown' WHEN ${pct} > ${bandPct} THEN 'growing' WHEN ${pct} < ${-bandPct} THEN 'shrinking' ELSE 'stable' END
      FROM (
        SELECT a.id, a.last_bytes, a.last_bytes - (
          SELECT p.last_bytes FROM aggregations p
          WHERE p.scope = a.scope AND p.instance_id = a.instance_id
            AND p.database_name = a.database_name AND p.period = a.period
            AND p.period_start < a.period_start
          ORDER BY p.period_start DESC LIMIT 1) AS change_bytes
        FROM aggregations a
        WHERE a.period = ${period} AND a.period_start >= ${from} AND a.period_start <= ${until}
      ) c
      WHERE aggregations.id = c.id`.execute(trx);
  }

  /** When the last aggregation ran (null: never). */
  async lastComputedAt(): Promise<string | null> {
    const r = await this.db.selectFrom('aggregations').select((eb) => eb.fn.max('computed_at').as('at')).executeTakeFirst();
    return r?.at ?? null;
  }

  /** First and last collected day among rows written after `since` (all rows when null). */
  async changedDays(since: string | null): Promise<{ from: string; to: string } | null> {
    const dbs = await this.db
      .selectFrom('database_size_stats')
      .select((eb) => [eb.fn.min('collected_date').as('lo'), eb.fn.max('collected_date').as('hi')])
      .$if(since !== null, (q) => q.where('updated_at', '>', since!))
      .executeTakeFirst();
    const inst = await this.db
      .selectFrom('instance_size_stats')
      .select((eb) => [eb.fn.min('collected_date').as('lo'), eb.fn.max('collected_date').as('hi')])
      .$if(since !== null, (q) => q.where('collected_at', '>', since!))
      .executeTakeFirst();
    const los = [dbs?.lo, inst?.lo].filter((d): d is string => !!d);
    const his = [dbs?.hi, inst?.hi].filter((d): d is string => !!d);
    if (los.length === 0) return null;
    return { from: los.sort()[0]!, to: his.sort()[his.length - 1]! };
  }

  async aggregationSeries(q: { scope: AggregationScope; instanceId: number; databaseName: string; period: AggregationPeriod; from: string; to: string }) {
    return this.db
      .selectFrom('aggregations')
      .select(['period_start', 'period_end', 'avg_bytes', 'max_bytes', 'min_bytes', 'last_bytes', 'days_with_data', 'change_bytes', 'change_pct', 'trend', 'computed_at'])
      .where('scope', '=', q.scope)
      .where('instance_id', '=', q.instanceId)
      .where('database_name', '=', q.databaseName)
      .where('period', '=', q.period)
      .where('period_end', '>=', q.from)
      .where('period_start', '<=', q.to)
      .orderBy('period_start')
      .execute();
  }

  /** Daily totals of one instance (the ledger's instance_size_stats). */
  async instanceDaily(instanceId: number, from: string, to: string) {
    return this.db
      .selectFrom('instance_size_stats')
      .select(['collected_date', 'total_size_bytes as size_bytes', 'database_count'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .orderBy('collected_date')
      .execute();
  }

  /** Daily sizes of one database on the days it was present and measured. */
  async databaseDaily(instanceId: number, databaseName: string, from: string, to: string) {
    return this.db
      .selectFrom('database_size_stats')
      .select(['collected_date', 'size_bytes', 'max_bytes'])
      .where('instance_id', '=', instanceId)
      .where('database_name', '=', databaseName)
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .where('is_deleted', '=', 0)
      .where('size_bytes', 'is not', null)
      .orderBy('collected_date')
      .execute();
  }

  /** The latest known growth limit of a database (Oracle autoextend MAXBYTES), if any. */
  async latestMaxBytes(instanceId: number, databaseName: string): Promise<number | null> {
    const r = await this.db
      .selectFrom('database_size_stats')
      .select('max_bytes')
      .where('instance_id', '=', instanceId)
      .where('database_name', '=', databaseName)
      .where('max_bytes', 'is not', null)
      .orderBy('collected_date', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r?.max_bytes ?? null;
  }

  async databaseExists(instanceId: number, databaseName: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('instance_databases')
      .select('id')
      .where('instance_id', '=', instanceId)
      .where('database_name', '=', databaseName)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Every instance with its latest collection's totals (written by the ledger in the same transaction). */
  /** Every instance, or only those carrying exactly `tag`. */
  async instancesForSummary(tag?: string) {
    let q = this.db.selectFrom('instances').select(['id', 'name', 'db_type', 'tags', 'is_active', 'total_size_bytes', 'database_count', 'last_sync_status', 'last_sync_at']);
    if (tag !== undefined) q = q.where(hasTag(this.dialect, tag));
    return q.orderBy('id').execute();
  }

  /**
   * Availability-group copies counted in more than one instance's latest
   * total (a replica whose role was UNKNOWN or RESOLVING keeps its copy in
   * its own total): every counted copy of a group database that has two or
   * more, from each instance's latest collected day. Secondaries and
   * snapshots are already out of the totals and are not returned. The
   * partial index on replica_group_id keeps this to availability-group rows.
   */
  async countedReplicaCopies(): Promise<{ instance_id: number; group_id: string; role: string | null; size_bytes: number }[]> {
    const rows = await sql<{ instance_id: number; group_id: string; role: string | null; size_bytes: number | string }>`
      WITH copies AS (
        SELECT s.instance_id, s.replica_group_id AS group_id, s.replica_role AS role, s.size_bytes
        FROM database_size_stats s
        WHERE s.replica_group_id IS NOT NULL
          AND s.is_deleted = 0 AND s.is_snapshot = 0 AND s.size_bytes IS NOT NULL
          AND (s.replica_role IS NULL OR s.replica_role <> 'SECONDARY')
          AND s.collected_date = (SELECT MAX(x.collected_date) FROM instance_size_stats x WHERE x.instance_id = s.instance_id)
      )
      SELECT instance_id, group_id, role, size_bytes FROM copies
      WHERE group_id IN (SELECT group_id FROM copies GROUP BY group_id HAVING COUNT(*) > 1)
      ORDER BY group_id, instance_id`.execute(this.db);
    return rows.rows.map((r) => ({ ...r, size_bytes: Number(r.size_bytes) }));
  }

  /**
   * Growth of live databases between their first and last measured day in
   * [from, to]: index seeks per database on the (instance, name, date) key,
   * never a scan of the window's rows. See `firstAndLast` for the baseline.
   */
  async databaseGrowers(q: GrowersQuery) {
    const inner = this.db
      .selectFrom('instance_databases as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .select(['d.instance_id', 'i.name as instance_name', 'd.database_name'])
      .select(() => this.firstAndLast(q, 'database_size_stats', 'size_bytes', sql.ref('d.instance_id'), sql.ref('d.database_name')))
      .where('d.is_deleted', '=', 0);
    return this.growers(this.fenced(inner).$castTo<GrowerBase>().as('g'), q);
  }

  /** Growth of instances between their first and last collected day in [from, to]. */
  async instanceGrowers(q: GrowersQuery) {
    const inner = this.db
      .selectFrom('instances as i')
      .select(['i.id as instance_id', 'i.name as instance_name', sql<string>`''`.as('database_name')])
      .select(() => this.firstAndLast(q, 'instance_size_stats', 'total_size_bytes', sql.ref('i.id'), sql`''`));
    return this.growers(this.fenced(inner).$castTo<GrowerBase>().as('g'), q);
  }

  /**
   * Keep PostgreSQL from pulling the growers' subquery up into the outer one:
   * pulled up, each of first_bytes/last_bytes is a correlated subplan run once
   * per use — in the filters, the change, the percentage and the sort — so
   * 6 index seeks per database instead of 2 (EXPLAIN ANALYZE, 5,000
   * databases, 90 days by %: 1,130 ms → 240–430 ms on a loaded machine; see
   * docs/benchmarks-notes.md). `OFFSET 0` is PostgreSQL's documented fence;
   * SQLite runs each subquery once already and rejects OFFSET without LIMIT.
   */
  private fenced<Q extends { modifyEnd(m: RawBuilder<unknown>): Q }>(inner: Q): Q {
    return this.dialect === 'postgres' ? inner.modifyEnd(sql`OFFSET 0`) : inner;
  }

  /**
   * last_bytes: the last daily row in [from, to]. first_bytes: the first daily
   * row of an earlier day in the window; when the window holds one day only,
   * the earliest sync of the window before the last one (the per-sync series),
   * so growth made and synced the same day shows; null ("no baseline yet",
   * left out of the list) when there is no earlier point at all.
   */
  private firstAndLast(q: GrowersQuery, table: 'database_size_stats' | 'instance_size_stats', col: 'size_bytes' | 'total_size_bytes', inst: RawBuilder<unknown>, name: RawBuilder<unknown>) {
    const t = sql.table(table);
    const c = sql.ref(`s.${col}`);
    const key = table === 'database_size_stats' ? sql`s.instance_id = ${inst} and s.database_name = ${name} and s.is_deleted = 0 and ${c} is not null` : sql`s.instance_id = ${inst}`;
    const inWindow = sql`s.collected_date >= ${q.from} and s.collected_date <= ${q.to}`;
    const lastDay = sql`(select max(s.collected_date) from ${t} s where ${key} and ${inWindow})`;
    const last = sql<number | null>`(select ${c} from ${t} s where ${key} and ${inWindow} order by s.collected_date desc limit 1)`;
    const firstDaily = sql<number | null>`(select ${c} from ${t} s where ${key} and ${inWindow} and s.collected_date < ${lastDay} order by s.collected_date asc limit 1)`;
    const firstSync = windowBaselineSize(inst, name, q.fromTs, q.untilTs);
    return [sql<number | null>`coalesce(${firstDaily}, ${firstSync})`.as('first_bytes'), last.as('last_bytes')];
  }

  /** `instanceIds`: only these instances (a tag's); an empty list gives no rows. */
  private async growers(g: AliasedSelectQueryBuilder<GrowerBase, 'g'>, q: { by: 'bytes' | 'pct'; limit: number; instanceIds?: number[] }) {
    if (q.instanceIds?.length === 0) return [];
    const change = sql<number>`g.last_bytes - g.first_bytes`;
    const pct = sql<number | null>`CASE WHEN g.first_bytes > 0 THEN (g.last_bytes - g.first_bytes) * 100.0 / g.first_bytes END`;
    const rows = await this.db
      .selectFrom(g)
      .select(['g.instance_id', 'g.instance_name', 'g.database_name', 'g.first_bytes', 'g.last_bytes', change.as('change_bytes'), pct.as('change_pct')])
      .where('g.first_bytes', 'is not', null)
      .where('g.last_bytes', 'is not', null)
      .$if(q.by === 'pct', (qb) => qb.where('g.first_bytes', '>', 0))
      .$if(q.instanceIds !== undefined, (qb) => qb.where('g.instance_id', 'in', q.instanceIds!))
      .orderBy(q.by === 'pct' ? pct : change, 'desc')
      .orderBy('g.instance_id')
      .orderBy('g.database_name')
      .limit(q.limit)
      .execute();
    return rows.map((r) => ({ ...r, first_bytes: r.first_bytes!, last_bytes: r.last_bytes! }));
  }

  /**
   * Sizes per period of every instance (or live database) matching the
   * capacity pages' filters: daily from the raw ledger rows (current before
   * the nightly aggregation), longer periods from the aggregations.
   */
  async capacityRows(q: CapacityFilter & { scope: AggregationScope; period: AggregationPeriod; from: string; to: string }): Promise<CapacityRow[]> {
    const namePattern = q.database ? `%${likeLiteral(q.database.toLowerCase())}%` : null;
    if (q.period === 'daily' && q.scope === 'instance') {
      return this.db
        .selectFrom('instance_size_stats as s')
        .innerJoin('instances as i', 'i.id', 's.instance_id')
        .select(['s.instance_id', 'i.name as instance_name', 'i.db_type', sql<string>`''`.as('database_name'), 's.collected_date as period_start', 's.collected_date as period_end', 's.total_size_bytes as size_bytes'])
        .select([sql<number | null>`NULL`.as('change_bytes'), sql<number | null>`NULL`.as('change_pct')])
        .where('s.collected_date', '>=', q.from)
        .where('s.collected_date', '<=', q.to)
        .$if(!!q.dbType, (b) => b.where('i.db_type', '=', q.dbType!))
        .$if(!!q.instanceId, (b) => b.where('s.instance_id', '=', q.instanceId!))
        .orderBy('s.instance_id')
        .orderBy('s.collected_date')
        .execute();
    }
    if (q.period === 'daily') {
      return this.db
        .selectFrom('database_size_stats as s')
        .innerJoin('instances as i', 'i.id', 's.instance_id')
        .select(['s.instance_id', 'i.name as instance_name', 'i.db_type', 's.database_name', 's.collected_date as period_start', 's.collected_date as period_end', sql<number>`s.size_bytes`.as('size_bytes')])
        .select([sql<number | null>`NULL`.as('change_bytes'), sql<number | null>`NULL`.as('change_pct')])
        .where('s.collected_date', '>=', q.from)
        .where('s.collected_date', '<=', q.to)
        .where('s.is_deleted', '=', 0)
        .where('s.size_bytes', 'is not', null)
        .$if(!!q.dbType, (b) => b.where('i.db_type', '=', q.dbType!))
        .$if(!!q.instanceId, (b) => b.where('s.instance_id', '=', q.instanceId!))
        .$if(namePattern !== null, (b) => b.where(sql<boolean>`lower(s.database_name) like ${namePattern} escape '\\'`))
        .orderBy('s.instance_id')
        .orderBy('s.database_name')
        .orderBy('s.collected_date')
        .execute();
    }
    return this.db
      .selectFrom('aggregations as a')
      .innerJoin('instances as i', 'i.id', 'a.instance_id')
      .select(['a.instance_id', 'i.name as instance_name', 'i.db_type', 'a.database_name', 'a.period_start', 'a.period_end', 'a.avg_bytes as size_bytes', 'a.change_bytes', 'a.change_pct'])
      .where('a.scope', '=', q.scope)
      .where('a.period', '=', q.period)
      .where('a.period_end', '>=', q.from)
      .where('a.period_start', '<=', q.to)
      .$if(!!q.dbType, (b) => b.where('i.db_type', '=', q.dbType!))
      .$if(!!q.instanceId, (b) => b.where('a.instance_id', '=', q.instanceId!))
      .$if(namePattern !== null, (b) => b.where(sql<boolean>`lower(a.database_name) like ${namePattern} escape '\\'`))
      .orderBy('a.instance_id')
      .orderBy('a.database_name')
      .orderBy('a.period_start')
      .execute();
  }

  /** Databases first seen in [from, to] (dates). */
  async newDatabases(from: string, to: string) {
    return this.db
      .selectFrom('instance_databases as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .select(['d.instance_id', 'i.name as instance_name', 'd.database_name', 'd.first_seen_date', 'd.last_seen_date', 'd.is_deleted', 'd.deleted_at'])
      .where('d.first_seen_date', '>=', from)
      .where('d.first_seen_date', '<=', to)
      .orderBy('d.first_seen_date')
      .orderBy('d.instance_id')
      .orderBy('d.database_name')
      .execute();
  }

  /** Databases currently deleted whose deletion was recorded in [fromTs, toTs) (UTC instants). */
  async deletedDatabases(fromTs: string, toTs: string) {
    return this.db
      .selectFrom('instance_databases as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .leftJoin('database_size_stats as s', (j) =>
        j
          .onRef('s.instance_id', '=', 'd.instance_id')
          .onRef('s.database_name', '=', 'd.database_name')
          .onRef('s.collected_date', '=', 'd.last_seen_date'),
      )
      .select(['d.instance_id', 'i.name as instance_name', 'd.database_name', 'd.first_seen_date', 'd.last_seen_date', 'd.deleted_at', 's.size_bytes as last_size_bytes'])
      .where('d.is_deleted', '=', 1)
      .where('d.deleted_at', '>=', fromTs)
      .where('d.deleted_at', '<', toTs)
      .orderBy('d.deleted_at')
      .orderBy('d.instance_id')
      .orderBy('d.database_name')
      .execute();
  }
}
