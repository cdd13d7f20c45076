/**
 * No Oracle server can run here. What is tested, and against what:
 * - Row mapping, against result sets built by node-oracledb's own fetch path:
 *   NUMBER values go through the driver's wire codec (writeOracleNumber →
 *   readOracleNumber, as thin mode decodes a fetched row), the fetch type is
 *   decided by the driver's ResultSetImpl with our fetchTypeHandler, and rows
 *   are keyed by column name as outFormat OBJECT does. Only the network is
 *   missing.
 * - Error mapping, against error objects made by the driver's own error code
 *   (errors.transformErr for server ORA- errors exactly as the thin protocol
 *   calls it, errors.getErr for NJS- errors), and against the real driver
 *   failing to connect: refused port, black hole, unresolvable host, a
 *   server that hangs up.
 * - The hard timeouts, with a stand-in driver that never answers.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import { describe, test } from 'node:test';
import type { ConnectTarget } from '../../src/engines/engine.js';
import {
  connectString,
  dropConnection,
  fetchTypeHandler,
  makeOracleEngine,
  oracleEngine as engine,
  settingsFrom,
  type OracleConnection,
  type OracleDriver,
} from '../../src/engines/oracle/oracle.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { driverErrors, num, oracledb, oraError, ORA_00942, resultSet, ResultSetImpl, type FetchMeta } from '../helpers/oracle-rows.js';

const require = createRequire(import.meta.url);

// --- tests ---

describe('Oracle: the driver delivers NUMBER exactly with our fetchTypeHandler', () => {
  test('byte counts above 2^31, 2^32 and up to 2^53 - 1 arrive as exact decimal strings', () => {
    const values = ['2147483648', '4294967297', '34359721984', '9007199254740991', '0'];
    const rows = resultSet(values.map((v) => ({ B: num(v) })));
    assert.deepEqual(
      rows.map((r) => r.B),
      values,
    );
  });

  test('without it thin mode parseFloat()s: 2^53 + 1 would silently lose its last unit', () => {
    const [withHandler] = resultSet([{ B: num('9007199254740993') }]);
    const [byDefault] = resultSet([{ B: num('9007199254740993') }], null);
    assert.equal(withHandler!.B, '9007199254740993');
    assert.equal(byDefault!.B, 9007199254740992);
  });

  test('the driver accepts our handler and our declared surface exists on the real module', () => {
    const meta: FetchMeta = { name: 'X', dbType: oracledb.DB_TYPE_NUMBER };
    new ResultSetImpl()._determineFetchType(meta, { fetchTypeHandler }, [meta]);
    assert.equal(meta.fetchType, oracledb.DB_TYPE_VARCHAR);
    assert.equal(meta.converter, undefined);
    assert.equal(oracledb.STRING, oracledb.DB_TYPE_VARCHAR);
    assert.equal(oracledb.OUT_FORMAT_OBJECT, 4002);
    assert.equal(typeof oracledb.getConnection, 'function');
    assert.equal(oracledb.thin, true);
    const Connection = require('oracledb/lib/connection.js') as { prototype: object };
    const has = (name: string) => Object.getOwnPropertyDescriptor(Connection.prototype, name);
    assert.equal(typeof has('execute')?.value, 'function');
    assert.equal(typeof has('close')?.value, 'function');
    assert.equal(typeof has('callTimeout')?.set, 'function');
    assert.equal(typeof has('oracleServerVersionString')?.get, 'function');
  });

  test('dropConnection reaches what the thin driver uses to close a socket immediately', () => {
    const { NetworkSession } = require('oracledb/lib/thin/sqlnet/networkSession.js') as { NetworkSession: { prototype: { disconnect?: unknown } } };
    const constants = require('oracledb/lib/thin/sqlnet/constants.js') as { NSFIMM: number };
    const ThinConnectionImpl = require('oracledb/lib/thin/connection.js') as { prototype: { connect: () => unknown } };
    assert.equal(typeof NetworkSession.prototype.disconnect, 'function');
    assert.equal(constants.NSFIMM, 0x40);
    assert.match(ThinConnectionImpl.prototype.connect.toString(), /this\.nscon = new nsi\(\)/);
    const calls: number[] = [];
    dropConnection({ _impl: { nscon: { disconnect: (mode: number) => calls.push(mode) } } } as unknown as OracleConnection);
    assert.deepEqual(calls, [0x40]);
    // A connection already closed by the driver has no _impl: nothing to do, no throw.
    dropConnection({} as OracleConnection);
  });
});

// --- the engine object, options and connection string ---

function target(over: Partial<ConnectTarget> = {}): ConnectTarget {
  return {
    host: '127.0.0.1',
    port: 1521,
    database: 'ORCLPDB1',
    username: 'whalefall',
    password: 'Pa55-w0rd-zz9',
    options: {},
    connectTimeoutMs: 1000,
    queryTimeoutMs: 30000,
    ...over,
  };
}

describe('Oracle: engine surface', () => {
  test('identity and options spec', () => {
    assert.equal(engine.dbType, 'oracle');
    assert.equal(engine.defaultPort, 1521);
    assert.equal(engine.needsDatabaseName, true);
    assert.deepEqual(Object.keys(engine.options), ['container_mode', 'temp', 'protocol', 'ssl_server_dn_match', 'ssl_server_cert_dn']);
    assert.deepEqual(engine.options.container_mode, { ...engine.options.container_mode, kind: 'enum', values: ['auto', 'cdb', 'non_cdb'] });
    assert.equal(engine.options.temp?.kind, 'boolean');
    assert.deepEqual(settingsFrom({}, 'u'), { containerMode: 'auto', temp: true, user: 'u' });
    assert.throws(
      () => settingsFrom({ container_mode: 'pdb' }, 'u'),
      (e: unknown) => e instanceof SyncError && e.code === 'data',
    );
  });

  test('Easy Connect string: IPv6 in brackets, parameter/descriptor syntax refused', () => {
    assert.equal(connectString(target()), '127.0.0.1:1521/ORCLPDB1');
    assert.equal(connectString(target({ host: '::1', database: 'sales.example.com' })), '[::1]:1521/sales.example.com');
    for (const bad of [target({ database: 'svc?transport_connect_timeout=1' }), target({ database: null }), target({ host: 'h/(x)' })]) {
      assert.throws(
        () => connectString(bad),
        (e: unknown) => e instanceof SyncError && e.code === 'data',
      );
    }
  });
});

// --- real driver errors and real connection failures ---

describe('Oracle: errors from the real driver are classified, password-free', () => {
  const t = target();

  test('ORA-01017 → auth', () => {
    const err = oraError(1017, 'ORA-01017: invalid credential or not authorized; logon denied');
    assert.equal(err.code, 'ORA-01017');
    assert.equal(err.errorNum, 1017);
    const c = engine.classifyError(err, t);
    assert.equal(c.code, 'auth');
    assert.match(c.message, /^认证失败 \(用户名或密码错误\) \(ORA-01017\)（修复：.*）: ORA-01017: invalid credential/);
  });

  test('ORA-00942 → permission', () => {
    const c = engine.classifyError(ORA_00942(), t);
    assert.equal(c.code, 'permission');
    assert.match(c.message, /SELECT_CATALOG_ROLE.*ORA-00942/);
  });

  test('NJS-123 (callTimeout expired) and ORA-01013 → timeout', () => {
    const njs = driverErrors.getErr(driverErrors.ERR_CALL_TIMEOUT_EXCEEDED, 30000);
    assert.equal(njs.code, 'NJS-123');
    assert.equal(engine.classifyError(njs, t).code, 'timeout');
    assert.equal(engine.classifyError(oraError(1013, 'ORA-01013: user requested cancel of current operation'), t).code, 'timeout');
  });

  test('ORA-03113 is rewritten by the driver to NJS-500 → connection', () => {
    const err = oraError(3113, 'ORA-03113: end-of-file on communication channel');
    assert.equal(err.code, 'NJS-500');
    assert.equal(engine.classifyError(err, t).code, 'connection');
  });

  test('11g: the thin driver refuses it (NJS-138) → unsupported, saying so', () => {
    const err = driverErrors.getErr(138, '11.2.0.4.0');
    assert.equal(err.code, 'NJS-138');
    const c = engine.classifyError(err, t);
    assert.equal(c.code, 'unsupported');
    assert.match(
      c.message,
      /^不支持 Oracle 11g 及更早版本: thin 模式只能连接 12\.1 及以上 \(Oracle 11g and older are not supported: thin mode connects to 12\.1\+ only\): NJS-138/,
    );
  });

  test('unknown service (thin mode NJS-518, the ORA-12514 of thick clients) → connection', () => {
    const err = driverErrors.getErr(driverErrors.ERR_INVALID_SERVICE_NAME, 'NOSUCH', '127.0.0.1', 1521, 'cid');
    assert.equal(err.code, 'NJS-518');
    const c = engine.classifyError(err, t);
    assert.equal(c.code, 'connection');
    assert.match(c.message, /^服务名未在监听器注册/);
  });

  test('a password that reaches a message is scrubbed', () => {
    const err = oraError(1017, `ORA-01017: logon denied for ${t.password}`);
    const c = engine.classifyError(err, t);
    assert.ok(!c.message.includes(t.password));
    assert.match(c.message, /\*\*\*/);
  });
});

