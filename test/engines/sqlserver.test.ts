/**
 * The SQL Server collector end to end through the real mssql/tedious driver,
 * against the TDS responder (test/helpers/tds-responder.ts) playing a server
 * whose sys.databases / sys.master_files rows are the fixture below. Every
 * value crosses the wire in the type a real server sends (BIGINT page sums,
 * INT counts, NVARCHAR names), so what the engine sees is what the driver makes.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import type { CollectedDatabase, Collection, ConnectTarget } from '../../src/engines/engine.js';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { type Cell, type Column, type LoginInfo, type Reply, type ResultSet, type TdsResponder, startTdsResponder } from '../helpers/tds-responder.js';
import { closedPort, startBlackHole } from '../helpers/targets.js';

const PASSWORD = 'S3cret-pa$$-库';
const WEIRD = "it's 库 [x] 🐳";
/** 2^53 bytes / 8192: one page fewer is the largest page count whose bytes are exact. */
const LIMIT_PAGES = 1_099_511_627_776n;

interface Db {
  id: number;
  name: string;
  state?: string;
  data: bigint;
  log: bigint;
  filestream?: number;
  /** max_pages as the query computes it: undefined = unlimited (NULL). */
  max?: bigint;
}

const DATABASES: Db[] = [
  { id: 1, name: 'master', data: 512n, log: 256n },
  { id: 2, name: 'tempdb', data: 1024n, log: 64n },
  { id: 3, name: 'model', data: 256n, log: 64n },
  { id: 4, name: 'msdb', data: 2048n, log: 512n },
  { id: 5, name: 'sales', data: 128_000n, log: 32_000n, max: 1_310_720n }, // files capped at 10 GiB
  { id: 6, name: WEIRD, data: 300n, log: 100n },
  { id: 7, name: 'docs_fs', data: 4096n, log: 1024n, filestream: 1 },
  { id: 8, name: 'archive', state: 'OFFLINE', data: 10_000n, log: 2000n },
  { id: 9, name: 'restoring', state: 'RESTORING', data: 20_000n, log: 4000n },
  // Data + log pages = LIMIT_PAGES - 1: the largest exact total (9,007,199,254,732,800 bytes).
  { id: 10, name: 'huge', data: LIMIT_PAGES - 1000n, log: 999n },
  { id: 11, name: 'too_big', data: LIMIT_PAGES, log: 0n },
  // Each part is exact, the total is not.
  { id: 12, name: 'too_big_sum', data: LIMIT_PAGES - 1000n, log: 1000n },
];

