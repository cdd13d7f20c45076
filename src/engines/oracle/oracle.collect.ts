/**
 * What one Oracle collection reads, in order, over an injectable query
 * runner (pure of the network: the tests give it rows built by the driver's
 * own NUMBER decoding).
 *
 * Which views, decided once per collection from sys_context('USERENV',
 * 'CON_ID') (needs no grant; 0 = non-CDB, 1 = CDB root, ≥ 2 = a PDB):
 * - `dba` scope (non-CDB, or a session inside one PDB): DBA_ views, rows
 *   named by tablespace (`USERS`).
 * - `cdb` scope (CDB root): CDB_ views, rows named `CONTAINER/TABLESPACE`
 *   (`CDB$ROOT/SYSTEM`, `SALES/USERS`); PDB$SEED is skipped (and said so).
 *   CDB_ views only hold PDBs that are open and not RESTRICTED, so the
 *   tablespaces of the others are listed from the control file (V$TABLESPACE)
 *   with an error instead of vanishing (and being recorded as deleted). A
 *   common user sees other containers only with CONTAINER_DATA=ALL: without
 *   it the root alone would be counted, so that is a permission error, not a
 *   silent shortfall.
 */
import { SyncError } from '../../lib/errors.js';
import type { CollectedDatabase, KeyedMessage, Warning } from '../../domain/collection.js';
import type { CollectedTableDatabase, TableCollection, TableScope } from '../../domain/tables.js';
import type { PrivilegeCheck } from '../engine.js';
import { check, cutToBudget, notCollected, outOfTime } from '../common.js';
import { msg, type Msg } from '../../client/shared/i18n/index.js';
import { containerDataOf, containersFrom, isSeed, mapTablespaces, text, type ResultSets } from './oracle.aggregate.js';
import type { OracleRow, Run } from './oracle.driver.js';
import { isMissingView } from './oracle.errors.js';
import {
  catalogRoleGrant,
  COMPOSITION_VIEWS,
  containerDataFix,
  CONTAINERS_SQL,
  CONTROLFILE_TABLESPACES_SQL,
  directGrant,
  filesSql,
  LOCATE_SQL,
  PROTOCOL_SQL,
  SESSION_BANNERS_SQL,
  optionalViews,
  pdbStorageSql,
  spacesSql,
  tempFreeSql,
  undoSql,
  viewsFor,
  type Scope,
  type ViewNeed,
} from './oracle.queries.js';
import { segmentsSql, segmentTable, SYSTEM_TABLESPACES, TABLES_METHOD, TABLESPACES_SQL } from './oracle.tables.js';

export const CONTAINER_MODES = ['auto', 'cdb', 'non_cdb'] as const;
export type ContainerMode = (typeof CONTAINER_MODES)[number];

export interface OracleSettings {
  containerMode: ContainerMode;
  /** Also report temporary tablespaces (their tempfiles) as rows of their own. */
  temp: boolean;
  /** The login, as it goes into the GRANT statements we print. */
  user: string;
}

interface Location {
  conId: number;
  conName: string;
}

async function locate(run: Run): Promise<Location> {
  const [row] = await run(LOCATE_SQL);
  // sys_context returns VARCHAR2: a string of digits, or we do not know where we are.
  const raw = row?.CON_ID;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) {
    throw new SyncError('data', msg('api.engine.ora_con_id', { value: JSON.stringify(raw ?? null) }));
  }
  return { conId: Number(raw), conName: text(row?.CON_NAME) };
}

/** The scope a mode asks for here, or why it cannot be honoured. */
function scopeAt(mode: ContainerMode, at: Location): { scope: Scope } | { refused: Msg } {
  if (mode === 'non_cdb') return { scope: 'dba' };
  if (at.conId === 1) return { scope: 'cdb' };
  if (mode === 'auto') return { scope: 'dba' };
  return { refused: msg('doctor.oracle.refused_cdb', { where: at.conName || '?', con_id: at.conId }) };
}

/** Probe a view with the cheapest query there is: false when this user may not read it. */
async function readable(run: Run, view: string): Promise<boolean> {
  try {
    await run(`SELECT 1 AS ok FROM ${view} WHERE ROWNUM = 1`);
    return true;
  } catch (err) {
    if (isMissingView(err)) return false;
    throw err;
  }
}

/**
 * ORA-00942 does not say which view (before 23ai), so probe each one the
 * collection reads and name exactly the missing ones with their grants.
 * Falls back to the original error if every view turns out readable.
 */
