/**
 * The Oracle tablespace collection over result sets shaped exactly as the
 * thin driver returns them (test/helpers/oracle-rows.ts): which views are
 * read in which scope, the per-file arithmetic of oracle.aggregate.ts case
 * by case (TEMP after a restart, UNDO with expired extents, TABLESPACE_SIZE
 * on 18c+, MAX_PDB_STORAGE), CDB roots, closed PDBs, grants and doctor.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CollectedDatabase } from '../../src/domain/collection.js';
import { containerDataOf, mapTablespaces as mapKeyed } from '../../src/engines/oracle/oracle.aggregate.js';
import { collectTablespaces as collectKeyed, doctorChecks, oracleEngine as engine, type OracleRow } from '../../src/engines/oracle/oracle.engine.js';
import { isMsg, msgText, textOf } from '../../src/client/shared/i18n/index.js';
import type { Warning } from '../../src/domain/collection.js';
import { localizeCheck } from '../../src/engines/common.js';
import {
  CONTAINERS_SQL,
  CONTROLFILE_TABLESPACES_SQL,
  filesSql,
  LOCATE_SQL,
  SESSION_BANNERS_SQL,
  pdbStorageSql,
  spacesSql,
  tempFreeSql,
  undoSql,
} from '../../src/engines/oracle/oracle.queries.js';
import { SyncError } from '../../src/lib/errors.js';
import {
  AUTOEXTEND_SMALLFILE_MAX,
  BLOCK,
  fakeRun,
  file,
  GiB,
  locate,
  MAX_SAFE,
  measured,
  MiB,
  nonCdbAnswers,
  sessionAnswers,
  num,
  Num,
  ORA_00942,
  oraError,
  resultSet,
  row,
  settings,
  space,
  tempFree,
  undo,
} from '../helpers/oracle-rows.js';

/**
 * Every warning is by key (issue #20 item 2), with English text free of Chinese; the tests read the zh-CN text (the
 * API's own words, unchanged), and `english` keeps the English of the last collection for the tests that check it.
 */
let english: string[] = [];
function texts(ws: Warning[]): string[] {
  for (const w of ws) assert.ok(isMsg(w), `a warning by key, not text: ${JSON.stringify(w)}`);
  english = ws.map((w) => textOf(w, 'en'));
  for (const e of english) assert.ok(!/[\u4e00-\u9fff]/.test(e), `English text without Chinese: ${e}`);
  return ws.map((w) => textOf(w));
}
/** Issue 23 case 14: no row has a limit below what is already allocated (the SQL can never return that; a fixture that did is refused). */
function limitsHold(dbs: CollectedDatabase[]): void {
  for (const d of dbs) if (d.max_bytes != null && d.size_bytes != null) assert.ok(d.max_bytes >= d.size_bytes, `${d.database_name}: max_bytes below allocated`);
}
const collectTablespaces = async (...a: Parameters<typeof collectKeyed>) => {
  const r = await collectKeyed(...a);
  limitsHold(r.databases);
  return { ...r, warnings: texts(r.warnings) };
};
const mapTablespaces = (...a: Parameters<typeof mapKeyed>) => {
  const r = mapKeyed(...a);
  limitsHold(r.databases);
  return { ...r, warnings: texts(r.warnings) };
};

const target = () => ({
  host: '127.0.0.1',
  port: 1521,
  database: 'ORCLPDB1',
  username: 'whalefall',
  password: 'Pa55-w0rd-zz9',
  options: {},
  connectTimeoutMs: 1000,
  queryTimeoutMs: 30000,
});

describe('Oracle: query text', () => {
  const all = [
    LOCATE_SQL,
    CONTAINERS_SQL,
    CONTROLFILE_TABLESPACES_SQL,
    ...(['dba', 'cdb'] as const).flatMap((s) => [filesSql(s, 'data'), filesSql(s, 'temp'), spacesSql(s), tempFreeSql(s), undoSql(s), pdbStorageSql(s)]),
  ];

  test('reads only the cheap views: never dba_segments / dba_free_space / dba_extents (they walk every extent)', () => {
    for (const sql of all) assert.doesNotMatch(sql, /segments|\b(dba|cdb)_free_space|\b(dba|cdb)_extents/i, sql);
  });

  test('each scope reads its own family of views', () => {
    assert.match(filesSql('dba', 'data'), /FROM dba_data_files$/);
    assert.match(filesSql('dba', 'temp'), /FROM dba_temp_files$/);
    assert.match(spacesSql('dba'), /FROM dba_tablespaces t\s+LEFT JOIN dba_tablespace_usage_metrics m/);
    assert.match(filesSql('cdb', 'data'), /SELECT con_id, tablespace_name, file_id, bytes, maxbytes, autoextensible, status\s+FROM cdb_data_files$/);
    assert.match(tempFreeSql('cdb'), /FROM cdb_temp_free_space$/);
    assert.match(undoSql('cdb'), /FROM cdb_undo_extents\s+GROUP BY con_id, tablespace_name, status$/);
    assert.match(pdbStorageSql('cdb'), /FROM cdb_properties WHERE property_name = 'MAX_PDB_STORAGE'/);
    assert.match(pdbStorageSql('dba'), /FROM database_properties WHERE property_name = 'MAX_PDB_STORAGE'/);
    assert.match(filesSql('cdb', 'temp'), /FROM cdb_temp_files$/);
    assert.match(
      spacesSql('cdb'),
      /FROM cdb_tablespaces t\s+LEFT JOIN cdb_tablespace_usage_metrics m\s+ON m\.tablespace_name = t\.tablespace_name AND m\.con_id = t\.con_id/,
    );
    for (const sql of [filesSql('dba', 'data'), filesSql('dba', 'temp'), spacesSql('dba'), tempFreeSql('dba'), undoSql('dba')])
      assert.doesNotMatch(sql, /cdb_|con_id/i);
  });

  test('per-file rows and raw metrics: the arithmetic is ours (oracle.aggregate.ts), not the server’s', () => {
    assert.doesNotMatch(filesSql('dba', 'data'), /SUM|GROUP BY|GREATEST|CASE/);
    assert.match(spacesSql('dba'), /t\.block_size, m\.used_space, m\.tablespace_size/);
  });

  test('container detection needs no grant', () => {
    assert.match(LOCATE_SQL, /sys_context\('USERENV', 'CON_ID'\)/);
    assert.match(LOCATE_SQL, /FROM dual$/);
  });
});

