/**
 * Oracle arithmetic, pure: per-file rows of the data/temp file views plus the
 * tablespace metrics, temp free space, undo extents and PDB storage limits
 * (oracle.queries.ts) → one row per tablespace and the warnings. The rules,
 * listed in docs/engines.md "Oracle", are unit-tested in
 * test/unit/oracle-collect.test.ts:
 * - allocated = Σ file BYTES (a file with NULL bytes makes it unknown);
 * - file limit = Σ (AUTOEXTENSIBLE ? max(MAXBYTES, BYTES) : BYTES);
 * - max_bytes = that limit, lowered on 18c+ to TABLESPACE_SIZE × block size
 *   (file system / ASM free space and MAX_PDB_STORAGE), and to the PDB's
 *   own MAX_PDB_STORAGE headroom where we read it; never below allocated;
 * - used: PERMANENT = USED_SPACE × block size; TEMPORARY = size − free from
 *   DBA_TEMP_FREE_SPACE (the usage metrics count the temp extents a sort
 *   kept, so TEMP would look full until restart); UNDO = ACTIVE + UNEXPIRED
 *   extents (the metrics include EXPIRED undo, reusable at once).
 */
import { SyncError } from '../../lib/errors.js';
import { formatBytes } from '../../lib/sizes.js';
import { bytes, errorRemark } from '../common.js';
import type { CollectedDatabase, KeyedMessage, Warning } from '../../domain/collection.js';
import { msg, msgText } from '../../client/shared/i18n/index.js';
import type { OracleRow } from './oracle.driver.js';
import type { Scope } from './oracle.queries.js';

/** A column as text: oracledb hands VARCHAR2 and (with our fetchTypeHandler) NUMBER columns over as strings, numbers otherwise. */
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- the driver's row values are strings, numbers or null here, never objects
export const text = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));

/** A NUMBER column (a decimal string with our fetchTypeHandler) as an exact BigInt, or null. */
function big(v: unknown, what: string): bigint | null {
  const n = bytes(v, what);
  return n === null ? null : BigInt(n);
}

const asBytes = (n: bigint, what: string): number => bytes(n, what)!;

/** A container id from a NUMBER column. */
export function conIdOf(v: unknown): number {
  const n = bytes(v, 'CON_ID');
  if (n === null) throw new SyncError('data', 'CON_ID 为空');
  return n;
}

export interface Container {
  id: number;
  name: string;
  /** Its tablespaces are in the CDB_ views (open, not RESTRICTED). */
  visible: boolean;
  state: string;
}

export const isSeed = (name: string): boolean => name.endsWith('$SEED');

export function containersFrom(rows: OracleRow[]): Container[] {
  return rows.map((r) => {
    const openMode = text(r.OPEN_MODE);
    const restricted = text(r.RESTRICTED) === 'YES';
    return {
      id: conIdOf(r.CON_ID),
      name: text(r.NAME),
      visible: openMode !== 'MOUNTED' && !restricted,
      state: restricted ? `${openMode} RESTRICTED` : openMode,
    };
  });
}

export type ContainerData = 'all' | 'list' | 'root_only';

/**
 * Which containers this common user may see in V$/CDB_ views. PDB$SEED
 * exists in every CDB, so a user with CONTAINER_DATA=ALL always sees it;
 * seeing PDBs but no seed means an explicit CONTAINER_DATA list.
 */
export function containerDataOf(containers: readonly { id: number; name: string }[]): ContainerData {
  if (containers.some((c) => c.name === 'PDB$SEED')) return 'all';
  return containers.some((c) => c.id > 2) ? 'list' : 'root_only';
}

const SYSTEM_NAMES = new Set(['SYSTEM', 'SYSAUX']);

/** Oracle's own tablespaces: SYSTEM, SYSAUX, undo and temp, by name or by kind. */
function isSystemTablespace(name: string, contents: string | null): boolean {
  return SYSTEM_NAMES.has(name) || /^(UNDO|TEMP)/.test(name) || contents === 'UNDO' || contents === 'TEMPORARY';
}

/** Used bytes at or above this share of max_bytes deserve a warning (permanent tablespaces: undo and temp run full by design). */
const NEAR_MAX_PERCENT = 90n;

