/**
 * Oracle result sets as node-oracledb's thin mode delivers them, without a
 * server: NUMBER values go through the driver's own wire codec
 * (writeOracleNumber → readOracleNumber), the fetch type is decided by the
 * driver's ResultSetImpl with our fetchTypeHandler, rows are keyed by column
 * name as outFormat OBJECT does; errors are made by the driver's own error
 * code. Plus per-file fixture builders and a query runner answering known SQL.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { CollectedDatabase } from '../../src/domain/collection.js';
import { fetchTypeHandler, type ColumnMeta, type OracleDriver, type OracleRow, type OracleSettings, type Run } from '../../src/engines/oracle/oracle.engine.js';
import { filesSql, LOCATE_SQL, PROTOCOL_SQL, SESSION_BANNERS_SQL, spacesSql, tempFreeSql, undoSql } from '../../src/engines/oracle/oracle.queries.js';

// --- the real driver's pieces (oracledb has no "exports" map, so its lib/ files are reachable) ---

const require = createRequire(import.meta.url);
export interface DbType {
  name: string;
}
export interface FetchMeta extends ColumnMeta {
  fetchType?: DbType;
  converter?: (v: unknown) => unknown;
}
export const oracledb = require('oracledb') as OracleDriver & {
  thin: boolean;
  versionString: string;
  DB_TYPE_VARCHAR: DbType;
  DB_TYPE_NUMBER: DbType;
};
export const { GrowableBuffer, BaseBuffer } = require('oracledb/lib/impl/datahandlers/buffer.js') as {
  GrowableBuffer: new () => { buf: Buffer; pos: number; writeOracleNumber(v: string): void };
  BaseBuffer: new (b: Buffer) => { readOracleNumber(): string | null };
};
export const ResultSetImpl = require('oracledb/lib/impl/resultset.js') as new () => {
  _determineFetchType(meta: FetchMeta, options: { fetchTypeHandler?: typeof fetchTypeHandler }, all: FetchMeta[]): void;
};
export const driverErrors = require('oracledb/lib/errors.js') as {
  transformErr(err: Error): Error & { code?: string; errorNum?: number };
  getErr(num: number, ...args: unknown[]): Error & { code?: string };
  ERR_CALL_TIMEOUT_EXCEEDED: number;
  ERR_INVALID_SERVICE_NAME: number;
};

/** A NUMBER column value, as digits (Oracle NUMBER is decimal). */
export class Num {
  constructor(readonly digits: string | null) {}
}
export const num = (digits: string | number | null): Num => new Num(digits === null ? null : String(digits));

/** Encode as Oracle sends it, decode as thin mode does while fetching (a decimal string, or null). */
export function overTheWire(n: Num): string | null {
  if (n.digits === null) return null;
  const out = new GrowableBuffer();
  out.writeOracleNumber(n.digits);
  // readOracleNumber reads a length byte then the bytes: exactly what writeOracleNumber wrote.
  return new BaseBuffer(Buffer.from(out.buf.subarray(0, out.pos))).readOracleNumber();
}

/**
 * Rows as `connection.execute(sql, [], { outFormat: OBJECT, fetchTypeHandler })`
 * returns them: the driver decides each column's fetch type and converter,
 * then keys values by column name.
 */
export function resultSet(rows: Record<string, string | Num | null>[], handler: typeof fetchTypeHandler | null = fetchTypeHandler): OracleRow[] {
  if (rows.length === 0) return [];
  const metas: FetchMeta[] = Object.keys(rows[0]!).map((name) => ({
    name,
    dbType: rows.some((r) => r[name] instanceof Num) ? oracledb.DB_TYPE_NUMBER : oracledb.DB_TYPE_VARCHAR,
  }));
  const impl = new ResultSetImpl();
  for (const m of metas) impl._determineFetchType(m, handler ? { fetchTypeHandler: handler } : {}, metas);
  return rows.map((r) =>
    Object.fromEntries(
      metas.map((m) => {
        const raw = r[m.name];
        const fetched = raw instanceof Num ? overTheWire(raw) : raw;
        return [m.name, m.converter ? m.converter(fetched) : fetched];
      }),
    ),
  );
}

