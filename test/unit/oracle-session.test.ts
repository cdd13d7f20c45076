/**
 * Issue 23's Oracle cases end to end through the engine: connect(), the
 * session's query runner (outFormat OBJECT + our fetchTypeHandler, checked on
 * every call) and collect(), over a stand-in for node-oracledb whose
 * execute() answers per-file rows built by the driver's own fetch path
 * (test/helpers/oracle-rows.ts: NUMBER through the wire codec, fetch types
 * decided by the driver's ResultSetImpl with the handler the session passed).
 * The server version comes from the connection, as in production: it decides
 * whether TABLESPACE_SIZE bounds max_bytes (18c+) and refuses 11g.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CollectedDatabase, Collection } from '../../src/domain/collection.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { makeOracleEngine, type OracleConnection, type OracleDriver } from '../../src/engines/oracle/oracle.engine.js';
import { CONTAINERS_SQL, filesSql, LOCATE_SQL, pdbStorageSql, spacesSql, tempFreeSql, undoSql } from '../../src/engines/oracle/oracle.queries.js';
import { fetchTypeHandler } from '../../src/engines/oracle/oracle.driver.js';
import { textOf } from '../../src/client/shared/i18n/index.js';
import { SyncError } from '../../src/lib/errors.js';
import { AUTOEXTEND_SMALLFILE_MAX, file, GiB, MiB, num, oracledb, resultSet, space, tempFree, undo, type Num } from '../helpers/oracle-rows.js';

type Raw = Record<string, string | Num | null>[];

/** A node-oracledb stand-in: one connection reporting `version`, answering the SQL texts of `answers` with driver-shaped rows. */
function driver(version: string, answers: Map<string, Raw>, asked: string[] = []): OracleDriver {
  const conn: OracleConnection = {
    callTimeout: 0,
    oracleServerVersionString: version,
    execute: (sql, _binds, options) => {
      asked.push(sql);
      assert.equal(options.outFormat, oracledb.OUT_FORMAT_OBJECT, 'rows keyed by column name');
      assert.equal(options.fetchTypeHandler, fetchTypeHandler, 'NUMBER columns fetched as exact strings');
      const raw = answers.get(sql);
      if (raw === undefined) return Promise.reject(new Error(`unexpected SQL: ${sql}`));
      return Promise.resolve({ rows: resultSet(raw, options.fetchTypeHandler) });
    },
    close: () => Promise.resolve(),
  };
  return {
    ...oracledb,
    OUT_FORMAT_OBJECT: oracledb.OUT_FORMAT_OBJECT,
    STRING: oracledb.STRING,
    DB_TYPE_NUMBER: oracledb.DB_TYPE_NUMBER,
    getConnection: () => Promise.resolve(conn),
  };
}

const target: ConnectTarget = {
  host: '127.0.0.1',
  port: 1521,
  database: 'ORCL',
  username: 'whalefall',
  password: 'Pa55-w0rd-zz9',
  options: {},
  connectTimeoutMs: 1000,
  queryTimeoutMs: 30000,
};

async function collect(version: string, answers: Map<string, Raw>): Promise<Collection> {
  const session = await makeOracleEngine(driver(version, answers)).connect(target);
  try {
    const c = await session.collect();
    // Case 14: no row the SQL can return has a limit below what is already allocated.
    for (const d of c.databases)
      if (d.max_bytes != null && d.size_bytes != null) assert.ok(d.max_bytes >= d.size_bytes, `${d.database_name}: max_bytes below allocated`);
    return c;
  } finally {
    await session.close();
  }
}

const byName = (c: Collection, name: string): CollectedDatabase => {
  const d = c.databases.find((x) => x.database_name === name);
  assert.ok(d, name);
  return d;
};