/** Raw result sets of one collection, as the runner returned them; `{ error }` for an optional view we could not read. */
export interface ResultSets {
  dataFiles: OracleRow[];
  tempFiles: OracleRow[] | null;
  spaces: OracleRow[];
  /** null when temp=false. */
  tempFree: OracleRow[] | { error: string | KeyedMessage } | null;
  undo: OracleRow[] | { error: string | KeyedMessage };
  /** MAX_PDB_STORAGE rows; absent in a non-CDB. */
  pdbStorage?: OracleRow[] | { error: string | KeyedMessage };
  /** CDB scope only. */
  containers?: OracleRow[];
  /** CDB scope, only when some PDB is closed or RESTRICTED. */
  controlfile?: OracleRow[];
}

export interface MapOptions {
  temp: boolean;
  /** The server's major version (oracleServerVersionString): TABLESPACE_SIZE bounds max_bytes from 18. */
  major: number;
  /** The session's container (dba scope inside a PDB), to name its MAX_PDB_STORAGE warning. */
  conName?: string;
}

/** Rows of one scope, keyed by `conId/tablespace` (conId 0 in the dba scope). */
const key = (conId: number, ts: string): string => `${conId}/${ts}`;

interface Files {
  kind: 'data' | 'temp';
  allocated: bigint;
  limit: bigint;
  count: number;
  unsized: number;
}

interface Space {
  conId: number;
  name: string;
  contents: string | null;
  blockSize: bigint | null;
  usedBlocks: bigint | null;
  sizeBlocks: bigint | null;
}

function groupFiles(rows: OracleRow[], kind: 'data' | 'temp', conOf: (r: OracleRow) => number): Map<string, Files & { conId: number; name: string }> {
  const out = new Map<string, Files & { conId: number; name: string }>();
  for (const r of rows) {
    const conId = conOf(r);
    const name = text(r.TABLESPACE_NAME);
    const k = key(conId, name);
    const f = out.get(k) ?? { kind, conId, name, allocated: 0n, limit: 0n, count: 0, unsized: 0 };
    out.set(k, f);
    f.count++;
    const size = big(r.BYTES, `${name} file ${text(r.FILE_ID)} bytes`);
    if (size === null) {
      f.unsized++;
      continue;
    }
    const max = big(r.MAXBYTES, `${name} file ${text(r.FILE_ID)} maxbytes`) ?? 0n;
    f.allocated += size;
    f.limit += text(r.AUTOEXTENSIBLE) === 'YES' && max > size ? max : size;
  }
  return out;
}

/**
 * Result sets → one row per tablespace. Pure: the tests feed it rows built
 * through the driver's own NUMBER decoding.
 */
export function mapTablespaces(scope: Scope, sets: ResultSets, opts: MapOptions): { databases: CollectedDatabase[]; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const containers = new Map((sets.containers ? containersFrom(sets.containers) : []).map((c) => [c.id, c]));
  const conOf = (r: OracleRow): number => (scope === 'cdb' ? conIdOf(r.CON_ID) : 0);
  const skip = (conId: number): boolean => scope === 'cdb' && isSeed(containers.get(conId)?.name ?? '');
  const labelOf = (conId: number, ts: string): string => {
    if (scope === 'dba') return ts;
    // A PDB created between the two queries has no name here yet: its id is still unambiguous.
    return `${containers.get(conId)?.name ?? `CON_ID ${conId}`}/${ts}`;
  };

  const spaces = new Map<string, Space>();
  for (const r of sets.spaces) {
    const conId = conOf(r);
    const name = text(r.TABLESPACE_NAME);
    spaces.set(key(conId, name), {
      conId,
      name,
      contents: r.CONTENTS == null ? null : text(r.CONTENTS),
      blockSize: big(r.BLOCK_SIZE, `${name} block_size`),
      usedBlocks: big(r.USED_SPACE, `${name} used_space`),
      sizeBlocks: big(r.TABLESPACE_SIZE, `${name} tablespace_size`),
    });
  }
  const tempFree = sumBy(sets.tempFree, conOf, (r) => [big(r.TABLESPACE_SIZE, 'temp tablespace_size'), big(r.FREE_SPACE, 'temp free_space')]);
  const undo = undoUsed(sets.undo, conOf);
  if (sets.tempFree && 'error' in sets.tempFree) warnings.push(msg('api.sync.warn.ora_temp_unknown', { cause: sets.tempFree.error }));
  if ('error' in sets.undo) warnings.push(msg('api.sync.warn.ora_undo_unknown', { cause: sets.undo.error }));

  const files = new Map([...groupFiles(sets.dataFiles, 'data', conOf), ...(opts.temp && sets.tempFiles ? groupFiles(sets.tempFiles, 'temp', conOf) : [])]);
  const headroom = pdbHeadroom(sets.pdbStorage, files, (conId) => containers.get(conId)?.name ?? opts.conName ?? `CON_ID ${conId}`, conOf, warnings);

  const out: CollectedDatabase[] = [];
  for (const [k, f] of files) {
    if (skip(f.conId)) continue;
    const s = spaces.get(k);
    out.push(
      tablespaceRow(
        { label: labelOf(f.conId, f.name), name: f.name, files: f, space: s, k, tempFree, undo, headroom: headroom.get(f.conId) },
        scope,
        opts,
        warnings,
      ),
    );
  }

  // Tablespaces listed but without any file rows: tempfile-less TEMP, or a race.
  for (const [k, s] of spaces) {
    if (files.has(k) || skip(s.conId)) continue;
    const isTemp = s.contents === 'TEMPORARY';
    if (isTemp && !opts.temp) continue;
    const label = labelOf(s.conId, s.name);
    const base = rowBase(label, s.name, s.contents ?? (isTemp ? 'TEMPORARY' : null), `${scope}_${isTemp ? 'temp' : 'data'}_files`);
    if (isTemp) {
      // A temporary tablespace without tempfiles really has 0 bytes — and every sort that spills to it fails.
      warnings.push(msg('api.sync.warn.ora_no_tempfiles', { name: label }));
      out.push({ ...base, size_bytes: 0, data_bytes: 0, free_bytes: 0, used_bytes: 0 });
    } else {
      out.push({ ...base, error: msgText(msg('db.remark.ora_no_datafiles')) });
    }
  }

  out.push(...closedPdbRows(sets.controlfile ?? [], containers, opts.temp, warnings));
  if ([...containers.values()].some((c) => isSeed(c.name))) {
    warnings.push(msg('api.sync.warn.ora_seed'));
  }
  out.sort((a, b) => (a.database_name < b.database_name ? -1 : a.database_name > b.database_name ? 1 : 0));
  return { databases: out, warnings };
}

