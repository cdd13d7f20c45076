/**
 * The runway's reads: every instance's (or live database's) daily sizes over
 * a window, in (instance, database, date) order so the service can cut the
 * stream into series without holding more than a chunk of instances, and a
 * cheap version stamp of the history for the per-day cache.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface RunwayInstance {
  id: number;
  name: string;
  db_type: string;
  tags: string;
  options: string;
  is_active: number;
  total_size_bytes: number | null;
  last_sync_at: string | null;
}

/** A series' fit as kept for the day (fit: JSON RunwayFit, null when too little history). */
export interface StoredFit {
  instance_id: number;
  database_name: string;
  fit: string | null;
  max_bytes: number | null;
}

/** The ledgers' highest row ids: a row added since a fit (sync or import) has a higher one. */
export interface LedgerIds {
  instance_stats_id: number;
  database_stats_id: number;
}

export interface FitRun extends LedgerIds {
  day: string;
  computed_at: string;
}

export interface RunwaySeriesRow {
  instance_id: number;
  database_name: string;
  collected_date: string;
  size_bytes: number;
  max_bytes: number | null;
}

export class RunwayRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async instances(ids?: readonly number[]): Promise<RunwayInstance[]> {
    if (ids && !ids.length) return [];
    return this.db
      .selectFrom('instances')
      .select(['id', 'name', 'db_type', 'tags', 'options', 'is_active', 'total_size_bytes', 'last_sync_at'])
      .$if(ids !== undefined, (q) => q.where('id', 'in', ids!))
      .orderBy('id')
      .execute();
  }

  /** Instance totals in [from, to] of the given instances ('' as database_name). */
  async instanceSeries(instanceIds: readonly number[], from: string, to: string): Promise<RunwaySeriesRow[]> {
    if (!instanceIds.length) return [];
    return this.db
      .selectFrom('instance_size_stats')
      .select([
        'instance_id',
        sql<string>`''`.as('database_name'),
        'collected_date',
        'total_size_bytes as size_bytes',
        sql<number | null>`NULL`.as('max_bytes'),
      ])
      .where('instance_id', 'in', instanceIds)
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .orderBy('instance_id')
      .orderBy('collected_date')
      .execute();
  }

  /** Measured days in [from, to] of the live (not deleted) databases of the given instances (or of one database of theirs). */
  async databaseSeries(instanceIds: readonly number[], from: string, to: string, database?: string): Promise<RunwaySeriesRow[]> {
    if (!instanceIds.length) return [];
    const rows = await this.db
      .selectFrom('database_size_stats as s')
      .innerJoin('instance_databases as d', (j) => j.onRef('d.instance_id', '=', 's.instance_id').onRef('d.database_name', '=', 's.database_name'))
      .select(['s.instance_id', 's.database_name', 's.collected_date', 's.size_bytes', 's.max_bytes'])
      .where('s.instance_id', 'in', instanceIds)
      .where('d.is_deleted', '=', 0)
      .where('s.is_deleted', '=', 0)
      .where('s.size_bytes', 'is not', null)
      .where('s.collected_date', '>=', from)
      .where('s.collected_date', '<=', to)
      .$if(database !== undefined, (q) => q.where('s.database_name', '=', database!))
      .orderBy('s.instance_id')
      .orderBy('s.database_name')
      .orderBy('s.collected_date')
      .execute();
    return rows as RunwaySeriesRow[];
  }

  /** Each database's size on the given days of one instance (a jump's two days, for its attribution). */
  async databaseSizesOn(instanceId: number, dates: readonly string[]): Promise<{ database_name: string; collected_date: string; size_bytes: number }[]> {
    if (!dates.length) return [];
    const rows = await this.db
      .selectFrom('database_size_stats')
      .select(['database_name', 'collected_date', 'size_bytes'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', 'in', dates)
      .where('size_bytes', 'is not', null)
      .execute();
    return rows as { database_name: string; collected_date: string; size_bytes: number }[];
  }

  /** The days in [from, to] with table-ledger rows for an instance, oldest first. */
  async tableDays(instanceId: number, from: string, to: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('table_size_stats as s')
      .innerJoin('table_names as n', 'n.id', 's.table_id')
      .select('s.collected_date')
      .distinct()
      .where('n.instance_id', '=', instanceId)
      .where('s.collected_date', '>=', from)
      .where('s.collected_date', '<=', to)
      .orderBy('s.collected_date')
      .execute();
    return rows.map((r) => r.collected_date);
  }

  /** Every table's total on the given ledger days of one instance (optionally one database); "other" rows excluded. */
  async tableSizesOn(instanceId: number, dates: readonly string[], database?: string) {
    if (!dates.length) return [];
    const rows = await this.db
      .selectFrom('table_size_stats as s')
      .innerJoin('table_names as n', 'n.id', 's.table_id')
      .select(['n.database_name', 'n.schema_name', 'n.table_name', 's.collected_date', 's.total_bytes'])
      .where('n.instance_id', '=', instanceId)
      .where('n.kind', '<>', 'other')
      .where('s.collected_date', 'in', dates)
      .where('s.total_bytes', 'is not', null)
      .$if(database !== undefined, (q) => q.where('n.database_name', '=', database!))
      .execute();
    return rows as { database_name: string; schema_name: string; table_name: string; collected_date: string; total_bytes: number }[];
  }

  /** The composition rows (parts as JSON) of one instance on the given days. */
  async compositionOn(instanceId: number, dates: readonly string[]): Promise<{ collected_date: string; parts: string }[]> {
    if (!dates.length) return [];
    return this.db
      .selectFrom('instance_composition')
      .select(['collected_date', 'parts'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', 'in', dates)
      .execute();
  }

  /** The ledgers' highest ids (two index seeks). */
  async ledgerIds(): Promise<LedgerIds> {
    const a = await this.db
      .selectFrom('instance_size_stats')
      .select((eb) => eb.fn.max('id').as('m'))
      .executeTakeFirst();
    const b = await this.db
      .selectFrom('database_size_stats')
      .select((eb) => eb.fn.max('id').as('m'))
      .executeTakeFirst();
    return { instance_stats_id: Number(a?.m ?? 0), database_stats_id: Number(b?.m ?? 0) };
  }

  /**
   * Instances with ledger rows above the given ids (added since): a primary-key range each. Ordered by
   * id, not DISTINCT: SQLite answers DISTINCT by scanning a whole instance index (seconds at 21.9 M rows).
   */
  async changedSince(ids: LedgerIds): Promise<Set<number>> {
    const a = await this.db.selectFrom('instance_size_stats').select('instance_id').where('id', '>', ids.instance_stats_id).orderBy('id').execute();
    const b = await this.db.selectFrom('database_size_stats').select('instance_id').where('id', '>', ids.database_stats_id).orderBy('id').execute();
    return new Set([...a, ...b].map((r) => r.instance_id));
  }

  async fitRun(scope: string): Promise<FitRun | undefined> {
    return this.db
      .selectFrom('runway_fit_runs')
      .select(['day', 'instance_stats_id', 'database_stats_id', 'computed_at'])
      .where('scope', '=', scope)
      .executeTakeFirst();
  }

  /** Every kept fit of a scope, by instance. */
  async storedFits(scope: string): Promise<StoredFit[]> {
    return this.db
      .selectFrom('runway_fits')
      .select(['instance_id', 'database_name', 'fit', 'max_bytes'])
      .where('scope', '=', scope)
      .orderBy('instance_id')
      .orderBy('database_name')
      .execute();
  }

  /** The instances with kept fits in a scope and the last_sync_at each was fitted at. */
  async storedStamps(scope: string): Promise<Map<number, string>> {
    const rows = await this.db.selectFrom('runway_fit_instances').select(['instance_id', 'stamp']).where('scope', '=', scope).execute();
    return new Map(rows.map((r) => [r.instance_id, r.stamp]));
  }

  /**
   * Replace the kept fits of these instances (each with the last_sync_at it was fitted at) by `rows`: all
   * their series (a database gone since has no row; an instance without series keeps its stamp only).
   */
  async saveFits(scope: string, stamps: ReadonlyMap<number, string>, rows: readonly StoredFit[]): Promise<void> {
    const instanceIds = [...stamps.keys()];
    if (!instanceIds.length) return;
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('runway_fits').where('scope', '=', scope).where('instance_id', 'in', instanceIds).execute();
      await tx.deleteFrom('runway_fit_instances').where('scope', '=', scope).where('instance_id', 'in', instanceIds).execute();
      await tx
        .insertInto('runway_fit_instances')
        .values(instanceIds.map((id) => ({ scope, instance_id: id, stamp: stamps.get(id)! })))
        .onConflict((oc) => oc.columns(['scope', 'instance_id']).doUpdateSet((eb) => ({ stamp: eb.ref('excluded.stamp') })))
        .execute();
      for (let i = 0; i < rows.length; i += 500) {
        await tx
          .insertInto('runway_fits')
          .values(rows.slice(i, i + 500).map((r) => ({ scope, ...r })))
          // Two processes fitting the same instance at once: the later one's row stands.
          .onConflict((oc) =>
            oc
              .columns(['scope', 'instance_id', 'database_name'])
              .doUpdateSet((eb) => ({ fit: eb.ref('excluded.fit'), max_bytes: eb.ref('excluded.max_bytes') })),
          )
          .execute();
      }
    });
  }

  /** Record the day and the ledger ids the kept fits of a scope stand for. */
  async saveFitRun(scope: string, run: FitRun): Promise<void> {
    await this.db
      .insertInto('runway_fit_runs')
      .values({ scope, ...run })
      .onConflict((oc) => oc.column('scope').doUpdateSet(run))
      .execute();
  }

  /** Forget every kept fit (the next request fits the estate again). */
  async clearFits(): Promise<void> {
    await this.db.deleteFrom('runway_fit_runs').execute();
    await this.db.deleteFrom('runway_fit_instances').execute();
    await this.db.deleteFrom('runway_fits').execute();
  }

  /**
   * Changes whenever history is added or a sync finishes: the highest ledger
   * row id (an index seek) and the latest sync time of any instance.
   */
  async version(): Promise<string> {
    const ids = await this.ledgerIds();
    const c = await this.db
      .selectFrom('instances')
      .select((eb) => [eb.fn.max('last_sync_at').as('m'), eb.fn.countAll().as('n')])
      .executeTakeFirst();
    return `${ids.instance_stats_id}:${ids.database_stats_id}:${c?.m ?? ''}:${c?.n ?? 0}`;
  }
}
