/**
 * SQL Server table sizes: one query inside each database (USE [db]) over
 * sys.dm_db_partition_stats — reserved / used / in-row / LOB / row-overflow
 * pages per partition, summed per table part (heap or clustered index,
 * nonclustered indexes, internal tables, memory) as BIGINT; the split below
 * is toTables() (unit-tested in test/unit/sqlserver-tables.test.ts), pages
 * multiplied by 8192 in BigInt, as the database collector does.
 * The split follows sp_spaceused: data = in-row pages of the heap or
 * clustered index, LOB = LOB + row-overflow pages of the heap or clustered
 * index, index = used − data − LOB (nonclustered indexes and the B-tree's
 * upper levels), free = reserved − used; data + index + LOB + free = reserved
 * = total. Rows = row_count of the heap or clustered index.
 *
 * Like sp_spaceused, the internal tables of XML, spatial and full-text
 * indexes (sys.internal_tables.parent_id, the types sp_spaceused adds) count in their parent table,
 * as index pages. Memory-optimized tables (SQL Server 2014+) have no pages:
 * their bytes come from sys.dm_db_xtp_table_memory_stats (allocated = total,
 * used by the table = data, used by its indexes = index, the rest free).
 * Needs VIEW DATABASE STATE in each database (or VIEW SERVER STATE) and
 * VIEW DEFINITION on the tables (without it sys.objects hides them).
 */
import type { CollectedTable } from '../../domain/tables.js';
import { bytes } from '../common.js';
import { exactCount as pages, PAGE_BYTES, quoteName } from './sqlserver.common.js';

export const TABLES_METHOD = 'dm_db_partition_stats';

/** Every database, with what tells a system database (see isSystemDatabase). */
export const DATABASES_QUERY = `SELECT name, state_desc, database_id, is_distributor FROM sys.databases ORDER BY name`;

/** sp_spaceused's list of internal table types counted in their parent (XML index nodes, full-text, spatial, …). */
const INTERNAL_TYPES = '202, 204, 207, 211, 212, 213, 214, 215, 216, 221, 222, 236';

/**
 * Which part of its table a row of the query is (decided in the query, kept
 * apart so the split below is ours): `base` = the heap or clustered index
 * (index_id 0/1), `index` = a nonclustered index, `internal` = an internal
 * table counted in its parent, `memory` = a memory-optimized table's memory.
 */
export type TablePart = 'base' | 'index' | 'internal' | 'memory';

/**
 * One row per (table, part): the raw page and KB counts summed over the
 * part's partitions, nothing else computed on the server; toTables() does the
 * sp_spaceused split. `memoryOptimized`: the server has
 * sys.dm_db_xtp_table_memory_stats (2014 = 12.x and later).
 */
export const tablesQuery = (database: string, opts: { memoryOptimized: boolean }): string => `USE ${quoteName(database)};
  SELECT s.name AS schema_name, o.name AS table_name, o.type AS object_type, p.part,
         SUM(p.reserved_pages) AS reserved_pages, SUM(p.used_pages) AS used_pages, SUM(p.in_row_pages) AS in_row_pages,
         SUM(p.lob_pages) AS lob_pages, SUM(p.overflow_pages) AS overflow_pages, SUM(p.row_count) AS row_count,
         SUM(p.xtp_table_allocated_kb) AS xtp_table_allocated_kb, SUM(p.xtp_index_allocated_kb) AS xtp_index_allocated_kb,
         SUM(p.xtp_table_used_kb) AS xtp_table_used_kb, SUM(p.xtp_index_used_kb) AS xtp_index_used_kb
  FROM (
    SELECT COALESCE(it.parent_id, ps.object_id) AS object_id,
           CASE WHEN it.object_id IS NOT NULL THEN 'internal' WHEN ps.index_id < 2 THEN 'base' ELSE 'index' END AS part,
           ps.reserved_page_count AS reserved_pages, ps.used_page_count AS used_pages, ps.in_row_data_page_count AS in_row_pages,
           ps.lob_used_page_count AS lob_pages, ps.row_overflow_used_page_count AS overflow_pages, ps.row_count,
           CAST(0 AS bigint) AS xtp_table_allocated_kb, CAST(0 AS bigint) AS xtp_index_allocated_kb,
           CAST(0 AS bigint) AS xtp_table_used_kb, CAST(0 AS bigint) AS xtp_index_used_kb
    FROM sys.dm_db_partition_stats ps
    LEFT JOIN sys.internal_tables it ON it.object_id = ps.object_id AND it.internal_type IN (${INTERNAL_TYPES})${
      opts.memoryOptimized
        ? `
    UNION ALL
    SELECT x.object_id, 'memory', 0, 0, 0, 0, 0, 0,
           x.memory_allocated_for_table_kb, x.memory_allocated_for_indexes_kb, x.memory_used_by_table_kb, x.memory_used_by_indexes_kb
    FROM sys.dm_db_xtp_table_memory_stats x
    WHERE x.object_id > 0`
        : ''
    }
  ) p
  JOIN sys.objects o ON o.object_id = p.object_id
  JOIN sys.schemas s ON s.schema_id = o.schema_id
  WHERE o.type IN ('U', 'V') AND o.is_ms_shipped = 0
  GROUP BY s.name, o.name, o.type, p.part`;