function rowBase(label: string, name: string, contents: string | null, method: string): CollectedDatabase {
  return {
    database_name: label,
    is_system: isSystemTablespace(name, contents),
    size_bytes: null,
    data_bytes: null,
    index_bytes: null,
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method,
  };
}

/** `key → [a, b]` summed per (container, tablespace); null for a set we could not read. */
function sumBy(
  set: OracleRow[] | { error: string | KeyedMessage } | null,
  conOf: (r: OracleRow) => number,
  values: (r: OracleRow) => [bigint | null, bigint | null],
) {
  if (!set || 'error' in set) return null;
  const out = new Map<string, [bigint | null, bigint | null]>();
  for (const r of set) out.set(key(conOf(r), text(r.TABLESPACE_NAME)), values(r));
  return out;
}

/** ACTIVE + UNEXPIRED bytes per undo tablespace; EXPIRED left out. */
function undoUsed(set: OracleRow[] | { error: string | KeyedMessage }, conOf: (r: OracleRow) => number): Map<string, bigint> | null {
  if ('error' in set) return null;
  const out = new Map<string, bigint>();
  for (const r of set) {
    const k = key(conOf(r), text(r.TABLESPACE_NAME));
    const status = text(r.STATUS);
    const n = big(r.BYTES, `${text(r.TABLESPACE_NAME)} undo ${status}`) ?? 0n;
    out.set(k, (out.get(k) ?? 0n) + (status === 'EXPIRED' ? 0n : n));
  }
  return out;
}

/**
 * Per PDB with a MAX_PDB_STORAGE limit: how much more its data files may
 * take (the limit minus what they hold now), warned at 90 %.
 */
function pdbHeadroom(
  set: ResultSets['pdbStorage'],
  files: Map<string, Files & { conId: number }>,
  pdbName: (conId: number) => string,
  conOf: (r: OracleRow) => number,
  warnings: Warning[],
): Map<number, bigint> {
  const out = new Map<number, bigint>();
  if (!set) return out;
  if ('error' in set) {
    warnings.push(msg('api.sync.warn.ora_pdb_storage_unread', { cause: set.error }));
    return out;
  }
  for (const r of set) {
    const value = text(r.PROPERTY_VALUE).trim();
    if (!/^\d+$/.test(value)) continue; // UNLIMITED (or absent)
    const conId = conOf(r);
    const limit = BigInt(value);
    let allocated = 0n;
    for (const f of files.values()) if (f.conId === conId && f.kind === 'data') allocated += f.allocated;
    out.set(conId, limit > allocated ? limit - allocated : 0n);
    if (allocated * 100n >= limit * NEAR_MAX_PERCENT) {
      const pct = ((Number(allocated) / Number(limit)) * 100).toFixed(1);
      warnings.push(
        msg('api.sync.warn.ora_pdb_storage_near', { name: pdbName(conId), pct, used: formatBytes(Number(allocated)), limit: formatBytes(Number(limit)) }),
      );
    }
  }
  return out;
}

