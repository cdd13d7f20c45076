/**
 * SQL Server arithmetic, pure: per-file rows (sys.master_files ⋈
 * sys.databases, see sqlserver.queries.ts) plus what the side queries found
 * (tempdb's own sys.database_files, type-2 container sizes, snapshot bytes on
 * disk, availability-group roles) → one row per database and the warnings.
 * Every rule of docs/engines.md "SQL Server" is here and unit-tested in
 * test/unit/sqlserver-aggregate.test.ts.
 *
 * Pages are 8 KB and summed in BigInt; a total past 2^53 bytes is a `data`
 * error for that database alone, never a rounded number.
 */
import { SyncError } from '../../lib/errors.js';
import { bytes, errorRemark } from '../common.js';
import type { CollectedDatabase, KeyedMessage, ReplicaRole, Warning } from '../../domain/collection.js';
import { msg, type Msg } from '../../client/shared/i18n/index.js';

/** A side query that failed: its text, and by key when the classifier gave one. */
export interface SideError {
  error: string;
  msg?: KeyedMessage;
}
import { exactCount, PAGE_BYTES, quoteName } from './sqlserver.common.js';

export const METHOD = 'sys.master_files';
export const METHOD_USED = 'sys.master_files+used';
export const METHOD_SNAPSHOT = 'dm_io_virtual_file_stats';

/** One row of FILES_QUERY as mssql delivers it (BIGINT as a decimal string, INT/TINYINT as numbers, BIT as booleans). */
export interface FileRow {
  database_id: number;
  name: string;
  state_desc: string;
  /** Set for a database snapshot: the id of the database it is a snapshot of. */
  source_database_id: number | null;
  is_distributor: boolean | null;
  /** 1 when sys.databases.replica_id is set: the database is in an availability group. */
  in_ag: number;
  /** sys.databases.group_database_id as text: the same availability-group database on every replica (NULL outside a group). */
  group_database_id?: string | null;
  /** NULL: no file of this database is visible to the login (LEFT JOIN). */
  file_id: number | null;
  /** 0 ROWS, 1 LOG, 2 FILESTREAM / In-Memory OLTP container, 4 pre-2008 full-text. */
  type: number | null;
  size_pages: unknown;
  /** Pages; -1 = grows until the disk is full, 0 = no growth. */
  max_size: number | null;
  /** 0 = the file does not grow (fixed size), whatever max_size says. */
  growth: number | null;
  is_sparse: boolean | null;
  /** tempdb only: the file's current size from tempdb.sys.database_files (sys.master_files keeps the start-up size). */
  current_pages: unknown;
}

/** A type-2 container of one database, from `[db].sys.database_files` ⋈ sys.filegroups. */
export interface ContainerRow {
  file_id: number;
  size_pages: unknown;
  /** FD = FILESTREAM, FX = memory-optimized data. */
  filegroup_type: string;
}

export interface RoleRow {
  database_id: number;
  role_desc: string | null;
  /** sys.availability_replicas.secondary_role_allow_connections_desc of the local replica: NO, READ_ONLY, ALL. */
  secondary_allow: string | null;
}

/** What the side queries found; an `error` string when the query was refused (the reason, already classified). */
export interface SideFacts {
  /** database_id → its type-2 containers, or why they could not be read. */
  containers: Map<number, ContainerRow[] | SideError>;
  /** `database_id/file_id` → size_on_disk_bytes of a snapshot's sparse file; or why unknown. */
  snapshotDisk: Map<string, unknown> | SideError;
  /** database_id → role; or why unknown. Only consulted for databases with in_ag = 1. */
  roles: Map<number, RoleRow> | SideError;
}

export const noSideFacts = (): SideFacts => ({ containers: new Map(), snapshotDisk: new Map(), roles: new Map() });

export interface Measured {
  db: CollectedDatabase;
  /** Allocated bytes (for free = allocated − used); null when unknown. */
  allocated: bigint | null;
  /** Whether the used-space query may run here: ONLINE, not a snapshot, not a non-readable secondary. */
  readable: boolean;
}

/** msdb, master, model, tempdb by id; the distribution database by its flag; SSISDB by its fixed name. */
export function isSystemDatabase(r: { database_id: number; name: string; is_distributor?: boolean | null }): boolean {
  return r.database_id <= 4 || r.is_distributor === true || r.name === 'SSISDB';
}

/** A server chooses what it sends: anything but a string is treated as empty, never thrown on. */
const str = (v: unknown): string => (typeof v === 'string' ? v.trim().toUpperCase() : '');

const kindName = (t: unknown): string => (str(t) === 'FX' ? 'In-Memory OLTP' : 'FILESTREAM');

