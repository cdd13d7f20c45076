/**
 * The SQL Server collector end to end through the real mssql/tedious driver,
 * against the TDS responder (test/helpers/tds-responder.ts) playing a server
 * whose sys.databases / sys.master_files rows are the fixture below. Every
 * value crosses the wire in the type a real server sends (BIGINT page sums,
 * INT counts, NVARCHAR names), so what the engine sees is what the driver makes.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import type { CollectedDatabase, Collection, ConnectTarget } from '../../src/engines/engine.js';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { type Cell, type Column, type LoginInfo, type Reply, type ResultSet, type TdsResponder, startTdsResponder } from '../helpers/tds-responder.js';
import { closedPort, startBlackHole } from '../helpers/targets.js';

const PASSWORD = 'S3cret-pa$$-库';
const WEIRD = "it's 库 [x] 🐳";
/** 2^53 bytes / 8192: one page fewer is the largest page count whose bytes are exact. */
const LIMIT_PAGES = 1_099_511_627_776n;
const TB2_PAGES = 268_435_456n; // 2 TiB

interface File {
  id: number;
  /** 0 ROWS, 1 LOG, 2 FILESTREAM / In-Memory container (size 0 in sys.master_files). */
  type: 0 | 1 | 2;
  pages: bigint;
  /** Pages, -1 unlimited (the default), 0 no growth. */
  max?: number;
  /** 0 = fixed size; default 8192 pages (64 MB). */
  growth?: number;
  /** tempdb: the current size in tempdb.sys.database_files. */
  current?: bigint;
}

interface Db {
  id: number;
  name: string;
  state?: string;
  data: bigint;
  log: bigint;
  /** Files beyond one ROWS file of `data` pages and one LOG file of `log` pages (with `max` as their max_size). */
  extra?: File[];
  max?: number;
  growth?: number;
  /** A snapshot of this database id (sparse files, no log). */
  source?: number;
  distributor?: boolean;
  /** Availability group: [role_desc, secondary_role_allow_connections_desc]. */
  ag?: [string, string];
}

const DATABASES: Db[] = [
  { id: 1, name: 'master', data: 512n, log: 256n },
  // Started with 1024 + 64 pages, grown since: only tempdb.sys.database_files says so.
  { id: 2, name: 'tempdb', data: 1024n, log: 64n },
  { id: 3, name: 'model', data: 256n, log: 64n },
  { id: 4, name: 'msdb', data: 2048n, log: 512n },
  { id: 5, name: 'sales', data: 128_000n, log: 32_000n, max: 655_360 }, // each file capped at 5 GiB
  { id: 6, name: WEIRD, data: 300n, log: 100n },
  // A FILESTREAM container in a database this login has no user in (916 on its sys.database_files).
  { id: 7, name: 'docs_fs', data: 4096n, log: 1024n, extra: [{ id: 65537, type: 2, pages: 0n }] },
  { id: 8, name: 'archive', state: 'OFFLINE', data: 10_000n, log: 2000n },
  { id: 9, name: 'restoring', state: 'RESTORING', data: 20_000n, log: 4000n },
  // Data + log pages = LIMIT_PAGES - 1: the largest exact total (9,007,199,254,732,800 bytes).
  { id: 10, name: 'huge', data: LIMIT_PAGES - 1000n, log: 999n },
  { id: 11, name: 'too_big', data: LIMIT_PAGES, log: 0n },
  // Each part is exact, the total is not.
  { id: 12, name: 'too_big_sum', data: LIMIT_PAGES - 1000n, log: 1000n },
  // growth = 0 with max_size = -1: fixed size, so the database has a limit.
  { id: 13, name: 'fixed', data: 1000n, log: 100n, growth: 0 },
  // FILESTREAM and memory-optimized containers, readable.
  { id: 14, name: 'inmem', data: 2048n, log: 512n, max: 4096, extra: [{ id: 65537, type: 2, pages: 0n, max: 64_000 }, { id: 65538, type: 2, pages: 0n, max: 64_000 }] },
  // A snapshot of a 2 TiB database: sys.master_files says 2 TiB, the disk 3 MiB.
  { id: 15, name: 'big', data: TB2_PAGES, log: 1024n },
  { id: 16, name: 'big_snap', data: TB2_PAGES, log: 0n, source: 15 },
  { id: 17, name: 'distribution', data: 512n, log: 128n, distributor: true },
  { id: 18, name: 'SSISDB', data: 512n, log: 128n },
  { id: 19, name: 'ag_hidden', data: 640n, log: 64n, ag: ['SECONDARY', 'NO'] },
  { id: 20, name: 'ag_readable', data: 640n, log: 64n, ag: ['SECONDARY', 'READ_ONLY'] },
  { id: 21, name: 'ag_primary', data: 640n, log: 64n, ag: ['PRIMARY', 'NO'] },
];
const TEMPDB_NOW = { data: 131_072n, log: 8192n };
const CONTAINERS: Record<string, [number, bigint, string][]> = { inmem: [[65537, 2560n, 'FD'], [65538, 640n, 'FX']] };
const SNAPSHOT_ON_DISK = 3_145_728n;

