/**
 * MySQL / MariaDB connection details: the error numbers' verdicts, the query helper with its client-side timeout,
 * TLS options (the MySQL client's --ssl-mode words) and the guard on password-revealing authentication methods.
 */
import type * as Mysql from 'mysql2';
import type { Connection as PromiseConnection, RowDataPacket } from 'mysql2/promise';
import type { ConnectTarget } from '../engine.js';
import { lazyModule } from '../../lib/lazy-module.js';
import { errorCode, type Verdict } from '../common.js';
import { cleartextAllowed, cleartextRefused } from '../tls.js';

/**
 * The server-side statement limit is set to the query timeout; the client
 * timer fires this much later, only for a server that stopped answering
 * (mysql2's client timeout leaves the query running on the server).
 */
export const CLIENT_TIMEOUT_SLACK_MS = 2000;

/** The driver, loaded when a MySQL/MariaDB instance is first connected to: a serve that never does never pays for it. */
export const mysql = lazyModule<typeof Mysql>('mysql2');

/** By errno: MariaDB-only codes (1969) have no name in mysql2. */
const ERRNO: Record<number, Verdict> = {
  // 1045 is a missing user and a wrong password alike: the server does not say which.
  1045: ['auth', 'cause.mysql.access_denied'],
  // MariaDB answers a user that does not exist with 1698 (ER_ACCESS_DENIED_NO_PASSWORD_ERROR) at times.
  1698: ['auth', 'cause.mysql.access_denied'],
  1251: ['auth', 'cause.mysql.auth_plugin'],
  // At connect time 1044 is the database named on the instance, refused to this user.
  1044: ['permission', 'cause.mysql.db_access_denied'],
  1142: ['permission', 'cause.permission'],
  1143: ['permission', 'cause.permission'],
  1227: ['permission', 'cause.permission'],
  1130: ['permission', 'cause.mysql.host_not_allowed'],
  1049: ['connection', 'cause.mysql.no_database'],
  1040: ['connection', 'cause.too_many_connections'],
  1203: ['connection', 'cause.mysql.user_connections'],
  1226: ['connection', 'cause.mysql.user_resources'],
  1969: ['timeout', 'cause.mysql.max_statement_time'],
  3024: ['timeout', 'cause.mysql.max_execution_time'],
  1317: ['timeout', 'cause.query_interrupted'],
};

export function mysqlVerdict(err: unknown): Verdict | null {
  const errno = (err as { errno?: unknown } | null)?.errno;
  if (typeof errno === 'number' && ERRNO[errno]) return ERRNO[errno];
  switch (errorCode(err)) {
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
      return ['timeout', 'cause.query_timeout'];
    case 'PROTOCOL_CONNECTION_LOST':
      return ['connection', 'cause.connection_lost'];
    default:
      return null;
  }
}

export async function rows<T extends RowDataPacket>(conn: PromiseConnection, sql: string, target: ConnectTarget): Promise<T[]> {
  const [result] = await conn.query<T[]>({ sql, timeout: target.queryTimeoutMs + CLIENT_TIMEOUT_SLACK_MS });
  return result;
}

export const MYSQL_SSL_MODES = ['off', 'required', 'verify-ca', 'verify-identity'] as const;
type SslMode = (typeof MYSQL_SSL_MODES)[number];

export function sslOption(target: ConnectTarget): SslMode {
  const v = target.options.ssl;
  return (MYSQL_SSL_MODES as readonly unknown[]).includes(v) ? (v as SslMode) : 'off';
}

/** mysql2's `ssl` for a mode (the MySQL client's --ssl-mode words, lower-case). */
export function sslConfig(target: ConnectTarget): Mysql.SslOptions | undefined {
  const mode = sslOption(target);
  if (mode === 'off') return undefined;
  const material = {
    ...(target.tls?.ca ? { ca: target.tls.ca } : {}),
    ...(target.tls?.cert ? { cert: target.tls.cert } : {}),
    ...(target.tls?.key ? { key: target.tls.key } : {}),
  };
  if (mode === 'required') return { ...material, rejectUnauthorized: false };
  return { ...material, rejectUnauthorized: true, verifyIdentity: mode === 'verify-identity' };
}

/**
 * The password-revealing authentication methods, stopped on a plain connection unless the instance opts in:
 * `mysql_clear_password` and `sha256_password` send it as is, and caching_sha2's full authentication would
 * encrypt it with an RSA key the (possibly fake) server hands out. With TLS they run as mysql2 runs them.
 */
export function guardedAuthPlugins(target: ConnectTarget): Mysql.ConnectionOptions['authPlugins'] {
  type Plugin = (ctx: {
    connection: { config: { ssl?: unknown; password?: string } };
    command: unknown;
  }) => (data: Buffer) => Buffer | null | Promise<Buffer | null>;
  const secure = (ctx: Parameters<Plugin>[0]) => cleartextAllowed(target, Boolean(ctx.connection.config.ssl));
  const clear =
    (name: string): Plugin =>
    (ctx) =>
    () => {
      if (!secure(ctx)) throw cleartextRefused(`MySQL ${name}`, 'ssl');
      return Buffer.from(`${target.password}\0`, 'utf8');
    };
  const caching: Plugin = (ctx) => {
    const factory = (mysql as unknown as { authPlugins: Record<string, (opts: object) => Plugin> }).authPlugins.caching_sha2_password!;
    const inner = factory({})(ctx);
    return (data) => {
      // 0x04 = "perform full authentication": next comes the password, in clear or under the server's RSA key.
      if (data.length === 1 && data[0] === 4 && !secure(ctx)) throw cleartextRefused('MySQL caching_sha2_password full authentication', 'ssl');
      return inner(data);
    };
  };
  return {
    mysql_clear_password: clear('mysql_clear_password'),
    sha256_password: clear('sha256_password'),
    caching_sha2_password: caching,
  } as unknown as Mysql.ConnectionOptions['authPlugins'];
}
