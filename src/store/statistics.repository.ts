/**
 * The statistics feature's reads: the series, top growers, capacity rows,
 * lifecycle windows and the estate summary. The period aggregation that
 * writes `aggregations` is in aggregation.repository.ts.
 */
import { sql, type AliasedSelectQueryBuilder, type Kysely, type RawBuilder } from 'kysely';
import type { DialectName } from './db.js';
import { likeLiteral } from './instances.repository.js';
import type { AggregationRow, AggregationsTable, Database } from './schema.js';
import { hasTag } from './tags.js';
import { windowBaselineSize } from './sync-points.sql.js';
import { notSnapshotOn } from './snapshot-churn.sql.js';

export type AggregationScope = AggregationsTable['scope'];
export type AggregationPeriod = AggregationsTable['period'];
export type { AggregationRow };

/** Where a growth is measured: a database's daily rows, or an instance's (`inst`, `name`: the outer query's columns). */
interface GrowthSource {
  table: 'database_size_stats' | 'instance_size_stats';
  col: 'size_bytes' | 'total_size_bytes';
  inst: RawBuilder<unknown>;
  name: RawBuilder<unknown>;
}

/** The rows of one database (or instance) a growth is measured on, in the table aliased `alias`: the measured live ones. */
function growthKey({ table, col, inst, name }: GrowthSource, alias = 's') {
  const a = (column: string) => sql.ref(`${alias}.${column}`);
  const c = a(col);
  const key =
    table === 'database_size_stats'
      ? sql`${a('instance_id')} = ${inst} and ${a('database_name')} = ${name} and ${a('is_deleted')} = 0 and ${c} is not null`
      : sql`${a('instance_id')} = ${inst}`;
  return { t: sql.table(table), c, key };
}

export interface GrowersQuery {
  from: string;
  to: string;
  /** The window as timestamps (local midnight of `from`, of the day after `to`), for the per-sync series. */
  fromTs: string;
  untilTs: string;
  by: 'bytes' | 'pct';
  limit: number;
  instanceIds?: number[];
  /** Databases tagged system (mysql, sys, postgres, master …) are left out unless true. */
  includeSystem?: boolean;
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

export class StatisticsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  async aggregationSeries(q: { scope: AggregationScope; instanceId: number; databaseName: string; period: AggregationPeriod; from: string; to: string }) {
    return this.db
      .selectFrom('aggregations')
      .select([
        'period_start',
        'period_end',
        'avg_bytes',
        'max_bytes',
        'min_bytes',
        'last_bytes',
        'days_with_data',
        'change_bytes',
        'change_pct',
        'trend',
        'computed_at',
      ])
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
    let q = this.db
      .selectFrom('instances')
      .select([
        'id',
        'name',
        'db_type',
        'host',
        'port',
        'database_name',
        'tags',
        'is_active',
        'total_size_bytes',
        'database_count',
        'last_sync_status',
        'last_sync_at',
      ]);
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
   * Growth of live databases between their first and last measured day in [from, to]: joins on the window's
   * edge days, and index seeks on the (instance, name, date) key for the databases not measured on them (`edges`).
   */
  databaseGrowers(q: GrowersQuery) {
    return this.withoutJit((db) => {
      const src: GrowthSource = { table: 'database_size_stats', col: 'size_bytes', inst: sql.ref('d.instance_id'), name: sql.ref('d.database_name') };
      const e = this.edges(q, src);
      const inner = db
        .selectFrom('instance_databases as d')
        .innerJoin('instances as i', 'i.id', 'd.instance_id')
        .leftJoin(e.last, (j) => j.on(e.onLast))
        .leftJoin(e.first, (j) => j.on(e.onFirst))
        .select(['d.instance_id', 'i.name as instance_name', 'd.database_name', ...e.select])
        .where('d.is_deleted', '=', 0)
        .$if(!q.includeSystem, (b) => b.where('d.is_system', '=', 0));
      return this.growers(db, this.fenced(inner).$castTo<GrowerBase>().as('g'), q);
    });
  }

