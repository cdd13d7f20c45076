/**
 * SQL Server table sizes: one query inside each database (USE [db]) over
 * sys.dm_db_partition_stats — reserved / used / in-row / LOB / row-overflow
 * pages per partition, summed per table (all partitions and indexes) as
 * BIGINT and multiplied by 8192 in BigInt, as the database collector does.
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

/** `memoryOptimized`: the server has sys.dm_db_xtp_table_memory_stats (2014 = 12.x and later). */
export const tablesQuery = (database: string, opts: { memoryOptimized: boolean }): string => `USE ${quoteName(database)};
  SELECT s.name AS schema_name, o.name AS table_name, o.type AS object_type,
         SUM(p.reserved_pages) AS reserved_pages, SUM(p.used_pages) AS used_pages,
         SUM(p.data_pages) AS data_pages, SUM(p.lob_pages) AS lob_pages, SUM(p.row_count) AS row_count,
         SUM(p.xtp_allocated_kb) AS xtp_allocated_kb, SUM(p.xtp_table_kb) AS xtp_table_kb, SUM(p.xtp_index_kb) AS xtp_index_kb
  FROM (
    SELECT COALESCE(it.parent_id, ps.object_id) AS object_id,
           ps.reserved_page_count AS reserved_pages, ps.used_page_count AS used_pages,
           CASE WHEN it.object_id IS NULL AND ps.index_id < 2 THEN ps.in_row_data_page_count ELSE 0 END AS data_pages,
           CASE WHEN it.object_id IS NULL AND ps.index_id < 2 THEN ps.lob_used_page_count + ps.row_overflow_used_page_count ELSE 0 END AS lob_pages,
           CASE WHEN it.object_id IS NULL AND ps.index_id < 2 THEN ps.row_count ELSE 0 END AS row_count,
           CAST(0 AS bigint) AS xtp_allocated_kb, CAST(0 AS bigint) AS xtp_table_kb, CAST(0 AS bigint) AS xtp_index_kb
    FROM sys.dm_db_partition_stats ps
    LEFT JOIN sys.internal_tables it ON it.object_id = ps.object_id AND it.internal_type IN (${INTERNAL_TYPES})${
      opts.memoryOptimized
        ? `
    UNION ALL
    SELECT x.object_id, 0, 0, 0, 0, 0,
           x.memory_allocated_for_table_kb + x.memory_allocated_for_indexes_kb, x.memory_used_by_table_kb, x.memory_used_by_indexes_kb
    FROM sys.dm_db_xtp_table_memory_stats x
    WHERE x.object_id > 0`
        : ''
    }
  ) p
  JOIN sys.objects o ON o.object_id = p.object_id
  JOIN sys.schemas s ON s.schema_id = o.schema_id
  WHERE o.type IN ('U', 'V') AND o.is_ms_shipped = 0
  GROUP BY s.name, o.name, o.type`;

export interface PartitionRow {
  schema_name: string;
  table_name: string;
  object_type: string;
  reserved_pages: unknown;
  used_pages: unknown;
  data_pages: unknown;
  lob_pages: unknown;
  row_count: unknown;
  xtp_allocated_kb: unknown;
  xtp_table_kb: unknown;
  xtp_index_kb: unknown;
}

export function toTable(r: PartitionRow): CollectedTable {
  const what = `${r.schema_name}.${r.table_name}`;
  const reserved = pages(r.reserved_pages, `${what} reserved pages`) * PAGE_BYTES;
  const used = pages(r.used_pages, `${what} used pages`) * PAGE_BYTES;
  const data = pages(r.data_pages, `${what} in-row pages`) * PAGE_BYTES;
  const lob = pages(r.lob_pages, `${what} LOB pages`) * PAGE_BYTES;
  const memAllocated = pages(r.xtp_allocated_kb, `${what} memory allocated KB`) * 1024n;
  const memTable = pages(r.xtp_table_kb, `${what} memory used by table KB`) * 1024n;
  const memIndex = pages(r.xtp_index_kb, `${what} memory used by indexes KB`) * 1024n;
  const b = (n: bigint, w: string) => bytes(n, `${what} ${w}`);
  // A table being written between partition rows' reads can show used < data + lob by a page: unknown, not negative.
  const index = used >= data + lob ? b(used - data - lob + memIndex, 'index') : null;
  const memFree = memAllocated - memTable - memIndex;
  return {
    schema_name: r.schema_name,
    table_name: r.table_name,
    kind: r.object_type.trim() === 'V' ? 'matview' : 'table',
    parent: null,
    total_bytes: b(reserved + memAllocated, 'reserved'),
    data_bytes: b(data + memTable, 'data'),
    index_bytes: index,
    lob_bytes: b(lob, 'lob'),
    free_bytes: reserved >= used && memFree >= 0n ? b(reserved - used + memFree, 'unused') : null,
    row_estimate: bytes(pages(r.row_count, `${what} rows`), `${what} rows`),
  };
}