/** A non-CDB: TEMP full by the metrics but mostly free, UNDO mostly expired, USERS bounded by the disk (TABLESPACE_SIZE), LOB resized past its MAXSIZE. */
function nonCdb(): Map<string, Raw> {
  return new Map<string, Raw>([
    [LOCATE_SQL, [{ CON_ID: '0', CON_NAME: 'ORCL' }]],
    [
      filesSql('dba', 'data'),
      [
        file({ ts: 'UNDOTBS1', id: 1, bytes: 10 * GiB }),
        file({ ts: 'USERS', id: 2, bytes: 5 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        // Autoextensible, resized by hand past its MAXSIZE of 1 GiB: the limit is its size, never below it.
        file({ ts: 'LOB', id: 3, bytes: 3 * GiB, max: String(GiB) }),
      ],
    ],
    [filesSql('dba', 'temp'), [file({ ts: 'TEMP', bytes: 16 * GiB, max: AUTOEXTEND_SMALLFILE_MAX })]],
    [
      spacesSql('dba'),
      [
        space({ ts: 'UNDOTBS1', contents: 'UNDO', used: 10 * GiB, size: 10 * GiB }),
        // 5 GiB allocated, 32 GiB file limit, 20 GiB free on the disk: TABLESPACE_SIZE (18c+) says 25 GiB.
        space({ ts: 'USERS', contents: 'PERMANENT', used: 4 * GiB, size: 25 * GiB }),
        space({ ts: 'LOB', contents: 'PERMANENT', used: GiB, size: 3 * GiB }),
        // Every temp extent ever taken since the restart: "full".
        space({ ts: 'TEMP', contents: 'TEMPORARY', used: 16 * GiB, size: 16 * GiB }),
      ],
    ],
    [tempFreeSql('dba'), [tempFree({ ts: 'TEMP', size: 16 * GiB, free: 16 * GiB - 64 * MiB })]],
    [
      undoSql('dba'),
      [
        undo({ ts: 'UNDOTBS1', status: 'ACTIVE', bytes: 50 * MiB }),
        undo({ ts: 'UNDOTBS1', status: 'UNEXPIRED', bytes: 2 * GiB }),
        undo({ ts: 'UNDOTBS1', status: 'EXPIRED', bytes: 7 * GiB }),
      ],
    ],
  ]);
}

describe('Oracle cases of issue 23 through the engine session (driver-shaped rows)', () => {
  test('19c: TEMP used from temp free space, UNDO = ACTIVE + UNEXPIRED, max_bytes lowered to TABLESPACE_SIZE, a file resized past its MAXSIZE bounded by its size', async () => {
    const c = await collect('19.21.0.0.0', nonCdb());
    assert.equal(c.server_version, '19.21.0.0.0');
    const temp = byName(c, 'TEMP');
    assert.deepEqual(
      [temp.size_bytes, temp.used_bytes, temp.free_bytes, temp.method],
      [16 * GiB, 64 * MiB, 16 * GiB - 64 * MiB, 'dba_temp_files+temp_free_space'],
    );
    const undoTs = byName(c, 'UNDOTBS1');
    assert.deepEqual([undoTs.used_bytes, undoTs.free_bytes, undoTs.method], [2 * GiB + 50 * MiB, 8 * GiB - 50 * MiB, 'dba_data_files+undo_extents']);
    assert.equal(byName(c, 'USERS').max_bytes, 25 * GiB);
    assert.equal(byName(c, 'LOB').max_bytes, 3 * GiB);
  });

  test('12.2: TABLESPACE_SIZE is the file limit there, so max_bytes keeps the files’ own limit', async () => {
    const c = await collect('12.2.0.1.0', nonCdb());
    assert.equal(byName(c, 'USERS').max_bytes, Number(AUTOEXTEND_SMALLFILE_MAX));
    assert.equal(byName(c, 'TEMP').used_bytes, 64 * MiB);
  });

  test('a CDB root: PDB$SEED skipped and said so; a PDB with MAX_PDB_STORAGE bounds its tablespaces', async () => {
    const answers = new Map<string, Raw>([
      [LOCATE_SQL, [{ CON_ID: '1', CON_NAME: 'CDB$ROOT' }]],
      [
        CONTAINERS_SQL,
        [
          { CON_ID: num(1), NAME: 'CDB$ROOT', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
          { CON_ID: num(2), NAME: 'PDB$SEED', OPEN_MODE: 'READ ONLY', RESTRICTED: 'NO' },
          { CON_ID: num(3), NAME: 'SALES', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
        ],
      ],
      [
        filesSql('cdb', 'data'),
        [
          file({ con: 1, ts: 'SYSTEM', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 2, ts: 'SYSTEM', id: 2, bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 3, ts: 'USERS', id: 3, bytes: 10 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        ],
      ],
      [filesSql('cdb', 'temp'), []],
      [
        spacesSql('cdb'),
        [
          space({ con: 1, ts: 'SYSTEM', contents: 'PERMANENT', used: GiB / 2 }),
          space({ con: 2, ts: 'SYSTEM', contents: 'PERMANENT', used: GiB / 2 }),
          space({ con: 3, ts: 'USERS', contents: 'PERMANENT', used: 9 * GiB }),
        ],
      ],
      [tempFreeSql('cdb'), []],
      [undoSql('cdb'), []],
      [pdbStorageSql('cdb'), [{ CON_ID: num(3), PROPERTY_VALUE: String(12 * GiB) }]],
    ]);
    const c = await collect('19.21.0.0.0', answers);
    assert.deepEqual(
      c.databases.map((d) => d.database_name),
      ['CDB$ROOT/SYSTEM', 'SALES/USERS'],
    );
    assert.equal(byName(c, 'SALES/USERS').max_bytes, 12 * GiB, 'allocated 10 GiB + 2 GiB of MAX_PDB_STORAGE headroom');
    const english = c.warnings.map((w) => textOf(w, 'en'));
    assert.ok(english.includes('PDB$SEED is not counted: the CDB total is not the disk used'), english.join('\n'));
  });

  test('11g: refused as unsupported at connect, with the reason', async () => {
    const err = await makeOracleEngine(driver('11.2.0.4.0', nonCdb()))
      .connect(target)
      .catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'unsupported');
    assert.match(textOf(err.msg!, 'en'), /11g/);
  });
});
