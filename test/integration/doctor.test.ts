/**
 * `doctor` on the real PostgreSQL and MariaDB with deliberately
 * under-privileged logins: it reports the missing grants with the statements
 * that fix them; after running exactly those statements it reports none.
 * On the PostgreSQL store, which holds what MariaDB's default method records
 * (it did not: test/store/column-widths.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { mysqlAdmin, pgAdmin, uniqueName } from '../helpers/targets.js';

interface Check {
  name: string;
  ok: boolean;
  undercounts?: string;
  undercounts_key?: string;
  fix?: string[];
}

describe('doctor with under-privileged logins', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let pga: pg.Client;
  let my: mysql.Connection;
  const pgRole = uniqueName('doc_role');
  const pgDb = uniqueName('doc_db');
  const myUser = uniqueName('doc_u');
  const myPassword = `Doc-${randomBytes(6).toString('hex')}`;
  const admin = () => ({ authorization: `Bearer ${callers.admin.bearer}` });

  async function instance(name: string, dbType: string, port: number, username: string, password: string, options = {}) {
    const cred = await app.inject({ method: 'POST', url: '/api/credentials', headers: admin(), payload: { name: `${name}-c`, username, password } });
    const r = await app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: admin(),
      payload: { name, db_type: dbType, host: '127.0.0.1', port, credential_id: cred.json().data.id, options, confirm_duplicate: true },
    });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().data.id as number;
  }
  const doctor = async (id: number, acceptLanguage?: string) => {
    const headers = { ...callers.operator.headers(true), ...(acceptLanguage ? { 'accept-language': acceptLanguage } : {}) };
    const r = await app.inject({ method: 'POST', url: `/api/instances/${id}/doctor`, headers });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { message: string; message_key?: string; data: { ok: boolean; checks: Check[] } };
  };

  before(async () => {
    // The PostgreSQL store: it enforces the columns' widths (MySQL's auto method is 37 characters; migration 0031).
    ctx = await newTestContext('postgres');
    ({ app, callers } = await newTestApp(ctx));
    pga = await pgAdmin();
    await pga.query(`CREATE ROLE ${pgRole} LOGIN PASSWORD 'x'`);
    await pga.query(`CREATE DATABASE ${pgDb}`);
    await pga.query(`REVOKE CONNECT ON DATABASE ${pgDb} FROM PUBLIC`);
    my = await mysqlAdmin();
    for (const host of ['%', 'localhost', '127.0.0.1']) await my.query('CREATE USER ?@? IDENTIFIED BY ?', [myUser, host, myPassword]);
  });
  after(async () => {
    await pga?.query(`DROP DATABASE IF EXISTS ${pgDb} WITH (FORCE)`);
    await pga?.query(`DROP OWNED BY ${pgRole}`).catch(() => {});
    await pga?.query(`REVOKE pg_read_all_stats FROM ${pgRole}`).catch(() => {});
    await pga?.query(`DROP ROLE IF EXISTS ${pgRole}`);
    await pga?.end();
    for (const host of ['%', 'localhost', '127.0.0.1']) await my?.query('DROP USER IF EXISTS ?@?', [myUser, host]);
    await my?.end();
    await app?.close();
    await ctx?.cleanup();
  });

  it('PostgreSQL: a database without CONNECT is reported; the printed GRANTs fix it', async () => {
    const id = await instance('pg-doc', 'postgresql', 5432, pgRole, 'x');
    const before = await doctor(id);
    assert.equal(before.data.ok, false);
    const missing = before.data.checks.filter((c) => !c.ok);
    // The API's own language (zh-CN) by default, English when the request prefers it; the key for the UI either way.
    assert.ok(
      missing.some(
        (c) => c.name === `CONNECT ON DATABASE ${pgDb}` && /大小未知/.test(c.undercounts ?? '') && c.undercounts_key === 'doctor.pg.no_connect_undercounts',
      ),
    );
    const english = await doctor(id, 'en-US,en;q=0.9,zh-CN;q=0.5');
    assert.ok(
      english.data.checks.some((c) => c.name === `CONNECT ON DATABASE ${pgDb}` && /size unknown/.test(c.undercounts ?? '')),
      JSON.stringify(english.data.checks),
    );
    assert.equal(english.message_key, 'doctor.summary_missing');
    assert.match(english.message, /^\d+ grant\(s\) missing$/);
    const fixes = missing.flatMap((c) => c.fix ?? []);
    assert.ok(fixes.includes(`GRANT pg_read_all_stats TO "${pgRole}";`), fixes.join('\n'));
    // Run the fix the doctor prints first (the role-wide one), as the DBA would.
    await pga.query(fixes[0]!);
    const afterFix = await doctor(id);
    assert.equal(afterFix.data.ok, true, JSON.stringify(afterFix.data.checks));
    assert.equal(afterFix.message, '权限完整 (all required grants present)');
    // And the collection now measures the locked database.
    const sync = await app.inject({ method: 'POST', url: `/database-sizes/instances/${id}/sync-capacity`, headers: callers.operator.headers(true) });
    assert.equal(sync.statusCode, 200, sync.body);
    const dbs = (await app.inject({ method: 'GET', url: `/api/instances/${id}/databases`, headers: admin() })).json().data.databases as {
      database_name: string;
      size_bytes: number | null;
    }[];
    assert.ok((dbs.find((d) => d.database_name === pgDb)?.size_bytes ?? 0) > 0);
  });

  it('MariaDB: no global SELECT and no PROCESS are reported for method auto (the default); the printed GRANTs fix both; the sync falls back, then measures files', async () => {
    const id = await instance('my-doc', 'mariadb', 3306, myUser, myPassword);
    const inst = (await app.inject({ method: 'GET', url: `/api/instances/${id}`, headers: admin() })).json().data as {
      size_method: string;
      options: Record<string, unknown>;
    };
    assert.deepEqual([inst.size_method, inst.options.method], ['auto', undefined], 'a new MariaDB instance uses auto');
    type Db = {
      database_name: string;
      method: string;
      note: string | null;
      allocated_bytes: number | null;
      method_note: string | null;
      method_note_key: string | null;
      data_bytes: number | null;
    };
    const syncAndList = async () => {
      const sync = await app.inject({ method: 'POST', url: `/database-sizes/instances/${id}/sync-capacity`, headers: callers.operator.headers(true) });
      assert.equal(sync.statusCode, 200, sync.body);
      return (await app.inject({ method: 'GET', url: `/api/instances/${id}/databases`, headers: admin() })).json().data.databases as Db[];
    };
    const fallback = await syncAndList();
    assert.ok(fallback.length > 0);
    for (const d of fallback) {
      assert.deepEqual([d.method, d.allocated_bytes], ['information_schema', null], d.database_name);
      assert.match(d.note ?? '', /PROCESS missing: measured from table statistics/);
      assert.match(d.method_note ?? '', /table statistics/);
    }
    // The method's note by key, zh-CN by default and English with Accept-Language: en (issue #20 item 2).
    assert.equal(fallback[0]!.method_note_key, 'db.method_note.mysql_logical');
    assert.match(fallback[0]!.method_note ?? '', /^表统计/);
    const en = (await app.inject({ method: 'GET', url: `/api/instances/${id}/databases`, headers: { ...admin(), 'accept-language': 'en' } })).json().data
      .databases as Db[];
    assert.equal(en[0]!.method_note_key, 'db.method_note.mysql_logical');
    assert.match(en[0]!.method_note ?? '', /^table statistics \(DATA_LENGTH\+INDEX_LENGTH\)/);
    assert.doesNotMatch(en[0]!.method_note ?? '', /[\u4e00-\u9fff]/);
    const warned = (await app.inject({ method: 'GET', url: `/api/instances/${id}`, headers: admin() })).json().data as {
      last_sync_error: string | null;
      last_sync_status: string;
    };
    assert.equal(warned.last_sync_status, 'completed');
    assert.match(warned.last_sync_error ?? '', /GRANT PROCESS/);
    const before = await doctor(id);
    assert.equal(before.data.ok, false);
    const names = before.data.checks.filter((c) => !c.ok).map((c) => c.name);
    assert.deepEqual(names.sort(), ['PROCESS', 'SELECT ON *.*']);
    const fixes = before.data.checks.flatMap((c) => c.fix ?? []);
    assert.ok(
      fixes.every((f) => f.includes(`'${myUser}'@'`)),
      fixes.join('\n'),
    );
    assert.ok(!JSON.stringify(before).includes(myPassword));
    // The API's own language by default; the UI renders undercounts_key in its own.
    assert.match(before.data.checks.find((c) => c.name === 'PROCESS')!.undercounts!, /auto 退回逻辑方法/);
    for (const f of fixes) await my.query(f);
    const afterFix = await doctor(id);
    assert.equal(afterFix.data.ok, true, JSON.stringify(afterFix.data.checks));
    const files = (await syncAndList()).find((d) => d.database_name === 'mysql')!;
    assert.equal(files.method, 'innodb_tablespaces+information_schema');
    assert.equal(files.note, null);
    assert.ok((files.allocated_bytes ?? 0) > 0 && (files.data_bytes ?? 0) > 0, JSON.stringify(files));
    assert.match(files.method_note ?? '', /what the disk holds/);
  });

  it('the CLI prints the same report and exits non-zero while grants are missing', async () => {
    const { spawnSync } = await import('node:child_process');
    const lonely = uniqueName('doc_u2');
    for (const host of ['%', 'localhost', '127.0.0.1']) await my.query('CREATE USER ?@? IDENTIFIED BY ?', [lonely, host, myPassword]);
    try {
      await instance('my-doc-2', 'mariadb', 3306, lonely, myPassword);
      const env = { ...process.env, WHALEFALL_DATA_DIR: ctx.dataDir, DATABASE_URL: ctx.config.databaseUrl, WHALEFALL_TZ: 'UTC', LOG_LEVEL: '' };
      const r = spawnSync(process.execPath, ['test/helpers/whalefall.mjs', 'doctor', '--instance', 'my-doc-2'], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /^FAIL my-doc-2 \(mariadb /m);
      assert.match(r.stdout, /✗ SELECT ON \*\.\*/);
      assert.match(r.stdout, new RegExp(`fix: GRANT SELECT, SHOW VIEW ON \\*\\.\\* TO '${lonely}'@'`));
      assert.ok(!r.stdout.includes(myPassword) && !r.stderr.includes(myPassword));
    } finally {
      for (const host of ['%', 'localhost', '127.0.0.1']) await my.query('DROP USER IF EXISTS ?@?', [lonely, host]);
    }
  });
});
