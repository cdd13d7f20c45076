/**
 * A SQL Server played by the TDS responder for the engine tests: per-file
 * rows of sys.master_files ⋈ sys.databases in the catalog views' own types
 * (TINYINT type, INT sizes, BIT flags, BIGINT pages), tempdb grown past its
 * start-up size, FILESTREAM / In-Memory containers, a snapshot of a 2 TiB
 * database, availability-group copies, and logins with different grants and
 * versions (dba: everything on 2022; collector: no VIEW ANY DEFINITION;
 * perf2022: only VIEW SERVER PERFORMANCE STATE; old2012: SQL Server 2012;
 * azure: Azure SQL Database).
 */
import assert from 'node:assert/strict';
import type { CollectedDatabase, Collection } from '../../src/domain/collection.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { type Cell, type Column, type LoginInfo, type Reply, type ResultSet, type TdsResponder, startTdsResponder } from './tds-responder.js';

export const PASSWORD = 'S3cret-pa$$-库';
export const WEIRD = "it's 库 [x] 🐳";
/** 2^53 bytes / 8192: one page fewer is the largest page count whose bytes are exact. */
export const LIMIT_PAGES = 1_099_511_627_776n;
export const TB2_PAGES = 268_435_456n; // 2 TiB

export interface File {
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

export interface Db {
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

export const DATABASES: Db[] = [
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
  {
    id: 14,
    name: 'inmem',
    data: 2048n,
    log: 512n,
    max: 4096,
    extra: [
      { id: 65537, type: 2, pages: 0n, max: 64_000 },
      { id: 65538, type: 2, pages: 0n, max: 64_000 },
    ],
  },
  // A snapshot of a 2 TiB database: sys.master_files says 2 TiB, the disk 3 MiB.
  { id: 15, name: 'big', data: TB2_PAGES, log: 1024n },
  { id: 16, name: 'big_snap', data: TB2_PAGES, log: 0n, source: 15 },
  { id: 17, name: 'distribution', data: 512n, log: 128n, distributor: true },
  { id: 18, name: 'SSISDB', data: 512n, log: 128n },
  { id: 19, name: 'ag_hidden', data: 640n, log: 64n, ag: ['SECONDARY', 'NO'] },
  { id: 20, name: 'ag_readable', data: 640n, log: 64n, ag: ['SECONDARY', 'ALL'] },
  { id: 21, name: 'ag_primary', data: 640n, log: 64n, ag: ['PRIMARY', 'NO'] },
  // Read-intent only: a connection without ApplicationIntent=ReadOnly (ours) gets 978 inside it.
  { id: 22, name: 'ag_intent', data: 640n, log: 64n, ag: ['SECONDARY', 'READ_ONLY'], extra: [{ id: 65537, type: 2, pages: 0n }] },
];
export const TEMPDB_NOW = { data: 131_072n, log: 8192n };
export const CONTAINERS: Record<string, [number, bigint, string][]> = {
  inmem: [
    [65537, 2560n, 'FD'],
    [65538, 640n, 'FX'],
  ],
};
export const SNAPSHOT_ON_DISK = 3_145_728n;

export const filesOf = (d: Db): File[] => [
  ...(d.data > 0n ? [{ id: 1, type: 0 as const, pages: d.data, max: d.max ?? -1, growth: d.growth, current: d.id === 2 ? TEMPDB_NOW.data : undefined }] : []),
  ...(d.source === undefined
    ? [{ id: 2, type: 1 as const, pages: d.log, max: d.max ?? -1, growth: d.growth, current: d.id === 2 ? TEMPDB_NOW.log : undefined }]
    : []),
  ...(d.extra ?? []),
];

export const col = (name: string, type: Column['type']): Column => ({ name, type });
export const FILES = /FROM sys\.databases d\s+LEFT JOIN sys\.master_files f/;
export const USED = /^USE \[((?:[^\]]|\]\])*)\];\s*SELECT \(SELECT SUM\(CAST\(FILEPROPERTY/;
export const CONTAINER_QUERY =
  /^SELECT f\.file_id, CAST\(f\.size AS bigint\) AS size_pages, fg\.type AS filegroup_type\s+FROM \[((?:[^\]]|\]\])*)\]\.sys\.database_files/;
export const SNAPSHOT_QUERY = /FROM sys\.dm_io_virtual_file_stats\(NULL, NULL\) WHERE database_id IN \(([\d, ]+)\)$/;
export const ROLES = /JOIN sys\.dm_hadr_availability_replica_states rs/;

/**
 * sys.master_files ⋈ sys.databases as a server returns it to `login`, one row
 * per file in the catalog views' own types (TINYINT type, INT sizes, BIT
 * flags). A login without VIEW ANY DEFINITION sees every database, no file.
 */
export function masterFiles(login: LoginInfo, pageType: Column['type'] = 'bigint', dbs = DATABASES): ResultSet[] {
  const sees = login.user !== 'collector';
  const columns = [
    col('database_id', 'int'),
    col('name', 'nvarchar'),
    col('state_desc', 'nvarchar'),
    col('source_database_id', 'int'),
    col('is_distributor', 'bit'),
    col('in_ag', 'int'),
    col('file_id', 'int'),
    col('type', 'tinyint'),
    col('size_pages', pageType),
    col('max_size', 'int'),
    col('growth', 'int'),
    col('is_sparse', 'bit'),
    col('current_pages', 'bigint'),
  ];
  const rows = dbs.flatMap((d): Cell[][] => {
    const head: Cell[] = [d.id, d.name, d.state ?? 'ONLINE', d.source ?? null, d.distributor === true, d.ag ? 1 : 0];
    if (!sees) return [[...head, null, null, null, null, null, null, null]];
    return filesOf(d).map((f) => [
      ...head,
      f.id,
      f.type,
      f.type === 2 ? 0n : f.pages,
      f.max ?? -1,
      f.growth ?? 8192,
      d.source !== undefined,
      f.current ?? null,
    ]);
  });
  return [{ columns, rows }];
}

