/**
 * Oracle through node-oracledb's thin mode (pure JavaScript, Oracle 12.1+; the
 * thick mode and its Instant Client are never loaded, so 11g and older are
 * refused as `unsupported` with the reason). The unit is the tablespace:
 * which views are read is oracle.collect.ts, the SQL oracle.queries.ts, the
 * arithmetic oracle.aggregate.ts; this file connects and bounds each call.
 */
import { stripControl } from '../../lib/control-chars.js';
import { SyncError } from '../../lib/errors.js';
import { withTimeout } from '../../lib/timeout.js';
import type { Collection } from '../../domain/collection.js';
import type { Composition } from '../../domain/composition.js';
import type { ConnectTarget, Engine, EngineSession, InstanceOptions, PrivilegeCheck } from '../engine.js';
import type { TableCollection, TableScope } from '../../domain/tables.js';
import { causeMsg, classified, closeWithin, majorVersion } from '../common.js';
import { collectSegmentTables, collectTablespaces, CONTAINER_MODES, doctorChecks, type ContainerMode, type OracleSettings } from './oracle.collect.js';
import { dropConnection, fetchTypeHandler, oracledb, type OracleConnection, type OracleDriver, type Run } from './oracle.driver.js';
import { classifyError } from './oracle.errors.js';
import { oracleComposition } from './oracle.composition.js';
import { msg } from '../../client/shared/i18n/index.js';

export { CONTAINER_MODES, collectSegmentTables, collectTablespaces, doctorChecks, type ContainerMode, type OracleSettings } from './oracle.collect.js';
export { dropConnection, fetchTypeHandler, type ColumnMeta, type OracleConnection, type OracleDriver, type OracleRow, type Run } from './oracle.driver.js';

export function settingsFrom(options: InstanceOptions, username: string): OracleSettings {
  const mode = options.container_mode ?? 'auto';
  const temp = options.temp ?? true;
  if (!CONTAINER_MODES.includes(mode as ContainerMode)) {
    throw new SyncError('data', msg('api.engine.ora_container_mode', { value: JSON.stringify(mode) }));
  }
  if (typeof temp !== 'boolean') throw new SyncError('data', msg('api.engine.ora_temp', { value: JSON.stringify(temp) }));
  return { containerMode: mode as ContainerMode, temp, user: username };
}

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

/**
 * TCPS (Oracle Net over TLS) as node-oracledb's thin mode supports it: `tcps://host:port/service`, the server
 * certificate's DN checked against the host name (`ssl_server_dn_match`, default on) or an exact DN
 * (`ssl_server_cert_dn`), and a wallet given as PEM text (`walletContent`) built from the instance's TLS
 * material (stored encrypted in `tls_enc`). Thin mode reads the wallet as certificate, key AND CA at once, so a
 * CA alone cannot be passed: with a CA the client certificate and key are needed too; without any material the
 * system's CA store verifies the server. Bad combinations are refused before the driver is called.
 */
export function tcpsAttrs(target: ConnectTarget): { sslServerDNMatch?: boolean; sslServerCertDN?: string; walletContent?: string } {
  const o = target.options as Record<string, unknown>;
  const tcps = o.protocol === 'tcps';
  const tls = target.tls ?? {};
  const hasTls = tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined;
  if (!tcps) {
    if (hasTls || o.ssl_server_dn_match !== undefined || o.ssl_server_cert_dn !== undefined) {
      throw new SyncError('data', msg('api.engine.ora_tls_needs_tcps'));
    }
    return {};
  }
  const dn = o.ssl_server_cert_dn;
  if (dn !== undefined && (typeof dn !== 'string' || dn.length > 512 || stripControl(dn, { multiline: false }) !== dn || !dn.includes('='))) {
    throw new SyncError('data', msg('api.engine.ora_cert_dn'));
  }
  if (tls.ca !== undefined && (tls.cert === undefined || tls.key === undefined)) {
    throw new SyncError('data', msg('api.engine.ora_wallet'));
  }
  const walletContent = tls.cert !== undefined && tls.key !== undefined ? [tls.cert, tls.key, tls.ca ?? ''].join('') : undefined;
  return {
    sslServerDNMatch: o.ssl_server_dn_match !== false,
    ...(typeof dn === 'string' ? { sslServerCertDN: dn } : {}),
    ...(walletContent ? { walletContent } : {}),
  };
}

