/**
 * The SQL Server table split (sp_spaceused's) on the per-part rows the table
 * query returns, without a server: internal tables (XML, spatial, full-text
 * indexes) and nonclustered indexes are index pages of their parent,
 * memory-optimized tables are measured from their memory. The same rows go
 * through mssql/tedious in test/engines/sqlserver-tables.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toTables, type PartRow, type TablePart } from '../../src/engines/sqlserver/sqlserver.tables.js';

const P = 8192;

/** A part row as mssql delivers it (BIGINT sums as decimal strings). */
function part(
  table: string,
  p: TablePart,
  pages: { reserved?: number; used?: number; inRow?: number; lob?: number; overflow?: number; rows?: number } = {},
  kb: number[] = [0, 0, 0, 0],
): PartRow {
  return {
    schema_name: 'dbo',
    table_name: table,
    object_type: 'U ',
    part: p,
    reserved_pages: String(pages.reserved ?? 0),
    used_pages: String(pages.used ?? 0),
    in_row_pages: String(pages.inRow ?? 0),
    lob_pages: String(pages.lob ?? 0),
    overflow_pages: String(pages.overflow ?? 0),
    row_count: String(pages.rows ?? 0),
    xtp_table_allocated_kb: String(kb[0]),
    xtp_index_allocated_kb: String(kb[1]),
    xtp_table_used_kb: String(kb[2]),
    xtp_index_used_kb: String(kb[3]),
  };
}

test('an XML index (internal table) and a nonclustered index count as index pages of their table; data, LOB and rows come from the clustered index', () => {
  const [docs] = toTables([
    part('docs', 'base', { reserved: 1000, used: 900, inRow: 600, lob: 150, overflow: 50, rows: 10_000 }),
    part('docs', 'index', { reserved: 200, used: 180, inRow: 180, rows: 10_000 }),
    // The XML index's node table: its own rows and in-row pages are not the table's.
    part('docs', 'internal', { reserved: 400, used: 390, inRow: 390, rows: 250_000 }),
  ]);
  assert.deepEqual(
    [docs!.total_bytes, docs!.data_bytes, docs!.lob_bytes, docs!.index_bytes, docs!.free_bytes, docs!.row_estimate],
    [1600 * P, 600 * P, 200 * P, (900 + 180 + 390 - 600 - 200) * P, (1600 - 1470) * P, 10_000],
  );
  assert.equal(docs!.data_bytes! + docs!.index_bytes! + docs!.lob_bytes! + docs!.free_bytes!, docs!.total_bytes);
});

test('a memory-optimized table: allocated = total, used by rows = data, used by indexes = index, the rest free (KB × 1024)', () => {
  const [hot] = toTables([part('hot', 'memory', {}, [49_152, 16_384, 40_960, 8_192])]);
  assert.deepEqual(
    [hot!.total_bytes, hot!.data_bytes, hot!.index_bytes, hot!.free_bytes, hot!.lob_bytes, hot!.row_estimate],
    [65_536 * 1024, 40_960 * 1024, 8_192 * 1024, 16_384 * 1024, 0, 0],
  );
});

test('parts of one table need not arrive together; a view is a matview; used below data + LOB (written meanwhile) leaves index unknown', () => {
  const out = toTables([
    part('a', 'index', { reserved: 10, used: 10, inRow: 10 }),
    { ...part('v', 'base', { reserved: 16, used: 16, inRow: 16, rows: 365 }), object_type: 'V ' },
    part('a', 'base', { reserved: 30, used: 20, inRow: 20, rows: 7 }),
    part('racy', 'base', { reserved: 10, used: 5, inRow: 6 }),
  ]);
  assert.deepEqual(
    out.map((t) => [t.table_name, t.kind, t.total_bytes, t.index_bytes, t.row_estimate]),
    [
      ['a', 'table', 40 * P, 10 * P, 7],
      ['v', 'matview', 16 * P, 0, 365],
      ['racy', 'table', 10 * P, null, 0],
    ],
  );
});

test('a count that is not an exact integer is refused, never rounded', () => {
  assert.throws(() => toTables([{ ...part('x', 'base'), reserved_pages: 2 ** 53 + 2 }]), /not an exact non-negative integer/);
});