const filesOf = (d: Db): File[] => [
  ...(d.data > 0n ? [{ id: 1, type: 0 as const, pages: d.data, max: d.max ?? -1, growth: d.growth, current: d.id === 2 ? TEMPDB_NOW.data : undefined }] : []),
  ...(d.source === undefined ? [{ id: 2, type: 1 as const, pages: d.log, max: d.max ?? -1, growth: d.growth, current: d.id === 2 ? TEMPDB_NOW.log : undefined }] : []),
  ...(d.extra ?? []),
];

const col = (name: string, type: Column['type']): Column => ({ name, type });
const FILES = /FROM sys\.databases d\s+LEFT JOIN sys\.master_files f/;
const USED = /^USE \[((?:[^\]]|\]\])*)\];\s*SELECT \(SELECT SUM\(CAST\(FILEPROPERTY/;
const CONTAINER_QUERY = /^SELECT f\.file_id, CAST\(f\.size AS bigint\) AS size_pages, fg\.type AS filegroup_type\s+FROM \[((?:[^\]]|\]\])*)\]\.sys\.database_files/;
const SNAPSHOT_QUERY = /FROM sys\.dm_io_virtual_file_stats\(NULL, NULL\) WHERE database_id IN \(([\d, ]+)\)$/;
const ROLES = /JOIN sys\.dm_hadr_availability_replica_states rs/;

/**
 * sys.master_files ⋈ sys.databases as a server returns it to `login`, one row
 * per file in the catalog views' own types (TINYINT type, INT sizes, BIT
 * flags). A login without VIEW ANY DEFINITION sees every database, no file.
 */
function masterFiles(login: LoginInfo, pageType: Column['type'] = 'bigint', dbs = DATABASES): ResultSet[] {
  const sees = login.user !== 'collector';
  const columns = [
    col('database_id', 'int'), col('name', 'nvarchar'), col('state_desc', 'nvarchar'), col('source_database_id', 'int'), col('is_distributor', 'bit'),
    col('in_ag', 'int'), col('file_id', 'int'), col('type', 'tinyint'), col('size_pages', pageType), col('max_size', 'int'), col('growth', 'int'),
    col('is_sparse', 'bit'), col('current_pages', 'bigint'),
  ];
  const rows = dbs.flatMap((d): Cell[][] => {
    const head: Cell[] = [d.id, d.name, d.state ?? 'ONLINE', d.source ?? null, d.distributor === true, d.ag ? 1 : 0];
    if (!sees) return [[...head, null, null, null, null, null, null, null]];
    return filesOf(d).map((f) => [...head, f.id, f.type, f.type === 2 ? 0n : f.pages, f.max ?? -1, f.growth ?? 8192, d.source !== undefined, f.current ?? null]);
  });
  return [{ columns, rows }];
}

/** Used space as the server would measure it: half the data pages, a quarter of the log; docs_fs refuses the login; a non-readable secondary answers 976. */
function usedSpace(_sql: string, m: RegExpExecArray): Reply {
  const name = (m[1] ?? '').replaceAll(']]', ']');
  if (name === 'docs_fs') {
    return { error: { number: 916, class: 14, message: `The server principal "dba" is not able to access the database "${name}" under the current security context.` } };
  }
  if (name === 'ag_hidden') {
    return { error: { number: 976, class: 14, message: `The target database, '${name}', is participating in an availability group and is currently not accessible for queries.` } };
  }
  const db = DATABASES.find((d) => d.name === name);
  if (!db) return { error: { number: 911, message: `Database '${name}' does not exist.` } };
  return [{ columns: [col('data_used_pages', 'bigint'), col('log_used_bytes', 'bigint')], rows: [[db.data / 2n, db.log * 2048n]] }];
}