describe('Oracle: non-CDB collection', () => {
  test('one row per tablespace, exact bytes, system flags, temp rows apart, warnings for the DBA', async () => {
    const run = fakeRun(nonCdbAnswers());
    const { databases, warnings } = await collectTablespaces(run, settings(), 19);
    assert.deepEqual(run.log, [LOCATE_SQL, filesSql('dba', 'data'), filesSql('dba', 'temp'), spacesSql('dba'), tempFreeSql('dba'), undoSql('dba')]);
    assert.deepEqual(databases, [
      row({
        database_name: 'ARCHIVE',
        error: '1/3 个文件无法读取大小 (离线或丢失) (file size unknown: offline or missing)',
        error_msg: { key: 'db.remark.ora_files_unsized', params: { unsized: 1, count: 3 } },
      }),
      measured('BIG', 9007199254740991, 4294975488, { max_bytes: Number(MAX_SAFE) }),
      measured('SYSAUX', 2147483648, 1610612736, { is_system: true, max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) }),
      measured('SYSTEM', GiB, 943718400, { is_system: true, max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) }),
      // Allocated 1 GiB (below its 32 GiB autoextend limit); used from DBA_TEMP_FREE_SPACE: 1 MiB, not the metrics' "full".
      measured('TEMP', GiB, MiB, { is_system: true, method: 'dba_temp_files+temp_free_space', max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) }),
      measured('TEMP_NOFILES', 0, 0, { is_system: true, method: 'dba_temp_files' }),
      // Used = ACTIVE + UNEXPIRED extents (400 MiB), not the metrics' 4 GiB that include EXPIRED undo.
      measured('UNDOTBS1', 4 * GiB, 400 * MiB, { is_system: true, method: 'dba_data_files+undo_extents', max_bytes: 4 * GiB }),
      measured('USERS', 10 * GiB, 10200547328, { max_bytes: 10 * GiB }),
    ]);
    // 2^53 - 1 minus 2^32 + 1 block, exactly.
    assert.equal(databases.find((d) => d.database_name === 'BIG')!.free_bytes, 9007194959765503);
    assert.deepEqual(warnings, [
      'USERS: 已用 95.0% 的最大容量 (含自动扩展上限) (used 9.50 GB of max 10.00 GB incl. autoextend)',
      'TEMP_NOFILES: 临时表空间没有临时文件，溢出到磁盘的排序会失败 (temporary tablespace has no tempfiles)',
    ]);
  });

  test('temp=false reads no tempfiles and reports no temporary tablespace', async () => {
    const run = fakeRun(nonCdbAnswers());
    const { databases } = await collectTablespaces(run, settings({ temp: false }), 19);
    assert.ok(!run.log.includes(filesSql('dba', 'temp')));
    assert.deepEqual(
      databases.map((d) => d.database_name),
      ['ARCHIVE', 'BIG', 'SYSAUX', 'SYSTEM', 'UNDOTBS1', 'USERS'],
    );
  });

  test('a session inside a PDB (CON_ID ≥ 3) in auto mode reads DBA_ views, rows named by tablespace', async () => {
    const answers = nonCdbAnswers();
    answers.set(LOCATE_SQL, locate('3', 'SALES'));
    answers.set(pdbStorageSql('dba'), resultSet([{ PROPERTY_VALUE: 'UNLIMITED' }]));
    const run = fakeRun(answers);
    const { databases } = await collectTablespaces(run, settings(), 19);
    assert.ok(databases.some((d) => d.database_name === 'USERS'));
    assert.equal(run.log.at(-1), pdbStorageSql('dba'), 'inside a PDB its own MAX_PDB_STORAGE is read');
  });

  test('container_mode=non_cdb in the root reads the root through DBA_ views', async () => {
    const answers = nonCdbAnswers();
    answers.set(LOCATE_SQL, locate('1', 'CDB$ROOT'));
    const run = fakeRun(answers);
    await collectTablespaces(run, settings({ containerMode: 'non_cdb' }), 19);
    assert.ok(!run.log.includes(CONTAINERS_SQL));
  });

  test('container_mode=cdb outside the root is refused with the reason', async () => {
    const err = await collectTablespaces(fakeRun(nonCdbAnswers()), settings({ containerMode: 'cdb' }), 19).catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'data');
    assert.match(err.message, /container_mode=cdb 需要连接到 CDB 根容器.*ORCL \(CON_ID 0\)/);
    assert.equal(
      msgText(err.msg!, 'en'),
      'container_mode=cdb needs a session in the CDB root (the service name of CDB$ROOT); this session is in ORCL (CON_ID 0)',
    );
  });

  test('a missing grant is a permission error naming the view and the GRANT that fixes it', async () => {
    const answers = nonCdbAnswers();
    answers.set(spacesSql('dba'), ORA_00942());
    const err = await collectTablespaces(fakeRun(answers, ['dba_tablespace_usage_metrics']), settings(), 19).catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'permission');
    assert.match(err.message, /无法读取 DBA_TABLESPACE_USAGE_METRICS /);
    assert.ok(err.message.includes('GRANT SELECT_CATALOG_ROLE TO whalefall;'), err.message);
    assert.ok(err.message.includes('GRANT SELECT ON sys.dba_tablespace_usage_metrics TO whalefall;'), err.message);
    assert.ok(!err.message.includes('DBA_DATA_FILES'), 'only the missing view is named');
    // By key: a failed sync record shows it in English in the English UI.
    assert.equal(err.msg?.key, 'api.engine.ora_missing_views');
    assert.equal(
      msgText(err.msg!, 'en'),
      'Missing grants: cannot read DBA_TABLESPACE_USAGE_METRICS. Fix: GRANT SELECT_CATALOG_ROLE TO whalefall; or, per view as SYS: GRANT SELECT ON sys.dba_tablespace_usage_metrics TO whalefall;',
    );
  });

  test('ORA-01031 is handled like ORA-00942; a grant error no probe confirms stays the driver error', async () => {
    const answers = nonCdbAnswers();
    answers.set(filesSql('dba', 'data'), oraError(1031, 'ORA-01031: insufficient privileges'));
    const err = await collectTablespaces(fakeRun(answers), settings(), 19).catch((e: unknown) => e);
    assert.equal((err as { code?: string }).code, 'ORA-01031');
    const classified = engine.classifyError(err, target());
    assert.equal(classified.code, 'permission');
    assert.match(classified.message, /^权限不足: ORA-01031: insufficient privileges/);
  });

  test('a value the driver would not produce for a byte count is a data error, not a silent 0', async () => {
    const answers = nonCdbAnswers();
    answers.set(filesSql('dba', 'data'), resultSet([file({ ts: 'HUGE', bytes: '9007199254740993' })]));
    const err = await collectTablespaces(fakeRun(answers), settings(), 19).catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'data');
  });
});