async function explainMissing(run: Run, scope: Scope, settings: OracleSettings, original: unknown): Promise<unknown> {
  const missing: ViewNeed[] = [];
  for (const v of viewsFor(scope, settings.temp)) if (!(await readable(run, v.view))) missing.push(v);
  if (missing.length === 0) return original;
  const names = missing.map((v) => v.view.toUpperCase()).join(', ');
  const grants = missing.map((v) => directGrant(v, scope, settings.user)).join(' ');
  return new SyncError('permission', msg('api.engine.ora_missing_views', { names, role: catalogRoleGrant(scope, settings.user), grants }));
}

const containerDataError = (user: string): SyncError => new SyncError('permission', msg('api.engine.ora_root_only', { fix: containerDataFix(user) }));

/** An optional view: its rows, or why not (with the GRANT) when it is not granted. */
async function optional(run: Run, sql: string, view: string, scope: Scope, user: string): Promise<OracleRow[] | { error: KeyedMessage }> {
  try {
    return await run(sql);
  } catch (err) {
    if (!isMissingView(err)) throw err;
    const v = optionalViews(scope, true).find((x) => x.view === view);
    return { error: msg('api.sync.warn.ora_cannot_read', { view: view.toUpperCase(), grant: v ? directGrant(v, scope, user) : '' }) };
  }
}

async function readAll(
  run: Run,
  scope: Scope,
  at: Location,
  settings: OracleSettings,
  major: number,
): Promise<{ databases: CollectedDatabase[]; warnings: Warning[] }> {
  const sets: ResultSets = { dataFiles: [], tempFiles: null, spaces: [], tempFree: null, undo: [] };
  const extra: Warning[] = [];
  if (scope === 'cdb') {
    sets.containers = await run(CONTAINERS_SQL);
    const seen = containerDataOf(containersFrom(sets.containers));
    if (seen === 'root_only') throw containerDataError(settings.user);
    if (seen === 'list') {
      extra.push(msg('api.sync.warn.ora_container_list', { fix: containerDataFix(settings.user) }));
    }
  }
  sets.dataFiles = await run(filesSql(scope, 'data'));
  if (settings.temp) sets.tempFiles = await run(filesSql(scope, 'temp'));
  sets.spaces = await run(spacesSql(scope));
  if (settings.temp) sets.tempFree = await optional(run, tempFreeSql(scope), `${scope}_temp_free_space`, scope, settings.user);
  sets.undo = await optional(run, undoSql(scope), `${scope}_undo_extents`, scope, settings.user);
  // MAX_PDB_STORAGE: for every PDB from the root, for itself inside a PDB; a non-CDB has none.
  if (scope === 'cdb') sets.pdbStorage = await optional(run, pdbStorageSql('cdb'), 'cdb_properties', scope, settings.user);
  else if (at.conId >= 2) sets.pdbStorage = await optional(run, pdbStorageSql('dba'), 'database_properties', scope, settings.user);
  if (sets.containers && containersFrom(sets.containers).some((c) => !c.visible && !isSeed(c.name))) {
    sets.controlfile = await run(CONTROLFILE_TABLESPACES_SQL);
  }
  const mapped = mapTablespaces(scope, sets, { temp: settings.temp, major, conName: at.conName });
  return { databases: mapped.databases, warnings: [...extra, ...mapped.warnings] };
}

/**
 * Locate, pick the views, read them. `major` is the server's major version
 * (it decides whether TABLESPACE_SIZE bounds max_bytes). Every driver error
 * is left for the caller to classify.
 */
export async function collectTablespaces(run: Run, settings: OracleSettings, major: number): Promise<{ databases: CollectedDatabase[]; warnings: Warning[] }> {
  const at = await locate(run);
  const chosen = scopeAt(settings.containerMode, at);
  if ('refused' in chosen) throw new SyncError('data', chosen.refused);
  const { scope } = chosen;
  try {
    return await readAll(run, scope, at, settings, major);
  } catch (err) {
    if (!isMissingView(err)) throw err;
    throw await explainMissing(run, scope, settings, err);
  }
}

/** Whether one view is readable; if not, what it under-counts (the view's own words) and the grants that open it. */
async function viewCheck(run: Run, v: ViewNeed, scope: Scope, user: string): Promise<PrivilegeCheck> {
  const ok = await readable(run, v.view);
  return check(
    `SELECT ON ${v.view.toUpperCase()}`,
    ok,
    msg(ok ? 'doctor.oracle.readable' : 'doctor.oracle.unreadable'),
    ok ? {} : { undercounts: v.undercounts, fix: [directGrant(v, scope, user), catalogRoleGrant(scope, user)] },
  );
}