function containers(_sql: string, m: RegExpExecArray): Reply {
  const name = (m[1] ?? '').replaceAll(']]', ']');
  if (name === 'docs_fs') return usedSpace(_sql, m);
  return [{ columns: [col('file_id', 'int'), col('size_pages', 'bigint'), col('filegroup_type', 'nvarchar')], rows: (CONTAINERS[name] ?? []).map((r): Cell[] => [...r]) }];
}

function snapshotDisk(_sql: string, m: RegExpExecArray): Reply {
  const ids = m[1]!.split(', ').map(Number);
  const rows = DATABASES.filter((d) => ids.includes(d.id)).flatMap((d) => filesOf(d).map((f): Cell[] => [d.id, f.id, SNAPSHOT_ON_DISK]));
  return [{ columns: [col('database_id', 'smallint'), col('file_id', 'smallint'), col('size_on_disk_bytes', 'bigint')], rows }];
}

const roles: Reply = [
  {
    columns: [col('database_id', 'int'), col('role_desc', 'nvarchar'), col('secondary_allow', 'nvarchar')],
    rows: DATABASES.filter((d) => d.ag).map((d): Cell[] => [d.id, d.ag![0], d.ag![1]]),
  },
];

/** Per login: dba has everything; collector nothing; perf2022 only VIEW SERVER PERFORMANCE STATE; old2012 everything but database users. */
function doctorRow(login: LoginInfo): Reply {
  const u = login.user;
  const definition = u !== 'collector' ? 1 : 0;
  const state = u === 'dba' || u === 'old2012' ? 1 : 0;
  const perf = u === 'dba' || u === 'perf2022' ? 1 : u === 'old2012' ? null : 0;
  return [
    {
      columns: ['view_any_database', 'view_any_definition', 'view_server_state', 'view_server_performance_state', 'databases', 'needing_state', 'databases_with_files'].map((n) => col(n, 'int')),
      rows: [[1, definition, state, perf, DATABASES.length, DATABASES.filter((d) => d.source !== undefined || d.ag).length, definition ? DATABASES.length : 0]],
    },
  ];
}

const VERSIONS: Record<string, [version: string, engineEdition: number]> = {
  old2012: ['11.0.7001.0', 3],
  azure: ['12.0.2000.8', 5],
};

const identity = (_sql: string, _m: RegExpExecArray, login: LoginInfo): Reply => {
  const [version, engineEdition] = VERSIONS[login.user] ?? ['16.0.4135.4', 3];
  return [
    {
      columns: [col('version', 'nvarchar'), col('edition', 'nvarchar'), col('engine_edition', 'int'), col('login_name', 'nvarchar')],
      rows: [[version, 'Developer Edition (64-bit)', engineEdition, login.user === 'collector' ? 'CORP\\collector' : login.user]],
    },
  ];
};

const acceptPassword = (_login: LoginInfo, password: string) =>
  password === PASSWORD ? null : { number: 18456, message: "Login failed for user 'dba'." };

function startServer(master: (login: LoginInfo) => Reply = (l) => masterFiles(l)): Promise<TdsResponder> {
  return startTdsResponder({
    login: acceptPassword,
    handlers: [
      [/SERVERPROPERTY\('ProductVersion'\)/, identity],
      [FILES, (_s, _m, login) => master(login)],
      [USED, usedSpace],
      [CONTAINER_QUERY, containers],
      [SNAPSHOT_QUERY, snapshotDisk],
      [ROLES, roles],
      [/HAS_PERMS_BY_NAME/, (_s, _m, login) => doctorRow(login)],
      [/HAS_DBACCESS\(name\) = 0/, (_s, _m, login) => [{ columns: [col('name', 'nvarchar')], rows: login.user === 'dba' ? [] : [['docs_fs'], [WEIRD]] }]],
    ],
  });
}

function target(port: number, overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  return { host: '127.0.0.1', port, database: null, username: 'dba', password: PASSWORD, options: {}, connectTimeoutMs: 3000, queryTimeoutMs: 5000, ...overrides };
}

async function collectOnce(t: ConnectTarget): Promise<Collection> {
  const session = await engine.connect(t);
  try {
    return await session.collect();
  } finally {
    await session.close();
  }
}

async function failure(work: Promise<unknown>): Promise<SyncError> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

const connectError = (t: ConnectTarget) => failure(engine.connect(t).then((s) => s.close()));

