/**
 * The SQL Server arithmetic on per-file rows, without a server: each case of
 * docs/engines.md "SQL Server" as the rows a real server returns for it. The
 * same cases run end to end through mssql/tedious in test/engines/sqlserver.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  aggregateDatabases,
  fileLimit,
  isSystemDatabase,
  noSideFacts,
  type FileRow,
  type Measured,
  type SideFacts,
} from '../../src/engines/sqlserver/sqlserver.aggregate.js';
import { isMsg, textOf } from '../../src/client/shared/i18n/index.js';

const P = 8192;
const TB2_PAGES = 268_435_456n; // 2 TiB in 8 KB pages

/** A file row as mssql delivers it (BIGINT as a string); defaults: an ONLINE user database, ROWS file, unlimited growth by 64 MB. */
function file(over: Partial<FileRow> & { database_id: number; name: string }): FileRow {
  return {
    state_desc: 'ONLINE',
    source_database_id: null,
    is_distributor: false,
    in_ag: 0,
    file_id: 1,
    type: 0,
    size_pages: '1024',
    max_size: -1,
    growth: 8192,
    is_sparse: false,
    current_pages: null,
    ...over,
  };
}

/**
 * The aggregation, its warnings as zh-CN text (the API's own words) and in English. Every warning is by key
 * (issue #20 item 2): the English text carries no Chinese beyond what the test's own facts put in.
 */
function run(rows: FileRow[], facts: Partial<SideFacts> = {}): { byName: Map<string, Measured>; warnings: string[]; english: string[] } {
  const { measured, warnings } = aggregateDatabases(rows, { ...noSideFacts(), ...facts }, 'dba');
  for (const w of warnings) assert.ok(isMsg(w), `a warning by key, not text: ${JSON.stringify(w)}`);
  const english = warnings.map((w) => textOf(w, 'en'));
  const factText = JSON.stringify(facts, (_k, v: unknown) => (v instanceof Map ? [...v] : v));
  for (const e of english)
    assert.ok(!/[\u4e00-\u9fff]/.test(e.replace(/\([^)]*\)/g, '')) || /[\u4e00-\u9fff]/.test(factText), `English text without Chinese: ${e}`);
  return { byName: new Map(measured.map((m) => [m.db.database_name, m])), warnings: warnings.map((w) => textOf(w)), english };
}

