/**
 * The table ledger (issue #9): `table_names` (the name dimension and
 * lifecycle of every table seen) and `table_size_stats` (one narrow row per
 * table and day). `saveTables` follows the database ledger's rules in one
 * transaction with a bounded number of statements per 1,000 tables: batched
 * multi-row upserts, soft delete of tables gone from a database measured in
 * full, restore of tables seen again. A database cut by the budget or not
 * measured marks nothing deleted: "not collected" is not "gone".
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CollectedTable, CollectedTableDatabase, TableKind } from '../domain/tables.js';
import type { Database } from './schema.js';

/** 11 parameters a row: 1,000 rows stay under SQLite's and PostgreSQL's limits. */
const CHUNK = 1000;

/** Methods as small integers in the ledger; names in the API. Append only. */
export const TABLE_METHODS = ['', 'pg_class', 'information_schema', 'dm_db_partition_stats', 'dba_segments'] as const;

export function methodCode(name: string): number {
  const i = (TABLE_METHODS as readonly string[]).indexOf(name);
  if (i <= 0) throw new Error(`unknown table collection method: ${name}`);
  return i;
}

export const methodName = (code: number): string => TABLE_METHODS[code] ?? 'unknown';

export interface SaveTablesInput {
  instanceId: number;
  collectedDate: string;
  collectedAt: string;
  method: string;
  /** Databases measured (possibly cut by the budget); those with an error are left out by the caller. */
  databases: CollectedTableDatabase[];
  /** Every database on the server (instance-wide runs): tables of any other database are marked deleted. */
  presentDatabases: string[] | null;
}

export interface TableSaveCounts {
  saved: number;
  created: number;
  deleted: number;
  restored: number;
  total_bytes: number;
}

interface NameKey {
  database_name: string;
  schema_name: string;
  table_name: string;
}

const keyOf = (k: NameKey) => `${k.database_name}\u0000${k.schema_name}\u0000${k.table_name}`;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One row to write: a table, or the "other" row of a cut database. */
interface Entry extends NameKey {
  kind: TableKind;
  parent: NameKey | null;
  t: Omit<CollectedTable, 'schema_name' | 'table_name' | 'kind' | 'parent'> & { table_count: number | null };
}

function entries(databases: CollectedTableDatabase[]): Entry[] {
  const out: Entry[] = [];
  for (const db of databases) {
    for (const t of db.tables) {
      out.push({
        database_name: db.database_name,
        schema_name: t.schema_name,
        table_name: t.table_name,
        kind: t.kind,
        parent: t.parent ? { database_name: db.database_name, ...t.parent } : null,
        t: { ...t, table_count: null },
      });
    }
    if (db.other) {
      const o = db.other;
      out.push({
        database_name: db.database_name,
        schema_name: '',
        table_name: '',
        kind: 'other',
        parent: null,
        t: {
          total_bytes: o.total_bytes,
          data_bytes: o.data_bytes,
          index_bytes: o.index_bytes,
          lob_bytes: o.lob_bytes,
          free_bytes: o.free_bytes,
          row_estimate: null,
          table_count: o.tables,
        },
      });
    }
  }
  return out;
}

export type TableSort = 'total' | 'data' | 'index' | 'lob' | 'free' | 'rows' | 'name';
const SORT_COLUMN: Record<TableSort, string> = {
  total: 's.total_bytes',
  data: 's.data_bytes',
  index: 's.index_bytes',
  lob: 's.lob_bytes',
  free: 's.free_bytes',
  rows: 's.row_estimate',
  name: 'n.table_name',
};

