/**
 * The SQL Server collector end to end through the real mssql/tedious driver,
 * against the TDS responder (test/helpers/tds-responder.ts) playing a server
 * whose per-file rows are test/helpers/sqlserver-server.ts. Every
 * value crosses the wire in the type a real server sends (BIGINT page sums,
 * INT counts, NVARCHAR names), so what the engine sees is what the driver makes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import { startTdsResponder, type TdsResponder } from '../helpers/tds-responder.js';
import {
  acceptPassword,
  collectOnce,
  connectError,
  CONTAINER_QUERY,
  containers,
  DATABASES,
  type Db,
  FILES,
  find,
  identity,
  LIMIT_PAGES,
  masterFiles,
  pagesToBytes,
  ROLES,
  SNAPSHOT_ON_DISK,
  SNAPSHOT_QUERY,
  snapshotDisk,
  startServer,
  target,
  TB2_PAGES,
  TEMPDB_NOW,
  USED,
  usedSpace,
  WEIRD,
} from '../helpers/sqlserver-server.js';
import { textOf } from '../../src/client/shared/i18n/index.js';

describe('SQL Server engine through mssql/tedious against the TDS responder', () => {
  let server: TdsResponder;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('one server-wide query of per-file rows: data and log apart, system flagged, states kept, exact up to 2^53 bytes', async () => {
    const before = server.queries.length;
    const c = await collectOnce(target(server.port));
    const asked = server.queries.slice(before);

    assert.equal(asked.filter((q) => FILES.test(q)).length, 1);
    assert.equal(c.server_version, '16.0.4135.4 (Developer Edition (64-bit))');
    assert.deepEqual(c.databases.map((d) => d.database_name).sort(), DATABASES.map((d) => d.name).sort());

    const plain = DATABASES.filter((d) => !/^(too_big|tempdb|docs_fs|inmem|big_snap)/.test(d.name));
    for (const db of plain) {
      const d = find(c, db.name);
      assert.deepEqual(
        [d.is_system, d.data_bytes, d.log_bytes, d.size_bytes, d.index_bytes, d.free_bytes, d.used_bytes, d.method, d.error],
        [
          db.id <= 4 || db.name === 'distribution' || db.name === 'SSISDB',
          pagesToBytes(db.data),
          pagesToBytes(db.log),
          pagesToBytes(db.data + db.log),
          null,
          null,
          null,
          'sys.master_files',
          undefined,
        ],
        db.name,
      );
    }
    // Just under the limit survives to the byte.
    assert.equal(find(c, 'huge').size_bytes, 9_007_199_254_732_800);
    // File max size (the forecast limit): known for capped files, null when any file may grow without limit.
    assert.equal(find(c, 'sales').max_bytes, 10 * 1024 ** 3);
    assert.equal(find(c, 'master').max_bytes, null);
    assert.ok(Number.isSafeInteger(find(c, 'huge').size_bytes));

    // Past 2^53 bytes a JS number cannot hold the value exactly: that database alone gets a `data` error.
    for (const name of ['too_big', 'too_big_sum']) {
      const d = find(c, name);
      assert.deepEqual([d.size_bytes, d.data_bytes, d.log_bytes], [null, null, null], name);
      assert.match(d.error ?? '', /无法解析服务器返回的容量: .*out of range: 9007199254740992/, name);
    }

    // Not ONLINE: reported with the size of its files, named in a warning, never absent (= deleted).
    for (const [name, state] of [
      ['archive', 'OFFLINE'],
      ['restoring', 'RESTORING'],
    ]) {
      assert.ok(
        c.warnings.map((x) => textOf(x)).some((w) => w.startsWith(`${name}: 状态为 ${state}`) && w.includes('not deleted')),
        `${name} warned`,
      );
    }
  });

  test('the cases the old aggregate query miscounted, end to end through the driver', async () => {
    const before = server.queries.length;
    const c = await collectOnce(target(server.port));
    const asked = server.queries.slice(before);

    // 1. tempdb at its current size (tempdb.sys.database_files), not its start-up size.
    const tempdb = find(c, 'tempdb');
    assert.deepEqual([tempdb.data_bytes, tempdb.log_bytes], [pagesToBytes(TEMPDB_NOW.data), pagesToBytes(TEMPDB_NOW.log)]);

    // 2. A snapshot of a 2 TiB database: its bytes on disk, flagged, the sparse maximum as its limit.
    const snap = find(c, 'big_snap');
    assert.deepEqual(
      [snap.size_bytes, snap.is_snapshot, snap.max_bytes, snap.method],
      [Number(SNAPSHOT_ON_DISK), true, pagesToBytes(TB2_PAGES), 'dm_io_virtual_file_stats'],
    );
    assert.equal(find(c, 'big').is_snapshot, undefined);
    assert.deepEqual(
      asked.filter((q) => SNAPSHOT_QUERY.test(q)).map((q) => SNAPSHOT_QUERY.exec(q)![1]),
      ['16'],
      'only the snapshot is asked about',
    );

    // 3. growth = 0 with max_size = -1 is fixed size: the limit is the size.
    assert.equal(find(c, 'fixed').max_bytes, pagesToBytes(1100n));

    // 4. Type-2 containers counted from sys.database_files and named; an unreadable one named as not counted.
    const inmem = find(c, 'inmem');
    assert.equal(inmem.size_bytes, pagesToBytes(2048n + 512n + 2560n + 640n));
    assert.equal(inmem.max_bytes, pagesToBytes(4096n * 2n + 64_000n * 2n));
    assert.ok(
      c.warnings
        .map((x) => textOf(x))
        .includes('inmem: 1 个 FILESTREAM, 1 个 In-Memory OLTP 容器已按 sys.database_files 计入数据容量 (type-2 containers counted from sys.database_files)'),
    );
    assert.equal(find(c, 'docs_fs').size_bytes, pagesToBytes(4096n + 1024n));
    assert.ok(
      c.warnings
        .map((x) => textOf(x))
        .some((w) => w.startsWith('docs_fs: 1 个 FILESTREAM / In-Memory OLTP 容器 (type 2) 未计入容量') && w.includes('无权访问该数据库')),
      'unreadable containers named',
    );

    // 6. Availability groups: each copy flagged with this replica's role.
    assert.deepEqual(
      ['ag_hidden', 'ag_readable', 'ag_intent', 'ag_primary', 'sales'].map((n) => find(c, n).replica_role),
      ['SECONDARY', 'SECONDARY', 'SECONDARY', 'PRIMARY', undefined],
    );
    // A read-intent-only secondary is not entered (our connection has no ApplicationIntent=ReadOnly): its containers are named as not read.
    assert.ok(!asked.some((q) => CONTAINER_QUERY.exec(q)?.[1] === 'ag_intent'), 'no container query on a read-intent-only secondary');
    assert.ok(
      c.warnings
        .map((x) => textOf(x, 'en'))
        .includes('ag_intent: 1 FILESTREAM / In-Memory OLTP container(s) (type 2) not counted (the availability group secondary is not readable)'),
      c.warnings.map((x) => textOf(x, 'en')).join('\n'),
    );

    // 9. distribution and SSISDB are system databases.
    assert.deepEqual([find(c, 'distribution').is_system, find(c, 'SSISDB').is_system, find(c, 'sales').is_system], [true, true, false]);
  });

  test('Azure SQL Database (EngineEdition 5) is refused as unsupported, with the reason', async () => {
    const err = await connectError(target(server.port, { username: 'azure' }));
    assert.equal(err.code, 'unsupported');
    assert.match(err.message, /Azure SQL Database is not supported: no sys\.master_files/);
  });

  test('used-space mode: one query per ONLINE database, name bracket-quoted, a refusing database fails alone', async () => {
    const before = server.queries.length;
    const c = await collectOnce(target(server.port, { options: { used_space: true } }));
    const used = server.queries.slice(before).filter((q) => USED.test(q));

    assert.ok(
      used.some((q) => q.startsWith("USE [it's 库 [x]] 🐳];")),
      '] doubled inside the brackets',
    );
    assert.ok(
      !used.some((q) => /^USE \[(archive|restoring|too_big|big_snap|ag_hidden|ag_intent)\]/.test(q)),
      'offline, restoring, unmeasured, snapshot and non-readable (NO, or read-intent only) secondary databases are not entered',
    );
    assert.ok(
      used.some((q) => q.startsWith('USE [ag_readable];')),
      'a readable secondary is',
    );

    for (const name of ['sales', WEIRD, 'master', 'huge']) {
      const db = DATABASES.find((d) => d.name === name)!;
      const usedBytes = (db.data / 2n) * 8192n + db.log * 2048n;
      const d = find(c, name);
      assert.deepEqual(
        [d.used_bytes, d.free_bytes, d.size_bytes, d.method, d.error],
        [Number(usedBytes), Number((db.data + db.log) * 8192n - usedBytes), pagesToBytes(db.data + db.log), 'sys.master_files+used', undefined],
        name,
      );
    }
    const refused = find(c, 'docs_fs');
    assert.equal(refused.size_bytes, pagesToBytes(4096n + 1024n), 'allocated size kept');
    assert.equal(refused.used_bytes, null);
    assert.equal(refused.method, 'sys.master_files');
    assert.match(refused.error ?? '', /^已用空间: 无权访问该数据库: The server principal "dba" is not able to access/);
    assert.deepEqual([find(c, 'archive').used_bytes, find(c, 'archive').error], [null, undefined]);
  });

  test('DECIMAL page sums: exact below 2^53, refused above (tedious has already rounded them)', async () => {
    const decimal = { decimal: { precision: 38, scale: 0 } };
    const dbs: Db[] = [
      { id: 5, name: 'exact_decimal', data: LIMIT_PAGES - 1n, log: 0n },
      { id: 6, name: 'rounded_decimal', data: 9_007_199_254_740_993n, log: 1n },
    ];
    const decimalServer = await startServer((login) => masterFiles(login, decimal, dbs));
    try {
      const c = await collectOnce(target(decimalServer.port));
      assert.equal(find(c, 'exact_decimal').size_bytes, 9_007_199_254_732_800);
      const refused = find(c, 'rounded_decimal');
      assert.equal(refused.size_bytes, null);
      // The server said ...993; the driver delivered ...992 as a float: refused, not stored wrong.
      assert.match(refused.error ?? '', /无法精确读取 rounded_decimal file 1 pages: 9007199254740992/);
    } finally {
      await decimalServer.close();
    }
  });

  test('AG roles unreadable (no VIEW SERVER STATE): role UNKNOWN, counted, and the 976 of a non-readable secondary is classified for that database alone', async () => {
    const noRoles = await startTdsResponder({
      login: acceptPassword,
      handlers: [
        [/SERVERPROPERTY\('ProductVersion'\)/, identity],
        [FILES, (_s, _m, login) => masterFiles(login)],
        [ROLES, { error: { number: 300, class: 14, message: "VIEW SERVER STATE permission was denied on object 'server', database 'master'." } }],
        [USED, usedSpace],
        [CONTAINER_QUERY, containers],
        [SNAPSHOT_QUERY, snapshotDisk],
      ],
    });
    try {
      const c = await collectOnce(target(noRoles.port, { options: { used_space: true } }));
      const hidden = find(c, 'ag_hidden');
      assert.deepEqual([hidden.replica_role, hidden.size_bytes, hidden.used_bytes], ['UNKNOWN', pagesToBytes(640n + 64n), null]);
      assert.match(hidden.error ?? '', /^已用空间: 可用性组次要副本不可读 \(availability group secondary not readable\): The target database, 'ag_hidden'/);
      assert.equal(find(c, 'sales').error, undefined, 'the other databases are measured');
      // Role unknown, so a read-intent-only secondary is asked too: its 978 is classified for that database alone.
      assert.match(find(c, 'ag_intent').error ?? '', /^已用空间: 可用性组次要副本只接受 ApplicationIntent=ReadOnly 连接/);
      assert.equal(find(c, 'ag_intent').size_bytes, pagesToBytes(640n + 64n));
      assert.ok(
        c.warnings
          .map((x) => textOf(x))
          .some((w) => w.startsWith('ag_hidden: 在可用性组中但角色未知') && w.includes('VIEW SERVER STATE permission was denied')),
      );
      assert.equal(engine.classifyError(Object.assign(new Error('x'), { number: 976 }), target(1)).code, 'connection');
    } finally {
      await noRoles.close();
    }
  });
});