  /** Growth of instances between their first and last collected day in [from, to]. */
  instanceGrowers(q: GrowersQuery) {
    return this.withoutJit((db) => {
      const src: GrowthSource = { table: 'instance_size_stats', col: 'total_size_bytes', inst: sql.ref('i.id'), name: sql`''` };
      const e = this.edges(q, src);
      const inner = db
        .selectFrom('instances as i')
        .leftJoin(e.last, (j) => j.on(e.onLast))
        .leftJoin(e.first, (j) => j.on(e.onFirst))
        .select(['i.id as instance_id', 'i.name as instance_name', sql<string>`''`.as('database_name'), ...e.select]);
      return this.growers(db, this.fenced(inner).$castTo<GrowerBase>().as('g'), q);
    });
  }

  /**
   * PostgreSQL: `fn`'s statements with JIT compilation off (`SET LOCAL` in a transaction, so also through
   * pgbouncer's transaction pooling). The growers' plan is costed far past `jit_above_cost` (100,000 by default):
   * its per-row seeks are costed as if each ran, though CASE runs them for few rows. Compiling it took ~300 ms of
   * a query that runs in ~100 ms (10,000 instances × 5 databases).
   */
  private withoutJit<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.dialect !== 'postgres') return fn(this.db);
    return this.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL jit = off`.execute(trx);
      return fn(trx);
    });
  }

  /**
   * first_bytes and last_bytes of every database (or instance) of the growers' query. last_bytes: the last daily
   * row in [from, to]. first_bytes: the first daily row of an earlier day in the window; when the window holds
   * one day only, the earliest sync of the window before the last one (the per-sync series), so growth made and
   * synced the same day shows; null ("no baseline yet", left out of the list) when there is no earlier point.
   *
   * The window's first and last days with any row (a seek each on the date index) hold most databases' first and
   * last rows, since nobody has a row between `from` and the first or between the last and `to`: those rows are
   * joined by day (`last`, `first`: the table aliased `le`, `fe`), set-based. A database measured on neither
   * (new in the window, a missed sync) is read by index seeks on its key (`seeks`), evaluated only for it (CASE).
   * PostgreSQL hash-joins the two days' rows: at 50,000 databases (10,000 instances × 5, 30 days) p50 101–111 ms,
   * against 566–597 ms for two seeks a database; SQLite 83–94 against 286–631 ms (docs/benchmarks-notes.md, session 17).
   */
  private edges(q: GrowersQuery, src: GrowthSource) {
    const t = sql.table(src.table);
    // Uncorrelated: each runs once, in the same statement (one snapshot) as the rows they pick.
    const day = (fn: 'min' | 'max') => sql`(select ${sql.raw(fn)}(collected_date) from ${t} where collected_date >= ${q.from} and collected_date <= ${q.to})`;
    const on = (alias: string, dayIs: RawBuilder<unknown>) => sql<boolean>`${growthKey(src, alias).key} and ${sql.ref(`${alias}.collected_date`)} = ${dayIs}`;
    const atLast = sql.ref(`le.${src.col}`);
    const atFirst = sql.ref(`fe.${src.col}`);
    const seek = this.seeks(q, src);
    const firstDaily = sql<number | null>`CASE WHEN ${atLast} IS NOT NULL AND ${atFirst} IS NOT NULL THEN ${atFirst} ELSE ${seek.firstDaily} END`;
    return {
      last: sql`${t}`.as('le'),
      onLast: on('le', day('max')),
      first: sql`${t}`.as('fe'),
      // The first day's row is a first daily row only when it is of an earlier day than the last.
      onFirst: sql<boolean>`${on('fe', day('min'))} and ${day('min')} < ${day('max')}`,
      select: [
        sql<number | null>`coalesce(${firstDaily}, ${seek.firstSync})`.as('first_bytes'),
        sql<number | null>`CASE WHEN ${atLast} IS NOT NULL THEN ${atLast} ELSE ${seek.last} END`.as('last_bytes'),
      ],
    };
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

  /** One database's (or instance's) first and last daily rows in the window by index seeks on its key (`edges`). */
  private seeks(q: GrowersQuery, src: GrowthSource) {
    const { t, c, key } = growthKey(src);
    const inWindow = sql`s.collected_date >= ${q.from} and s.collected_date <= ${q.to}`;
    const lastDay = sql`(select max(s.collected_date) from ${t} s where ${key} and ${inWindow})`;
    return {
      last: sql<number | null>`(select ${c} from ${t} s where ${key} and ${inWindow} order by s.collected_date desc limit 1)`,
      firstDaily: sql<
        number | null
      >`(select ${c} from ${t} s where ${key} and ${inWindow} and s.collected_date < ${lastDay} order by s.collected_date asc limit 1)`,
      firstSync: windowBaselineSize(src.inst, src.name, q.fromTs, q.untilTs),
    };
  }

  /** `instanceIds`: only these instances (a tag's); an empty list gives no rows. */
  private async growers(
    db: Kysely<Database>,
    g: AliasedSelectQueryBuilder<GrowerBase, 'g'>,
    q: { by: 'bytes' | 'pct'; limit: number; instanceIds?: number[] },
  ) {
    if (q.instanceIds?.length === 0) return [];
    const change = sql<number>`g.last_bytes - g.first_bytes`;
    const pct = sql<number | null>`CASE WHEN g.first_bytes > 0 THEN (g.last_bytes - g.first_bytes) * 100.0 / g.first_bytes END`;
    const rows = await db
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
        .select([
          's.instance_id',
          'i.name as instance_name',
          'i.db_type',
          sql<string>`''`.as('database_name'),
          's.collected_date as period_start',
          's.collected_date as period_end',
          's.total_size_bytes as size_bytes',
        ])
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
        .select([
          's.instance_id',
          'i.name as instance_name',
          'i.db_type',
          's.database_name',
          's.collected_date as period_start',
          's.collected_date as period_end',
          sql<number>`s.size_bytes`.as('size_bytes'),
        ])
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
      .select([
        'a.instance_id',
        'i.name as instance_name',
        'i.db_type',
        'a.database_name',
        'a.period_start',
        'a.period_end',
        'a.avg_bytes as size_bytes',
        'a.change_bytes',
        'a.change_pct',
      ])
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

  /** Every database tagged system, as `instance_id NUL database_name` keys (the capacity TOP N leaves them out by default). */
  async systemDatabaseKeys(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('instance_databases').select(['instance_id', 'database_name']).where('is_system', '=', 1).execute();
    return new Set(rows.map((r) => `${r.instance_id}\u0000${r.database_name}`));
  }

  /** Databases first seen in [from, to] (dates). */
  async newDatabases(from: string, to: string) {
    return this.db
      .selectFrom('instance_databases as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .select(['d.instance_id', 'i.name as instance_name', 'd.database_name', 'd.first_seen_date', 'd.last_seen_date', 'd.is_deleted', 'd.deleted_at'])
      .where('d.first_seen_date', '>=', from)
      .where('d.first_seen_date', '<=', to)
      .where(notSnapshotOn('d', 'first_seen_date'))
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
        j.onRef('s.instance_id', '=', 'd.instance_id').onRef('s.database_name', '=', 'd.database_name').onRef('s.collected_date', '=', 'd.last_seen_date'),
      )
      .select([
        'd.instance_id',
        'i.name as instance_name',
        'd.database_name',
        'd.first_seen_date',
        'd.last_seen_date',
        'd.deleted_at',
        's.size_bytes as last_size_bytes',
      ])
      .where('d.is_deleted', '=', 1)
      .where('d.deleted_at', '>=', fromTs)
      .where('d.deleted_at', '<', toTs)
      .where(notSnapshotOn('d', 'last_seen_date'))
      .orderBy('d.deleted_at')
      .orderBy('d.instance_id')
      .orderBy('d.database_name')
      .execute();
  }
}
