/**
 * Connection errors named by their real cause, per engine, with the fix in
 * one line in both languages (issue #20 item 5): the local PostgreSQL and
 * MariaDB for what they can produce here (a role that does not exist, a
 * wrong password, a database that does not exist, a user refused a
 * database), the pg-responder for what a trust-only local server cannot
 * (a password check, a pg_hba.conf refusal), the TDS responder for SQL
 * Server's login errors, driver-shaped errors for Oracle and for MySQL's
 * 1130 (every local address has a matching user entry).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import type { ConnectTarget, Engine } from '../../src/engines/engine.js';
import { postgresqlEngine } from '../../src/engines/postgresql/postgresql.engine.js';
import { mariadbEngine } from '../../src/engines/mysql/mysql.engine.js';
import { SyncError, type SyncErrorCode } from '../../src/lib/errors.js';
import { msgText } from '../../src/client/shared/i18n/index.js';
import { startPgResponder } from '../helpers/pg-responder.js';
import { startTdsResponder } from '../helpers/tds-responder.js';
import { connectError as sqlserverConnectError, target as sqlserverTarget } from '../helpers/sqlserver-server.js';
import { oraError, driverErrors } from '../helpers/oracle-rows.js';
import { makeOracleEngine } from '../../src/engines/oracle/oracle.engine.js';
import { mysqlAdmin, mysqlTarget, pgTarget, uniqueName } from '../helpers/targets.js';

const CJK = /[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]/;

async function connectError(engine: Engine, t: ConnectTarget): Promise<SyncError> {
  const err: unknown = await engine.connect(t).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

/** The cause by key, the zh-CN text first (the API's own), the English one free of Chinese, each with its fix. */
function assertCause(err: SyncError, code: SyncErrorCode, key: string, driverWords: RegExp, withFix = true): void {
  assert.equal(err.code, code, err.message);
  assert.equal(err.msg?.key, key, err.message);
  assert.equal(err.message, msgText(err.msg!, 'zh-CN'));
  assert.match(err.message, driverWords);
  const en = msgText(err.msg!, 'en');
  assert.match(en, driverWords);
  assert.ok(!CJK.test(en), `English text has Chinese: ${en}`);
  if (withFix) {
    assert.match(err.message, /修复：/);
    assert.match(en, /\(fix: /);
  }
}

describe('PostgreSQL: the real cause of a refused connection', () => {
  test('a role that does not exist (local server, SQLSTATE 28000) is not called a pg_hba.conf refusal', async () => {
    const role = uniqueName('ghost');
    const err = await connectError(postgresqlEngine, pgTarget({ username: role, password: 'x' }));
    assertCause(err, 'auth', 'cause.pg.role_missing', new RegExp(`role "${role}" does not exist`));
    assert.ok(!err.message.includes('pg_hba'), err.message);
  });

  test('a database that does not exist (local server, 3D000)', async () => {
    const db = uniqueName('nodb');
    const err = await connectError(postgresqlEngine, pgTarget({ database: db }));
    assertCause(err, 'connection', 'cause.pg.no_database', new RegExp(`database "${db}" does not exist`));
  });

  test('a wrong password (28P01) and a pg_hba.conf refusal (28000) through the real driver', async () => {
    const server = await startPgResponder({ handler: () => undefined, password: 'right' });
    const hba = await startPgResponder({
      handler: () => undefined,
      login: (s) => ({
        code: '28000',
        message: `no pg_hba.conf entry for host "10.1.2.3", user "${s.params.user ?? ''}", database "postgres", no encryption`,
        severity: 'FATAL',
      }),
    });
    try {
      const wrong = await connectError(
        postgresqlEngine,
        pgTarget({ port: server.port, username: 'dba', password: 'wrong', options: { allow_cleartext_password: true } }),
      );
      assertCause(wrong, 'auth', 'cause.pg.bad_password', /password authentication failed for user "dba"/);
      const refused = await connectError(postgresqlEngine, pgTarget({ port: hba.port, username: 'dba' }));
      assertCause(refused, 'auth', 'cause.pg.hba_rejected', /no pg_hba\.conf entry for host "10\.1\.2\.3"/);
    } finally {
      await server.close();
      await hba.close();
    }
  });
});

describe('MariaDB: access denied vs unknown database vs a database refused vs host not allowed', () => {
  let admin: mysql.Connection;
  const user = uniqueName('mylimited').slice(0, 32);
  const password = 'Pa55-limited';
  const db = uniqueName('mysecret');
  before(async () => {
    admin = await mysqlAdmin();
    await admin.query(`CREATE DATABASE \`${db}\``);
    await admin.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
  });
  after(async () => {
    await admin.query(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await admin.end();
  });

  test('a wrong password (1045) and a user that does not exist (1045, or 1698 from MariaDB) are one cause: the server does not say which', async () => {
    const wrong = await connectError(mariadbEngine, mysqlTarget({ username: user, password: 'not-it' }));
    assertCause(wrong, 'auth', 'cause.mysql.access_denied', /Access denied for user/);
    assert.ok(!wrong.message.includes('not-it'));
    const ghost = await connectError(mariadbEngine, mysqlTarget({ username: 'wf_t_nobody', password: 'x' }));
    assertCause(ghost, 'auth', 'cause.mysql.access_denied', /Access denied for user 'wf_t_nobody'/);
  });

  test('an unknown database (1049) and a database the user may not open (1044)', async () => {
    const missing = await connectError(mariadbEngine, mysqlTarget({ database: `${db}_gone` }));
    assertCause(missing, 'connection', 'cause.mysql.no_database', /Unknown database/);
    const refused = await connectError(mariadbEngine, mysqlTarget({ username: user, password, database: db }));
    assertCause(refused, 'permission', 'cause.mysql.db_access_denied', new RegExp(`Access denied for user '${user}'@'127\\.0\\.0\\.1' to database '${db}'`));
  });

  test('a host not allowed (1130), as mysql2 reports it', () => {
    const err = Object.assign(new Error("Host '10.1.2.3' is not allowed to connect to this MariaDB server"), {
      errno: 1130,
      code: 'ER_HOST_NOT_PRIVILEGED',
      sqlState: 'HY000',
    });
    assertCause(mariadbEngine.classifyError(err, mysqlTarget()), 'permission', 'cause.mysql.host_not_allowed', /is not allowed to connect/);
  });
});

describe('SQL Server (TDS responder): login failed and its states, cannot open database', () => {
  const refusals: Record<string, { number: number; message: string; key: string; words: RegExp }> = {
    plain: { number: 18456, message: "Login failed for user 'dba'.", key: 'cause.mssql.login_failed', words: /Login failed for user 'dba'\./ },
    password: {
      number: 18456,
      message: "Login failed for user 'dba'. Reason: Password did not match that for the login provided.",
      key: 'cause.mssql.login_bad_password',
      words: /Password did not match/,
    },
    missing: {
      number: 18456,
      message: "Login failed for user 'ghost'. Reason: Could not find a login matching the name provided.",
      key: 'cause.mssql.login_missing',
      words: /Could not find a login/,
    },
    disabled: {
      number: 18456,
      message: "Login failed for user 'dba'. Reason: Login is disabled.",
      key: 'cause.mssql.login_disabled',
      words: /Login is disabled/,
    },
    database: {
      number: 4060,
      message: 'Cannot open database "nope" requested by the login. The login failed.',
      key: 'cause.mssql.cannot_open_db',
      words: /Cannot open database "nope"/,
    },
  };
  for (const [name, r] of Object.entries(refusals)) {
    test(`${name}: ${r.number}`, async () => {
      const server = await startTdsResponder({ login: () => ({ number: r.number, message: r.message }), handlers: [] });
      try {
        const err = await sqlserverConnectError(sqlserverTarget(server.port));
        assertCause(err, r.number === 4060 ? 'connection' : 'auth', r.key, r.words);
      } finally {
        await server.close();
      }
    });
  }
});

describe('Oracle (driver-shaped errors): ORA-01017, ORA-28000, ORA-12514, ORA-12541', () => {
  const engine = makeOracleEngine({} as never);
  const t: ConnectTarget = {
    host: 'db',
    port: 1521,
    database: 'ORCL',
    username: 'u',
    password: 'p4ss',
    options: {},
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
  };
  test('wrong user name or password (ORA-01017)', () => {
    assertCause(
      engine.classifyError(oraError(1017, 'ORA-01017: invalid credential or not authorized; logon denied'), t),
      'auth',
      'cause.oracle.bad_login',
      /ORA-01017/,
    );
  });
  test('a locked account (ORA-28000)', () => {
    assertCause(engine.classifyError(oraError(28000, 'ORA-28000: The account is locked.'), t), 'auth', 'cause.oracle.locked', /ORA-28000/);
  });
  test('an unknown service: thin mode NJS-518, a thick client ORA-12514', () => {
    const njs = driverErrors.getErr(driverErrors.ERR_INVALID_SERVICE_NAME, 'ORCLX', 'db', 1521);
    assertCause(engine.classifyError(njs, t), 'connection', 'cause.oracle.unknown_service', /NJS-518/);
    const ora = Object.assign(new Error('ORA-12514: Cannot connect to database. Service ORCLX is not registered with the listener'), {
      code: 'ORA-12514',
      errorNum: 12514,
    });
    assertCause(engine.classifyError(ora, t), 'connection', 'cause.oracle.unknown_service', /ORA-12514/);
  });
  test('no listener: thin mode NJS-503 with ECONNREFUSED, a thick client ORA-12541, a listener refusal NJS-511 carrying it', () => {
    const njs503 = Object.assign(
      new Error('NJS-503: connection to host db port 1521 could not be established. (CONNECTION_ID=x)\nconnect ECONNREFUSED 10.0.0.1:1521'),
      { code: 'NJS-503' },
    );
    assertCause(engine.classifyError(njs503, t), 'connection', 'cause.oracle.no_listener', /ECONNREFUSED/);
    const thick = Object.assign(new Error('ORA-12541: Cannot connect. No listener at host db port 1521.'), { code: 'ORA-12541', errorNum: 12541 });
    assertCause(engine.classifyError(thick, t), 'connection', 'cause.oracle.no_listener', /ORA-12541/);
    const njs511 = Object.assign(new Error('NJS-511: connection to listener at host db port 1521 was refused. (CONNECTION_ID=x)\nCause: ORA-12541'), {
      code: 'NJS-511',
    });
    assertCause(engine.classifyError(njs511, t), 'connection', 'cause.oracle.no_listener', /NJS-511/);
  });
});