/** One row of tablesQuery as mssql delivers it (BIGINT sums as decimal strings). */
export interface PartRow {
  schema_name: string;
  table_name: string;
  object_type: string;
  part: string;
  reserved_pages: unknown;
  used_pages: unknown;
  in_row_pages: unknown;
  lob_pages: unknown;
  overflow_pages: unknown;
  row_count: unknown;
  xtp_table_allocated_kb: unknown;
  xtp_index_allocated_kb: unknown;
  xtp_table_used_kb: unknown;
  xtp_index_used_kb: unknown;
}

interface Sums {
  schema_name: string;
  table_name: string;
  object_type: string;
  reserved: bigint;
  used: bigint;
  /** In-row pages of the heap or clustered index. */
  data: bigint;
  /** LOB + row-overflow pages of the heap or clustered index. */
  lob: bigint;
  rows: bigint;
  memAllocated: bigint;
  memTable: bigint;
  memIndex: bigint;
}

/**
 * Part rows → one row per table, the sp_spaceused way: reserved and used are
 * every part's pages (internal tables and nonclustered indexes included);
 * data, LOB and rows come from the heap or clustered index only, so an
 * internal table's or a nonclustered index's pages land in index = used −
 * data − LOB. A memory-optimized table adds its memory: allocated to the
 * total, used by the table to data, used by its indexes to index, the rest
 * to free. Pages × 8192 and KB × 1024 in BigInt.
 */
export function toTables(rows: readonly PartRow[]): CollectedTable[] {
  const tables = new Map<string, Sums>();
  for (const r of rows) {
    const what = `${r.schema_name}.${r.table_name}`;
    const key = `${r.schema_name}\u0000${r.table_name}`;
    let t = tables.get(key);
    if (!t) {
      t = {
        schema_name: r.schema_name,
        table_name: r.table_name,
        object_type: r.object_type,
        reserved: 0n,
        used: 0n,
        data: 0n,
        lob: 0n,
        rows: 0n,
        memAllocated: 0n,
        memTable: 0n,
        memIndex: 0n,
      };
      tables.set(key, t);
    }
    t.reserved += pages(r.reserved_pages, `${what} reserved pages`);
    t.used += pages(r.used_pages, `${what} used pages`);
    const part = r.part.trim() as TablePart;
    if (part === 'base') {
      t.data += pages(r.in_row_pages, `${what} in-row pages`);
      t.lob += pages(r.lob_pages, `${what} LOB pages`) + pages(r.overflow_pages, `${what} row-overflow pages`);
      t.rows += pages(r.row_count, `${what} rows`);
    } else if (part === 'memory') {
      t.memAllocated +=
        (pages(r.xtp_table_allocated_kb, `${what} memory allocated for table KB`) +
          pages(r.xtp_index_allocated_kb, `${what} memory allocated for indexes KB`)) *
        1024n;
      t.memTable += pages(r.xtp_table_used_kb, `${what} memory used by table KB`) * 1024n;
      t.memIndex += pages(r.xtp_index_used_kb, `${what} memory used by indexes KB`) * 1024n;
    }
  }
  return [...tables.values()].map(toTable);
}

function toTable(t: Sums): CollectedTable {
  const what = `${t.schema_name}.${t.table_name}`;
  const reserved = t.reserved * PAGE_BYTES;
  const used = t.used * PAGE_BYTES;
  const data = t.data * PAGE_BYTES;
  const lob = t.lob * PAGE_BYTES;
  const b = (n: bigint, w: string) => bytes(n, `${what} ${w}`);
  // A table being written between partition rows' reads can show used < data + lob by a page: unknown, not negative.
  const index = used >= data + lob ? b(used - data - lob + t.memIndex, 'index') : null;
  const memFree = t.memAllocated - t.memTable - t.memIndex;
  return {
    schema_name: t.schema_name,
    table_name: t.table_name,
    kind: t.object_type.trim() === 'V' ? 'matview' : 'table',
    parent: null,
    total_bytes: b(reserved + t.memAllocated, 'reserved'),
    data_bytes: b(data + t.memTable, 'data'),
    index_bytes: index,
    lob_bytes: b(lob, 'lob'),
    free_bytes: reserved >= used && memFree >= 0n ? b(reserved - used + memFree, 'unused') : null,
    row_estimate: bytes(t.rows, `${what} rows`),
  };
}