/** Used space as the server would measure it: half the data pages, a quarter of the log; docs_fs refuses the login; a non-readable secondary answers 976. */
export function usedSpace(_sql: string, m: RegExpExecArray): Reply {
  const name = (m[1] ?? '').replaceAll(']]', ']');
  if (name === 'docs_fs') {
    return {
      error: { number: 916, class: 14, message: `The server principal "dba" is not able to access the database "${name}" under the current security context.` },
    };
  }
  if (name === 'ag_hidden') {
    return {
      error: {
        number: 976,
        class: 14,
        message: `The target database, '${name}', is participating in an availability group and is currently not accessible for queries.`,
      },
    };
  }
  if (name === 'ag_intent') {
    return {
      error: {
        number: 978,
        class: 14,
        message: `The target database ('${name}') is in an availability group and is currently accessible for connections when the application intent is set to read only.`,
      },
    };
  }
  const db = DATABASES.find((d) => d.name === name);
  if (!db) return { error: { number: 911, message: `Database '${name}' does not exist.` } };
  return [{ columns: [col('data_used_pages', 'bigint'), col('log_used_bytes', 'bigint')], rows: [[db.data / 2n, db.log * 2048n]] }];
}

export function containers(_sql: string, m: RegExpExecArray): Reply {
  const name = (m[1] ?? '').replaceAll(']]', ']');
  if (name === 'docs_fs' || name === 'ag_intent') return usedSpace(_sql, m);
  return [
    {
      columns: [col('file_id', 'int'), col('size_pages', 'bigint'), col('filegroup_type', 'nvarchar')],
      rows: (CONTAINERS[name] ?? []).map((r): Cell[] => [...r]),
    },
  ];
}

export function snapshotDisk(_sql: string, m: RegExpExecArray): Reply {
  const ids = m[1]!.split(', ').map(Number);
  const rows = DATABASES.filter((d) => ids.includes(d.id)).flatMap((d) => filesOf(d).map((f): Cell[] => [d.id, f.id, SNAPSHOT_ON_DISK]));
  return [{ columns: [col('database_id', 'smallint'), col('file_id', 'smallint'), col('size_on_disk_bytes', 'bigint')], rows }];
}

export const roles: Reply = [
  {
    columns: [col('database_id', 'int'), col('role_desc', 'nvarchar'), col('secondary_allow', 'nvarchar')],
    rows: DATABASES.filter((d) => d.ag).map((d): Cell[] => [d.id, d.ag![0], d.ag![1]]),
  },
];

/** Per login: dba has everything; collector nothing; perf2022 only VIEW SERVER PERFORMANCE STATE; old2012 everything but database users. */
export function doctorRow(login: LoginInfo): Reply {
  const u = login.user;
  const definition = u !== 'collector' ? 1 : 0;
  const state = u === 'dba' || u === 'old2012' ? 1 : 0;
  const perf = u === 'dba' || u === 'perf2022' ? 1 : u === 'old2012' ? null : 0;
  return [
    {
      columns: [
        'view_any_database',
        'view_any_definition',
        'view_server_state',
        'view_server_performance_state',
        'databases',
        'needing_state',
        'databases_with_files',
      ].map((n) => col(n, 'int')),
      rows: [[1, definition, state, perf, DATABASES.length, DATABASES.filter((d) => d.source !== undefined || d.ag).length, definition ? DATABASES.length : 0]],
    },
  ];
}

export const VERSIONS: Record<string, [version: string, engineEdition: number]> = {
  old2012: ['11.0.7001.0', 3],
  azure: ['12.0.2000.8', 5],
};

export const identity = (_sql: string, _m: RegExpExecArray, login: LoginInfo): Reply => {
  const [version, engineEdition] = VERSIONS[login.user] ?? ['16.0.4135.4', 3];
  return [
    {
      columns: [col('version', 'nvarchar'), col('edition', 'nvarchar'), col('engine_edition', 'int'), col('login_name', 'nvarchar')],
      rows: [[version, 'Developer Edition (64-bit)', engineEdition, login.user === 'collector' ? 'CORP\\collector' : login.user]],
    },
  ];
};

export const acceptPassword = (_login: LoginInfo, password: string) =>
  password === PASSWORD ? null : { number: 18456, message: "Login failed for user 'dba'." };

export function startServer(master: (login: LoginInfo) => Reply = (l) => masterFiles(l)): Promise<TdsResponder> {
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

export function target(port: number, overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  return {
    host: '127.0.0.1',
    port,
    database: null,
    username: 'dba',
    password: PASSWORD,
    options: {},
    connectTimeoutMs: 3000,
    queryTimeoutMs: 5000,
    ...overrides,
  };
}

export async function collectOnce(t: ConnectTarget): Promise<Collection> {
  const session = await engine.connect(t);
  try {
    return await session.collect();
  } finally {
    await session.close();
  }
}

export async function failure(work: Promise<unknown>): Promise<SyncError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

export const connectError = (t: ConnectTarget) => failure(engine.connect(t).then((s) => s.close()));

export const pagesToBytes = (pages: bigint) => Number(pages * 8192n);
export const find = (c: Collection, name: string): CollectedDatabase => {
  const d = c.databases.find((x) => x.database_name === name);
  assert.ok(d, `${name} collected with its exact name`);
  return d;
};
