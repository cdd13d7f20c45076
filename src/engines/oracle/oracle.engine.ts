/**
 * Oracle through node-oracledb's thin mode (pure JavaScript, Oracle 12.1+; the
 * thick mode and its Instant Client are never loaded). The unit is the
 * tablespace: allocated bytes summed from the data/temp file views, used
 * bytes from the tablespace usage metrics × block size. Never dba_segments or
 * dba_free_space: both walk every extent and take minutes on a large database.
 *
 * Which views, decided once per collection from sys_context('USERENV',
 * 'CON_ID') (needs no grant; 0 = non-CDB, 1 = CDB root, ≥ 2 = a PDB):
 * - `dba` scope (non-CDB, or a session inside one PDB): DBA_ views, rows
 *   named by tablespace (`USERS`).
 * - `cdb` scope (CDB root): CDB_ views, rows named `CONTAINER/TABLESPACE`
 *   (`CDB$ROOT/SYSTEM`, `SALES/USERS`); seeds are skipped. CDB_ views only
 *   hold PDBs that are open and not RESTRICTED, so the tablespaces of the
 *   others are listed from the control file (V$TABLESPACE) with an error
 *   instead of vanishing (and being recorded as deleted). A common user sees
 *   other containers only with CONTAINER_DATA=ALL: without it the root alone
 *   would be counted, so that is a permission error, not a silent shortfall.
 */
import { createRequire } from 'node:module';
import { SyncError } from '../../lib/errors.js';
import { formatBytes } from '../../lib/sizes.js';
import { withTimeout } from '../../lib/timeout.js';
import type {
  CollectedTableDatabase,
  TableCollection,
  TableScope,
  CollectedDatabase,
  Collection,
  ConnectTarget,
  Engine,
  EngineSession,
  InstanceOptions,
  PrivilegeCheck,
} from '../engine.js';
import { bytes, classified, classify, closeWithin, cutToBudget, errorCode, outOfTime, type Verdict } from '../common.js';
import { segmentsSql, segmentTable, SYSTEM_TABLESPACES, TABLES_METHOD, TABLESPACES_SQL } from './oracle.tables.js';

// ---------------------------------------------------------------------------
// The driver surface this engine uses. oracledb ships no TypeScript types
// (@types/oracledb is not a dependency), and a bare `import` of an untyped
// package fails strict type checking; these declarations are checked against
// the real driver by test/engines/oracle.test.ts.
// ---------------------------------------------------------------------------

/** A row with outFormat OBJECT: keys are the column names, upper-case unless quoted. */
export type OracleRow = Record<string, unknown>;

/** What a fetchTypeHandler receives (a subset of the driver's column metadata). */
export interface ColumnMeta {
  name: string;
  dbType: unknown;
}

export interface OracleConnection {
  /** Per round trip, in ms (integer): on expiry the driver sends a break and throws NJS-123. */
  callTimeout: number;
  readonly oracleServerVersionString: string;
  execute(
    sql: string,
    binds: readonly unknown[],
    options: { outFormat: number; fetchTypeHandler: (meta: ColumnMeta) => { type: unknown } | undefined },
  ): Promise<{ rows?: OracleRow[] }>;
  close(): Promise<void>;
}

export interface OracleDriver {
  getConnection(attrs: {
    user: string;
    password: string;
    connectString: string;
    /** Whole seconds (the driver refuses fractions with NJS-007); bounds TCP connect + Oracle Net handshake, not the login. */
    connectTimeout: number;
  }): Promise<OracleConnection>;
  readonly OUT_FORMAT_OBJECT: number;
  readonly STRING: unknown;
  readonly DB_TYPE_NUMBER: unknown;
}

const require = createRequire(import.meta.url);
let loaded: OracleDriver | undefined;
/** node-oracledb, loaded on first use: an estate without Oracle never pays for it. */
const oracledb = new Proxy({} as OracleDriver, { get: (_t, key) => Reflect.get((loaded ??= require('oracledb') as OracleDriver), key) });

/**
 * Every NUMBER column arrives as the driver's exact decimal string. By
 * default thin mode parseFloat()s it: 9007199254740993 would silently become
 * …992. `bytes()` then parses the string strictly.
 */
