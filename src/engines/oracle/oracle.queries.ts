/**
 * Every SQL text the Oracle tablespace collector sends, and the grants that
 * open each view. Per-file rows (and undo extents summed per status): the
 * arithmetic is in oracle.aggregate.ts. Unquoted aliases, so outFormat OBJECT
 * keys are upper-case. Never dba_segments or dba_free_space: both walk every
 * extent and take minutes on a large database (undo extents are few).
 */
import { msg, type MessageKey, type Msg } from '../../client/shared/i18n/index.js';

export type Scope = 'dba' | 'cdb';

/** Where the session is: no grant needed, one round trip. */
export const LOCATE_SQL = `SELECT sys_context('USERENV', 'CON_ID') AS con_id, sys_context('USERENV', 'CON_NAME') AS con_name FROM dual`;

/** The live session's transport: `tcp` or `tcps` (Oracle Net over TLS). */
export const PROTOCOL_SQL = `SELECT sys_context('USERENV', 'NETWORK_PROTOCOL') AS protocol FROM dual`;

/** The session's Oracle Net services: an "… Encryption service adapter" line means native network encryption is on. */
export const SESSION_BANNERS_SQL = `SELECT network_service_banner AS banner FROM v$session_connect_info WHERE sid = sys_context('USERENV', 'SID')`;

export const CONTAINERS_SQL = 'SELECT con_id, name, open_mode, restricted FROM v$containers';

/**
 * The control file knows every container's tablespaces, open or not. A
 * tablespace with tempfiles is temporary (V$TABLESPACE has no CONTENTS).
 */
export const CONTROLFILE_TABLESPACES_SQL = `
  SELECT t.con_id, t.name AS tablespace_name,
         CASE WHEN EXISTS (SELECT 1 FROM v$tempfile f WHERE f.con_id = t.con_id AND f.ts# = t.ts#) THEN 'YES' ELSE 'NO' END AS is_temp
  FROM v$tablespace t`;

const conCol = (scope: Scope, alias = ''): string => (scope === 'cdb' ? `${alias}con_id, ` : '');

/**
 * One row per data file or tempfile. BYTES is NULL for a file the instance
 * cannot read (offline, missing); MAXBYTES is 0 when the file does not
 * autoextend and may be below BYTES (a file resized past its MAXSIZE).
 */
export function filesSql(scope: Scope, kind: 'data' | 'temp'): string {
  return `
  SELECT ${conCol(scope)}tablespace_name, file_id, bytes, maxbytes, autoextensible, status
  FROM ${scope}_${kind}_files`;
}

/**
 * Every tablespace with its kind and block size, and the usage metrics in
 * blocks of that tablespace: USED_SPACE (permanent tablespaces) and
 * TABLESPACE_SIZE (the most it can grow to; from 18c it accounts for the
 * file system / ASM free space and MAX_PDB_STORAGE).
 */
export function spacesSql(scope: Scope): string {
  const cdb = scope === 'cdb';
  return `
  SELECT ${conCol(scope, 't.')}t.tablespace_name, t.contents, t.block_size, m.used_space, m.tablespace_size
  FROM ${scope}_tablespaces t
  LEFT JOIN ${scope}_tablespace_usage_metrics m
    ON m.tablespace_name = t.tablespace_name${cdb ? ' AND m.con_id = t.con_id' : ''}`;
}

/** Free space of each temporary tablespace, in bytes (what Oracle's own exporter reads): the temp extents kept until restart are free here. */
export function tempFreeSql(scope: Scope): string {
  return `
  SELECT ${conCol(scope)}tablespace_name, tablespace_size, free_space
  FROM ${scope}_temp_free_space`;
}

/** Undo bytes per status (ACTIVE, UNEXPIRED, EXPIRED): used = ACTIVE + UNEXPIRED; EXPIRED is reusable at once. */
export function undoSql(scope: Scope): string {
  const con = conCol(scope);
  return `
  SELECT ${con}tablespace_name, status, SUM(bytes) AS bytes
  FROM ${scope}_undo_extents
  GROUP BY ${con}tablespace_name, status`;
}