const pagesToBytes = (pages: bigint) => Number(pages * 8192n);
const find = (c: Collection, name: string): CollectedDatabase => {
  const d = c.databases.find((x) => x.database_name === name);
  assert.ok(d, `${name} collected with its exact name`);
  return d;
};

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
        [db.id <= 4 || db.name === 'distribution' || db.name === 'SSISDB', pagesToBytes(db.data), pagesToBytes(db.log), pagesToBytes(db.data + db.log), null, null, null, 'sys.master_files', undefined],
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
    for (const [name, state] of [['archive', 'OFFLINE'], ['restoring', 'RESTORING']]) {
      assert.ok(c.warnings.some((w) => w.startsWith(`${name}: 状态为 ${state}`) && w.includes('not deleted')), `${name} warned`);
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
    assert.deepEqual([snap.size_bytes, snap.is_snapshot, snap.max_bytes, snap.method], [Number(SNAPSHOT_ON_DISK), true, pagesToBytes(TB2_PAGES), 'dm_io_virtual_file_stats']);
    assert.equal(find(c, 'big').is_snapshot, undefined);
    assert.deepEqual(asked.filter((q) => SNAPSHOT_QUERY.test(q)).map((q) => SNAPSHOT_QUERY.exec(q)![1]), ['16'], 'only the snapshot is asked about');

    // 3. growth = 0 with max_size = -1 is fixed size: the limit is the size.
    assert.equal(find(c, 'fixed').max_bytes, pagesToBytes(1100n));

    // 4. Type-2 containers counted from sys.database_files and named; an unreadable one named as not counted.
    const inmem = find(c, 'inmem');
    assert.equal(inmem.size_bytes, pagesToBytes(2048n + 512n + 2560n + 640n));
    assert.equal(inmem.max_bytes, pagesToBytes(4096n * 2n + 64_000n * 2n));
    assert.ok(c.warnings.includes('inmem: 1 个 FILESTREAM, 1 个 In-Memory OLTP 容器已按 sys.database_files 计入数据容量 (type-2 containers counted from sys.database_files)'));
    assert.equal(find(c, 'docs_fs').size_bytes, pagesToBytes(4096n + 1024n));
    assert.ok(c.warnings.some((w) => w.startsWith('docs_fs: 1 个 FILESTREAM / In-Memory OLTP 容器 (type 2) 未计入容量') && w.includes('无权访问该数据库')), 'unreadable containers named');

    // 6. Availability groups: each copy flagged with this replica's role.
    assert.deepEqual(
      ['ag_hidden', 'ag_readable', 'ag_primary', 'sales'].map((n) => find(c, n).replica_role),
      ['SECONDARY', 'SECONDARY', 'PRIMARY', undefined],
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

    assert.ok(used.some((q) => q.startsWith("USE [it's 库 [x]] 🐳];")), '] doubled inside the brackets');
    assert.ok(!used.some((q) => /^USE \[(archive|restoring|too_big|big_snap|ag_hidden)\]/.test(q)), 'offline, restoring, unmeasured, snapshot and non-readable secondary databases are not entered');
    assert.ok(used.some((q) => q.startsWith('USE [ag_readable];')), 'a readable secondary is');

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

  test('doctor: a login without VIEW ANY DEFINITION gets the exact GRANTs; a full one gets none', async () => {
    const limited = await engine.connect(target(server.port, { username: 'collector', options: { used_space: true } }));
    try {
      const checks = await limited.doctor();
      assert.deepEqual(
        checks.map((c) => [c.name, c.ok, c.fix]),
        [
          ['VIEW ANY DATABASE', true, undefined],
          ['VIEW ANY DEFINITION', false, ['GRANT VIEW ANY DEFINITION TO [CORP\\collector];']],
          ['VIEW SERVER PERFORMANCE STATE', false, ['GRANT VIEW SERVER PERFORMANCE STATE TO [CORP\\collector];']],
          ['CONNECT (each database)', false, ['GRANT CONNECT ANY DATABASE TO [CORP\\collector];']],
        ],
      );
      const definition = checks[1]!;
      assert.equal(definition.detail, `sys.master_files 中可见 0/${DATABASES.length} 个数据库的文件 (databases with visible files)`);
      assert.equal(definition.undercounts, `${DATABASES.length} 个数据库的容量未知 (size unknown for ${DATABASES.length} database(s))`);
      assert.equal(checks[3]!.detail, `无法访问: docs_fs, ${WEIRD}`);

      // The same login collecting: nothing visible is a permission error naming the grant, not a server of empty databases.
      const err = await failure(limited.collect());
      assert.equal(err.code, 'permission');
      assert.match(err.message, /GRANT VIEW ANY DEFINITION TO \[CORP\\collector\];$/);
    } finally {
      await limited.close();
    }

    const full = await engine.connect(target(server.port, { options: { used_space: true } }));
    try {
      const checks = await full.doctor();
      assert.deepEqual(checks.map((c) => [c.name, c.ok, c.fix, c.undercounts]), [
        ['VIEW ANY DATABASE', true, undefined, undefined],
        ['VIEW ANY DEFINITION', true, undefined, undefined],
        ['VIEW SERVER PERFORMANCE STATE', true, undefined, undefined],
        ['CONNECT (each database)', true, undefined, undefined],
      ]);
    } finally {
      await full.close();
    }
  });

  test('doctor per version: 2022 accepts VIEW SERVER PERFORMANCE STATE alone; 2012 gets CREATE USER per database', async () => {
    const doctorOf = async (username: string) => {
      const s = await engine.connect(target(server.port, { username, options: { used_space: true } }));
      try {
        return await s.doctor();
      } finally {
        await s.close();
      }
    };
    const perf = await doctorOf('perf2022');
    assert.deepEqual(perf.find((c) => c.name === 'VIEW SERVER PERFORMANCE STATE')?.ok, true);
    assert.ok(server.queries.some((q) => q.includes("HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER PERFORMANCE STATE')")));

    const before = server.queries.length;
    const old = await doctorOf('old2012');
    assert.ok(!server.queries.slice(before).some((q) => q.includes('VIEW SERVER PERFORMANCE STATE')), '2012 is not asked about a permission it does not have');
    assert.deepEqual(old.map((c) => [c.name, c.ok]), [
      ['VIEW ANY DATABASE', true],
      ['VIEW ANY DEFINITION', true],
      ['VIEW SERVER STATE', true],
      ['CONNECT (each database)', false],
    ]);
    assert.deepEqual(old[3]!.fix, ['USE [docs_fs]; CREATE USER [old2012] FOR LOGIN [old2012];', "USE [it's 库 [x]] 🐳]; CREATE USER [old2012] FOR LOGIN [old2012];"]);
  });

  test('doctor without used-space mode still asks for the server-state grant when snapshots or group databases exist', async () => {
    const s = await engine.connect(target(server.port, { username: 'collector' }));
    try {
      const checks = await s.doctor();
      const state = checks.find((c) => c.name === 'VIEW SERVER PERFORMANCE STATE')!;
      assert.equal(state.ok, false);
      assert.match(state.detail, /4 snapshot or availability-group database\(s\)/);
      assert.equal(state.undercounts, '快照大小未知、可用性组角色未知 (snapshot sizes and group roles unknown)');
      assert.deepEqual(state.fix, ['GRANT VIEW SERVER PERFORMANCE STATE TO [CORP\\collector];']);
      assert.ok(!checks.some((c) => c.name === 'CONNECT (each database)'), 'no per-database access needed without used-space mode');
    } finally {
      await s.close();
    }
  });

  test('AG roles unreadable (no VIEW SERVER STATE): role UNKNOWN, counted, and the 976 of a non-readable secondary is classified for that database alone', async () => {
    const noRoles = await startTdsResponder({
      login: acceptPassword,
      handlers: [
        [/SERVERPROPERTY\('ProductVersion'\)/, identity],
        [FILES, (_s, _m, login) => masterFiles(login)],
        [ROLES, { error: { number: 300, class: 14, message: 'VIEW SERVER STATE permission was denied on object \'server\', database \'master\'.' } }],
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
      assert.ok(c.warnings.some((w) => w.startsWith('ag_hidden: 在可用性组中但角色未知') && w.includes('VIEW SERVER STATE permission was denied')));
      assert.equal(engine.classifyError(Object.assign(new Error('x'), { number: 976 }), target(1)).code, 'connection');
    } finally {
      await noRoles.close();
    }
  });

  test('login failed (18456) is auth, and the password never appears in the message', async () => {
    const err = await connectError(target(server.port, { password: 'Wr0ng-pa$$' }));
    assert.equal(err.code, 'auth');
    assert.equal(err.message, "登录失败: Login failed for user 'dba'.");

    // A server (or proxy) that echoes the password: scrubbed on the way out.
    const leaky = await startTdsResponder({
      login: (l, password) => ({ number: 18456, message: `Login failed for user '${l.user}' with password '${password}'.` }),
      handlers: [],
    });
    try {
      const leaked = await connectError(target(leaky.port));
      assert.equal(leaked.code, 'auth');
      assert.ok(!leaked.message.includes(PASSWORD), leaked.message);
      assert.match(leaked.message, /with password '\*\*\*'/);
    } finally {
      await leaky.close();
    }
  });

  test('a permission error from the server (229) is permission', async () => {
    const denied = await startTdsResponder({
      handlers: [
        [/SERVERPROPERTY/, identity],
        [FILES, { error: { number: 229, class: 14, message: "The SELECT permission was denied on the object 'master_files', database 'mssqlsystemresource', schema 'sys'." } }],
      ],
    });
    try {
      const err = await failure(collectOnce(target(denied.port)));
      assert.equal(err.code, 'permission');
      assert.match(err.message, /^权限不足: The SELECT permission was denied on the object 'master_files'/);
    } finally {
      await denied.close();
    }
  });

  test('a refused connection is a connection error', async () => {
    const err = await connectError(target(await closedPort()));
    assert.equal(err.code, 'connection');
    assert.match(err.message, /^连接被拒绝: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  test('a server that accepts and never answers times out within the connect timeout', async () => {
    const hole = await startBlackHole();
    try {
      const started = Date.now();
      const err = await connectError(target(hole.port, { connectTimeoutMs: 1000 }));
      const elapsed = Date.now() - started;
      assert.equal(err.code, 'timeout');
      assert.match(err.message, /Failed to connect to 127\.0\.0\.1:\d+ in 1000ms/);
      assert.ok(elapsed < 1000 + 1500, `took ${elapsed} ms`);
    } finally {
      await hole.close();
    }
  });

  test('a query that never returns times out after the query timeout (tedious cancels it)', async () => {
    const stuck = await startTdsResponder({ handlers: [[/SERVERPROPERTY/, identity], [FILES, 'hang']] });
    try {
      const started = Date.now();
      const err = await failure(collectOnce(target(stuck.port, { queryTimeoutMs: 500 })));
      const elapsed = Date.now() - started;
      assert.equal(err.code, 'timeout');
      assert.match(err.message, /Request failed to complete in 500ms/);
      assert.ok(elapsed < 500 + 1500, `took ${elapsed} ms`);
    } finally {
      await stuck.close();
    }
  });

  test('encrypt: a server that does not negotiate TLS is refused (tedious would go on in clear text)', async () => {
    const err = await connectError(target(server.port, { options: { encrypt: true, trust_server_certificate: true } }));
    assert.equal(err.code, 'connection');
    assert.match(err.message, /did not negotiate TLS/);
  });

  test('domain: the login goes out as NTLM (LOGIN7 with integrated security), not SQL authentication', async () => {
    const before = server.logins.length;
    const err = await connectError(target(server.port, { username: 'svc_whalefall', options: { domain: 'corp' } }));
    assert.equal(err.code, 'auth');
    const login = server.logins[before];
    assert.deepEqual([login?.integratedSecurity, login?.user], [true, ''], 'no SQL user name: NTLM carries the identity');
  });

  test('instance_name: the port comes from SQL Server Browser (UDP 1434), the configured port is ignored', async (t) => {
    const browser = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      browser.once('error', () => resolve(false));
      browser.bind(1434, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      t.skip('UDP 127.0.0.1:1434 is in use on this machine');
      return;
    }
    // SVR_RESP: 0x05, 2-byte length, then `key;value;` pairs ending in `;;` (MS-SQLR 2.2.5).
    browser.on('message', (_msg, peer) => {
      const text = Buffer.from(`ServerName;TEST;InstanceName;WHALE;IsClustered;No;Version;16.0.4135.4;tcp;${server.port};;`, 'ascii');
      const header = Buffer.from([0x05, 0, 0]);
      header.writeUInt16LE(text.length, 1);
      browser.send(Buffer.concat([header, text]), peer.port, peer.address);
    });
    try {
      const c = await collectOnce(target(await closedPort(), { options: { instance_name: 'whale' } }));
      assert.equal(find(c, 'sales').size_bytes, pagesToBytes(128_000n + 32_000n));
    } finally {
      browser.close();
    }
  });
});
