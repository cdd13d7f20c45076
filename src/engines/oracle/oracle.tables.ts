/**
 * Oracle table sizes from segments. The "database" of an Oracle table row is
 * its tablespace (the unit of the database ledger, as in the original), the
 * schema is the owner, and a table's index and LOB segments are folded into
 * the table through dba_indexes / dba_lobs (a table whose index lives in
 * another tablespace shows there with index bytes only). One query per
 * tablespace, filtered on tablespace_name.
 *
 * Cost: dba_segments is the expensive view (it visits every segment header
 * through sys_dba_segs; minutes on catalogs with hundreds of thousands of
 * segments); filtered by tablespace and within the table budget it is read
 * one tablespace at a time. The cheap views (dba_tables.num_rows × avg_row_len,
 * statistics) are estimates and are not used for bytes. Only the current
 * container is read (a PDB or a non-CDB); in a CDB root, connect to each PDB.
 */
import type { CollectedTable } from '../../domain/tables.js';
import { bytes } from '../common.js';
import { text } from './oracle.aggregate.js';

export const TABLES_METHOD = 'dba_segments';

/** Permanent tablespaces; SYSTEM and SYSAUX are left out of an instance-wide run. */
export const TABLESPACES_SQL = "SELECT tablespace_name AS NAME FROM dba_tablespaces WHERE contents = 'PERMANENT' ORDER BY tablespace_name";
export const SYSTEM_TABLESPACES = new Set(['SYSTEM', 'SYSAUX']);

/** Oracle string literal: the driver's run() takes no binds here, so quote by doubling. */
const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

export function segmentsSql(tablespace: string): string {
  const table = `CASE WHEN s.segment_type LIKE 'INDEX%' THEN i.table_name
                      WHEN s.segment_type IN ('LOBSEGMENT', 'LOB PARTITION', 'LOB SUBPARTITION') THEN l.table_name
                      WHEN s.segment_type = 'LOBINDEX' THEN li.table_name
                      ELSE s.segment_name END`;
  return `SELECT s.owner AS OWNER, ${table} AS TABLE_NAME,
         SUM(CASE WHEN s.segment_type LIKE 'TABLE%' OR s.segment_type = 'NESTED TABLE' THEN s.bytes ELSE 0 END) AS DATA_BYTES,
         SUM(CASE WHEN s.segment_type LIKE 'INDEX%' THEN s.bytes ELSE 0 END) AS INDEX_BYTES,
         SUM(CASE WHEN s.segment_type LIKE 'LOB%' THEN s.bytes ELSE 0 END) AS LOB_BYTES,
         MAX(CASE WHEN s.segment_type LIKE 'TABLE%PARTITION' THEN 1 ELSE 0 END) AS PARTITIONED
  FROM dba_segments s
  LEFT JOIN dba_indexes i ON s.segment_type LIKE 'INDEX%' AND i.owner = s.owner AND i.index_name = s.segment_name
  LEFT JOIN dba_lobs l ON s.segment_type IN ('LOBSEGMENT', 'LOB PARTITION', 'LOB SUBPARTITION') AND l.owner = s.owner AND l.segment_name = s.segment_name
  LEFT JOIN dba_lobs li ON s.segment_type = 'LOBINDEX' AND li.owner = s.owner AND li.index_name = s.segment_name
  WHERE s.tablespace_name = ${literal(tablespace)}
  GROUP BY s.owner, ${table}`;
}

/** A row as fetched (NUMBER as strings, see fetchTypeHandler). A segment whose table is unknown keeps its own name. */
export function segmentTable(r: Record<string, unknown>): CollectedTable {
  const owner = text(r.OWNER);
  const name = text(r.TABLE_NAME);
  const what = `${owner}.${name}`;
  const data = bytes(r.DATA_BYTES, `${what} data`) ?? 0;
  const index = bytes(r.INDEX_BYTES, `${what} index`) ?? 0;
  const lob = bytes(r.LOB_BYTES, `${what} lob`) ?? 0;
  return {
    schema_name: owner,
    table_name: name,
    kind: text(r.PARTITIONED) === '1' ? 'partitioned' : 'table',
    parent: null,
    total_bytes: data + index + lob,
    data_bytes: data,
    index_bytes: index,
    lob_bytes: lob,
    free_bytes: null,
    row_estimate: null,
  };
}