/** A PDB's storage limit (bytes, or UNLIMITED); in the root for every PDB, in a PDB for itself. */
export function pdbStorageSql(scope: Scope): string {
  return scope === 'cdb'
    ? `SELECT con_id, property_value FROM cdb_properties WHERE property_name = 'MAX_PDB_STORAGE'`
    : `SELECT property_value FROM database_properties WHERE property_name = 'MAX_PDB_STORAGE'`;
}

// ---------------------------------------------------------------------------
// What each view gives, and the grant that opens it (for errors and doctor).
// ---------------------------------------------------------------------------

export interface ViewNeed {
  view: string;
  /** The object a direct grant names (V$ synonyms point at SYS.V_$ views). */
  grantOn: string;
  /** What the collection misses without it, by key (doctor's "under-counted" line). */
  undercounts: Msg;
}

const need = (view: string, undercounts: MessageKey): ViewNeed => ({
  view,
  grantOn: `sys.${view.replace(/^v\$/, 'v_$')}`,
  undercounts: msg(undercounts),
});

/** The views a collection cannot do without in a scope, in the order doctor reports them. */
export function viewsFor(scope: Scope, temp: boolean): ViewNeed[] {
  const views: ViewNeed[] = [];
  if (scope === 'cdb') views.push(need('v$containers', 'doctor.oracle.uc.containers'));
  views.push(
    need(`${scope}_data_files`, 'doctor.oracle.uc.data_files'),
    need(`${scope}_tablespaces`, 'doctor.oracle.uc.tablespaces'),
    need(`${scope}_tablespace_usage_metrics`, 'doctor.oracle.uc.usage_metrics'),
  );
  if (temp) views.push(need(`${scope}_temp_files`, 'doctor.oracle.uc.temp_files'));
  if (scope === 'cdb') {
    views.push(need('v$tablespace', 'doctor.oracle.uc.v_tablespace'), need('v$tempfile', 'doctor.oracle.uc.v_tempfile'));
  }
  return views;
}

/** Views whose absence costs only what they measure: the collection goes on with a warning naming the grant. */
export function optionalViews(scope: Scope, temp: boolean): ViewNeed[] {
  return [
    need(`${scope}_undo_extents`, 'doctor.oracle.uc.undo'),
    ...(temp ? [need(`${scope}_temp_free_space`, 'doctor.oracle.uc.temp_free')] : []),
    ...(scope === 'cdb' ? [need('cdb_properties', 'doctor.oracle.uc.pdb_storage')] : []),
  ];
}

/** Views only the composition (where the bytes went) reads: without them that part is unknown, nothing else. */
export const COMPOSITION_VIEWS = {
  redo: need('v$log', 'doctor.oracle.uc.redo'),
  recoveryArea: need('v$recovery_file_dest', 'doctor.oracle.uc.recovery_area'),
} as const;

/** A login as it must appear in a GRANT: bare when Oracle would read it unquoted, else quoted as given. */
function grantee(user: string): string {
  if (/^"[^"]+"$/.test(user) || /^[A-Za-z][A-Za-z0-9_$#]*$/.test(user)) return user;
  return `"${user.replace(/"/g, '')}"`;
}

/** In the root, the user is a common user and privileges must hold in every container. */
const containerClause = (scope: Scope): string => (scope === 'cdb' ? ' CONTAINER=ALL' : '');

export function directGrant(v: ViewNeed, scope: Scope, user: string): string {
  return `GRANT SELECT ON ${v.grantOn} TO ${grantee(user)}${containerClause(scope)};`;
}

export function catalogRoleGrant(scope: Scope, user: string): string {
  return `GRANT SELECT_CATALOG_ROLE TO ${grantee(user)}${containerClause(scope)};`;
}

export const containerDataFix = (user: string): string => `ALTER USER ${grantee(user)} SET CONTAINER_DATA=ALL CONTAINER=CURRENT;`;