/** A server error as the thin protocol raises it (lib/thin/protocol/protocol.js: new Error, errorNum, transformErr). */
export function oraError(errorNum: number, message: string): Error & { code?: string; errorNum?: number } {
  return driverErrors.transformErr(Object.assign(new Error(message), { errorNum, offset: 0, isRecoverable: false }));
}
export const ORA_00942 = () => oraError(942, 'ORA-00942: table or view does not exist');

// --- fixtures ---

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const BLOCK = 8192;
export const MAX_SAFE = '9007199254740991'; // 2^53 - 1
export const AUTOEXTEND_SMALLFILE_MAX = '34359721984'; // 32 GiB - 1 block: MAXSIZE UNLIMITED with 8 KB blocks

/**
 * One row of DBA_/CDB_DATA_FILES or _TEMP_FILES. `max` set = AUTOEXTENSIBLE
 * YES with that MAXBYTES; unset = a fixed-size file (MAXBYTES 0). `bytes`
 * null = a file the instance cannot read (offline, missing).
 */
export const file = (r: { con?: number; ts: string; id?: number; bytes: string | number | null; max?: string }) => ({
  ...(r.con === undefined ? {} : { CON_ID: num(r.con) }),
  TABLESPACE_NAME: r.ts,
  FILE_ID: num(r.id ?? 1),
  BYTES: num(r.bytes),
  MAXBYTES: num(r.max ?? '0'),
  AUTOEXTENSIBLE: r.max === undefined ? 'NO' : 'YES',
  STATUS: r.bytes === null ? 'INVALID' : 'AVAILABLE',
});
/** A tablespace and its usage metrics; `used` and `size` in bytes, sent as blocks (USED_SPACE, TABLESPACE_SIZE). */
export const space = (r: { con?: number; ts: string; contents: string; used: string | number | null; size?: string | number; block?: number }) => {
  const block = r.block ?? BLOCK;
  const blocks = (v: string | number | null | undefined) => {
    if (v === null || v === undefined) return num(null);
    const b = BigInt(v);
    assert.equal(b % BigInt(block), 0n, `${r.ts}: ${v} is not whole blocks`);
    return num(String(b / BigInt(block)));
  };
  return {
    ...(r.con === undefined ? {} : { CON_ID: num(r.con) }),
    TABLESPACE_NAME: r.ts,
    CONTENTS: r.contents,
    BLOCK_SIZE: num(block),
    USED_SPACE: blocks(r.used),
    TABLESPACE_SIZE: blocks(r.size),
  };
};
/** DBA_TEMP_FREE_SPACE, in bytes. */
export const tempFree = (r: { con?: number; ts: string; size: number; free: number }) => ({
  ...(r.con === undefined ? {} : { CON_ID: num(r.con) }),
  TABLESPACE_NAME: r.ts,
  TABLESPACE_SIZE: num(r.size),
  FREE_SPACE: num(r.free),
});
/** DBA_UNDO_EXTENTS summed per status, in bytes. */
export const undo = (r: { con?: number; ts: string; status: string; bytes: number }) => ({
  ...(r.con === undefined ? {} : { CON_ID: num(r.con) }),
  TABLESPACE_NAME: r.ts,
  STATUS: r.status,
  BYTES: num(r.bytes),
});
export const locate = (conId: string, conName: string) => resultSet([{ CON_ID: conId, CON_NAME: conName }]);

export const settings = (over: Partial<OracleSettings> = {}): OracleSettings => ({ containerMode: 'auto', temp: true, user: 'whalefall', ...over });

/**
 * A query runner answering known SQL texts, recording what was asked.
 * Probes (`SELECT 1 … FROM view WHERE ROWNUM = 1`) succeed unless the view is in `missing`.
 */