const col = (name: string, type: Column['type']): Column => ({ name, type });
const MASTER_FILES = /FROM sys\.databases d\s+LEFT JOIN sys\.master_files f/;
const USED = /^USE \[((?:[^\]]|\]\])*)\];\s*SELECT \(SELECT SUM\(CAST\(FILEPROPERTY/;

/** What sys.master_files returns to `login`: a login without VIEW ANY DEFINITION sees no file at all. */
function masterFiles(login: LoginInfo, pageType: Column['type'] = 'bigint', dbs = DATABASES): ResultSet[] {
  const sees = login.user !== 'collector';
  return [
    {
      columns: [col('database_id', 'int'), col('name', 'nvarchar'), col('state_desc', 'nvarchar'), col('files', 'int'), col('filestream_files', 'int'), col('data_pages', pageType), col('log_pages', pageType), col('max_pages', 'bigint')],
      rows: dbs.map((d): Cell[] => [d.id, d.name, d.state ?? 'ONLINE', sees ? 2 + (d.filestream ?? 0) : 0, sees ? (d.filestream ?? 0) : 0, sees ? d.data : 0n, sees ? d.log : 0n, sees ? (d.max ?? null) : null]),
    },
  ];
}

/** Used space as the server would measure it: half the data pages, a quarter of the log; docs_fs refuses the login. */
function usedSpace(_sql: string, m: RegExpExecArray): Reply {
  const name = (m[1] ?? '').replaceAll(']]', ']');
  if (name === 'docs_fs') {
    return { error: { number: 916, class: 14, message: `The server principal "dba" is not able to access the database "${name}" under the current security context.` } };
  }
  const db = DATABASES.find((d) => d.name === name);
  if (!db) return { error: { number: 911, message: `Database '${name}' does not exist.` } };
  return [{ columns: [col('data_used_pages', 'bigint'), col('log_used_bytes', 'bigint')], rows: [[db.data / 2n, db.log * 2048n]] }];
}

function doctorRow(login: LoginInfo): Reply {
  const full = login.user === 'dba';
  return [
    {
      columns: ['view_any_database', 'view_any_definition', 'view_server_state', 'databases', 'databases_with_files'].map((n) => col(n, 'int')),
      rows: [[1, full ? 1 : 0, full ? 1 : 0, DATABASES.length, full ? DATABASES.length : 0]],
    },
  ];
}

const identity = (_sql: string, _m: RegExpExecArray, login: LoginInfo): Reply => [
  {
    columns: [col('version', 'nvarchar'), col('edition', 'nvarchar'), col('login_name', 'nvarchar')],
    rows: [['16.0.4135.4', 'Developer Edition (64-bit)', login.user === 'collector' ? 'CORP\\collector' : login.user]],
  },
];

const acceptPassword = (_login: LoginInfo, password: string) =>
  password === PASSWORD ? null : { number: 18456, message: "Login failed for user 'dba'." };

function startServer(master: (login: LoginInfo) => Reply = (l) => masterFiles(l)): Promise<TdsResponder> {
  return startTdsResponder({
    login: acceptPassword,
    handlers: [
      [/SERVERPROPERTY\('ProductVersion'\)/, identity],
      [MASTER_FILES, (_s, _m, login) => master(login)],
      [USED, usedSpace],
      [/HAS_PERMS_BY_NAME/, (_s, _m, login) => doctorRow(login)],
      [/HAS_DBACCESS\(name\) = 0/, (_s, _m, login) => [{ columns: [col('name', 'nvarchar')], rows: login.user === 'dba' ? [] : [['docs_fs'], [WEIRD]] }]],
    ],
  });
}

function target(port: number, overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  return { host: '127.0.0.1', port, database: null, username: 'dba', password: PASSWORD, options: {}, connectTimeoutMs: 3000, queryTimeoutMs: 5000, ...overrides };
}

async function collectOnce(t: ConnectTarget): Promise<Collection> {
  const session = await engine.connect(t);
  try {
    return await session.collect();
  } finally {
    await session.close();
  }
}

async function failure(work: Promise<unknown>): Promise<SyncError> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

const connectError = (t: ConnectTarget) => failure(engine.connect(t).then((s) => s.close()));

const pagesToBytes = (pages: bigint) => Number(pages * 8192n);
const find = (c: Collection, name: string): CollectedDatabase => {
  const d = c.databases.find((x) => x.database_name === name);
  assert.ok(d, `${name} collected with its exact name`);
  return d;
};

describe('SQL Server engine through mssql/tedious against the TDS responder', () => {
  let server: TdsResponder;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('one server-wide query: data and log apart, system flagged, states kept, exact up to 2^53 bytes', async () => {
    const before = server.queries.length;
    const c = await collectOnce(target(server.port));

    assert.equal(server.queries.slice(before).filter((q) => MASTER_FILES.test(q)).length, 1);
    assert.equal(c.server_version, '16.0.4135.4 (Developer Edition (64-bit))');
    assert.deepEqual(c.databases.map((d) => d.database_name).sort(), DATABASES.map((d) => d.name).sort());

    for (const db of DATABASES.filter((d) => !d.name.startsWith('too_big'))) {
      const d = find(c, db.name);
      assert.deepEqual(
        [d.is_system, d.data_bytes, d.log_bytes, d.size_bytes, d.index_bytes, d.free_bytes, d.used_bytes, d.method, d.error],
        [db.id <= 4, pagesToBytes(db.data), pagesToBytes(db.log), pagesToBytes(db.data + db.log), null, null, null, 'sys.master_files', undefined],
        db.name,
      );
    }
    // Just under the limit survives to the byte.
    assert.equal(find(c, 'huge').size_bytes, 9_007_199_254_732_800);
    // File max size (the forecast limit): known for capped files, null when any file may grow without limit.
    assert.equal(find(c, 'sales').max_bytes, 10 * 1024 ** 3);
    assert.equal(find(c, 'master').max_bytes, null);
    assert.ok(Number.isSafeInteger(find(c, 'huge').size_bytes));

    // Past 2^53 bytes a JS number cannot hold the value exactly: that database alone gets a `data` error.
    for (const name of ['too_big', 'too_big_sum']) {
      const d = find(c, name);
      assert.deepEqual([d.size_bytes, d.data_bytes, d.log_bytes], [null, null, null], name);
      assert.match(d.error ?? '', /无法解析服务器返回的容量: .*out of range: 9007199254740992/, name);
    }

    // Not ONLINE: reported with the size of its files, named in a warning, never absent (= deleted).
    for (const [name, state] of [['archive', 'OFFLINE'], ['restoring', 'RESTORING']]) {
      assert.ok(c.warnings.some((w) => w.startsWith(`${name}: 状态为 ${state}`) && w.includes('not deleted')), `${name} warned`);
    }
    assert.ok(c.warnings.some((w) => w.startsWith('docs_fs: 1 个 FILESTREAM')), 'FILESTREAM noted');
  });

  test('used-space mode: one query per ONLINE database, name bracket-quoted, a refusing database fails alone', async () => {
    const before = server.queries.length;
    const c = await collectOnce(target(server.port, { options: { used_space: true } }));
    const used = server.queries.slice(before).filter((q) => USED.test(q));

    assert.ok(used.some((q) => q.startsWith("USE [it's 库 [x]] 🐳];")), '] doubled inside the brackets');
    assert.ok(!used.some((q) => /^USE \[(archive|restoring|too_big)/.test(q)), 'offline, restoring and unmeasured databases are not entered');

    for (const name of ['sales', WEIRD, 'master', 'huge']) {
      const db = DATABASES.find((d) => d.name === name)!;
      const usedBytes = (db.data / 2n) * 8192n + db.log * 2048n;
      const d = find(c, name);
      assert.deepEqual(
        [d.used_bytes, d.free_bytes, d.size_bytes, d.method, d.error],
        [Number(usedBytes), Number((db.data + db.log) * 8192n - usedBytes), pagesToBytes(db.data + db.log), 'sys.master_files+used', undefined],
        name,
      );
    }
    const refused = find(c, 'docs_fs');
    assert.equal(refused.size_bytes, pagesToBytes(4096n + 1024n), 'allocated size kept');
    assert.equal(refused.used_bytes, null);
    assert.equal(refused.method, 'sys.master_files');
    assert.match(refused.error ?? '', /^已用空间: 无权访问该数据库: The server principal "dba" is not able to access/);
    assert.deepEqual([find(c, 'archive').used_bytes, find(c, 'archive').error], [null, undefined]);
  });

  test('DECIMAL page sums: exact below 2^53, refused above (tedious has already rounded them)', async () => {
    const decimal = { decimal: { precision: 38, scale: 0 } };
    const dbs: Db[] = [
      { id: 5, name: 'exact_decimal', data: LIMIT_PAGES - 1n, log: 0n },
      { id: 6, name: 'rounded_decimal', data: 9_007_199_254_740_993n, log: 1n },
    ];
    const decimalServer = await startServer((login) => masterFiles(login, decimal, dbs));
    try {
      const c = await collectOnce(target(decimalServer.port));
      assert.equal(find(c, 'exact_decimal').size_bytes, 9_007_199_254_732_800);
      const refused = find(c, 'rounded_decimal');
      assert.equal(refused.size_bytes, null);
      // The server said ...993; the driver delivered ...992 as a float: refused, not stored wrong.
      assert.match(refused.error ?? '', /无法精确读取 rounded_decimal ROWS pages: 9007199254740992/);
    } finally {
      await decimalServer.close();
    }
  });

  test('doctor: a login without VIEW ANY DEFINITION gets the exact GRANTs; a full one gets none', async () => {
    const limited = await engine.connect(target(server.port, { username: 'collector', options: { used_space: true } }));
    try {
      const checks = await limited.doctor();
      assert.deepEqual(
        checks.map((c) => [c.name, c.ok, c.fix]),
        [
          ['VIEW ANY DATABASE', true, undefined],
          ['VIEW ANY DEFINITION', false, ['GRANT VIEW ANY DEFINITION TO [CORP\\collector];']],
          ['VIEW SERVER STATE', false, ['GRANT VIEW SERVER STATE TO [CORP\\collector];']],
          ['CONNECT (each database)', false, ['GRANT CONNECT ANY DATABASE TO [CORP\\collector];']],
        ],
      );
      const definition = checks[1]!;
      assert.equal(definition.detail, `sys.master_files 中可见 0/${DATABASES.length} 个数据库的文件 (databases with visible files)`);
      assert.equal(definition.undercounts, `${DATABASES.length} 个数据库的容量未知 (size unknown for ${DATABASES.length} database(s))`);
      assert.equal(checks[3]!.detail, `无法访问: docs_fs, ${WEIRD}`);

      // The same login collecting: nothing visible is a permission error naming the grant, not a server of empty databases.
      const err = await failure(limited.collect());
      assert.equal(err.code, 'permission');
      assert.match(err.message, /GRANT VIEW ANY DEFINITION TO \[CORP\\collector\];$/);
    } finally {
      await limited.close();
    }

    const full = await engine.connect(target(server.port, { options: { used_space: true } }));
    try {
      const checks = await full.doctor();
      assert.deepEqual(checks.map((c) => [c.name, c.ok, c.fix, c.undercounts]), [
        ['VIEW ANY DATABASE', true, undefined, undefined],
        ['VIEW ANY DEFINITION', true, undefined, undefined],
        ['VIEW SERVER STATE', true, undefined, undefined],
        ['CONNECT (each database)', true, undefined, undefined],
      ]);
    } finally {
      await full.close();
    }
  });

  test('login failed (18456) is auth, and the password never appears in the message', async () => {
    const err = await connectError(target(server.port, { password: 'Wr0ng-pa$$' }));
    assert.equal(err.code, 'auth');
    assert.equal(err.message, "登录失败: Login failed for user 'dba'.");

    // A server (or proxy) that echoes the password: scrubbed on the way out.
    const leaky = await startTdsResponder({
      login: (l, password) => ({ number: 18456, message: `Login failed for user '${l.user}' with password '${password}'.` }),
      handlers: [],
    });
    try {
      const leaked = await connectError(target(leaky.port));
      assert.equal(leaked.code, 'auth');
      assert.ok(!leaked.message.includes(PASSWORD), leaked.message);
      assert.match(leaked.message, /with password '\*\*\*'/);
    } finally {
      await leaky.close();
    }
  });

  test('a permission error from the server (229) is permission', async () => {
    const denied = await startTdsResponder({
      handlers: [
        [/SERVERPROPERTY/, identity],
        [MASTER_FILES, { error: { number: 229, class: 14, message: "The SELECT permission was denied on the object 'master_files', database 'mssqlsystemresource', schema 'sys'." } }],
      ],
    });
    try {
      const err = await failure(collectOnce(target(denied.port)));
      assert.equal(err.code, 'permission');
      assert.match(err.message, /^权限不足: The SELECT permission was denied on the object 'master_files'/);
    } finally {
      await denied.close();
    }
  });

  test('a refused connection is a connection error', async () => {
    const err = await connectError(target(await closedPort()));
    assert.equal(err.code, 'connection');
    assert.match(err.message, /^连接被拒绝: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  test('a server that accepts and never answers times out within the connect timeout', async () => {
    const hole = await startBlackHole();
    try {
      const started = Date.now();
      const err = await connectError(target(hole.port, { connectTimeoutMs: 1000 }));
      const elapsed = Date.now() - started;
      assert.equal(err.code, 'timeout');
      assert.match(err.message, /Failed to connect to 127\.0\.0\.1:\d+ in 1000ms/);
      assert.ok(elapsed < 1000 + 1500, `took ${elapsed} ms`);
    } finally {
      await hole.close();
    }
  });

  test('a query that never returns times out after the query timeout (tedious cancels it)', async () => {
    const stuck = await startTdsResponder({ handlers: [[/SERVERPROPERTY/, identity], [MASTER_FILES, 'hang']] });
    try {
      const started = Date.now();
      const err = await failure(collectOnce(target(stuck.port, { queryTimeoutMs: 500 })));
      const elapsed = Date.now() - started;
      assert.equal(err.code, 'timeout');
      assert.match(err.message, /Request failed to complete in 500ms/);
      assert.ok(elapsed < 500 + 1500, `took ${elapsed} ms`);
    } finally {
      await stuck.close();
    }
  });

  test('encrypt: a server that does not negotiate TLS is refused (tedious would go on in clear text)', async () => {
    const err = await connectError(target(server.port, { options: { encrypt: true, trust_server_certificate: true } }));
    assert.equal(err.code, 'connection');
    assert.match(err.message, /did not negotiate TLS/);
  });

  test('domain: the login goes out as NTLM (LOGIN7 with integrated security), not SQL authentication', async () => {
    const before = server.logins.length;
    const err = await connectError(target(server.port, { username: 'svc_whalefall', options: { domain: 'corp' } }));
    assert.equal(err.code, 'auth');
    const login = server.logins[before];
    assert.deepEqual([login?.integratedSecurity, login?.user], [true, ''], 'no SQL user name: NTLM carries the identity');
  });

  test('instance_name: the port comes from SQL Server Browser (UDP 1434), the configured port is ignored', async (t) => {
    const browser = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      browser.once('error', () => resolve(false));
      browser.bind(1434, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      t.skip('UDP 127.0.0.1:1434 is in use on this machine');
      return;
    }
    // SVR_RESP: 0x05, 2-byte length, then `key;value;` pairs ending in `;;` (MS-SQLR 2.2.5).
    browser.on('message', (_msg, peer) => {
      const text = Buffer.from(`ServerName;TEST;InstanceName;WHALE;IsClustered;No;Version;16.0.4135.4;tcp;${server.port};;`, 'ascii');
      const header = Buffer.from([0x05, 0, 0]);
      header.writeUInt16LE(text.length, 1);
      browser.send(Buffer.concat([header, text]), peer.port, peer.address);
    });
    try {
      const c = await collectOnce(target(await closedPort(), { options: { instance_name: 'whale' } }));
      assert.equal(find(c, 'sales').size_bytes, pagesToBytes(128_000n + 32_000n));
    } finally {
      browser.close();
    }
  });
});