/** One check per view the collection reads (required, then optional), plus CONTAINER_DATA in the root. */
export async function doctorChecks(run: Run, settings: OracleSettings): Promise<PrivilegeCheck[]> {
  const at = await locate(run);
  const where = at.conId === 0 ? 'non-CDB' : `${at.conName} (CON_ID ${at.conId})`;
  const checks: PrivilegeCheck[] = [check('CREATE SESSION', true, msg('doctor.oracle.connected', { where }))];
  const chosen = scopeAt(settings.containerMode, at);
  if ('refused' in chosen) {
    checks.push(check('container_mode', false, chosen.refused, { undercounts: msg('doctor.oracle.nothing_collected') }));
    return checks;
  }
  const { scope } = chosen;
  for (const v of [...viewsFor(scope, settings.temp), ...optionalViews(scope, settings.temp)]) {
    checks.push(await viewCheck(run, v, scope, settings.user));
  }
  if (scope === 'cdb' && checks.find((c) => c.name === 'SELECT ON V$CONTAINERS')?.ok) {
    const seen = containerDataOf(containersFrom(await run(CONTAINERS_SQL)));
    checks.push(
      check(
        'CONTAINER_DATA=ALL',
        seen === 'all',
        msg(seen === 'all' ? 'doctor.oracle.containers_all' : seen === 'list' ? 'doctor.oracle.containers_list' : 'doctor.oracle.containers_root'),
        seen === 'all'
          ? {}
          : { undercounts: msg(seen === 'list' ? 'doctor.oracle.outside_list' : 'doctor.oracle.every_pdb'), fix: [containerDataFix(settings.user)] },
      ),
    );
  }
  for (const v of Object.values(COMPOSITION_VIEWS)) {
    checks.push(await viewCheck(run, v, scope, settings.user));
  }
  checks.push(await encryptionCheck(run));
  return checks;
}

/**
 * Whether the live connection is encrypted, as the PostgreSQL/MySQL doctors say: TCPS (TLS), or Oracle's native
 * network encryption (an "AES256 Encryption service adapter" banner), or neither. Informational: always ok.
 */
async function encryptionCheck(run: Run): Promise<PrivilegeCheck> {
  const protocol = text((await run(PROTOCOL_SQL))[0]?.PROTOCOL).toLowerCase() || 'tcp';
  if (protocol === 'tcps') return check('TLS', true, msg('doctor.oracle.tcps'));
  let banners: string[];
  try {
    banners = (await run(SESSION_BANNERS_SQL)).map((r) => text(r.BANNER));
  } catch (err) {
    if (!isMissingView(err)) throw err;
    return check('TLS', true, msg('doctor.oracle.encryption_unknown', { protocol }));
  }
  const adapter = banners.find((b) => /encryption service adapter/i.test(b));
  const algorithm = adapter ? /^\s*(\S+)\s+encryption service adapter/i.exec(adapter)?.[1] : undefined;
  return algorithm
    ? check('TLS', true, msg('doctor.oracle.native_encryption', { algorithm, protocol }))
    : check('TLS', true, msg('doctor.tls_plain', { mode: protocol }));
}

/**
 * Table sizes per tablespace of the current container (see oracle.tables.ts).
 * A tablespace whose query fails with a server error (ORA-) is reported for
 * itself; anything else ends the collection.
 */
export async function collectSegmentTables(run: Run, scope: TableScope, toSyncError: (err: unknown) => SyncError): Promise<TableCollection> {
  const list = (await run(TABLESPACES_SQL)).map((r) => text(r.NAME));
  const present = new Set(list);
  const names = scope.databases ?? list.filter((n) => !SYSTEM_TABLESPACES.has(n));
  const out: CollectedTableDatabase[] = [];
  let allowance = scope.maxTables;
  for (const name of names) {
    if (!present.has(name)) {
      out.push(notCollected(name, msg('api.tables.tablespace_not_found')));
      continue;
    }
    if (Date.now() >= scope.deadline) {
      out.push(outOfTime(name));
      continue;
    }
    try {
      const { kept, other } = cutToBudget((await run(segmentsSql(name))).map(segmentTable), allowance);
      allowance -= kept.length;
      out.push({ database_name: name, tables: kept, ...(other ? { other } : {}) });
    } catch (err) {
      if (!/^ORA-\d+/.test(String((err as Error | null)?.message ?? ''))) throw err;
      out.push(notCollected(name, toSyncError(err)));
    }
  }
  return { method: TABLES_METHOD, databases: out, present_databases: scope.databases ? null : list, warnings: [] };
}
