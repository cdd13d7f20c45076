/**
 * The Oracle table collector (segments per tablespace). No Oracle server can
 * run here: the queries' rows are given as the thin driver hands them to us
 * (NUMBER fetched as strings by fetchTypeHandler, columns keyed by name), so
 * what is tested is the mapping, the quoting, the budget and the error split
 * — not the SQL against a real catalog.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TableScope } from '../../src/domain/tables.js';
import { collectSegmentTables, type OracleRow } from '../../src/engines/oracle/oracle.engine.js';
import { segmentsSql, TABLESPACES_SQL } from '../../src/engines/oracle/oracle.tables.js';
import { SyncError } from '../../src/lib/errors.js';

const SEGMENTS: Record<string, OracleRow[] | Error> = {
  USERS: [
    { OWNER: 'APP', TABLE_NAME: 'ORDERS', DATA_BYTES: '104857600', INDEX_BYTES: '20971520', LOB_BYTES: '0', PARTITIONED: '1' },
    { OWNER: 'APP', TABLE_NAME: 'DOCS', DATA_BYTES: '65536', INDEX_BYTES: '65536', LOB_BYTES: '9007199254740000', PARTITIONED: '0' },
    { OWNER: 'APP', TABLE_NAME: 'TINY', DATA_BYTES: '65536', INDEX_BYTES: '0', LOB_BYTES: '0', PARTITIONED: '0' },
  ],
  "IT'S 表": [{ OWNER: 'Ödd "o"', TABLE_NAME: 'x y', DATA_BYTES: '8192', INDEX_BYTES: '0', LOB_BYTES: '0', PARTITIONED: '0' }],
  LOCKED: new Error('ORA-01031: insufficient privileges'),
};

function fakeRun() {
  const log: string[] = [];
  const run = async (sql: string): Promise<OracleRow[]> => {
    log.push(sql);
    if (sql === TABLESPACES_SQL) return ['SYSAUX', 'SYSTEM', 'USERS', "IT'S 表", 'LOCKED'].map((NAME) => ({ NAME }));
    for (const [ts, rows] of Object.entries(SEGMENTS)) {
      if (sql === segmentsSql(ts)) {
        if (rows instanceof Error) throw rows;
        return rows;
      }
    }
    throw new Error(`unexpected SQL: ${sql}`);
  };
  return Object.assign(run, { log });
}

const scope = (s: Partial<TableScope> = {}): TableScope => ({ databases: null, maxTables: 1000, deadline: Date.now() + 60_000, ...s });
const toSyncError = (err: unknown) => new SyncError('permission', String((err as Error).message));

describe('Oracle table collector (segments)', () => {
  test('tablespaces as databases, owner as schema, index and LOB folded into the table, exact bytes', async () => {
    const run = fakeRun();
    const c = await collectSegmentTables(run, scope(), toSyncError);
    assert.equal(c.method, 'dba_segments');
    assert.deepEqual(
      c.databases.map((d) => d.database_name),
      ['USERS', "IT'S 表", 'LOCKED'],
      'SYSTEM and SYSAUX left out',
    );
    const orders = c.databases[0]!.tables.find((t) => t.table_name === 'ORDERS')!;
    assert.deepEqual(orders, {
      schema_name: 'APP',
      table_name: 'ORDERS',
      kind: 'partitioned',
      parent: null,
      total_bytes: 125829120,
      data_bytes: 104857600,
      index_bytes: 20971520,
      lob_bytes: 0,
      free_bytes: null,
      row_estimate: null,
    });
    assert.equal(c.databases[0]!.tables.find((t) => t.table_name === 'DOCS')!.total_bytes, 9007199254740000 + 131072);
    assert.deepEqual(
      c.databases[1]!.tables.map((t) => [t.schema_name, t.table_name]),
      [['Ödd "o"', 'x y']],
    );
    assert.match(c.databases[2]!.error!, /ORA-01031/);
    assert.ok(
      run.log.some((q) => q.includes("s.tablespace_name = 'IT''S 表'")),
      'the name is a quoted literal',
    );
  });

  test('budget and deadline', async () => {
    const c = await collectSegmentTables(fakeRun(), scope({ databases: ['USERS', 'NOPE'], maxTables: 1 }), toSyncError);
    assert.deepEqual(
      c.databases[0]!.tables.map((t) => t.table_name),
      ['DOCS'],
    );
    assert.deepEqual(c.databases[0]!.other, {
      tables: 2,
      total_bytes: 125829120 + 65536,
      data_bytes: 104857600 + 65536,
      index_bytes: 20971520,
      lob_bytes: 0,
      free_bytes: null,
    });
    assert.match(c.databases[1]!.error!, /tablespace not found/);
    assert.equal(c.present_databases, null);
    const late = await collectSegmentTables(fakeRun(), scope({ databases: ['USERS'], deadline: Date.now() - 1 }), toSyncError);
    assert.match(late.databases[0]!.error!, /time budget exhausted/);
  });

  test('a non-server error ends the collection', async () => {
    const run = async (sql: string): Promise<OracleRow[]> => {
      if (sql === TABLESPACES_SQL) return [{ NAME: 'USERS' }];
      throw new Error('NJS-500: connection to the Oracle Database was broken');
    };
    await assert.rejects(collectSegmentTables(run, scope(), toSyncError), /NJS-500/);
  });
});