async function connectError(t: ConnectTarget, e = engine): Promise<SyncError> {
  const err: unknown = await e.connect(t).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (x: unknown) => x,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  assert.ok(!err.message.includes(t.password), err.message);
  return err;
}

describe('Oracle: real thin-driver connection failures', () => {
  test('a server that hangs up at once → NJS-500 → connection', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const err = await connectError(target({ port: (server.address() as net.AddressInfo).port }));
      assert.equal(err.code, 'connection');
      assert.match(err.message, /^连接中断: NJS-500/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

// --- hard bounds, with a driver that never answers ---

describe('Oracle: hard bounds beyond the driver timeouts', () => {
  /** A connection whose every call hangs, recording immediate drops. */
  function hungConnection(drops: number[]): OracleConnection {
    return Object.assign(
      {
        callTimeout: 0,
        oracleServerVersionString: '19.3.0.0.0',
        execute: () => new Promise<never>(() => {}),
        close: () => new Promise<never>(() => {}),
      },
      { _impl: { nscon: { disconnect: (mode: number) => drops.push(mode) } } },
    );
  }

  const standIn = (getConnection: OracleDriver['getConnection']): OracleDriver => ({ ...oracledb, getConnection });

  test('a login that never completes fails as timeout; if it completes later it is dropped', async () => {
    const drops: number[] = [];
    let finish: (c: OracleConnection) => void = () => {};
    const e = makeOracleEngine(standIn(() => new Promise((resolve) => (finish = resolve))));
    const started = Date.now();
    const err = await connectError(target({ connectTimeoutMs: 200 }), e);
    assert.equal(err.code, 'timeout');
    assert.ok(Date.now() - started < 200 + 1000 + 500);
    finish(hungConnection(drops));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(drops, [0x40]);
  });

  test('a connection that reports an 11g server is refused as unsupported and dropped', async () => {
    const drops: number[] = [];
    const conn = { ...hungConnection(drops), oracleServerVersionString: '11.2.0.4.0' };
    const e = makeOracleEngine(standIn(() => Promise.resolve(conn)));
    const err = await connectError(target(), e);
    assert.equal(err.code, 'unsupported');
    assert.match(err.message, /Oracle 11g and older are not supported.*: 11\.2\.0\.4\.0$/);
    assert.deepEqual(drops, [0x40]);
  });

  test('a query the server never answers is cut at queryTimeout + slack and the socket dropped; close does not wait', async () => {
    const drops: number[] = [];
    const conn = hungConnection(drops);
    const e = makeOracleEngine(standIn(() => Promise.resolve(conn)));
    const session = await e.connect(target({ queryTimeoutMs: 100, connectTimeoutMs: 200 }));
    assert.equal(conn.callTimeout, 100);
    assert.equal(await session.serverVersion(), '19.3.0.0.0');
    const started = Date.now();
    const err = await session.collect().catch((x: unknown) => x);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'timeout');
    assert.ok(Date.now() - started < 100 + 2000 + 500);
    assert.deepEqual(drops, [0x40]);
    // closeWithin drops on its deadline (and once more on the way out: idempotent in the driver).
    await session.close();
    assert.ok(drops.length > 1);
  });
});
