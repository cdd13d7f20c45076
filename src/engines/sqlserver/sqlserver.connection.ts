/**
 * The mssql/tedious side of the SQL Server engine: the driver (loaded on
 * first use), the pool settings, and the bookkeeping of the tedious
 * connections the pool opens (hard timeouts destroy them; an `encrypt`
 * login that was not encrypted is refused).
 */
import { createRequire } from 'node:module';
import type * as Mssql from 'mssql';
import { SyncError } from '../../lib/errors.js';
import type { ConnectTarget } from '../engine.js';

/**
 * tedious answers a request timeout with an ATTENTION and waits this long for
 * the server's acknowledgement before dropping the connection (its default).
 */
export const CANCEL_TIMEOUT_MS = 5000;
/** The hard bounds fire this long after tedious's own timers, only for a server that stopped answering. */
export const SLACK_MS = 1000;

const require = createRequire(import.meta.url);
let mssql: typeof Mssql | undefined;
/** The driver, loaded on first use: an estate without SQL Server never pays for mssql/tedious (~25 MB resident). */
export const sql = new Proxy({} as typeof Mssql, { get: (_t, key): unknown => Reflect.get((mssql ??= require('mssql') as typeof Mssql), key) });

/** An error the server sent for one request (or tedious's cancelled request) leaves the connection usable. */
export const isRequestError = (err: unknown): boolean => mssql !== undefined && err instanceof sql.RequestError;

/** One request's own failure (the connection is fine) versus the end of the session. */
export const isOwnFailure = (err: unknown): boolean => isRequestError(err) || (err instanceof SyncError && err.code === 'data');

const optionString = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

type TediousConnection = Mssql.Connection;

/**
 * Every tedious connection the pool opens. mssql logs in once to probe the
 * settings, closes that connection and logs in again on the first query, and
 * hides the sockets: a hard timeout destroys them through here. It also
 * notices a login that was not encrypted although `encrypt` asked for it —
 * tedious silently continues in clear text when the server answers PRELOGIN
 * with ENCRYPT_NOT_SUP.
 */
export class Connections {
  private readonly open = new Set<TediousConnection>();
  private plaintext = false;

  constructor(private readonly encrypt: boolean) {}

  readonly add = (conn: TediousConnection): void => {
    let secure = false;
    this.open.add(conn);
    conn.on('secure', () => {
      secure = true;
    });
    conn.on('connect', (err) => {
      if (!err && this.encrypt && !secure) this.plaintext = true;
    });
    conn.on('end', () => this.open.delete(conn));
  };

  /** tedious's close() destroys the socket at once: TDS has no goodbye to wait for. */
  readonly destroyAll = (): void => {
    for (const conn of this.open) conn.close();
  };

  assertEncrypted(): void {
    if (this.plaintext) {
      throw new SyncError('connection', '服务器未协商加密，已拒绝以明文继续 (encrypt is set but the server did not negotiate TLS)');
    }
  }
}

export function poolConfig(target: ConnectTarget, connections: Connections, encrypt: boolean): Mssql.config {
  const instanceName = optionString(target.options.instance_name);
  const domain = optionString(target.options.domain);
  return {
    server: target.host,
    // A named instance is found through SQL Server Browser (UDP 1434); mssql then drops the port.
    port: target.port,
    user: target.username,
    password: target.password,
    // master, not the login's default database: an offline default database would fail the login (4060).
    database: target.database || 'master',
    // Set → mssql switches tedious to its `ntlm` authentication (Windows login, DOMAIN\user).
    ...(domain ? { domain } : {}),
    connectionTimeout: target.connectTimeoutMs,
    requestTimeout: target.queryTimeoutMs,
    pool: { max: 1, min: 0 },
    // Check the socket, not a `SELECT 1;` round trip, each time the one connection is borrowed.
    validateConnection: 'socket',
    beforeConnect: connections.add,
    options: {
      encrypt,
      trustServerCertificate: target.options.trust_server_certificate === true,
      ...(instanceName ? { instanceName } : {}),
      appName: 'whalefall',
      cancelTimeout: CANCEL_TIMEOUT_MS,
    },
  };
}