/** `%` and `_` typed by a person are literal. */
const likePattern = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class TablesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async saveTables(input: SaveTablesInput): Promise<TableSaveCounts> {
    const { instanceId, collectedDate: day, collectedAt: now } = input;
    const method = methodCode(input.method);
    const rows = entries(input.databases);
    const seen = new Set<string>();
    for (const r of rows) {
      const k = keyOf(r);
      if (seen.has(k)) throw new Error(`duplicate table in collection: ${r.database_name}.${r.schema_name}.${r.table_name}`);
      seen.add(k);
    }
    const measured = input.databases.map((d) => d.database_name);

    return this.db.transaction().execute(async (trx) => {
      // Known names of the databases concerned (all of the instance's when the run was instance-wide).
      const known = new Map<string, { id: number; is_deleted: number; database_name: string; kind: string }>();
      const load = async (names: string[] | null) => {
        const q = trx
          .selectFrom('table_names')
          .select(['id', 'database_name', 'schema_name', 'table_name', 'is_deleted', 'kind'])
          .where('instance_id', '=', instanceId);
        const parts = names === null ? [null] : chunks(names);
        for (const part of parts) {
          for (const r of await (part === null ? q : q.where('database_name', 'in', part)).execute()) known.set(keyOf(r), r);
        }
      };
      await load(input.presentDatabases === null ? measured : null);
      if (measured.length === 0 && input.presentDatabases === null) return { saved: 0, created: 0, deleted: 0, restored: 0, total_bytes: 0 };

      // 1. New names, batched; their ids come back.
      const fresh = rows.filter((r) => !known.has(keyOf(r)));
      for (const part of chunks(fresh)) {
        const ids = await trx
          .insertInto('table_names')
          .values(
            part.map((r) => ({
              instance_id: instanceId,
              database_name: r.database_name,
              schema_name: r.schema_name,
              table_name: r.table_name,
              kind: r.kind,
              parent_id: null,
              first_seen_date: day,
              last_seen_date: day,
              is_deleted: 0,
              deleted_at: null,
            })),
          )
          .returning(['id', 'database_name', 'schema_name', 'table_name', 'is_deleted', 'kind'])
          .execute();
        for (const r of ids) known.set(keyOf(r), r);
      }

      // 2. Partitions point at their parent; set on first sight (and if a partition was re-attached elsewhere).
      const byParent = new Map<number, number[]>();
      for (const r of fresh.filter((x) => x.parent)) {
        const parent = known.get(keyOf(r.parent!));
        if (!parent) continue; // parent outside the kept rows (cut by the budget)
        byParent.set(parent.id, [...(byParent.get(parent.id) ?? []), known.get(keyOf(r))!.id]);
      }
      for (const [parentId, ids] of byParent) {
        for (const part of chunks(ids)) await trx.updateTable('table_names').set({ parent_id: parentId }).where('id', 'in', part).execute();
      }

      // 3. Seen now: last seen today, restored if it was deleted.
      const ids = rows.map((r) => known.get(keyOf(r))!.id);
      const restored = rows.filter((r) => known.get(keyOf(r))!.is_deleted === 1).length;
      for (const part of chunks(ids)) {
        await trx.updateTable('table_names').set({ last_seen_date: day, is_deleted: 0, deleted_at: null }).where('id', 'in', part).execute();
      }

      // 4. Today's rows: batched upsert on the (table, day) key.
      for (const part of chunks(rows.map((r, i) => [r, ids[i]!] as const))) {
        await trx
          .insertInto('table_size_stats')
          .values(
            part.map(([r, id]) => ({
              table_id: id,
              collected_date: day,
              total_bytes: r.t.total_bytes,
              data_bytes: r.t.data_bytes,
              index_bytes: r.t.index_bytes,
              lob_bytes: r.t.lob_bytes,
              free_bytes: r.t.free_bytes,
              row_estimate: r.t.row_estimate,
              table_count: r.t.table_count,
              method,
              is_deleted: 0,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['table_id', 'collected_date']).doUpdateSet((eb) => ({
              total_bytes: eb.ref('excluded.total_bytes'),
              data_bytes: eb.ref('excluded.data_bytes'),
              index_bytes: eb.ref('excluded.index_bytes'),
              lob_bytes: eb.ref('excluded.lob_bytes'),
              free_bytes: eb.ref('excluded.free_bytes'),
              row_estimate: eb.ref('excluded.row_estimate'),
              table_count: eb.ref('excluded.table_count'),
              method: eb.ref('excluded.method'),
              is_deleted: 0,
            })),
          )
          .execute();
      }

      // 5. Gone: names of a database measured in full (no "other" row) that were not seen, and
      //    every name of a database no longer on the server (instance-wide runs only).
      const full = new Set(input.databases.filter((d) => !d.other).map((d) => d.database_name));
      const present = input.presentDatabases ? new Set(input.presentDatabases) : null;
      const goneIds: number[] = [];
      for (const [k, r] of known) {
        if (r.is_deleted === 1 || seen.has(k)) continue;
        if (full.has(r.database_name) || (present && !present.has(r.database_name))) goneIds.push(r.id);
      }
      for (const part of chunks(goneIds)) {
        await trx.updateTable('table_names').set({ is_deleted: 1, deleted_at: now }).where('id', 'in', part).execute();
        await trx.updateTable('table_size_stats').set({ is_deleted: 1 }).where('table_id', 'in', part).where('collected_date', '=', day).execute();
      }

      let total = 0;
      for (const r of rows) if (!r.parent) total += r.t.total_bytes ?? 0;
      return { saved: rows.length, created: fresh.length, deleted: goneIds.length, restored, total_bytes: total };
    });
  }

  /** The latest day a database's tables were collected (on or before `to`). */
  async latestDay(instanceId: number, database: string, to?: string): Promise<string | null> {
    const r = await this.db
      .selectFrom('table_size_stats as s')
      .innerJoin('table_names as n', 'n.id', 's.table_id')
      .select((eb) => eb.fn.max('s.collected_date').as('d'))
      .where('n.instance_id', '=', instanceId)
      .where('n.database_name', '=', database)
      .$if(to !== undefined, (q) => q.where('s.collected_date', '<=', to!))
      .executeTakeFirst();
    return (r?.d as string | null | undefined) ?? null;
  }

  /** Tables of one database on one day: searchable, sortable, paged; the total count for the pager. */
  async listTables(
    instanceId: number,
    database: string,
    day: string,
    q: { search?: string; sort: TableSort; order: 'asc' | 'desc'; limit: number; offset: number; includeDeleted: boolean },
  ) {
    const base = this.db
      .selectFrom('table_size_stats as s')
      .innerJoin('table_names as n', 'n.id', 's.table_id')
      .where('n.instance_id', '=', instanceId)
      .where('n.database_name', '=', database)
      .where('s.collected_date', '=', day)
      .$if(!q.includeDeleted, (b) => b.where('s.is_deleted', '=', 0))
      .$if(Boolean(q.search), (b) =>
        b.where((eb) =>
          eb.or([
            eb(sql`lower(n.table_name)`, 'like', sql`${likePattern(q.search!)} escape '\\'`),
            eb(sql`lower(n.schema_name)`, 'like', sql`${likePattern(q.search!)} escape '\\'`),
          ]),
        ),
      );
    const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const col = sql.ref(SORT_COLUMN[q.sort]);
    const items = await base
      .leftJoin('table_names as p', 'p.id', 'n.parent_id')
      .select([
        'n.id as table_id',
        'n.schema_name',
        'n.table_name',
        'n.kind',
        'p.schema_name as parent_schema',
        'p.table_name as parent_table',
        'n.first_seen_date',
        'n.last_seen_date',
        's.total_bytes',
        's.data_bytes',
        's.index_bytes',
        's.lob_bytes',
        's.free_bytes',
        's.row_estimate',
        's.table_count',
        's.method',
        's.is_deleted',
      ])
      // The "other" row always last; unknown sizes after known ones on both dialects.
      .orderBy(sql`CASE WHEN n.kind = 'other' THEN 1 ELSE 0 END`)
      .orderBy(sql`CASE WHEN ${col} IS NULL THEN 1 ELSE 0 END`)
      .orderBy(col, q.order)
      .orderBy('n.schema_name')
      .orderBy('n.table_name')
      .limit(q.limit)
      .offset(q.offset)
      .execute();
    return { total: Number(count.n), items };
  }

  /** Sums of one database's stored rows for a day (top-level rows only: partitions are inside their parents). */
  async databaseTotals(instanceId: number, database: string, day: string) {
    return this.db
      .selectFrom('table_size_stats as s')
      .innerJoin('table_names as n', 'n.id', 's.table_id')
      .select((eb) => [
        eb.fn.sum<number | null>('s.total_bytes').as('total_bytes'),
        eb.fn.sum<number | null>('s.data_bytes').as('data_bytes'),
        eb.fn.sum<number | null>('s.index_bytes').as('index_bytes'),
        eb.fn.sum<number | null>('s.lob_bytes').as('lob_bytes'),
        eb.fn.sum<number | null>('s.free_bytes').as('free_bytes'),
        eb.fn.countAll<number>().as('rows'),
      ])
      .where('n.instance_id', '=', instanceId)
      .where('n.database_name', '=', database)
      .where('s.collected_date', '=', day)
      .where('s.is_deleted', '=', 0)
      .where('n.parent_id', 'is', null)
      .executeTakeFirstOrThrow();
  }

  async tableName(tableId: number) {
    return this.db.selectFrom('table_names').selectAll().where('id', '=', tableId).executeTakeFirst();
  }

  /** One table's daily rows in [from, to] (the trend chart). */
  async series(tableId: number, from: string, to: string) {
    return this.db
      .selectFrom('table_size_stats')
      .select(['collected_date', 'total_bytes', 'data_bytes', 'index_bytes', 'lob_bytes', 'free_bytes', 'row_estimate', 'is_deleted'])
      .where('table_id', '=', tableId)
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .orderBy('collected_date')
      .execute();
  }

  /** The latest day with any table row on or before `to`, and the earliest on or after `from`. */
  async dayBounds(from: string, to: string): Promise<{ first: string | null; last: string | null }> {
    const last = await this.db
      .selectFrom('table_size_stats')
      .select((eb) => eb.fn.max('collected_date').as('d'))
      .where('collected_date', '<=', to)
      .where('collected_date', '>=', from)
      .executeTakeFirst();
    const first = await this.db
      .selectFrom('table_size_stats')
      .select((eb) => eb.fn.min('collected_date').as('d'))
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .executeTakeFirst();
    return { first: (first?.d as string | null) ?? null, last: (last?.d as string | null) ?? null };
  }

  /**
   * Tables that grew most between two days, estate-wide: one join of the two
   * days' rows on the (table, day) key; "other" rows are not tables.
   */
  async topGrowing(first: string, last: string, limit: number, instanceId?: number) {
    const change = sql<number>`b.total_bytes - a.total_bytes`;
    return this.db
      .selectFrom('table_size_stats as b')
      .innerJoin('table_size_stats as a', (j) => j.onRef('a.table_id', '=', 'b.table_id').on('a.collected_date', '=', first))
      .innerJoin('table_names as n', 'n.id', 'b.table_id')
      .innerJoin('instances as i', 'i.id', 'n.instance_id')
      .select([
        'n.id as table_id',
        'n.instance_id',
        'i.name as instance_name',
        'n.database_name',
        'n.schema_name',
        'n.table_name',
        'n.kind',
        'a.total_bytes as first_bytes',
        'b.total_bytes as last_bytes',
        change.as('change_bytes'),
      ])
      .where('b.collected_date', '=', last)
      .where('b.is_deleted', '=', 0)
      .where('n.kind', '<>', 'other')
      .where('b.total_bytes', 'is not', null)
      .where('a.total_bytes', 'is not', null)
      .$if(instanceId !== undefined, (q) => q.where('n.instance_id', '=', instanceId!))
      .orderBy(change, 'desc')
      .orderBy('n.id')
      .limit(limit)
      .execute();
  }

  /** Databases with table rows on an instance, with their latest day (the "tagged / chosen" view and the UI). */
  async databasesWithTables(instanceId: number) {
    return this.db
      .selectFrom('table_names as n')
      .innerJoin('table_size_stats as s', 's.table_id', 'n.id')
      .select(['n.database_name', (eb) => eb.fn.max('s.collected_date').as('last_collected_date'), (eb) => eb.fn.count<number>('n.id').distinct().as('tables')])
      .where('n.instance_id', '=', instanceId)
      .groupBy('n.database_name')
      .orderBy('n.database_name')
      .execute();
  }

  /**
   * Retention: within [from, to] keep only each table's first row (one
   * statement; the correlated minimum is a primary-key range read).
   */
  async keepFirstPerTable(from: string, to: string): Promise<number> {
    const r = await this.db
      .deleteFrom('table_size_stats as s')
      .where('s.collected_date', '>=', from)
      .where('s.collected_date', '<=', to)
      .where('s.collected_date', '>', (eb) =>
        eb
          .selectFrom('table_size_stats as f')
          .select((f) => f.fn.min('f.collected_date').as('d'))
          .whereRef('f.table_id', '=', 's.table_id')
          .where('f.collected_date', '>=', from)
          .where('f.collected_date', '<=', to),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Distinct collected dates before `before` (small: one per day). */
  async datesBefore(before: string): Promise<string[]> {
    const r = await this.db
      .selectFrom('table_size_stats')
      .select('collected_date')
      .distinct()
      .where('collected_date', '<', before)
      .orderBy('collected_date')
      .execute();
    return r.map((x) => x.collected_date);
  }
}

/** The daily selection reads the database ledger (largest / fastest growing databases of an instance). */
export class TableSelectionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Present databases of an instance with their size on `day` and on `since` (null when not measured then). */
  async databaseSizes(instanceId: number, since: string, day: string) {
    const rows = await this.db
      .selectFrom('instance_databases as d')
      .leftJoin('database_size_stats as now', (j) =>
        j
          .onRef('now.instance_id', '=', 'd.instance_id')
          .onRef('now.database_name', '=', 'd.database_name')
          .onRef('now.collected_date', '=', 'd.last_seen_date'),
      )
      .leftJoin('database_size_stats as then', (j) =>
        j.onRef('then.instance_id', '=', 'd.instance_id').onRef('then.database_name', '=', 'd.database_name').on('then.collected_date', '=', since),
      )
      .select(['d.database_name', 'd.is_system', 'now.size_bytes as size_bytes', 'then.size_bytes as then_bytes'])
      .where('d.instance_id', '=', instanceId)
      .where('d.is_deleted', '=', 0)
      .where('d.last_seen_date', '<=', day)
      .execute();
    return rows;
  }
}

export type { Transaction };
