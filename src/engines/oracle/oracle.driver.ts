/**
 * The node-oracledb surface this engine uses. oracledb ships no TypeScript
 * types (@types/oracledb is not a dependency), and a bare `import` of an
 * untyped package fails strict type checking; these declarations are checked
 * against the real driver by test/engines/oracle.test.ts.
 */
import { createRequire } from 'node:module';

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
    /** TCPS (thin mode): check the server certificate's DN against the host (or `sslServerCertDN`). */
    sslServerDNMatch?: boolean;
    /** TCPS: the exact DN the server certificate must have. */
    sslServerCertDN?: string;
    /** TCPS: a PEM wallet — the client certificate, its key and the CA certificates, in one text (thin mode). */
    walletContent?: string;
  }): Promise<OracleConnection>;
  readonly OUT_FORMAT_OBJECT: number;
  readonly STRING: unknown;
  readonly DB_TYPE_NUMBER: unknown;
}

const require = createRequire(import.meta.url);
let loaded: OracleDriver | undefined;
/** node-oracledb, loaded on first use: an estate without Oracle never pays for it. */
export const oracledb = new Proxy({} as OracleDriver, { get: (_t, key): unknown => Reflect.get((loaded ??= require('oracledb') as OracleDriver), key) });

/**
 * Every NUMBER column arrives as the driver's exact decimal string. By
 * default thin mode parseFloat()s it: 9007199254740993 would silently become
 * …992. `bytes()` then parses the string strictly.
 */
export function fetchTypeHandler(meta: ColumnMeta): { type: unknown } | undefined {
  return meta.dbType === oracledb.DB_TYPE_NUMBER ? { type: oracledb.STRING } : undefined;
}

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

/** Runs one query and returns its rows as node-oracledb does with outFormat OBJECT and our fetchTypeHandler. */
export type Run = (sql: string) => Promise<OracleRow[]>;