interface One {
  label: string;
  name: string;
  k: string;
  files: Files;
  space: Space | undefined;
  tempFree: Map<string, [bigint | null, bigint | null]> | null;
  undo: Map<string, bigint> | null;
  headroom: bigint | undefined;
}

function tablespaceRow(t: One, scope: Scope, opts: MapOptions, warnings: Warning[]): CollectedDatabase {
  const contents = t.space?.contents ?? (t.files.kind === 'temp' ? 'TEMPORARY' : null);
  const method =
    contents === 'UNDO' ? `${scope}_data_files+undo_extents` : t.files.kind === 'temp' ? `${scope}_temp_files+temp_free_space` : `${scope}_data_files`;
  const base = rowBase(t.label, t.name, contents, method);
  if (t.files.unsized > 0) {
    return { ...base, ...errorRemark(msg('db.remark.ora_files_unsized', { unsized: t.files.unsized, count: t.files.count })) };
  }
  const allocated = t.files.allocated;
  const block = t.space?.blockSize ?? null;

  let used: bigint | null = null;
  if (contents === 'TEMPORARY') {
    const tf = t.tempFree?.get(t.k);
    used = tf && tf[0] !== null && tf[1] !== null && tf[0] >= tf[1] ? tf[0] - tf[1] : null;
  } else if (contents === 'UNDO') {
    used = t.undo ? (t.undo.get(t.k) ?? 0n) : null;
  } else if (t.space?.usedBlocks != null && block !== null) {
    used = t.space.usedBlocks * block;
  }

  let max = t.files.limit;
  // 18c+: TABLESPACE_SIZE knows the free space under the files and MAX_PDB_STORAGE. Never below what is allocated.
  if (opts.major >= 18 && t.space?.sizeBlocks != null && block !== null) {
    const metric = t.space.sizeBlocks * block;
    if (metric < max) max = metric > allocated ? metric : allocated;
  }
  if (t.headroom !== undefined && t.files.kind === 'data' && allocated + t.headroom < max) max = allocated + t.headroom;

  // Used comes from another view read a moment later: a file resized in between can put it past the allocation; then free is unknown.
  const free = used !== null && used <= allocated ? allocated - used : null;
  if (used !== null && max > 0n && contents === 'PERMANENT' && used * 100n >= max * NEAR_MAX_PERCENT) {
    const pct = ((Number(used) / Number(max)) * 100).toFixed(1);
    warnings.push(msg('api.sync.warn.ora_near_max', { name: t.label, pct, used: formatBytes(Number(used)), max: formatBytes(Number(max)) }));
  }
  return {
    ...base,
    size_bytes: asBytes(allocated, `${t.label} allocated`),
    data_bytes: asBytes(allocated, `${t.label} allocated`),
    used_bytes: used === null ? null : asBytes(used, `${t.label} used`),
    free_bytes: free === null ? null : asBytes(free, `${t.label} free`),
    max_bytes: bytes(max, `${t.label} max`),
  };
}

/** Closed / RESTRICTED PDBs: present, unmeasured. */
function closedPdbRows(controlfile: OracleRow[], containers: Map<number, Container>, temp: boolean, warnings: Warning[]): CollectedDatabase[] {
  const out: CollectedDatabase[] = [];
  for (const r of controlfile) {
    const c = containers.get(conIdOf(r.CON_ID));
    if (!c || c.visible || isSeed(c.name)) continue;
    const isTemp = text(r.IS_TEMP) === 'YES';
    if (isTemp && !temp) continue;
    const name = text(r.TABLESPACE_NAME);
    out.push({
      ...rowBase(`${c.name}/${name}`, name, isTemp ? 'TEMPORARY' : null, 'v$tablespace'),
      ...errorRemark(msg('db.remark.ora_pdb_state', { state: c.state })),
    });
  }
  const closed = [...containers.values()].filter((c) => !c.visible && !isSeed(c.name));
  if (closed.length > 0) {
    warnings.push(msg('api.sync.warn.ora_pdbs_closed', { pdbs: closed.map((c) => `${c.name} (${c.state})`).join(', ') }));
  }
  return out;
}