describe('Oracle: the aggregation on per-file rows (driver-shaped), case by case', () => {
  const sets = (over: Partial<Parameters<typeof mapTablespaces>[1]>): Parameters<typeof mapTablespaces>[1] => ({
    dataFiles: [],
    tempFiles: [],
    spaces: [],
    tempFree: [],
    undo: [],
    ...over,
  });
  const one = (dbs: CollectedDatabase[], name: string) => dbs.find((d) => d.database_name === name)!;

  test('TEMP mostly free after a restart: used from DBA_TEMP_FREE_SPACE, not the metrics that count every extent ever taken', () => {
    const { databases } = mapTablespaces(
      'dba',
      sets({
        tempFiles: resultSet([file({ ts: 'TEMP', bytes: 8 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }), file({ ts: 'TEMP', id: 2, bytes: 8 * GiB })]),
        spaces: resultSet([space({ ts: 'TEMP', contents: 'TEMPORARY', used: 16 * GiB })]),
        tempFree: resultSet([tempFree({ ts: 'TEMP', size: 16 * GiB, free: 16 * GiB - 64 * MiB })]),
      }),
      { temp: true, major: 19 },
    );
    const t = one(databases, 'TEMP');
    assert.deepEqual(
      [t.size_bytes, t.used_bytes, t.free_bytes, t.max_bytes, t.method],
      [16 * GiB, 64 * MiB, 16 * GiB - 64 * MiB, Number(AUTOEXTEND_SMALLFILE_MAX) + 8 * GiB, 'dba_temp_files+temp_free_space'],
    );
  });

  test('an autoextensible file resized past its MAXSIZE (MAXBYTES < BYTES): its limit is its size, never below it', () => {
    const { databases } = mapTablespaces(
      'dba',
      sets({
        dataFiles: resultSet([file({ ts: 'LOB', bytes: 3 * GiB, max: String(GiB) }), file({ ts: 'LOB', id: 2, bytes: GiB, max: String(4 * GiB) })]),
        tempFiles: resultSet([file({ ts: 'TEMP', bytes: 2 * GiB, max: String(GiB) })]),
        spaces: resultSet([space({ ts: 'LOB', contents: 'PERMANENT', used: GiB }), space({ ts: 'TEMP', contents: 'TEMPORARY', used: 0 })]),
        tempFree: resultSet([tempFree({ ts: 'TEMP', size: 2 * GiB, free: 2 * GiB })]),
      }),
      { temp: true, major: 19 },
    );
    assert.deepEqual([one(databases, 'LOB').max_bytes, one(databases, 'TEMP').max_bytes], [3 * GiB + 4 * GiB, 2 * GiB]);
  });

  test('UNDO with expired extents: used = ACTIVE + UNEXPIRED, labelled by its method', () => {
    const { databases } = mapTablespaces(
      'dba',
      sets({
        dataFiles: resultSet([file({ ts: 'UNDOTBS1', bytes: 10 * GiB })]),
        spaces: resultSet([space({ ts: 'UNDOTBS1', contents: 'UNDO', used: 10 * GiB })]),
        undo: resultSet([
          undo({ ts: 'UNDOTBS1', status: 'ACTIVE', bytes: 50 * MiB }),
          undo({ ts: 'UNDOTBS1', status: 'UNEXPIRED', bytes: 2 * GiB }),
          undo({ ts: 'UNDOTBS1', status: 'EXPIRED', bytes: 7 * GiB }),
        ]),
      }),
      { temp: true, major: 19 },
    );
    const u = one(databases, 'UNDOTBS1');
    assert.deepEqual([u.used_bytes, u.free_bytes, u.method], [2 * GiB + 50 * MiB, 8 * GiB - 50 * MiB, 'dba_data_files+undo_extents']);
  });

  test('max_bytes on 18c+: the lower of the file limit and TABLESPACE_SIZE (disk free space); never below allocated; 12c keeps the file limit', () => {
    const input = sets({
      dataFiles: resultSet([
        file({ ts: 'USERS', bytes: 5 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        file({ ts: 'FULLDISK', id: 2, bytes: 5 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
      ]),
      spaces: resultSet([
        // 5 GiB allocated, 32 GiB of file limit, 20 GiB free on the disk: about 25 GiB (the 19c documentation's example).
        space({ ts: 'USERS', contents: 'PERMANENT', used: 4 * GiB, size: 25 * GiB }),
        // A metric below the allocation (files grown since): allocated is the floor.
        space({ ts: 'FULLDISK', contents: 'PERMANENT', used: 4.5 * GiB, size: 4 * GiB }),
      ]),
    });
    const v19 = mapTablespaces('dba', input, { temp: true, major: 19 });
    assert.deepEqual([one(v19.databases, 'USERS').max_bytes, one(v19.databases, 'FULLDISK').max_bytes], [25 * GiB, 5 * GiB]);
    assert.ok(
      v19.warnings.some((w) => w.startsWith('FULLDISK: 已用 90.0%')),
      'near full against the disk, not against 32 GiB',
    );
    assert.ok(!v19.warnings.some((w) => w.startsWith('USERS')));
    const v12 = mapTablespaces('dba', input, { temp: true, major: 12 });
    assert.deepEqual(
      [one(v12.databases, 'USERS').max_bytes, one(v12.databases, 'FULLDISK').max_bytes],
      [Number(AUTOEXTEND_SMALLFILE_MAX), Number(AUTOEXTEND_SMALLFILE_MAX)],
    );
  });

  test("a PDB with MAX_PDB_STORAGE: each tablespace bounded by the PDB's headroom, warned at 90 %", () => {
    const { databases, warnings } = mapTablespaces(
      'dba',
      sets({
        dataFiles: resultSet([
          file({ ts: 'SYSTEM', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ ts: 'USERS', id: 2, bytes: 10 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        ]),
        spaces: resultSet([space({ ts: 'SYSTEM', contents: 'PERMANENT', used: GiB / 2 }), space({ ts: 'USERS', contents: 'PERMANENT', used: 9 * GiB })]),
        pdbStorage: resultSet([{ PROPERTY_VALUE: String(12 * GiB) }]),
      }),
      { temp: true, major: 12, conName: 'SALES' },
    );
    assert.deepEqual([one(databases, 'SYSTEM').max_bytes, one(databases, 'USERS').max_bytes], [2 * GiB, 11 * GiB]);
    assert.ok(warnings.includes('SALES: 数据文件已占 MAX_PDB_STORAGE 的 91.7% (data files at 11.00 GB of MAX_PDB_STORAGE 12.00 GB)'), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith('USERS: 已用 81.8%')) === false, 'USERS at 9 of 11 GiB is 81.8 %: no tablespace warning');
  });

  test('an optional view not granted: the collection goes on, those numbers unknown, the GRANT named', async () => {
    const answers = nonCdbAnswers();
    answers.set(undoSql('dba'), ORA_00942());
    answers.set(tempFreeSql('dba'), ORA_00942());
    const { databases, warnings } = await collectTablespaces(fakeRun(answers), settings(), 19);
    assert.deepEqual([one(databases, 'UNDOTBS1').used_bytes, one(databases, 'TEMP').used_bytes, one(databases, 'USERS').used_bytes], [null, null, 10200547328]);
    assert.ok(
      warnings.includes(
        'UNDO 已用空间未知 (undo used bytes unknown): 无法读取 DBA_UNDO_EXTENTS (cannot read DBA_UNDO_EXTENTS): GRANT SELECT ON sys.dba_undo_extents TO whalefall;',
      ),
      warnings.join('\n'),
    );
    assert.ok(warnings.some((w) => w.startsWith('TEMP 已用空间未知') && w.includes('GRANT SELECT ON sys.dba_temp_free_space TO whalefall;')));
    assert.ok(
      english.includes('UNDO used bytes unknown: cannot read DBA_UNDO_EXTENTS: GRANT SELECT ON sys.dba_undo_extents TO whalefall;'),
      english.join('\n'),
    );
  });
});

describe('Oracle: CDB root collection', () => {
  const containers = (extra: Record<string, string | Num | null>[] = []) =>
    resultSet([
      { CON_ID: num(1), NAME: 'CDB$ROOT', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
      { CON_ID: num(2), NAME: 'PDB$SEED', OPEN_MODE: 'READ ONLY', RESTRICTED: 'NO' },
      { CON_ID: num(3), NAME: 'SALES', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
      { CON_ID: num(4), NAME: 'HR', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
      ...extra,
    ]);

  function cdbAnswers(): Map<string, OracleRow[] | Error> {
    return new Map<string, OracleRow[] | Error>([
      ...sessionAnswers(),
      [LOCATE_SQL, locate('1', 'CDB$ROOT')],
      [CONTAINERS_SQL, containers()],
      [
        filesSql('cdb', 'data'),
        resultSet([
          file({ con: 1, ts: 'SYSTEM', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 1, ts: 'UNDOTBS1', id: 2, bytes: 2 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 2, ts: 'SYSTEM', id: 3, bytes: '283115520', max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 3, ts: 'SYSTEM', id: 4, bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 3, ts: 'USERS', id: 5, bytes: MAX_SAFE }),
          file({ con: 4, ts: 'SYSAUX', id: 6, bytes: '2147483648', max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 4, ts: 'USERS', id: 7, bytes: 30 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        ]),
      ],
      [
        filesSql('cdb', 'temp'),
        resultSet([
          file({ con: 1, ts: 'TEMP', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 2, ts: 'TEMP', id: 2, bytes: '20971520', max: AUTOEXTEND_SMALLFILE_MAX }),
          file({ con: 3, ts: 'TEMP', id: 3, bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        ]),
      ],
      [
        spacesSql('cdb'),
        resultSet([
          space({ con: 1, ts: 'SYSTEM', contents: 'PERMANENT', used: '899989504' }),
          space({ con: 1, ts: 'UNDOTBS1', contents: 'UNDO', used: '104857600' }),
          space({ con: 1, ts: 'TEMP', contents: 'TEMPORARY', used: '0' }),
          space({ con: 2, ts: 'SYSTEM', contents: 'PERMANENT', used: '272629760' }),
          space({ con: 2, ts: 'TEMP', contents: 'TEMPORARY', used: '0' }),
          space({ con: 3, ts: 'SYSTEM', contents: 'PERMANENT', used: '799997952' }),
          space({ con: 3, ts: 'USERS', contents: 'PERMANENT', used: '9006999999995904' }), // 99.998 % of 2^53 - 1
          space({ con: 3, ts: 'TEMP', contents: 'TEMPORARY', used: '2097152' }),
          space({ con: 4, ts: 'SYSAUX', contents: 'PERMANENT', used: '1073741824' }),
          space({ con: 4, ts: 'USERS', contents: 'PERMANENT', used: '31138512896' }), // 29 GiB of 32 GiB autoextend max: 90.6 %
        ]),
      ],
      [
        tempFreeSql('cdb'),
        resultSet([
          tempFree({ con: 1, ts: 'TEMP', size: GiB, free: GiB }),
          tempFree({ con: 2, ts: 'TEMP', size: 20971520, free: 20971520 }),
          tempFree({ con: 3, ts: 'TEMP', size: GiB, free: GiB - 2 * MiB }),
        ]),
      ],
      [
        undoSql('cdb'),
        resultSet([undo({ con: 1, ts: 'UNDOTBS1', status: 'UNEXPIRED', bytes: 100 * MiB }), undo({ con: 1, ts: 'UNDOTBS1', status: 'EXPIRED', bytes: GiB })]),
      ],
      // HR may hold 40 GiB in all: its 32 GiB of data files leave 8 GiB, which bounds HR/SYSAUX below its autoextend limit.
      [
        pdbStorageSql('cdb'),
        resultSet([
          { CON_ID: num(3), PROPERTY_VALUE: 'UNLIMITED' },
          { CON_ID: num(4), PROPERTY_VALUE: String(40 * GiB) },
        ]),
      ],
    ]);
  }

  test('rows named CONTAINER/TABLESPACE, seed skipped and said so, temp apart, MAX_PDB_STORAGE applied, near-max warnings per PDB', async () => {
    const run = fakeRun(cdbAnswers());
    const { databases, warnings } = await collectTablespaces(run, settings(), 19);
    assert.deepEqual(run.log, [
      LOCATE_SQL,
      CONTAINERS_SQL,
      filesSql('cdb', 'data'),
      filesSql('cdb', 'temp'),
      spacesSql('cdb'),
      tempFreeSql('cdb'),
      undoSql('cdb'),
      pdbStorageSql('cdb'),
    ]);
    const cdb = { method: 'cdb_data_files' };
    const temp = { method: 'cdb_temp_files+temp_free_space', is_system: true, max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) };
    assert.deepEqual(databases, [
      measured('CDB$ROOT/SYSTEM', GiB, 899989504, { ...cdb, is_system: true, max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) }),
      measured('CDB$ROOT/TEMP', GiB, 0, temp),
      measured('CDB$ROOT/UNDOTBS1', 2 * GiB, 100 * MiB, {
        method: 'cdb_data_files+undo_extents',
        is_system: true,
        max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX),
      }),
      measured('HR/SYSAUX', 2147483648, 1073741824, { ...cdb, is_system: true, max_bytes: 10 * GiB }),
      measured('HR/USERS', 30 * GiB, 29 * GiB, { ...cdb, max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) }),
      measured('SALES/SYSTEM', GiB, 799997952, { ...cdb, is_system: true, max_bytes: Number(AUTOEXTEND_SMALLFILE_MAX) }),
      measured('SALES/TEMP', GiB, 2 * MiB, temp),
      measured('SALES/USERS', 9007199254740991, 9006999999995904, { ...cdb, max_bytes: Number(MAX_SAFE) }),
    ]);
    // In the order the view returned the files (SALES is CON_ID 3, HR 4).
    assert.deepEqual(warnings, [
      'SALES/USERS: 已用 100.0% 的最大容量 (含自动扩展上限) (used 8.00 PB of max 8.00 PB incl. autoextend)',
      'HR/USERS: 已用 90.6% 的最大容量 (含自动扩展上限) (used 29.00 GB of max 32.00 GB incl. autoextend)',
      'PDB$SEED 未计入: CDB 总量不是磁盘占用 (PDB$SEED is not counted: the CDB total is not the disk used)',
    ]);
  });

  test('used above the allocation (a file grew between the two reads) leaves free unknown, used kept', async () => {
    const answers = cdbAnswers();
    const spaces = answers.get(spacesSql('cdb')) as OracleRow[];
    answers.set(
      spacesSql('cdb'),
      spaces.map((r) => (r.CON_ID === '4' && r.TABLESPACE_NAME === 'USERS' ? { ...r, USED_SPACE: String((31 * GiB) / BLOCK) } : r)),
    );
    const { databases } = await collectTablespaces(fakeRun(answers), settings(), 19);
    const hr = databases.find((d) => d.database_name === 'HR/USERS')!;
    assert.equal(hr.size_bytes, 30 * GiB);
    assert.equal(hr.used_bytes, 31 * GiB);
    assert.equal(hr.free_bytes, null);
  });

  test('mapping alone: a PDB newer than the container list keeps its id; a tablespace without datafiles is unknown, not 0', () => {
    const { databases } = mapTablespaces(
      'cdb',
      {
        containers: containers(),
        dataFiles: resultSet([file({ con: 7, ts: 'USERS', bytes: GiB })]),
        tempFiles: null,
        spaces: resultSet([
          space({ con: 7, ts: 'USERS', contents: 'PERMANENT', used: '1048576' }),
          space({ con: 3, ts: 'NEWTS', contents: 'PERMANENT', used: null }),
        ]),
        tempFree: null,
        undo: [],
      },
      { temp: false, major: 19 },
    );
    assert.deepEqual(databases, [
      measured('CON_ID 7/USERS', GiB, 1048576, { method: 'cdb_data_files', max_bytes: GiB }),
      row({ database_name: 'SALES/NEWTS', method: 'cdb_data_files', error: '未找到数据文件 (no datafiles found: created or dropped during the collection?)' }),
    ]);
  });

  test('closed and RESTRICTED PDBs are listed from the control file with an error, not dropped', async () => {
    const answers = cdbAnswers();
    answers.set(
      CONTAINERS_SQL,
      containers([
        { CON_ID: num(5), NAME: 'ARCHIVE', OPEN_MODE: 'MOUNTED', RESTRICTED: null },
        { CON_ID: num(6), NAME: 'MAINT', OPEN_MODE: 'READ WRITE', RESTRICTED: 'YES' },
      ]),
    );
    answers.set(
      CONTROLFILE_TABLESPACES_SQL,
      resultSet([
        { CON_ID: num(3), TABLESPACE_NAME: 'USERS', IS_TEMP: 'NO' },
        { CON_ID: num(5), TABLESPACE_NAME: 'SYSTEM', IS_TEMP: 'NO' },
        { CON_ID: num(5), TABLESPACE_NAME: 'ARCH_DATA', IS_TEMP: 'NO' },
        { CON_ID: num(5), TABLESPACE_NAME: 'TEMP', IS_TEMP: 'YES' },
        { CON_ID: num(6), TABLESPACE_NAME: 'USERS', IS_TEMP: 'NO' },
      ]),
    );
    const run = fakeRun(answers);
    const { databases, warnings } = await collectTablespaces(run, settings(), 19);
    assert.equal(run.log.at(-1), CONTROLFILE_TABLESPACES_SQL);
    const closed = databases.filter((d) => d.method === 'v$tablespace');
    assert.deepEqual(
      closed.map((d) => [d.database_name, d.is_system, d.size_bytes, d.error]),
      [
        ['ARCHIVE/ARCH_DATA', false, null, 'PDB 状态为 MOUNTED，无法测量 (PDB is MOUNTED: CDB_ views omit it)'],
        ['ARCHIVE/SYSTEM', true, null, 'PDB 状态为 MOUNTED，无法测量 (PDB is MOUNTED: CDB_ views omit it)'],
        ['ARCHIVE/TEMP', true, null, 'PDB 状态为 MOUNTED，无法测量 (PDB is MOUNTED: CDB_ views omit it)'],
        ['MAINT/USERS', false, null, 'PDB 状态为 READ WRITE RESTRICTED，无法测量 (PDB is READ WRITE RESTRICTED: CDB_ views omit it)'],
      ],
    );
    assert.ok(
      warnings.includes('ARCHIVE (MOUNTED), MAINT (READ WRITE RESTRICTED): PDB 未打开，其表空间未测量 (PDBs not open: tablespaces listed, not measured)'),
    );

    const withoutTemp = await collectTablespaces(fakeRun(answers), settings({ temp: false }), 19);
    assert.ok(!withoutTemp.databases.some((d) => d.database_name.endsWith('/TEMP')));
  });

  test('a common user without CONTAINER_DATA sees only the root: permission error with the fix', async () => {
    const answers = cdbAnswers();
    answers.set(CONTAINERS_SQL, resultSet([{ CON_ID: num(1), NAME: 'CDB$ROOT', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' }]));
    const run = fakeRun(answers);
    const err = await collectTablespaces(run, settings({ user: 'c##whalefall' }), 19).catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'permission');
    assert.ok(err.message.includes('ALTER USER c##whalefall SET CONTAINER_DATA=ALL CONTAINER=CURRENT;'), err.message);
    assert.ok(!run.log.includes(filesSql('cdb', 'data')), 'stops before reading sizes it would under-count');
  });

  test('an explicit CONTAINER_DATA list is collected with a warning', async () => {
    const answers = cdbAnswers();
    answers.set(
      CONTAINERS_SQL,
      resultSet([
        { CON_ID: num(1), NAME: 'CDB$ROOT', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
        { CON_ID: num(3), NAME: 'SALES', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' },
      ]),
    );
    const { warnings } = await collectTablespaces(fakeRun(answers), settings(), 19);
    assert.match(warnings[0]!, /^CONTAINER_DATA 为指定列表/);
    assert.deepEqual(containerDataOf([{ id: 1, name: 'CDB$ROOT' }]), 'root_only');
  });

  test('missing CDB_ view grants name the common-user grant (CONTAINER=ALL)', async () => {
    const answers = cdbAnswers();
    answers.set(filesSql('cdb', 'data'), ORA_00942());
    const err = await collectTablespaces(fakeRun(answers, ['cdb_data_files']), settings({ user: 'c##whalefall' }), 19).catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'permission');
    assert.ok(err.message.includes('GRANT SELECT_CATALOG_ROLE TO c##whalefall CONTAINER=ALL;'), err.message);
    assert.ok(err.message.includes('GRANT SELECT ON sys.cdb_data_files TO c##whalefall CONTAINER=ALL;'), err.message);
  });

  test('doctor in the root: every view, CONTAINER_DATA, and the fixes', async () => {
    const answers = cdbAnswers();
    answers.set(CONTAINERS_SQL, resultSet([{ CON_ID: num(1), NAME: 'CDB$ROOT', OPEN_MODE: 'READ WRITE', RESTRICTED: 'NO' }]));
    const checks = await doctorChecks(fakeRun(answers, ['v$tempfile']), settings({ user: 'c##whalefall' }));
    assert.deepEqual(
      checks.map((c) => [c.name, c.ok]),
      [
        ['CREATE SESSION', true],
        ['SELECT ON V$CONTAINERS', true],
        ['SELECT ON CDB_DATA_FILES', true],
        ['SELECT ON CDB_TABLESPACES', true],
        ['SELECT ON CDB_TABLESPACE_USAGE_METRICS', true],
        ['SELECT ON CDB_TEMP_FILES', true],
        ['SELECT ON V$TABLESPACE', true],
        ['SELECT ON V$TEMPFILE', false],
        ['SELECT ON CDB_UNDO_EXTENTS', true],
        ['SELECT ON CDB_TEMP_FREE_SPACE', true],
        ['SELECT ON CDB_PROPERTIES', true],
        ['CONTAINER_DATA=ALL', false],
        ['SELECT ON V$LOG', true],
        ['SELECT ON V$RECOVERY_FILE_DEST', true],
        ['TLS', true],
      ],
    );
    assert.deepEqual(checks[7]!.fix, [
      'GRANT SELECT ON sys.v_$tempfile TO c##whalefall CONTAINER=ALL;',
      'GRANT SELECT_CATALOG_ROLE TO c##whalefall CONTAINER=ALL;',
    ]);
    assert.deepEqual(checks[11]!.fix, ['ALTER USER c##whalefall SET CONTAINER_DATA=ALL CONTAINER=CURRENT;']);
    assert.ok(checks[11]!.undercounts);
  });
});

describe('Oracle: doctor outside the root', () => {
  test('non-CDB: one check per DBA_ view, a missing one with its GRANT and what it under-counts', async () => {
    const checks = await doctorChecks(fakeRun(nonCdbAnswers(), ['dba_temp_files', 'v$recovery_file_dest']), settings());
    assert.deepEqual(
      checks.map((c) => [c.name, c.ok]),
      [
        ['CREATE SESSION', true],
        ['SELECT ON DBA_DATA_FILES', true],
        ['SELECT ON DBA_TABLESPACES', true],
        ['SELECT ON DBA_TABLESPACE_USAGE_METRICS', true],
        ['SELECT ON DBA_TEMP_FILES', false],
        ['SELECT ON DBA_UNDO_EXTENTS', true],
        ['SELECT ON DBA_TEMP_FREE_SPACE', true],
        ['SELECT ON V$LOG', true],
        ['SELECT ON V$RECOVERY_FILE_DEST', false],
        ['TLS', true],
      ],
    );
    assert.deepEqual(checks[8]!.fix, ['GRANT SELECT ON sys.v_$recovery_file_dest TO whalefall;', 'GRANT SELECT_CATALOG_ROLE TO whalefall;']);
    assert.match(checks[8]!.undercounts!, /recovery area/);
    assert.equal(checks[0]!.detail, '已连接 (connected) to non-CDB');
    // By key, like the PostgreSQL/MySQL lines: the English UI (and Accept-Language: en) gets English details.
    assert.deepEqual(
      checks.map((c) => c.detail_key),
      [
        ...['doctor.oracle.connected', ...Array<string>(8).fill('doctor.oracle.readable')].map((k, i) => (i === 4 || i === 8 ? 'doctor.oracle.unreadable' : k)),
        'doctor.tls_plain',
      ],
    );
    const en = checks.map((c) => localizeCheck(c, 'en'));
    assert.equal(en[0]!.detail, 'Connected to non-CDB');
    assert.equal(en[4]!.detail, 'not readable (ORA-00942/ORA-01031)');
    assert.ok(
      en.every((c) => !/[\u4e00-\u9fff]/.test(c.detail)),
      en.map((c) => c.detail).join(' | '),
    );
    assert.equal(en[4]!.undercounts_key, 'doctor.oracle.uc.temp_files');
    assert.equal(en[4]!.undercounts, 'temporary tablespaces: nothing is collected while temp=true');
    assert.deepEqual(checks[4]!.fix, ['GRANT SELECT ON sys.dba_temp_files TO whalefall;', 'GRANT SELECT_CATALOG_ROLE TO whalefall;']);
    assert.match(checks[4]!.undercounts!, /temporary tablespaces/);
  });

  test("the TLS line: TCPS, native network encryption (the session's adapter banner), plain, or unknown without the view", async () => {
    const tlsLine = async (answers: Map<string, OracleRow[] | Error>) => (await doctorChecks(fakeRun(answers), settings())).find((c) => c.name === 'TLS')!;
    const plain = await tlsLine(nonCdbAnswers());
    assert.equal(plain.detail_key, 'doctor.tls_plain');
    assert.equal(localizeCheck(plain, 'en').detail, 'Not encrypted (mode tcp; the traffic can be read on the network)');
    const tcps = await tlsLine(new Map([...nonCdbAnswers(), ...sessionAnswers({ protocol: 'tcps' })]));
    assert.equal(localizeCheck(tcps, 'en').detail, 'Encrypted: TCPS (Oracle Net over TLS)');
    const nne = await tlsLine(new Map([...nonCdbAnswers(), ...sessionAnswers({ adapter: 'AES256' })]));
    assert.equal(nne.detail_key, 'doctor.oracle.native_encryption');
    assert.equal(localizeCheck(nne, 'en').detail, 'Encrypted: Oracle native network encryption AES256 (protocol tcp)');
    assert.equal(nne.detail, '已加密: Oracle 原生网络加密 AES256 (协议 tcp)');
    const hidden = nonCdbAnswers();
    hidden.set(SESSION_BANNERS_SQL, ORA_00942());
    assert.equal((await tlsLine(hidden)).detail_key, 'doctor.oracle.encryption_unknown');
  });

  test('container_mode=cdb in a PDB: doctor says why instead of probing the wrong views', async () => {
    const answers = nonCdbAnswers();
    answers.set(LOCATE_SQL, locate('3', 'SALES'));
    const checks = await doctorChecks(fakeRun(answers), settings({ containerMode: 'cdb' }));
    assert.deepEqual(
      checks.map((c) => [c.name, c.ok]),
      [
        ['CREATE SESSION', true],
        ['container_mode', false],
      ],
    );
    assert.equal(checks[1]!.detail_key, 'doctor.oracle.refused_cdb');
    assert.match(checks[1]!.detail, /^container_mode=cdb 需要连接到 CDB 根容器/);
    assert.equal(
      localizeCheck(checks[1]!, 'en').detail,
      'container_mode=cdb needs a session in the CDB root (the service name of CDB$ROOT); this session is in SALES (CON_ID 3)',
    );
  });
});
