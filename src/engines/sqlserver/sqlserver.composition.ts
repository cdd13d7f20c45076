/**
 * Where a SQL Server instance's bytes went. Disjoint parts (they stack):
 *
 * - `data_used`, `data_unused`: per database, the ROWS files' allocated
 *   pages (sys.master_files) split by FILEPROPERTY(name, 'SpaceUsed') read
 *   inside the database (needs a user there, CONNECT);
 * - `log_used`, `log_unused`: the LOG files split by
 *   sys.dm_db_log_space_usage.used_log_space_in_bytes (VIEW SERVER STATE;
 *   2022: VIEW SERVER PERFORMANCE STATE), each database with its
 *   sys.databases.log_reuse_wait_desc — why the used log cannot be reused
 *   yet (LOG_BACKUP, ACTIVE_TRANSACTION, AVAILABILITY_REPLICA…);
 * - `allocated_unsplit`: the files of databases whose used space could not
 *   be read (not ONLINE, no user in it, a secondary that refuses reads…),
 *   each with its reason: counted, never split into a made-up used/unused;
 * - `tempdb`: its files at their current size (tempdb.sys.database_files).
 *
 * The ceiling: the volumes holding the files (sys.dm_os_volume_stats, same
 * grant as the log DMV), their total as `ceiling_bytes` and total − free as
 * the disk in use (the service turns that into `unexplained_bytes`: other
 * files on those volumes). Database snapshots' sparse files are not a part.
 * Pages are 8 KB, summed in BigInt; the arithmetic here is pure and unit-tested.
 */
import { bytes, why } from '../common.js';
import type { KeyedMessage } from '../../domain/collection.js';
import { msg, msgText, type Msg } from '../../client/shared/i18n/index.js';
import type { Composition, CompositionPart } from '../../domain/composition.js';
import { grantViewDefinition, type FileRow } from './sqlserver.aggregate.js';
import { exactCount, PAGE_BYTES } from './sqlserver.common.js';

export const COMPOSITION_METHOD = 'sys.master_files+fileproperty+dm_db_log_space_usage+dm_os_volume_stats';
export const VOLUMES_SOURCE = 'sys.dm_os_volume_stats';

/** Why the log of each database cannot be reused yet; readable by every login that sees the database. */
export const LOG_REUSE_QUERY = 'SELECT name, log_reuse_wait_desc FROM sys.databases';

/**
 * The volumes under every database file, once each. volume_mount_point is
 * NULL on Linux: there a volume is told apart by its size alone.
 */
export const VOLUMES_QUERY = `
  SELECT vs.volume_mount_point, CAST(vs.total_bytes AS bigint) AS total_bytes, MIN(CAST(vs.available_bytes AS bigint)) AS available_bytes
  FROM sys.master_files f
  CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) vs
  GROUP BY vs.volume_mount_point, vs.total_bytes`;

export interface UsedRow {
  data_used_pages: unknown;
  log_used_bytes: unknown;
}
export interface VolumeRow {
  volume_mount_point: string | null;
  total_bytes: unknown;
  available_bytes: unknown;
}
export interface ReuseRow {
  name: string;
  log_reuse_wait_desc: string | null;
}
/** A refused query: its text, and by key when it has one (else the text is shown as the server's words). */
type Refused = { error: string; msg?: KeyedMessage };
export const causeOf = (r: Refused): Msg => r.msg ?? msg('composition.reason.text', { text: r.error });
/** A refusal by key, its text next to it. */
export const refused = (m: Msg): Refused => ({ error: msgText(m), msg: m });

/** What the composition read: the per-file rows, each database's used space (or why not), the log reuse waits, the volumes. */
export interface SqlServerFacts {
  files: FileRow[];
  used: Map<string, UsedRow | Refused>;
  reuse: ReuseRow[] | Refused;
  volumes: VolumeRow[] | Refused;
  login: string;
}

const TEMPDB_ID = 2;