export function fakeRun(answers: Map<string, OracleRow[] | Error>, missing: readonly string[] = []): Run & { log: string[] } {
  const log: string[] = [];
  const run = async (sql: string): Promise<OracleRow[]> => {
    log.push(sql);
    const probe = /^SELECT 1 AS ok FROM (\S+) WHERE ROWNUM = 1$/.exec(sql);
    if (probe) {
      if (missing.includes(probe[1]!)) throw ORA_00942();
      return resultSet([{ OK: num(1) }]);
    }
    const answer = answers.get(sql);
    if (answer === undefined) throw new Error(`unexpected SQL: ${sql}`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return Object.assign(run, { log });
}

/**
 * What the live session says of its transport (the doctor's TLS line): plain TCP and no encryption
 * adapter by default; `tcps`, or a native encryption `adapter` line ("AES256") as a server with it on answers.
 */
export function sessionAnswers(o: { protocol?: 'tcp' | 'tcps'; adapter?: string } = {}): [string, OracleRow[]][] {
  const banners = ['TCP/IP NT Protocol Adapter for Linux: Version 19.0.0.0.0 - Production', 'Encryption service for Linux: Version 19.0.0.0.0 - Production'];
  if (o.adapter) banners.push(`${o.adapter} Encryption service adapter for Linux: Version 19.0.0.0.0 - Production`);
  return [
    [PROTOCOL_SQL, resultSet([{ PROTOCOL: o.protocol ?? 'tcp' }])],
    [SESSION_BANNERS_SQL, resultSet(banners.map((b) => ({ BANNER: b })))],
  ];
}

export function nonCdbAnswers(): Map<string, OracleRow[] | Error> {
  return new Map<string, OracleRow[] | Error>([
    ...sessionAnswers(),
    [LOCATE_SQL, locate('0', 'ORCL')],
    [
      filesSql('dba', 'data'),
      resultSet([
        file({ ts: 'SYSTEM', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
        file({ ts: 'SYSAUX', id: 2, bytes: '2147483648', max: AUTOEXTEND_SMALLFILE_MAX }), // 2^31
        file({ ts: 'UNDOTBS1', id: 3, bytes: 4 * GiB }),
        file({ ts: 'USERS', id: 4, bytes: 5 * GiB }),
        file({ ts: 'USERS', id: 5, bytes: 5 * GiB }),
        file({ ts: 'BIG', id: 6, bytes: MAX_SAFE }),
        file({ ts: 'ARCHIVE', id: 7, bytes: 512 * MiB }),
        file({ ts: 'ARCHIVE', id: 8, bytes: 512 * MiB }),
        file({ ts: 'ARCHIVE', id: 9, bytes: null }),
      ]),
    ],
    [filesSql('dba', 'temp'), resultSet([file({ ts: 'TEMP', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX })])],
    [
      spacesSql('dba'),
      resultSet([
        space({ ts: 'SYSTEM', contents: 'PERMANENT', used: '943718400' }),
        space({ ts: 'SYSAUX', contents: 'PERMANENT', used: '1610612736' }),
        // The metrics count expired undo: full. Used comes from the undo extents instead.
        space({ ts: 'UNDOTBS1', contents: 'UNDO', used: 4 * GiB }),
        space({ ts: 'USERS', contents: 'PERMANENT', used: '10200547328' }), // 95 % of its max
        space({ ts: 'BIG', contents: 'PERMANENT', used: '4294975488' }), // 2^32 + 1 block
        space({ ts: 'ARCHIVE', contents: 'PERMANENT', used: null }),
        // The metrics count the temp extents kept since the last sort: full until a restart.
        space({ ts: 'TEMP', contents: 'TEMPORARY', used: GiB }),
        space({ ts: 'TEMP_NOFILES', contents: 'TEMPORARY', used: null }),
      ]),
    ],
    [tempFreeSql('dba'), resultSet([tempFree({ ts: 'TEMP', size: GiB, free: GiB - MiB })])],
    [
      undoSql('dba'),
      resultSet([
        undo({ ts: 'UNDOTBS1', status: 'ACTIVE', bytes: 100 * MiB }),
        undo({ ts: 'UNDOTBS1', status: 'UNEXPIRED', bytes: 300 * MiB }),
        undo({ ts: 'UNDOTBS1', status: 'EXPIRED', bytes: 4 * GiB - 400 * MiB }),
      ]),
    ],
  ]);
}

export const row = (over: Partial<CollectedDatabase> & Pick<CollectedDatabase, 'database_name'>): CollectedDatabase => ({
  is_system: false,
  size_bytes: null,
  data_bytes: null,
  index_bytes: null,
  log_bytes: null,
  free_bytes: null,
  used_bytes: null,
  method: 'dba_data_files',
  ...over,
});
export const measured = (name: string, allocated: number, used: number | null, over: Partial<CollectedDatabase> = {}) =>
  row({
    database_name: name,
    size_bytes: allocated,
    data_bytes: allocated,
    used_bytes: used,
    free_bytes: used === null ? null : allocated - used,
    ...over,
  });