/**
 * How far one file may grow, in pages, or null for "until the disk is full".
 * growth = 0 and max_size = 0 both mean the file stays at its current size
 * (sys.database_files: "0 = File is fixed size and won't grow"), whatever
 * max_size says; a max_size below the current size (a file grown by hand past
 * it) bounds nothing below what is already allocated.
 */
export function fileLimit(current: bigint, maxSize: number | null, growth: number | null): bigint | null {
  if (growth === 0 || maxSize === 0) return current;
  if (maxSize === null || maxSize === -1) return null;
  const max = BigInt(maxSize);
  return max > current ? max : current;
}

const safe = (b: bigint | null): number | null => (b !== null && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : null);

interface Parts {
  data: bigint;
  log: bigint;
  /** null once one file may grow without limit. */
  limit: bigint | null;
}

/**
 * Rows → databases. Rows of one database arrive together (ORDER BY name,
 * file_id). `login` goes into the GRANT text of a database whose files are
 * invisible.
 */
export function aggregateDatabases(rows: readonly FileRow[], facts: SideFacts, login: string): { measured: Measured[]; warnings: Warning[] } {
  const byDb = new Map<number, FileRow[]>();
  for (const r of rows) {
    const list = byDb.get(r.database_id);
    if (list) list.push(r);
    else byDb.set(r.database_id, [r]);
  }
  const names = new Map([...byDb].map(([id, rs]) => [id, rs[0]!.name]));
  const warnings: Warning[] = [];
  const measured: Measured[] = [];
  for (const files of byDb.values()) measured.push(measureOne(files, facts, login, names, warnings));
  return { measured, warnings };
}

/**
 * A secondary our connection cannot read. Only ALLOW_CONNECTIONS = ALL lets
 * it in: READ_ONLY ("read-intent only") admits only ApplicationIntent=ReadOnly
 * connections, which the collector's are not (error 978), and NO admits none
 * (error 976); anything unknown is treated as NO.
 */
export function isUnreadableSecondary(r: RoleRow | undefined): boolean {
  return str(r?.role_desc) === 'SECONDARY' && str(r?.secondary_allow) !== 'ALL';
}

function roleOf(head: FileRow, facts: SideFacts): { role: ReplicaRole | null; readable: boolean; why?: string | KeyedMessage } {
  if (head.in_ag !== 1) return { role: null, readable: true };
  if ('error' in facts.roles) return { role: 'UNKNOWN', readable: true, why: facts.roles.msg ?? facts.roles.error };
  const r = facts.roles.get(head.database_id);
  const desc = str(r?.role_desc);
  if (desc === 'PRIMARY') return { role: 'PRIMARY', readable: true };
  if (desc === 'SECONDARY') return { role: 'SECONDARY', readable: !isUnreadableSecondary(r) };
  // RESOLVING (failover in progress) or no row: nothing is readable for sure.
  return { role: desc === 'RESOLVING' ? 'RESOLVING' : 'UNKNOWN', readable: false };
}

function measureOne(files: FileRow[], facts: SideFacts, login: string, names: Map<number, string>, warnings: Warning[]): Measured {
  const head = files[0]!;
  const isSnapshot = head.source_database_id !== null && head.source_database_id !== undefined;
  const { role, readable: roleReadable, why } = roleOf(head, facts);
  const base: CollectedDatabase = {
    database_name: head.name,
    is_system: isSystemDatabase(head),
    size_bytes: null,
    data_bytes: null,
    index_bytes: null,
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: isSnapshot ? METHOD_SNAPSHOT : METHOD,
    ...(isSnapshot ? { is_snapshot: true } : {}),
    ...(role ? { replica_role: role } : {}),
    ...(role && head.group_database_id ? { replica_group_id: head.group_database_id.toLowerCase() } : {}),
  };
  const online = head.state_desc === 'ONLINE';
  const unknown = (m: KeyedMessage): Measured => ({ db: { ...base, ...errorRemark(m) }, allocated: null, readable: false });
  const visible = files.filter((f) => f.file_id !== null);
  if (visible.length === 0) return unknown(noFiles(login));

  if (!online) {
    warnings.push(msg('api.sync.warn.mssql_state', { name: head.name, state: String(head.state_desc) }));
  }
  if (role === 'SECONDARY') {
    warnings.push(msg(roleReadable ? 'api.sync.warn.mssql_secondary' : 'api.sync.warn.mssql_secondary_unreadable', { name: head.name }));
  } else if (role === 'UNKNOWN' && why) {
    warnings.push(msg('api.sync.warn.mssql_role_unknown', { name: head.name, cause: why }));
  } else if (role === 'RESOLVING' || role === 'UNKNOWN') {
    warnings.push(msg('api.sync.warn.mssql_role', { name: head.name, role }));
  }

  try {
    const parts = isSnapshot ? snapshotParts(head, visible, facts, names, warnings) : fileParts(head, visible, facts, warnings);
    if (parts === null) return unknown(snapshotUnknown(facts));
    const allocated = parts.data + parts.log;
    const db: CollectedDatabase = {
      ...base,
      size_bytes: bytes(allocated, `${head.name} size_bytes`),
      data_bytes: bytes(parts.data, `${head.name} data_bytes`),
      log_bytes: bytes(parts.log, `${head.name} log_bytes`),
      max_bytes: safe(parts.limit),
    };
    return { db, allocated, readable: online && !isSnapshot && roleReadable };
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    return unknown(err.msg ?? msg('db.remark.text', { text: err.message }));
  }
}