export function fetchTypeHandler(meta: ColumnMeta): { type: unknown } | undefined {
  return meta.dbType === oracledb.DB_TYPE_NUMBER ? { type: oracledb.STRING } : undefined;
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

export const CONTAINER_MODES = ['auto', 'cdb', 'non_cdb'] as const;
export type ContainerMode = (typeof CONTAINER_MODES)[number];

export interface OracleSettings {
  containerMode: ContainerMode;
  /** Also report temporary tablespaces (their tempfiles) as rows of their own. */
  temp: boolean;
  /** The login, as it goes into the GRANT statements we print. */
  user: string;
}

export function settingsFrom(options: InstanceOptions, username: string): OracleSettings {
  const mode = options.container_mode ?? 'auto';
  const temp = options.temp ?? true;
  if (!CONTAINER_MODES.includes(mode as ContainerMode)) {
    throw new SyncError('data', `container_mode 无效: ${JSON.stringify(mode)} (auto | cdb | non_cdb)`);
  }
  if (typeof temp !== 'boolean') throw new SyncError('data', `temp 必须是布尔值: ${JSON.stringify(temp)}`);
  return { containerMode: mode as ContainerMode, temp, user: username };
}

// ---------------------------------------------------------------------------
// SQL. Unquoted aliases, so outFormat OBJECT keys are upper-case.
// ---------------------------------------------------------------------------

export type Scope = 'dba' | 'cdb';

/** Where the session is: no grant needed, one round trip. */
export const LOCATE_SQL = `SELECT sys_context('USERENV', 'CON_ID') AS con_id, sys_context('USERENV', 'CON_NAME') AS con_name FROM dual`;

export const CONTAINERS_SQL = 'SELECT con_id, name, open_mode, restricted FROM v$containers';

/**
 * The control file knows every container's tablespaces, open or not. A
 * tablespace with tempfiles is temporary (V$TABLESPACE has no CONTENTS).
 */
export const CONTROLFILE_TABLESPACES_SQL = `
  SELECT t.con_id, t.name AS tablespace_name,
         CASE WHEN EXISTS (SELECT 1 FROM v$tempfile f WHERE f.con_id = t.con_id AND f.ts# = t.ts#) THEN 'YES' ELSE 'NO' END AS is_temp
  FROM v$tablespace t`;

/**
 * Allocated and autoextend-limit bytes per tablespace. MAXBYTES can be below
 * BYTES (a file resized past its MAXSIZE), hence GREATEST. BYTES is NULL for
 * a file the instance cannot read (offline, missing): counted in UNSIZED so a
 * partial sum is never passed off as the tablespace's size.
 */
export function fileSumsSql(scope: Scope, kind: 'data' | 'temp'): string {
  const con = scope === 'cdb' ? 'con_id, ' : '';
  return `
  SELECT ${con}tablespace_name,
         SUM(bytes) AS allocated,
         SUM(CASE WHEN autoextensible = 'YES' THEN GREATEST(maxbytes, bytes) ELSE bytes END) AS max_size,
         COUNT(*) AS files,
         COUNT(*) - COUNT(bytes) AS unsized
  FROM ${scope}_${kind}_files
  GROUP BY ${con}tablespace_name`;
}

/** Every tablespace with its kind, and used bytes (USED_SPACE is in blocks of that tablespace). */
export function spacesSql(scope: Scope): string {
  const cdb = scope === 'cdb';
  return `
  SELECT ${cdb ? 't.con_id, ' : ''}t.tablespace_name, t.contents, m.used_space * t.block_size AS used
  FROM ${scope}_tablespaces t
  LEFT JOIN ${scope}_tablespace_usage_metrics m
    ON m.tablespace_name = t.tablespace_name${cdb ? ' AND m.con_id = t.con_id' : ''}`;
}

// ---------------------------------------------------------------------------
// What each view gives, and the grant that opens it (for errors and doctor).
// ---------------------------------------------------------------------------

interface ViewNeed {
  view: string;
  /** The object a direct grant names (V$ synonyms point at SYS.V_$ views). */
  grantOn: string;
  undercounts: string;
}

const need = (view: string, undercounts: string): ViewNeed => ({
  view,
  grantOn: `sys.${view.replace(/^v\$/, 'v_$')}`,
  undercounts,
});

/** The views a collection reads in a scope, in the order doctor reports them. */
function viewsFor(scope: Scope, temp: boolean): ViewNeed[] {
  const views: ViewNeed[] = [];
  if (scope === 'cdb') views.push(need('v$containers', '容器列表与打开状态 (container names and open state): nothing is collected'));
  views.push(
    need(`${scope}_data_files`, '表空间已分配容量 (allocated bytes of every tablespace): nothing is collected'),
    need(`${scope}_tablespaces`, '表空间类型与块大小 (tablespace kind and block size): nothing is collected'),
    need(`${scope}_tablespace_usage_metrics`, '已用/空闲容量 (used and free bytes): nothing is collected'),
  );
  if (temp) views.push(need(`${scope}_temp_files`, '临时表空间 (temporary tablespaces): nothing is collected while temp=true'));
  if (scope === 'cdb') {
    views.push(
      need('v$tablespace', '未打开或 RESTRICTED 的 PDB 的表空间 (tablespaces of closed/RESTRICTED PDBs): collection fails while such a PDB exists'),
      need('v$tempfile', '同上，区分其临时表空间 (same, telling their temporary tablespaces apart)'),
    );
  }
  return views;
}

/** A login as it must appear in a GRANT: bare when Oracle would read it unquoted, else quoted as given. */
function grantee(user: string): string {
  if (/^"[^"]+"$/.test(user) || /^[A-Za-z][A-Za-z0-9_$#]*$/.test(user)) return user;
  return `"${user.replace(/"/g, '')}"`;
}

/** In the root, the user is a common user and privileges must hold in every container. */
const containerClause = (scope: Scope): string => (scope === 'cdb' ? ' CONTAINER=ALL' : '');

function directGrant(v: ViewNeed, scope: Scope, user: string): string {
  return `GRANT SELECT ON ${v.grantOn} TO ${grantee(user)}${containerClause(scope)};`;
}

function catalogRoleGrant(scope: Scope, user: string): string {
  return `GRANT SELECT_CATALOG_ROLE TO ${grantee(user)}${containerClause(scope)};`;
}

const containerDataFix = (user: string): string => `ALTER USER ${grantee(user)} SET CONTAINER_DATA=ALL CONTAINER=CURRENT;`;

// ---------------------------------------------------------------------------
// Error classification
// ---------------------------------------------------------------------------

/**
 * Thin mode reports network failures with its own NJS codes, not the ORA-125xx
 * a thick client gives: a refused/unreachable TCP connect is NJS-503 (the OS
 * cause at the end of the message), `connectTimeout` expiry NJS-510, an
 * unknown service (ORA-12514) NJS-518, a listener refusal NJS-511 (with the
 * ORA code inside), an unresolvable host NJS-530, a dropped connection NJS-500
 * (ORA-03113 and similar are rewritten to it). Server errors keep ORA-nnnnn.
 */
const CODES: Record<string, Verdict> = {
  'ORA-01017': ['auth', '认证失败 (用户名或密码错误)'],
  'ORA-28000': ['auth', '账户已锁定'],
  'ORA-28001': ['auth', '密码已过期'],
  'ORA-01045': ['permission', '缺少 CREATE SESSION 权限'],
  'ORA-00942': ['permission', '无法读取数据字典视图 (需要 SELECT_CATALOG_ROLE)'],
  'ORA-01031': ['permission', '权限不足'],
  'ORA-01013': ['timeout', '查询被取消 (超时)'],
  'ORA-01033': ['connection', '数据库正在启动或关闭'],
  'ORA-01034': ['connection', '数据库实例不可用'],
  'NJS-123': ['timeout', '查询超时'],
  'NJS-510': ['timeout', '连接超时'],
  'NJS-500': ['connection', '连接中断'],
  'NJS-501': ['connection', '连接意外终止'],
  'NJS-521': ['connection', '连接被服务器关闭'],
  'NJS-511': ['connection', '监听器拒绝连接'],
  'NJS-518': ['connection', '服务名未在监听器注册 (检查服务名)'],
  'NJS-530': ['connection', '无法解析主机名'],
  'NJS-138': ['unsupported', '数据库版本过旧 (thin 模式需要 Oracle 12.1 及以上)'],
};

/** `ORA-00942` from `code`, or from `errorNum` when only that is set. */
function oracleCode(err: unknown): string | undefined {
  const code = errorCode(err);
  if (code) return code;
  const num = (err as { errorNum?: unknown } | null)?.errorNum;
  return typeof num === 'number' ? `ORA-${String(num).padStart(5, '0')}` : undefined;
}

function oracleVerdict(err: unknown): Verdict | null {
  const code = oracleCode(err);
  if (code === 'NJS-503') {
    const refused = err instanceof Error && err.message.includes('ECONNREFUSED');
    return ['connection', refused ? '连接被拒绝' : '无法建立连接'];
  }
  return code ? (CODES[code] ?? null) : null;
}

const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(err, target, oracleVerdict);

/** The view is missing to this user: not granted (ORA-00942 hides it entirely) or refused (ORA-01031). */
function isMissingView(err: unknown): boolean {
  const code = oracleCode(err);
  return code === 'ORA-00942' || code === 'ORA-01031';
}

// ---------------------------------------------------------------------------
// Collection: pure over an injectable query runner
// ---------------------------------------------------------------------------

/** Runs one query and returns its rows as node-oracledb does with outFormat OBJECT and our fetchTypeHandler. */
export type Run = (sql: string) => Promise<OracleRow[]>;

interface Location {
  conId: number;
  conName: string;
}

async function locate(run: Run): Promise<Location> {
  const [row] = await run(LOCATE_SQL);
  // sys_context returns VARCHAR2: a string of digits, or we do not know where we are.
  const raw = row?.CON_ID;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) {
    throw new SyncError('data', `无法识别当前容器: CON_ID=${JSON.stringify(raw ?? null)}`);
  }
  return { conId: Number(raw), conName: text(row?.CON_NAME) };
}