/** Easy Connect `host:port/service` (`tcps://…` with protocol tcps); characters that would start parameters or a descriptor are refused. */
export function connectString(target: ConnectTarget): string {
  const service = target.database ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.$#-]*$/.test(service)) {
    throw new SyncError('data', msg('api.engine.ora_service', { value: JSON.stringify(service) }));
  }
  if (!/^[A-Za-z0-9_.:%-]+$/.test(target.host)) {
    throw new SyncError('data', msg('api.engine.bad_host', { value: JSON.stringify(target.host) }));
  }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.options.protocol === 'tcps' ? 'tcps://' : ''}${host}:${target.port}/${service}`;
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
    return classified(
      async () => {
        const { databases, warnings } = await collectTablespaces(this.run, this.settings, majorVersion(this.conn.oracleServerVersionString));
        return { databases, warnings, server_version: this.conn.oracleServerVersionString };
      },
      (err) => classifyError(err, this.target),
    );
  }

  doctor(): Promise<PrivilegeCheck[]> {
    return classified(
      () => doctorChecks(this.run, this.settings),
      (err) => classifyError(err, this.target),
    );
  }

  collectTables(scope: TableScope): Promise<TableCollection> {
    return classified(
      () => collectSegmentTables(this.run, scope, (err) => classifyError(err, this.target)),
      (err) => classifyError(err, this.target),
    );
  }

  /** Where the bytes went (oracle.composition.ts): tablespaces, undo, temp, redo, the recovery area. */
  composition(): Promise<Composition> {
    const toSyncError = (err: unknown) => classifyError(err, this.target);
    return classified(
      () => oracleComposition(this.run, this.settings, majorVersion(this.conn.oracleServerVersionString), (err) => causeMsg(toSyncError(err))),
      toSyncError,
    );
  }

  close(): Promise<void> {
    return closeWithin(
      this.target.connectTimeoutMs,
      () => this.conn.close(),
      () => dropConnection(this.conn),
    );
  }
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
      protocol: {
        kind: 'enum',
        values: ['tcp', 'tcps'],
        description: 'Oracle Net 协议：tcp (默认) 或 tcps (TLS) (tcp, the default, or tcps: Oracle Net over TLS)',
      },
      ssl_server_dn_match: {
        kind: 'boolean',
        description: 'tcps: 校验服务器证书 DN 与主机名匹配 (默认 true) (check the server certificate DN against the host; default true)',
      },
      ssl_server_cert_dn: {
        kind: 'string',
        maxLength: 512,
        description: 'tcps: 服务器证书必须具有的 DN，如 CN=db.example.com,O=Example (the exact DN the server certificate must have)',
      },
    },
    classifyError,

    async connect(target) {
      const settings = settingsFrom(target.options, target.username);
      const tcps = tcpsAttrs(target); // bad TLS settings are refused before the driver is called
      const pending = driver.getConnection({
        user: target.username,
        password: target.password,
        connectString: connectString(target),
        connectTimeout: Math.max(1, Math.ceil(target.connectTimeoutMs / 1000)),
        ...tcps,
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
        // Thin mode already refuses 11g (NJS-138); a server it let through reporting an older version is refused the same way.
        const major = majorVersion(conn.oracleServerVersionString);
        if (major > 0 && major < 12)
          // Why 11g and older are refused: thin mode only (the thick mode's Instant Client is never loaded).
          throw new SyncError('unsupported', msg('cause.oracle.too_old', { detail: conn.oracleServerVersionString }));
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
