/**
 * The SQL Server table collector through the real mssql/tedious driver,
 * against the TDS responder (no SQL Server runs on this machine): pages
 * arrive as BIGINT strings and become exact bytes (past 2^53 refused, never
 * rounded), the sp_spaceused split adds up to reserved, odd names are quoted
 * in USE [...], the budget keeps the largest, a database that refuses us or
 * is offline is its own error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectTarget } from '../../src/engines/engine.js';
import type { TableCollection, TableScope } from '../../src/domain/tables.js';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import { type Cell, type Column, type Reply, type TdsResponder, startTdsResponder } from '../helpers/tds-responder.js';

const PASSWORD = 'S3cret-pa$$-库';
const WEIRD = "it's 库 [x]";
const col = (name: string, type: Column['type']): Column => ({ name, type });

/**
 * Per database, one row per (table, part) as the query's GROUP BY returns it: [schema, table, type, part,
 * reserved, used, in-row, LOB, row-overflow pages, rows, memory KB allocated for table / for indexes, used by
 * table / by indexes]. The split into data / index / LOB / free is the engine's (toTables), not the responder's.
 */
type Row = [string, string, string, string, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
const TABLES: Record<string, Row[]> = {
  sales: [
    // orders: its clustered index, a nonclustered index and a full-text index's internal table.
    ['dbo', 'orders', 'U ', 'base', 10_400n, 10_050n, 9_000n, 700n, 300n, 1_000_000n, 0n, 0n, 0n, 0n],
    ['dbo', 'orders', 'U ', 'index', 1_600n, 1_400n, 1_400n, 0n, 0n, 1_000_000n, 0n, 0n, 0n, 0n],
    ['dbo', 'orders', 'U ', 'internal', 800n, 550n, 550n, 0n, 0n, 5_000n, 0n, 0n, 0n, 0n],
    ['dbo', 'lines', 'U ', 'base', 5_000n, 4_990n, 4_000n, 0n, 0n, 3_000_000n, 0n, 0n, 0n, 0n],
    ['rpt', 'v_daily', 'V ', 'base', 16n, 16n, 16n, 0n, 0n, 365n, 0n, 0n, 0n, 0n],
    ['dbo', 'tiny', 'U ', 'base', 9n, 2n, 1n, 0n, 0n, 3n, 0n, 0n, 0n, 0n],
  ],
  // A memory-optimized table: no pages, 64 MB allocated (48 for rows, 16 for indexes), 40 MB used by rows, 8 MB by its indexes.
  hot: [['dbo', 'sessions', 'U ', 'memory', 0n, 0n, 0n, 0n, 0n, 0n, 49_152n, 16_384n, 40_960n, 8_192n]],
  [WEIRD]: [['模式 x', "表 it's", 'U ', 'base', 24n, 20n, 10n, 5n, 3n, 50n, 0n, 0n, 0n, 0n]],
  huge: [['dbo', 'too_big', 'U ', 'base', 1_099_511_627_776n, 1n, 1n, 0n, 0n, 1n, 0n, 0n, 0n, 0n]],
};

const identity: Reply = [
  {
    columns: [col('version', 'nvarchar'), col('edition', 'nvarchar'), col('engine_edition', 'int'), col('login_name', 'nvarchar')],
    rows: [['16.0.4135.4', 'Developer Edition (64-bit)', 3, 'dba']],
  },
];

function tables(name: string): Reply {
  if (name === 'locked')
    return {
      error: { number: 916, class: 14, message: 'The server principal "dba" is not able to access the database "locked" under the current security context.' },
    };
  return [
    {
      columns: [
        ...['schema_name', 'table_name', 'object_type', 'part'].map((n) => col(n, 'nvarchar')),
        ...[
          'reserved_pages',
          'used_pages',
          'in_row_pages',
          'lob_pages',
          'overflow_pages',
          'row_count',
          'xtp_table_allocated_kb',
          'xtp_index_allocated_kb',
          'xtp_table_used_kb',
          'xtp_index_used_kb',
        ].map((n) => col(n, 'bigint')),
      ],
      rows: (TABLES[name] ?? []).map((r): Cell[] => [...r]),
    },
  ];
}

describe('SQL Server table collector (real driver, TDS responder)', () => {
  let server: TdsResponder;
  before(async () => {
    server = await startTdsResponder({
      login: (_l, pw) => (pw === PASSWORD ? null : { number: 18456, message: 'Login failed' }),
      handlers: [
        [/SERVERPROPERTY\('ProductVersion'\)/, identity],
        [
          /^SELECT name, state_desc, database_id, is_distributor FROM sys\.databases/,
          [
            {
              columns: [col('name', 'nvarchar'), col('state_desc', 'nvarchar'), col('database_id', 'int'), col('is_distributor', 'bit')],
              rows: [
                ['master', 'ONLINE', 1, false],
                ['sales', 'ONLINE', 5, false],
                [WEIRD, 'ONLINE', 6, false],
                ['huge', 'ONLINE', 7, false],
                ['locked', 'ONLINE', 8, false],
                ['archive', 'OFFLINE', 9, false],
                ['distribution', 'ONLINE', 10, true],
                ['SSISDB', 'ONLINE', 11, false],
                ['hot', 'ONLINE', 12, false],
              ],
            },
          ],
        ],
        [/^USE \[((?:[^\]]|\]\])*)\];\s*SELECT s\.name AS schema_name/, (_s, m) => tables(m[1]!.replaceAll(']]', ']'))],
      ],
    });
  });
  after(async () => server?.close());

  const target = (): ConnectTarget => ({
    host: '127.0.0.1',
    port: server.port,
    database: null,
    username: 'dba',
    password: PASSWORD,
    options: {},
    connectTimeoutMs: 3000,
    queryTimeoutMs: 5000,
  });
  async function collect(scope: Partial<TableScope>): Promise<TableCollection> {
    const session = await engine.connect(target());
    try {
      return await session.collectTables!({ databases: null, maxTables: 1000, deadline: Date.now() + 60_000, ...scope });
    } finally {
      await session.close();
    }
  }

  test('exact bytes, the sp_spaceused split, odd names, per-database errors', async () => {
    const c = await collect({});
    assert.equal(c.method, 'dm_db_partition_stats');
    assert.deepEqual(c.present_databases, ['master', 'sales', WEIRD, 'huge', 'locked', 'archive', 'distribution', 'SSISDB', 'hot']);
    const by = new Map(c.databases.map((d) => [d.database_name, d]));
    for (const system of ['master', 'distribution', 'SSISDB']) assert.ok(!by.has(system), `${system}: system databases are left out of an instance-wide run`);
    const orders = by.get('sales')!.tables.find((t) => t.table_name === 'orders')!;
    assert.deepEqual(orders, {
      schema_name: 'dbo',
      table_name: 'orders',
      kind: 'table',
      parent: null,
      total_bytes: 12_800 * 8192,
      data_bytes: 9_000 * 8192,
      // The nonclustered index and the internal table are index pages; rows and data come from the clustered index alone.
      index_bytes: (12_000 - 9_000 - 1_000) * 8192,
      lob_bytes: (700 + 300) * 8192,
      free_bytes: 800 * 8192,
      row_estimate: 1_000_000,
    });
    for (const t of by.get('sales')!.tables) assert.equal(t.data_bytes! + t.index_bytes! + t.lob_bytes! + t.free_bytes!, t.total_bytes);
    assert.equal(by.get('sales')!.tables.find((t) => t.table_name === 'v_daily')?.kind, 'matview');
    // Memory-optimized: bytes from sys.dm_db_xtp_table_memory_stats (KB), not ~0 from the page counts.
    const sessions = by.get('hot')!.tables.find((t) => t.table_name === 'sessions')!;
    assert.deepEqual(
      [sessions.total_bytes, sessions.data_bytes, sessions.index_bytes, sessions.free_bytes, sessions.lob_bytes],
      [65_536 * 1024, 40_960 * 1024, 8_192 * 1024, 16_384 * 1024, 0],
    );
    assert.deepEqual(
      by.get(WEIRD)!.tables.map((t) => [t.schema_name, t.table_name]),
      [['模式 x', "表 it's"]],
    );
    assert.match(by.get('huge')!.error!, /out of range|无法解析/, 'past 2^53 bytes is refused, not rounded');
    assert.match(by.get('locked')!.error!, /not able to access the database/);
    assert.match(by.get('archive')!.error!, /OFFLINE/);
    assert.ok(
      server.queries.some((q) => q.startsWith("USE [it's 库 [x]]];")),
      'the name is bracket-quoted',
    );
  });

  test('the query counts internal tables (XML, spatial, full-text) in their parent, as sp_spaceused does, and memory-optimized tables from 2014', async () => {
    const { tablesQuery } = await import('../../src/engines/sqlserver/sqlserver.tables.js');
    const q = tablesQuery('x', { memoryOptimized: true });
    assert.match(q, /COALESCE\(it\.parent_id, ps\.object_id\) AS object_id/);
    assert.match(
      q,
      /LEFT JOIN sys\.internal_tables it ON it\.object_id = ps\.object_id AND it\.internal_type IN \(202, 204, 207, 211, 212, 213, 214, 215, 216, 221, 222, 236\)/,
    );
    assert.match(q, /CASE WHEN it\.object_id IS NOT NULL THEN 'internal' WHEN ps\.index_id < 2 THEN 'base' ELSE 'index' END AS part/);
    assert.match(q, /GROUP BY s\.name, o\.name, o\.type, p\.part$/, 'raw sums per part: the split is the engine’s');
    assert.match(q, /FROM sys\.dm_db_xtp_table_memory_stats x/);
    assert.doesNotMatch(tablesQuery('x', { memoryOptimized: false }), /xtp_table_memory_stats/, '2012 has no such DMV');
    assert.ok(
      server.queries.some((qq) => qq.includes('sys.dm_db_xtp_table_memory_stats')),
      'a 2022 server is asked',
    );
  });

  test('the budget keeps the largest tables and sums the rest as "other"', async () => {
    const c = await collect({ databases: ['sales', WEIRD], maxTables: 2 });
    const sales = c.databases[0]!;
    assert.deepEqual(
      sales.tables.map((t) => t.table_name),
      ['orders', 'lines'],
    );
    assert.deepEqual(sales.other, {
      tables: 2,
      total_bytes: (16 + 9) * 8192,
      data_bytes: 17 * 8192,
      index_bytes: 1 * 8192,
      lob_bytes: 0,
      free_bytes: 7 * 8192,
    });
    assert.deepEqual(c.databases[1]!.tables, []);
    assert.equal(c.databases[1]!.other?.tables, 1);
  });

  test('a spent time budget leaves the databases uncollected', async () => {
    const c = await collect({ databases: ['sales'], deadline: Date.now() - 1 });
    assert.match(c.databases[0]!.error!, /time budget exhausted/);
  });
});