/** The scope a mode asks for here, or why it cannot be honoured. */
function scopeAt(mode: ContainerMode, at: Location): { scope: Scope } | { refused: string } {
  if (mode === 'non_cdb') return { scope: 'dba' };
  if (at.conId === 1) return { scope: 'cdb' };
  if (mode === 'auto') return { scope: 'dba' };
  return {
    refused: `container_mode=cdb 需要连接到 CDB 根容器 (CDB$ROOT 的服务名)，当前在 ${at.conName || '?'} (CON_ID ${at.conId}) (container_mode=cdb needs a session in the CDB root)`,
  };
}

const text = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));

/** A container id from a NUMBER column (a string with our fetchTypeHandler). */
function conIdOf(v: unknown): number {
  const n = bytes(v, 'CON_ID');
  if (n === null) throw new SyncError('data', 'CON_ID 为空');
  return n;
}

interface Container {
  id: number;
  name: string;
  /** Its tablespaces are in the CDB_ views (open, not RESTRICTED). */
  visible: boolean;
  state: string;
}

const isSeed = (name: string): boolean => name.endsWith('$SEED');

function containersFrom(rows: OracleRow[]): Container[] {
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

interface FileSums {
  allocated: number | null;
  max: number | null;
  files: number;
  unsized: number;
}

function fileSums(r: OracleRow, label: string): FileSums {
  return {
    allocated: bytes(r.ALLOCATED, `${label} allocated`),
    max: bytes(r.MAX_SIZE, `${label} max_size`),
    files: bytes(r.FILES, `${label} files`) ?? 0,
    unsized: bytes(r.UNSIZED, `${label} unsized`) ?? 0,
  };
}

interface SpaceInfo {
  contents: string | null;
  used: number | null;
}

/** Rows of one scope, keyed by `conId/tablespace` (conId 0 in the dba scope). */
const key = (conId: number, ts: string): string => `${conId}/${ts}`;

/** Used bytes at or above this share of the autoextend limit deserve a warning. */
const NEAR_MAX_PERCENT = 90;

interface Tablespace {
  name: string;
  label: string;
  kind: 'data' | 'temp';
  sums: FileSums | undefined;
  space: SpaceInfo | undefined;
}

function tablespaceRow(t: Tablespace, scope: Scope, warnings: string[]): CollectedDatabase {
  const contents = t.space?.contents ?? (t.kind === 'temp' ? 'TEMPORARY' : null);
  const base = {
    database_name: t.label,
    is_system: isSystemTablespace(t.name, contents),
    index_bytes: null,
    log_bytes: null,
    method: `${scope}_${t.kind}_files`,
  };
  const unknown = { size_bytes: null, data_bytes: null, free_bytes: null, used_bytes: null };
  if (!t.sums) {
    if (t.kind === 'temp') {
      // A temporary tablespace without tempfiles really has 0 bytes — and every sort that spills to it fails.
      warnings.push(`${t.label}: 临时表空间没有临时文件，溢出到磁盘的排序会失败 (temporary tablespace has no tempfiles)`);
      return { ...base, size_bytes: 0, data_bytes: 0, free_bytes: 0, used_bytes: 0 };
    }
    return { ...base, ...unknown, error: '未找到数据文件 (no datafiles found: created or dropped during the collection?)' };
  }
  if (t.sums.unsized > 0 || t.sums.allocated === null) {
    return {
      ...base,
      ...unknown,
      error: `${t.sums.unsized}/${t.sums.files} 个文件无法读取大小 (离线或丢失) (file size unknown: offline or missing)`,
    };
  }
  const allocated = t.sums.allocated;
  const used = t.space?.used ?? null;
  // Used bytes come from a second view read a moment later: a file resized in
  // between can make them exceed the allocation, and then free is unknown.
  const free = used !== null && used <= allocated ? allocated - used : null;
  const max = t.sums.max;
  if (used !== null && max !== null && max > 0 && contents === 'PERMANENT' && BigInt(used) * 100n >= BigInt(max) * BigInt(NEAR_MAX_PERCENT)) {
    // Undo and temp are left out: they run full by design (retention, sort reuse).
    const pct = ((used / max) * 100).toFixed(1);
    warnings.push(
      `${t.label}: 已用 ${pct}% 的最大容量 (含自动扩展上限) (used ${formatBytes(used)} of max ${formatBytes(max)} incl. autoextend)`,
    );
  }
  return { ...base, size_bytes: allocated, data_bytes: allocated, free_bytes: free, used_bytes: used, max_bytes: max };
}

/** Raw result sets of one collection, as the runner returned them. */
export interface ResultSets {
  dataFiles: OracleRow[];
  tempFiles: OracleRow[] | null;
  spaces: OracleRow[];
  /** CDB scope only. */
  containers?: OracleRow[];
  /** CDB scope, only when some PDB is closed or RESTRICTED. */
  controlfile?: OracleRow[];
}

/**
 * Result sets → one row per tablespace. Pure: the tests feed it rows built
 * through the driver's own NUMBER decoding.
 */
export function mapTablespaces(scope: Scope, sets: ResultSets, temp: boolean): { databases: CollectedDatabase[]; warnings: string[] } {
  const warnings: string[] = [];
  const containers = new Map((sets.containers ? containersFrom(sets.containers) : []).map((c) => [c.id, c]));
  const skip = (conId: number): boolean => scope === 'cdb' && isSeed(containers.get(conId)?.name ?? '');
  const labelOf = (conId: number, ts: string): string => {
    if (scope === 'dba') return ts;
    const name = containers.get(conId)?.name;
    // A PDB created between the two queries has no name here yet: its id is still unambiguous.
    return `${name ?? `CON_ID ${conId}`}/${ts}`;
  };

  const spaces = new Map<string, SpaceInfo & { conId: number; name: string }>();
  for (const r of sets.spaces) {
    const conId = scope === 'cdb' ? conIdOf(r.CON_ID) : 0;
    const name = text(r.TABLESPACE_NAME);
    spaces.set(key(conId, name), { conId, name, contents: r.CONTENTS == null ? null : text(r.CONTENTS), used: bytes(r.USED, `${name} used`) });
  }

  const out: CollectedDatabase[] = [];
  const seen = new Set<string>();
  const add = (kind: 'data' | 'temp', rows: OracleRow[]): void => {
    for (const r of rows) {
      const conId = scope === 'cdb' ? conIdOf(r.CON_ID) : 0;
      if (skip(conId)) continue;
      const name = text(r.TABLESPACE_NAME);
      const k = key(conId, name);
      seen.add(k);
      const label = labelOf(conId, name);
      out.push(tablespaceRow({ name, label, kind, sums: fileSums(r, label), space: spaces.get(k) }, scope, warnings));
    }
  };
  add('data', sets.dataFiles);
  if (temp && sets.tempFiles) add('temp', sets.tempFiles);

  // Tablespaces listed but without any file rows: tempfile-less TEMP, or a race.
  for (const [k, s] of spaces) {
    if (seen.has(k) || skip(s.conId)) continue;
    const kind = s.contents === 'TEMPORARY' ? 'temp' : 'data';
    if (kind === 'temp' && !temp) continue;
    out.push(tablespaceRow({ name: s.name, label: labelOf(s.conId, s.name), kind, sums: undefined, space: s }, scope, warnings));
  }

  // Closed / RESTRICTED PDBs: present, unmeasured.
  for (const r of sets.controlfile ?? []) {
    const c = containers.get(conIdOf(r.CON_ID));
    if (!c || c.visible || isSeed(c.name)) continue;
    const isTemp = text(r.IS_TEMP) === 'YES';
    if (isTemp && !temp) continue;
    const name = text(r.TABLESPACE_NAME);
    out.push({
      database_name: `${c.name}/${name}`,
      is_system: isSystemTablespace(name, isTemp ? 'TEMPORARY' : null),
      size_bytes: null,
      data_bytes: null,
      index_bytes: null,
      log_bytes: null,
      free_bytes: null,
      used_bytes: null,
      method: 'v$tablespace',
      error: `PDB 状态为 ${c.state}，无法测量 (PDB is ${c.state}: CDB_ views omit it)`,
    });
  }
  const closed = [...containers.values()].filter((c) => !c.visible && !isSeed(c.name));
  if (closed.length > 0) {
    warnings.push(`${closed.map((c) => `${c.name} (${c.state})`).join(', ')}: PDB 未打开，其表空间未测量 (PDBs not open: tablespaces listed, not measured)`);
  }

  out.sort((a, b) => (a.database_name < b.database_name ? -1 : a.database_name > b.database_name ? 1 : 0));
  return { databases: out, warnings };
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
  return new SyncError(
    'permission',
    `缺少权限，无法读取 ${names} (cannot read ${names}). 修复 (fix): ${catalogRoleGrant(scope, settings.user)} 或逐个授权 (or per view, as SYS): ${grants}`,
  );
}

const containerDataError = (user: string): SyncError =>
  new SyncError(
    'permission',
    `公共用户在 CDB 根容器中只能看到 CDB$ROOT，PDB 的容量会全部缺失 (common user sees only CDB$ROOT: CONTAINER_DATA not set). 修复 (fix): ${containerDataFix(user)}`,
  );

async function readAll(run: Run, scope: Scope, settings: OracleSettings): Promise<{ databases: CollectedDatabase[]; warnings: string[] }> {
  const sets: ResultSets = { dataFiles: [], tempFiles: null, spaces: [] };
  const extra: string[] = [];
  if (scope === 'cdb') {
    sets.containers = await run(CONTAINERS_SQL);
    const seen = containerDataOf(containersFrom(sets.containers));
    if (seen === 'root_only') throw containerDataError(settings.user);
    if (seen === 'list') {
      extra.push(`CONTAINER_DATA 为指定列表，列表外的 PDB 未计入 (CONTAINER_DATA is an explicit list: other PDBs are not counted). ${containerDataFix(settings.user)}`);
    }
  }
  sets.dataFiles = await run(fileSumsSql(scope, 'data'));
  if (settings.temp) sets.tempFiles = await run(fileSumsSql(scope, 'temp'));
  sets.spaces = await run(spacesSql(scope));
  if (sets.containers && containersFrom(sets.containers).some((c) => !c.visible && !isSeed(c.name))) {
    sets.controlfile = await run(CONTROLFILE_TABLESPACES_SQL);
  }
  const mapped = mapTablespaces(scope, sets, settings.temp);
  return { databases: mapped.databases, warnings: [...extra, ...mapped.warnings] };
}

/** Locate, pick the views, read them. Every driver error is left for the caller to classify. */
export async function collectTablespaces(run: Run, settings: OracleSettings): Promise<{ databases: CollectedDatabase[]; warnings: string[] }> {
  const chosen = scopeAt(settings.containerMode, await locate(run));
  if ('refused' in chosen) throw new SyncError('data', chosen.refused);
  const { scope } = chosen;
  try {
    return await readAll(run, scope, settings);
  } catch (err) {
    if (!isMissingView(err)) throw err;
    throw await explainMissing(run, scope, settings, err);
  }
}

/** One check per view the collection reads, plus CONTAINER_DATA in the root. */
export async function doctorChecks(run: Run, settings: OracleSettings): Promise<PrivilegeCheck[]> {
  const at = await locate(run);
  const where = at.conId === 0 ? 'non-CDB' : `${at.conName} (CON_ID ${at.conId})`;
  const checks: PrivilegeCheck[] = [{ name: 'CREATE SESSION', ok: true, detail: `已连接 (connected) to ${where}` }];
  const chosen = scopeAt(settings.containerMode, at);
  if ('refused' in chosen) {
    checks.push({ name: 'container_mode', ok: false, detail: chosen.refused, undercounts: '无法采集 (nothing is collected)' });
    return checks;
  }
  const { scope } = chosen;
  for (const v of viewsFor(scope, settings.temp)) {
    const ok = await readable(run, v.view);
    checks.push({
      name: `SELECT ON ${v.view.toUpperCase()}`,
      ok,
      detail: ok ? '可读 (readable)' : '不可读 (ORA-00942/ORA-01031)',
      ...(ok ? {} : { undercounts: v.undercounts, fix: [directGrant(v, scope, settings.user), catalogRoleGrant(scope, settings.user)] }),
    });
  }
  if (scope === 'cdb' && checks.find((c) => c.name === 'SELECT ON V$CONTAINERS')?.ok) {
    const seen = containerDataOf(containersFrom(await run(CONTAINERS_SQL)));
    checks.push({
      name: 'CONTAINER_DATA=ALL',
      ok: seen === 'all',
      detail:
        seen === 'all'
          ? '可见所有容器 (all containers visible)'
          : seen === 'list'
            ? 'CONTAINER_DATA 为指定列表 (explicit list)'
            : '仅可见 CDB$ROOT (only CDB$ROOT visible)',
      ...(seen === 'all'
        ? {}
        : { undercounts: seen === 'list' ? '列表外的 PDB (PDBs outside the list)' : '所有 PDB (every PDB): collection fails', fix: [containerDataFix(settings.user)] }),
    });
  }
  return checks;
}

// ---------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------

/**
 * The driver's connectTimeout covers TCP connect and the Oracle Net handshake
 * but not the login that follows; our hard bound covers the whole
 * getConnection(). It fires this long after the configured timeout, so the
 * driver's own NJS-510 (which names host and port) is what one usually sees.
 */
const CONNECT_SLACK_MS = 1000;

/**
 * callTimeout is per round trip and ends with a break the server must answer
 * (then NJS-123, connection still usable). A server that stopped answering
 * never does: the hard bound then drops the socket.
 */
const QUERY_SLACK_MS = 2000;

/** NetworkSession.disconnect mode: close the socket at once, no goodbye packet. */
const NSFIMM = 0x40;

/**
 * Drop a thin connection without a round trip. node-oracledb has no public
 * call for it (close() sends a logoff and waits): this reaches the thin
 * implementation's network session (lib/thin/connection.js `nscon`, 6.x).
 * Should a future driver move it, nothing happens and the socket lingers
 * until the server or the OS drops it — the collection has failed either way.
 */
export function dropConnection(conn: OracleConnection): void {
  const nscon = (conn as unknown as { _impl?: { nscon?: { disconnect?: (mode: number) => void } } })._impl?.nscon;
  nscon?.disconnect?.(NSFIMM);
}

/** Easy Connect `host:port/service`; characters that would start parameters or a descriptor are refused. */
export function connectString(target: ConnectTarget): string {
  const service = target.database ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.$#-]*$/.test(service)) {
    throw new SyncError('data', `Oracle 服务名无效: ${JSON.stringify(service)} (service name: letters, digits, _ . $ # -)`);
  }
  if (!/^[A-Za-z0-9_.:%-]+$/.test(target.host)) {
    throw new SyncError('data', `主机名无效: ${JSON.stringify(target.host)}`);
  }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}/${service}`;
}

class OracleSession implements EngineSession {
  private readonly run: Run;

  constructor(
    private readonly conn: OracleConnection,
    private readonly target: ConnectTarget,
    private readonly settings: OracleSettings,
  ) {
    this.run = async (sql) => {
      const result = await withTimeout(
        conn.execute(sql, [], { outFormat: oracledb.OUT_FORMAT_OBJECT, fetchTypeHandler }),
        target.queryTimeoutMs + QUERY_SLACK_MS,
        'Oracle 查询',
        () => dropConnection(conn),
      );
      return result.rows ?? [];
    };
  }

  serverVersion(): Promise<string> {
    return Promise.resolve(this.conn.oracleServerVersionString);
  }

  collect(): Promise<Collection> {
    return classified(async () => {
      const { databases, warnings } = await collectTablespaces(this.run, this.settings);
      return { databases, warnings, server_version: this.conn.oracleServerVersionString };
    }, (err) => classifyError(err, this.target));
  }

  doctor(): Promise<PrivilegeCheck[]> {
    return classified(() => doctorChecks(this.run, this.settings), (err) => classifyError(err, this.target));
  }

  collectTables(scope: TableScope): Promise<TableCollection> {
    return classified(() => collectSegmentTables(this.run, scope, (err) => classifyError(err, this.target)), (err) => classifyError(err, this.target));
  }

  close(): Promise<void> {
    return closeWithin(this.target.connectTimeoutMs, () => this.conn.close(), () => dropConnection(this.conn));
  }
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
      out.push({ database_name: name, tables: [], error: '表空间不存在 (tablespace not found)' });
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
      out.push({ database_name: name, tables: [], error: toSyncError(err).message });
    }
  }
  return { method: TABLES_METHOD, databases: out, present_databases: scope.databases ? null : list, warnings: [] };
}

/** The engine over a given driver: the real one below, a stand-in in the timeout tests. */
export function makeOracleEngine(driver: OracleDriver): Engine {
  return {
    dbType: 'oracle',
    label: 'Oracle',
    defaultPort: 1521,
    needsDatabaseName: true,
    options: {
      container_mode: {
        kind: 'enum',
        values: CONTAINER_MODES,
        description:
          'auto: CDB 根容器读 CDB_ 视图 (按 PDB/表空间命名)，否则读 DBA_ 视图；cdb / non_cdb 强制其一 (auto detects via sys_context CON_ID, no grant needed)',
      },
      temp: { kind: 'boolean', description: '同时采集临时表空间 (默认 true) (also report temporary tablespaces as their own rows)' },
    },
    classifyError,

    async connect(target) {
      const settings = settingsFrom(target.options, target.username);
      const pending = driver.getConnection({
        user: target.username,
        password: target.password,
        connectString: connectString(target),
        connectTimeout: Math.max(1, Math.ceil(target.connectTimeoutMs / 1000)),
      });
      let conn: OracleConnection;
      try {
        // A login that completes after we gave up must not leave a session open on the server.
        conn = await withTimeout(pending, target.connectTimeoutMs + CONNECT_SLACK_MS, 'Oracle 连接', () => {
          pending.then(dropConnection, () => {});
        });
      } catch (err) {
        throw classifyError(err, target);
      }
      try {
        // An integer the driver's setTimeout can hold (Node turns anything above 2^31 - 1 ms into 1 ms).
        conn.callTimeout = Math.min(2 ** 31 - 1, Math.max(1, Math.round(target.queryTimeoutMs)));
      } catch (err) {
        dropConnection(conn);
        throw classifyError(err, target);
      }
      return new OracleSession(conn, target, settings);
    },
  };
}

export const oracleEngine = makeOracleEngine(oracledb);
