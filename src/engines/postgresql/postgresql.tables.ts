/**
 * PostgreSQL table sizes: one connection per database (pg_class is per
 * database), one query each. For every table, materialized view and
 * partitioned table outside the system schemas:
 * - total = pg_total_relation_size(oid), index = pg_indexes_size(oid),
 *   TOAST (lob) = pg_total_relation_size(reltoastrelid) (TOAST heap + its index),
 *   data = pg_table_size(oid) − TOAST (main, FSM and VM forks), so
 *   data + index + lob = total exactly;
 * - a partitioned table has no storage of its own: its sizes are the sums
 *   over its leaf partitions (pg_partition_tree), and each partition is kept
 *   as a row of its own with the partitioned table as parent.
 * Cost: the size functions stat() every relation file, as pg_database_size does.
 */
import type { CollectedTable, CollectedTableDatabase, TableKind } from '../../domain/tables.js';
import { bytes } from '../common.js';

export const TABLES_METHOD = 'pg_class';

export const TABLES_QUERY = `
  WITH r AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition, c.reltuples,
           CASE WHEN c.relkind <> 'p' THEN pg_table_size(c.oid) END AS tbl,
           CASE WHEN c.relkind <> 'p' THEN pg_indexes_size(c.oid) END AS idx,
           CASE WHEN c.relkind = 'p' THEN NULL WHEN c.reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(c.reltoastrelid) END AS toast
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  )
  SELECT r.nspname AS s, r.relname AS t, r.relkind AS k,
         pn.nspname AS ps, pc.relname AS pt,
         COALESCE(r.tbl, roll.tbl, 0) AS tbl, COALESCE(r.idx, roll.idx, 0) AS idx, COALESCE(r.toast, roll.toast, 0) AS toast,
         CASE WHEN r.relkind = 'p' THEN roll.tuples WHEN r.reltuples >= 0 THEN r.reltuples::bigint END AS tuples
  FROM r
  LEFT JOIN pg_inherits i ON r.relispartition AND i.inhrelid = r.oid
  LEFT JOIN pg_class pc ON pc.oid = i.inhparent
  LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  LEFT JOIN LATERAL (
    SELECT sum(l.tbl) AS tbl, sum(l.idx) AS idx, sum(l.toast) AS toast,
           CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples)::bigint END AS tuples
    FROM pg_partition_tree(r.oid) pt JOIN r l ON l.oid = pt.relid
    WHERE pt.isleaf
  ) roll ON r.relkind = 'p'`;

export interface TableRow {
  s: string;
  t: string;
  k: string;
  ps: string | null;
  pt: string | null;
  tbl: unknown;
  idx: unknown;
  toast: unknown;
  tuples: unknown;
}

export function toTable(row: TableRow): CollectedTable {
  const what = `${row.s}.${row.t}`;
  const tbl = bytes(row.tbl, `${what} pg_table_size`) ?? 0;
  const idx = bytes(row.idx, `${what} pg_indexes_size`) ?? 0;
  const toast = bytes(row.toast, `${what} toast`) ?? 0;
  const kind: TableKind = row.k === 'p' ? 'partitioned' : row.k === 'm' ? 'matview' : row.ps !== null ? 'partition' : 'table';
  return {
    schema_name: row.s,
    table_name: row.t,
    // An intermediate partitioned table (sub-partitioning) is itself a partition: it keeps its parent.
    kind,
    parent: row.ps !== null && row.pt !== null ? { schema_name: row.ps, table_name: row.pt } : null,
    total_bytes: tbl + idx,
    data_bytes: tbl - toast,
    index_bytes: idx,
    lob_bytes: toast,
    free_bytes: null,
    row_estimate: bytes(row.tuples, `${what} reltuples`),
  };
}

export type { CollectedTableDatabase };