/** The databases whose used space is asked for: ONLINE, not a snapshot, not tempdb, with visible files. */
export function usedSpaceTargets(files: readonly FileRow[]): string[] {
  const names = new Set<string>();
  for (const f of files) {
    if (f.file_id === null || f.database_id === TEMPDB_ID || f.source_database_id != null || f.state_desc !== 'ONLINE') continue;
    names.add(f.name);
  }
  return [...names];
}

interface Allocated {
  id: number;
  data: bigint;
  log: bigint;
  state: string;
}

/** Allocated ROWS and LOG pages per database (tempdb at its current size), snapshots left out. */
function allocatedPages(files: readonly FileRow[]): Map<string, Allocated> {
  const out = new Map<string, Allocated>();
  for (const f of files) {
    if (f.file_id === null || f.source_database_id != null) continue;
    const a = out.get(f.name) ?? { id: f.database_id, data: 0n, log: 0n, state: f.state_desc };
    const pages = exactCount(f.database_id === TEMPDB_ID ? (f.current_pages ?? f.size_pages) : f.size_pages, `${f.name} file ${f.file_id} size`);
    if (f.type === 0) a.data += pages;
    else if (f.type === 1) a.log += pages;
    out.set(f.name, a);
  }
  return out;
}

const toBytes = (v: bigint, what: string): number => bytes(v, what)!;

/** The parts, the ceiling and the disk in use, from what was read. */
export function sqlserverComposition(f: SqlServerFacts): Omit<Composition, 'method'> {
  const waits = new Map('error' in f.reuse ? [] : f.reuse.map((r) => [r.name, r.log_reuse_wait_desc]));
  const waitOf = (name: string) => ('error' in f.reuse ? null : (waits.get(name) ?? null));
  const allocated = allocatedPages(f.files);
  const sums = { dataUsed: 0n, dataUnused: 0n, logUsed: 0n, logUnused: 0n, unsplit: 0n, tempdb: 0n };
  const per = {
    dataUsed: {} as Record<string, number>,
    dataUnused: {} as Record<string, number>,
    logUsed: {} as Record<string, unknown>,
    logUnused: {} as Record<string, unknown>,
    unsplit: {} as Record<string, unknown>,
  };
  const reasons: Msg[] = [];
  let measured = 0;
  for (const [name, a] of allocated) {
    const label = `${name} bytes`;
    if (a.id === TEMPDB_ID) {
      sums.tempdb += (a.data + a.log) * PAGE_BYTES;
      continue;
    }
    const u = f.used.get(name);
    if (u === undefined || 'error' in u) {
      const cause = u === undefined ? msg('composition.reason.mssql_state', { state: a.state }) : causeOf(u);
      sums.unsplit += (a.data + a.log) * PAGE_BYTES;
      per.unsplit[name] = { bytes: toBytes((a.data + a.log) * PAGE_BYTES, label), ...why(cause) };
      reasons.push(cause);
      continue;
    }
    // Used may exceed allocated only if a file shrank between the two reads: then it is all used.
    const dataAlloc = a.data * PAGE_BYTES;
    const logAlloc = a.log * PAGE_BYTES;
    const dataUsed = min(exactCount(u.data_used_pages ?? 0, `${name} used pages`) * PAGE_BYTES, dataAlloc);
    const logUsed = min(exactCount(u.log_used_bytes ?? 0, `${name} used log bytes`), logAlloc);
    measured++;
    sums.dataUsed += dataUsed;
    sums.dataUnused += dataAlloc - dataUsed;
    sums.logUsed += logUsed;
    sums.logUnused += logAlloc - logUsed;
    per.dataUsed[name] = toBytes(dataUsed, label);
    per.dataUnused[name] = toBytes(dataAlloc - dataUsed, label);
    const wait = waitOf(name);
    per.logUsed[name] = { bytes: toBytes(logUsed, label), log_reuse_wait_desc: wait };
    per.logUnused[name] = { bytes: toBytes(logAlloc - logUsed, label), log_reuse_wait_desc: wait };
  }
  const noFiles = f.files.length > 0 && f.files.every((r) => r.file_id === null);
  const splitMsg = noFiles
    ? msg('composition.reason.mssql_no_files', { grant: grantViewDefinition(f.login) })
    : measured === 0
      ? (mostCommon(reasons) ?? msg('composition.reason.mssql_none_readable'))
      : null;
  const splitReason = splitMsg === null ? null : why(splitMsg);
  const reuseNote = 'error' in f.reuse ? { log_reuse_wait_reason: f.reuse.error } : {};
  const waiting = Object.entries(per.logUsed)
    .filter(([, v]) => {
      const w = (v as { log_reuse_wait_desc: string | null }).log_reuse_wait_desc;
      return w !== null && w !== 'NOTHING';
    })
    .map(([name, v]) => ({ database: name, log_reuse_wait_desc: (v as { log_reuse_wait_desc: string }).log_reuse_wait_desc }));
  const part = (kind: string, sum: bigint, detail: Record<string, unknown>): CompositionPart =>
    splitReason !== null ? { kind, bytes: null, detail: null, ...splitReason } : { kind, bytes: toBytes(sum, kind), detail };
  const parts: CompositionPart[] = [
    part('data_used', sums.dataUsed, { databases: per.dataUsed }),
    part('data_unused', sums.dataUnused, { databases: per.dataUnused, reclaim: 'DBCC SHRINKFILE' }),
    part('log_used', sums.logUsed, { databases: per.logUsed, waiting, ...reuseNote }),
    part('log_unused', sums.logUnused, { databases: per.logUnused, ...reuseNote }),
    noFiles
      ? { kind: 'allocated_unsplit', bytes: null, detail: null, ...splitReason! }
      : { kind: 'allocated_unsplit', bytes: toBytes(sums.unsplit, 'unsplit'), detail: { databases: per.unsplit } },
    noFiles ? { kind: 'tempdb', bytes: null, detail: null, ...splitReason! } : { kind: 'tempdb', bytes: toBytes(sums.tempdb, 'tempdb'), detail: null },
  ];
  return { parts, ...volumeCeiling(f.volumes) };
}

