/**
 * SQL Server table sizes: one query inside each database (USE [db]) over
 * sys.dm_db_partition_stats — reserved / used / in-row / LOB / row-overflow
 * pages per partition, summed per table (all partitions and indexes) as
 * BIGINT and multiplied by 8192 in BigInt, as the database collector does.
 * The split follows sp_spaceused: data = in-row pages of the heap or
 * clustered index, LOB = LOB + row-overflow pages of the heap or clustered
 * index, index = used − data − LOB (nonclustered indexes and the B-tree's
 * upper levels), free = reserved − used; data + index + LOB + free = reserved
 * = total. Rows = row_count of the heap or clustered index. Needs VIEW
 * DATABASE STATE in each database (or VIEW SERVER STATE).
 */
import type { CollectedTable } from '../engine.js';
import { bytes } from '../common.js';
import { exactCount as pages, PAGE_BYTES, quoteName } from './sqlserver.common.js';

export const TABLES_METHOD = 'dm_db_partition_stats';

/** Online user databases (and every one when asked by name). */
export const DATABASES_QUERY = `SELECT name, state_desc, database_id FROM sys.databases ORDER BY name`;

export const tablesQuery = (database: string): string => `USE ${quoteName(database)};
  SELECT s.name AS schema_name, o.name AS table_name, o.type AS object_type,
         SUM(ps.reserved_page_count) AS reserved_pages,
         SUM(ps.used_page_count) AS used_pages,
         SUM(CASE WHEN ps.index_id < 2 THEN ps.in_row_data_page_count ELSE 0 END) AS data_pages,
         SUM(CASE WHEN ps.index_id < 2 THEN ps.lob_used_page_count + ps.row_overflow_used_page_count ELSE 0 END) AS lob_pages,
         SUM(CASE WHEN ps.index_id < 2 THEN ps.row_count ELSE 0 END) AS row_count
  FROM sys.dm_db_partition_stats ps
  JOIN sys.objects o ON o.object_id = ps.object_id
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
}


export function toTable(r: PartitionRow): CollectedTable {
  const what = `${r.schema_name}.${r.table_name}`;
  const reserved = pages(r.reserved_pages, `${what} reserved pages`);
  const used = pages(r.used_pages, `${what} used pages`);
  const data = pages(r.data_pages, `${what} in-row pages`);
  const lob = pages(r.lob_pages, `${what} LOB pages`);
  const b = (p: bigint, w: string) => bytes(p * PAGE_BYTES, `${what} ${w}`);
  // A table being written between partition rows' reads can show used < data + lob by a page: unknown, not negative.
  const index = used >= data + lob ? b(used - data - lob, 'index') : null;
  return {
    schema_name: r.schema_name,
    table_name: r.table_name,
    kind: r.object_type.trim() === 'V' ? 'matview' : 'table',
    parent: null,
    total_bytes: b(reserved, 'reserved'),
    data_bytes: b(data, 'data'),
    index_bytes: index,
    lob_bytes: b(lob, 'lob'),
    free_bytes: reserved >= used ? b(reserved - used, 'unused') : null,
    row_estimate: bytes(pages(r.row_count, `${what} rows`), `${what} rows`),
  };
}
