/**
 * The PostgreSQL collector through the real `pg` client, over TCP, against the
 * wire-protocol responder (test/helpers/pg-responder.ts) instead of a server:
 * rows a real server would rarely give on demand (a database without CONNECT,
 * one dropped mid-collection, odd names) and server errors by SQLSTATE.
 * Values cross the wire as text with the column types a real server sends
 * (oid, bool, int8), so the engine sees what the driver makes of them.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Collection } from '../../src/domain/collection.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { postgresqlEngine as engine } from '../../src/engines/postgresql/postgresql.engine.js';
import { SyncError, type SyncErrorCode } from '../../src/lib/errors.js';
import { type Handler, type PgResponder, type PgResponderOptions, type ResultSet, type ServerError, startPgResponder } from '../helpers/pg-responder.js';
import { textOf } from '../../src/client/shared/i18n/index.js';

const ODD = `it's "库" 🐳;--`;
const VERSION = '15.7 (responder)';
/** [oid, datname, invalid, allowed, size] as pg_database would give them. */
const DBS: [number, string, boolean, boolean, string | null][] = [
  [5, 'postgres', false, true, '7532067'],
  [16384, ODD, false, true, '9007199254740991'], // 2^53 - 1: the largest exact size
  [16390, 'locked', false, false, null], // no CONNECT: the CASE leaves its size NULL
];

const BULK = /pg_database_size\(oid\)/;
const LIST = /FROM pg_database\s+WHERE NOT datistemplate/;
const ONE = /pg_database_size\(\$1::oid\)/;

const bulk = (dbs = DBS): ResultSet => ({
  columns: [
    { name: 'oid', type: 'oid' },
    'datname',
    { name: 'invalid', type: 'bool' },
    { name: 'connectable', type: 'bool' },
    { name: 'allowed', type: 'bool' },
    { name: 'size', type: 'int8' },
    'server_version',
  ],
  rows: dbs.map(([oid, name, invalid, allowed, size]) => [oid, name, invalid, true, allowed, size, VERSION]),
});
const list = (): ResultSet => ({
  columns: [
    { name: 'oid', type: 'oid' },
    'datname',
    { name: 'invalid', type: 'bool' },
    { name: 'connectable', type: 'bool' },
    { name: 'allowed', type: 'bool' },
  ],
  rows: DBS.map(([oid, name, invalid, allowed]) => [oid, name, invalid, true, allowed]),
});

let responder: PgResponder | undefined;
afterEach(async () => {
  await responder?.close();
  responder = undefined;
});

async function start(handler: Handler, extra: Omit<PgResponderOptions, 'handler'> = {}): Promise<ConnectTarget> {
  responder = await startPgResponder({ handler, serverVersion: VERSION, ...extra });
  return {
    host: responder.host,
    port: responder.port,
    database: null,
    username: 'collector',
    password: 'pw-库',
    options: {},
    connectTimeoutMs: 3000,
    queryTimeoutMs: 5000,
  };
}

async function collectOnce(target: ConnectTarget): Promise<Collection> {
  const session = await engine.connect(target);
  try {
    return await session.collect();
  } finally {
    await session.close();
  }
}

async function syncError(work: Promise<unknown>): Promise<SyncError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

const byName = (c: Collection) => new Map(c.databases.map((d) => [d.database_name, d]));