/** Σ total of the volumes under the files = the ceiling; Σ (total − free) = the disk in use. */
export function volumeCeiling(volumes: VolumeRow[] | Refused): Pick<Composition, 'ceiling_bytes' | 'ceiling_source' | 'disk_used_bytes' | 'ceiling_detail'> {
  if ('error' in volumes) return { ceiling_bytes: null, ceiling_source: null, disk_used_bytes: null, ceiling_detail: why(causeOf(volumes)) };
  if (volumes.length === 0)
    return { ceiling_bytes: null, ceiling_source: null, disk_used_bytes: null, ceiling_detail: why(msg('composition.reason.mssql_no_volume')) };
  let total = 0n;
  let free = 0n;
  const list = volumes.map((v) => {
    const t = exactCount(v.total_bytes, 'volume total_bytes');
    const a = exactCount(v.available_bytes, 'volume available_bytes');
    total += t;
    free += a;
    return { mount_point: v.volume_mount_point, total_bytes: toBytes(t, 'volume'), available_bytes: toBytes(a, 'volume') };
  });
  return {
    ceiling_bytes: toBytes(total, 'volumes total'),
    ceiling_source: VOLUMES_SOURCE,
    disk_used_bytes: toBytes(total - free, 'volumes used'),
    ceiling_detail: { volumes: list },
  };
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** The reason most databases share (compared by text). */
function mostCommon(xs: readonly Msg[]): Msg | null {
  const n = new Map<string, { m: Msg; count: number }>();
  for (const x of xs) {
    const k = msgText(x);
    n.set(k, { m: x, count: (n.get(k)?.count ?? 0) + 1 });
  }
  return [...n.values()].sort((a, b) => b.count - a.count)[0]?.m ?? null;
}