describe('SQL Server aggregation (pure)', () => {
  test('tempdb grown past its start-up size: the current size from tempdb.sys.database_files', () => {
    const { byName } = run([
      file({ database_id: 2, name: 'tempdb', file_id: 1, size_pages: '1024', current_pages: '131072' }),
      file({ database_id: 2, name: 'tempdb', file_id: 2, type: 1, size_pages: '64', current_pages: '8192' }),
    ]);
    const t = byName.get('tempdb')!.db;
    assert.deepEqual([t.data_bytes, t.log_bytes, t.size_bytes, t.is_system], [131072 * P, 8192 * P, (131072 + 8192) * P, true]);
  });

  test('a snapshot of a 2 TiB database: its bytes on disk, the sparse maximum as its limit, flagged and named after its source', () => {
    const { byName, warnings } = run(
      [
        file({ database_id: 5, name: 'sales', size_pages: String(TB2_PAGES) }),
        file({ database_id: 9, name: 'sales_snap', source_database_id: 5, size_pages: String(TB2_PAGES), is_sparse: true }),
      ],
      { snapshotDisk: new Map([['9/1', '3145728']]) },
    );
    const s = byName.get('sales_snap')!;
    assert.deepEqual(
      [s.db.size_bytes, s.db.data_bytes, s.db.log_bytes, s.db.max_bytes, s.db.is_snapshot, s.db.method, s.readable],
      [3_145_728, 3_145_728, 0, Number(TB2_PAGES) * P, true, 'dm_io_virtual_file_stats', false],
    );
    assert.equal(byName.get('sales')!.db.is_snapshot, undefined);
    assert.ok(warnings.some((w) => w.startsWith('sales_snap: 数据库快照 (源 sales)') && w.includes('not in the estate total')));
  });

  test('a snapshot whose on-disk bytes could not be read is unknown, never its 2 TiB maximum', () => {
    const { byName } = run([file({ database_id: 9, name: 'snap', source_database_id: 5, size_pages: String(TB2_PAGES) })], {
      snapshotDisk: { error: '权限不足: VIEW SERVER STATE' },
    });
    const s = byName.get('snap')!.db;
    assert.deepEqual([s.size_bytes, s.is_snapshot], [null, true]);
    assert.match(s.error!, /snapshot on-disk size unknown: 权限不足: VIEW SERVER STATE/);
  });

  test('growth = 0 bounds a file at its size even with max_size = -1; the database limit is known', () => {
    assert.equal(fileLimit(1000n, -1, 0), 1000n);
    assert.equal(fileLimit(1000n, 0, 128), 1000n);
    assert.equal(fileLimit(1000n, -1, 128), null);
    assert.equal(fileLimit(1000n, 500, 128), 1000n, 'a file resized past its max_size is bounded by its size');
    assert.equal(fileLimit(1000n, 4000, 128), 4000n);
    const { byName } = run([
      file({ database_id: 7, name: 'fixed', file_id: 1, size_pages: '1000', max_size: -1, growth: 0 }),
      file({ database_id: 7, name: 'fixed', file_id: 2, type: 1, size_pages: '100', max_size: 268435456, growth: 0 }),
      file({ database_id: 8, name: 'open', file_id: 1, size_pages: '1000', max_size: -1, growth: 128 }),
      file({ database_id: 8, name: 'open', file_id: 2, type: 1, size_pages: '100', max_size: 12800, growth: 128 }),
    ]);
    assert.equal(byName.get('fixed')!.db.max_bytes, 1100 * P);
    assert.equal(byName.get('open')!.db.max_bytes, null, 'one unlimited file makes the database unlimited');
  });

  test('FILESTREAM and In-Memory OLTP containers: sizes from sys.database_files, counted as data, named', () => {
    const { byName, warnings } = run(
      [
        file({ database_id: 10, name: 'docs', file_id: 1, size_pages: '4096', max_size: 8192 }),
        file({ database_id: 10, name: 'docs', file_id: 2, type: 1, size_pages: '1024', max_size: 2048 }),
        file({ database_id: 10, name: 'docs', file_id: 65537, type: 2, size_pages: '0', max_size: 64000 }),
        file({ database_id: 10, name: 'docs', file_id: 65538, type: 2, size_pages: '0', max_size: 64000 }),
      ],
      {
        containers: new Map([
          [
            10,
            [
              { file_id: 65537, size_pages: '2560', filegroup_type: 'FD' },
              { file_id: 65538, size_pages: '640', filegroup_type: 'FX' },
            ],
          ],
        ]),
      },
    );
    const d = byName.get('docs')!.db;
    assert.deepEqual([d.data_bytes, d.log_bytes, d.size_bytes], [(4096 + 2560 + 640) * P, 1024 * P, (4096 + 2560 + 640 + 1024) * P]);
    assert.equal(d.max_bytes, (8192 + 2048 + 64000 + 64000) * P);
    assert.ok(
      warnings.includes(
        'docs: 1 个 FILESTREAM, 1 个 In-Memory OLTP 容器已按 sys.database_files 计入数据容量 (type-2 containers counted from sys.database_files)',
      ),
    );
    const { english } = run(
      [
        file({ database_id: 10, name: 'docs', file_id: 1, size_pages: '4096' }),
        file({ database_id: 10, name: 'docs', file_id: 65537, type: 2, size_pages: '0' }),
      ],
      { containers: new Map([[10, [{ file_id: 65537, size_pages: '640', filegroup_type: 'FX' }]]]) },
    );
    assert.deepEqual(english, ['docs: 1 In-Memory OLTP container(s) counted in the data size from sys.database_files']);
  });

  test('containers that could not be read are named in a warning and make the limit unknown', () => {
    const { byName, warnings } = run(
      [
        file({ database_id: 10, name: 'docs', file_id: 1, size_pages: '4096', max_size: 8192 }),
        file({ database_id: 10, name: 'docs', file_id: 65537, type: 2, size_pages: '0' }),
      ],
      { containers: new Map([[10, { error: '无权访问该数据库: 916' }]]) },
    );
    assert.deepEqual([byName.get('docs')!.db.size_bytes, byName.get('docs')!.db.max_bytes], [4096 * P, null]);
    assert.ok(warnings.includes('docs: 1 个 FILESTREAM / In-Memory OLTP 容器 (type 2) 未计入容量 (type-2 containers not counted: 无权访问该数据库: 916)'));
  });

  test('an availability-group secondary: flagged, and a non-readable one gets no used-space query', () => {
    const rows = [
      file({ database_id: 5, name: 'ag_hidden', in_ag: 1 }),
      file({ database_id: 6, name: 'ag_readable', in_ag: 1 }),
      file({ database_id: 7, name: 'ag_primary', in_ag: 1 }),
      file({ database_id: 8, name: 'plain' }),
      file({ database_id: 9, name: 'ag_intent', in_ag: 1 }),
    ];
    const { byName, warnings, english } = run(rows, {
      roles: new Map([
        [5, { database_id: 5, role_desc: 'SECONDARY', secondary_allow: 'NO' }],
        [6, { database_id: 6, role_desc: 'SECONDARY', secondary_allow: 'ALL' }],
        [7, { database_id: 7, role_desc: 'PRIMARY', secondary_allow: 'NO' }],
        // Read-intent only: our connections carry no ApplicationIntent=ReadOnly, so the server would answer 978.
        [9, { database_id: 9, role_desc: 'SECONDARY', secondary_allow: 'READ_ONLY' }],
      ]),
    });
    const roleAndReadable = (n: string, m = byName) => [m.get(n)!.db.replica_role, m.get(n)!.readable, m.get(n)!.db.size_bytes];
    assert.deepEqual(roleAndReadable('ag_hidden'), ['SECONDARY', false, 1024 * P]);
    assert.deepEqual(roleAndReadable('ag_readable'), ['SECONDARY', true, 1024 * P]);
    assert.deepEqual(roleAndReadable('ag_intent'), ['SECONDARY', false, 1024 * P]);
    assert.deepEqual(roleAndReadable('ag_primary'), ['PRIMARY', true, 1024 * P]);
    assert.deepEqual(roleAndReadable('plain'), [undefined, true, 1024 * P]);
    assert.ok(warnings.some((w) => w.startsWith('ag_hidden: 可用性组次要副本 (不可读)')));
    assert.ok(english.includes('ag_hidden: availability group secondary, not readable: counted on its primary, not in the estate total'), english.join('\n'));

    // The role DMV refused: counted where it is, and said so.
    const unknown = run(rows, { roles: { error: '权限不足 (缺少服务器级权限，如 VIEW SERVER STATE)' } });
    assert.deepEqual(roleAndReadable('ag_hidden', unknown.byName), ['UNKNOWN', true, 1024 * P]);
    assert.deepEqual(roleAndReadable('plain', unknown.byName), [undefined, true, 1024 * P]);
    assert.ok(unknown.warnings.some((w) => w.startsWith('ag_hidden: 在可用性组中但角色未知')));
  });

  test('a hostile server: odd types in role and filegroup columns are "unknown", never a crash', () => {
    const { byName } = run(
      [
        file({ database_id: 5, name: 'ag', in_ag: 1 }),
        file({ database_id: 6, name: 'fs', file_id: 1 }),
        file({ database_id: 6, name: 'fs', file_id: 65537, type: 2, size_pages: '0' }),
      ],
      {
        roles: new Map([[5, { database_id: 5, role_desc: 42 as unknown as string, secondary_allow: null }]]),
        containers: new Map([[6, [{ file_id: 65537, size_pages: '8', filegroup_type: null as unknown as string }]]]),
      },
    );
    assert.deepEqual([byName.get('ag')!.db.replica_role, byName.get('ag')!.readable], ['UNKNOWN', false]);
    assert.equal(byName.get('fs')!.db.size_bytes, (1024 + 8) * P);
  });

  test('system databases: ids 1-4, the distribution database, SSISDB', () => {
    assert.deepEqual(
      [
        { database_id: 4, name: 'msdb' },
        { database_id: 9, name: 'distribution', is_distributor: true },
        { database_id: 10, name: 'SSISDB' },
        { database_id: 11, name: 'sales' },
      ].map(isSystemDatabase),
      [true, true, true, false],
    );
  });

  test('no file visible: size unknown with the GRANT; offline kept with a warning', () => {
    const { byName, warnings } = run([
      file({ database_id: 5, name: 'hidden', file_id: null, type: null, size_pages: null, max_size: null, growth: null }),
      file({ database_id: 6, name: 'archive', state_desc: 'OFFLINE' }),
    ]);
    assert.match(byName.get('hidden')!.db.error!, /GRANT VIEW ANY DEFINITION TO \[dba\];/);
    assert.deepEqual([byName.get('archive')!.db.size_bytes, byName.get('archive')!.readable], [1024 * P, false]);
    assert.ok(warnings.some((w) => w.startsWith('archive: 状态为 OFFLINE')));
  });
});