/** ROWS + type-2 containers as data, LOG as log, each file's growth limit summed (null once one is unlimited). */
function fileParts(head: FileRow, files: FileRow[], facts: SideFacts, warnings: Warning[]): Parts {
  let data = 0n;
  let log = 0n;
  const limits: (bigint | null)[] = [];
  const add = (pages: bigint, f: { max_size: number | null; growth: number | null }) => limits.push(fileLimit(pages, f.max_size, f.growth));
  for (const f of files) {
    if (f.type === 2) continue;
    // tempdb grows at run time; only its own sys.database_files knows the current size.
    const current = head.database_id === 2 && f.current_pages !== null && f.current_pages !== undefined ? f.current_pages : f.size_pages;
    const pages = exactCount(current, `${head.name} file ${f.file_id} pages`);
    if (f.type === 1) log += pages * PAGE_BYTES;
    else data += pages * PAGE_BYTES;
    add(pages, f);
  }
  const type2 = files.filter((f) => f.type === 2);
  if (type2.length > 0) {
    const found = facts.containers.get(head.database_id);
    if (!found || 'error' in found) {
      // Not read: the containers are left out and the limit is unknown (they may grow).
      limits.push(null);
      warnings.push(
        msg('api.sync.warn.mssql_containers_uncounted', {
          name: head.name,
          count: type2.length,
          cause: found ? (found.msg ?? found.error) : msg('api.sync.warn.mssql_containers_not_read'),
        }),
      );
    } else {
      const kinds = new Map<string, number>();
      for (const c of found) {
        data += exactCount(c.size_pages, `${head.name} container ${c.file_id} pages`) * PAGE_BYTES;
        const kind = kindName(c.filegroup_type);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        const master = type2.find((f) => f.file_id === c.file_id);
        add(exactCount(c.size_pages, `${head.name} container ${c.file_id} pages`), master ?? { max_size: -1, growth: null });
      }
      const named = [...kinds]
        .map(([kind, count]) => msg('api.sync.warn.mssql_kind_count', { count, kind }))
        .reduceRight<Msg | undefined>((rest, first) => (rest ? msg('api.sync.warn.list_comma', { first, rest }) : first), undefined);
      if (named) warnings.push(msg('api.sync.warn.mssql_containers_counted', { name: head.name, kinds: named }));
    }
  }
  const limit = limits.some((l) => l === null) ? null : (limits as bigint[]).reduce((a, b) => a + b, 0n) * PAGE_BYTES;
  return { data, log, limit };
}

/**
 * A snapshot's sparse files: sys.master_files.size is the most they can ever
 * use (the source's size at snapshot time), so that is the limit, and the
 * bytes on disk come from sys.dm_io_virtual_file_stats. null = on-disk bytes unknown.
 */
function snapshotParts(head: FileRow, files: FileRow[], facts: SideFacts, names: Map<number, string>, warnings: Warning[]): Parts | null {
  const source = names.get(head.source_database_id!) ?? `database_id ${head.source_database_id}`;
  warnings.push(msg('api.sync.warn.mssql_snapshot', { name: head.name, source }));
  if ('error' in facts.snapshotDisk) return null;
  let data = 0n;
  let limit = 0n;
  for (const f of files) {
    const onDisk = facts.snapshotDisk.get(`${head.database_id}/${f.file_id}`);
    if (onDisk === undefined) return null;
    data += exactCount(onDisk, `${head.name} file ${f.file_id} size_on_disk_bytes`);
    limit += exactCount(f.size_pages, `${head.name} file ${f.file_id} pages`) * PAGE_BYTES;
  }
  return { data, log: 0n, limit };
}

const snapshotUnknown = (facts: SideFacts): KeyedMessage =>
  msg('db.remark.mssql_snapshot_unknown', {
    cause: 'error' in facts.snapshotDisk ? (facts.snapshotDisk.msg ?? facts.snapshotDisk.error) : msg('db.remark.mssql_no_io_row'),
  });

export const grantViewDefinition = (login: string) => `GRANT VIEW ANY DEFINITION TO ${quoteName(login)};`;
const noFiles = (login: string): KeyedMessage => msg('db.remark.mssql_no_files', { grant: grantViewDefinition(login) });