describe('PostgreSQL engine against the wire-protocol responder', () => {
  test('one round trip: sizes, odd names, and a database without CONNECT as an error row', async () => {
    let startup: Record<string, string> = {};
    const target = await start((sql, _params, session) => {
      startup = session.params;
      return BULK.test(sql) ? bulk() : undefined;
    });
    const c = await collectOnce(target);
    assert.equal(c.server_version, VERSION);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(responder!.queries.length, 1, 'the version and every size in one query');
    const dbs = byName(c);
    assert.deepEqual([...dbs.keys()], ['postgres', ODD, 'locked']);
    assert.equal(dbs.get('postgres')!.size_bytes, 7_532_067);
    assert.equal(dbs.get(ODD)!.size_bytes, Number.MAX_SAFE_INTEGER);
    assert.equal(dbs.get(ODD)!.error, undefined);
    assert.equal(dbs.get('locked')!.size_bytes, null);
    assert.match(dbs.get('locked')!.error ?? '', /no CONNECT privilege/);
    for (const d of c.databases) assert.equal(d.method, 'pg_database_size');
    // What pg sent at startup: the engine's own connection settings.
    assert.equal(startup.user, 'collector');
    assert.equal(startup.database, 'postgres');
    assert.equal(startup.application_name, 'whalefall');
    assert.equal(startup.statement_timeout, '5000');
  });

  test('a size that vanished (NULL for an allowed database) is an error row, not 0', async () => {
    const target = await start((sql) => (BULK.test(sql) ? bulk([[7, 'gone', false, true, null]]) : undefined));
    const [gone] = (await collectOnce(target)).databases;
    assert.equal(gone!.size_bytes, null);
    assert.match(gone!.error ?? '', /size unavailable/);
  });

  test('bulk query refused → one query per database over the extended protocol, failures kept per database', async () => {
    const seen: (string | null)[][] = [];
    const target = await start((sql, params) => {
      if (BULK.test(sql)) return { error: { code: '42501', message: 'permission denied for function pg_database_size' } };
      if (LIST.test(sql)) return list();
      if (ONE.test(sql)) {
        seen.push(params);
        if (params[0] === '16384') return { error: { code: '42501', message: `permission denied for database ${ODD}` } };
        return { columns: [{ name: 'size', type: 'int8' }], rows: [['8192']] };
      }
      return undefined;
    });
    const c = await collectOnce(target);
    assert.equal(c.server_version, VERSION, 'from SHOW server_version (the responder default)');
    assert.equal(c.warnings.length, 1);
    assert.match(textOf(c.warnings[0]!), /measured one by one.*权限不足/);
    assert.deepEqual(seen, [['5'], ['16384']], 'locked is not queried; the oid arrives as a text parameter');
    const dbs = byName(c);
    assert.equal(dbs.get('postgres')!.size_bytes, 8192);
    assert.equal(dbs.get(ODD)!.size_bytes, null);
    assert.match(dbs.get(ODD)!.error ?? '', /^权限不足: permission denied for database/);
    assert.match(dbs.get('locked')!.error ?? '', /no CONNECT privilege/);
    // The session is still usable after the errors: the engine closed it politely.
    assert.ok(responder!.queries.includes('SHOW server_version'));
  });

  const everyQuery =
    (e: ServerError): Handler =>
    () => ({ error: e });
  const cases: [string, Partial<PgResponderOptions> & { handler: Handler }, SyncErrorCode, RegExp][] = [
    ['wrong password (28P01)', { password: 'other', handler: () => undefined }, 'auth', /^认证失败：密码错误（修复：.*）: password authentication failed/],
    ['pg_hba refusal (28000)', { login: () => ({ code: '28000', message: 'no pg_hba.conf entry' }), handler: () => undefined }, 'auth', /pg_hba/],
    [
      'too many connections (53300)',
      { login: () => ({ code: '53300', message: 'sorry, too many clients already' }), handler: () => undefined },
      'connection',
      /^连接数已满/,
    ],
    [
      'database missing (3D000)',
      { login: () => ({ code: '3D000', message: 'database "postgres" does not exist' }), handler: () => undefined },
      'connection',
      /^数据库不存在/,
    ],
    [
      'statement timeout on every query (57014)',
      { handler: everyQuery({ code: '57014', message: 'canceling statement due to statement timeout' }) },
      'timeout',
      /^查询超时/,
    ],
    [
      'permission denied on every query (42501)',
      { handler: everyQuery({ code: '42501', message: 'permission denied for table pg_database' }) },
      'permission',
      /^权限不足/,
    ],
    [
      'server shutting down (57P01)',
      { handler: everyQuery({ code: '57P01', message: 'terminating connection due to administrator command', severity: 'FATAL' }) },
      'connection',
      /^服务器正在关闭/,
    ],
    ['unknown SQLSTATE (XX000)', { handler: everyQuery({ code: 'XX000', message: 'internal error' }) }, 'internal', /^采集失败: internal error/],
  ];
  for (const [name, opts, code, message] of cases) {
    test(`server error → SyncError: ${name}`, async () => {
      const { handler, ...extra } = opts;
      const target = await start(handler, extra);
      // The responder asks for the password in clear text (auth 3) when it checks one: allowed here on purpose
      // (refused by default: test/engines/cleartext.test.ts).
      if (extra.password !== undefined) target.options.allow_cleartext_password = true;
      const err = await syncError(collectOnce(target));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /pw-库/, 'no password in the message');
    });
  }
});
