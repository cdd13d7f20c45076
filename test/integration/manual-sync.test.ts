/**
 * The manual sync end to end, through the HTTP API and the real drivers, on
 * the local PostgreSQL and MariaDB: stored bytes equal the server's own
 * answer, odd names round-trip, drop → deleted, recreate → restored, no
 * duplicate rows, and the password never reaches a response or a log line.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { localDate } from '../../src/lib/clock.js';
import { newTestApp, newTestContext, type Caller, type StoreKind, type TestApp, type TestContext } from '../helpers/context.js';
import { mysqlAdmin, pgAdmin, uniqueName } from '../helpers/targets.js';

type EngineUnderTest = 'postgresql' | 'mariadb';

interface Server {
  /** Login used by the instance, with a password the test can grep for. */
  username: string;
  password: string;
  port: number;
  createDatabase(name: string, rows: number): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  /** The engine's own answer, read by the test: total bytes per database. */
  sizes(names: string[]): Promise<Map<string, number>>;
  /** Of these names, the databases the server has now. */
  existing(names: string[]): Promise<string[]>;
  close(): Promise<void>;
}

async function postgresServer(): Promise<Server> {
  const admin: pg.Client = await pgAdmin();
  // Trust auth ignores the password, so any value works and can be grepped for.
  const password = `Pg-Secret-${randomBytes(6).toString('hex')}`;
  return {
    username: 'postgres',
    password,
    port: 5432,
    async createDatabase(name, rows) {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
      const db = await pgAdmin(name);
      try {
        await db.query('CREATE TABLE t (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false)');
        if (rows) await db.query(`INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, ${rows}) g`);
        await db.query('VACUUM ANALYZE t');
      } finally {
        await db.end();
      }
    },
    async dropDatabase(name) {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
    },
    async sizes(names) {
      const r = await admin.query<{ datname: string; size: string }>(
        'SELECT datname, pg_database_size(datname) AS size FROM pg_database WHERE datname = ANY($1)',
        [names],
      );
      return new Map(r.rows.map((x) => [x.datname, Number(x.size)]));
    },
    async existing(names) {
      const r = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names]);
      return r.rows.map((x) => x.datname);
    },
    close: () => admin.end(),
  };
}

async function mariadbServer(): Promise<Server> {
  const admin: mysql.Connection = await mysqlAdmin();
  const username = uniqueName('sync_u');
  const password = `My-Secret-${randomBytes(6).toString('hex')}`;
  for (const host of ['%', 'localhost', '127.0.0.1']) {
    await admin.query(`CREATE USER ?@? IDENTIFIED BY ?`, [username, host, password]);
    await admin.query(`GRANT SELECT, SHOW VIEW ON *.* TO ?@?`, [username, host]);
  }
  return {
    username,
    password,
    port: 3306,
    async createDatabase(name, rows) {
      const q = admin.escapeId(name);
      await admin.query(`CREATE DATABASE ${q} CHARACTER SET utf8mb4`);
      await admin.query(`CREATE TABLE ${q}.t (id int PRIMARY KEY, payload varchar(255)) ENGINE=InnoDB`);
      if (rows) await admin.query(`INSERT INTO ${q}.t SELECT seq, repeat('x', 200) FROM ${q}.seq_1_to_${rows}`);
      await admin.query(`ANALYZE TABLE ${q}.t`);
    },
    async dropDatabase(name) {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(name)}`);
    },
    async sizes(names) {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT table_schema AS s, SUM(data_length + index_length) AS b FROM information_schema.TABLES WHERE table_schema IN (?) GROUP BY table_schema',
        [names],
      );
      return new Map(rows.map((r) => [r.s as string, Number(r.b)]));
    },
    async existing(names) {
      if (names.length === 0) return [];
      const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT schema_name AS s FROM information_schema.SCHEMATA WHERE schema_name IN (?)', [names]);
      return rows.map((r) => r.s as string);
    },
    async close() {
      for (const host of ['%', 'localhost', '127.0.0.1']) await admin.query('DROP USER IF EXISTS ?@?', [username, host]);
      await admin.end();
    },
  };
}

/**
 * What one sync changed, read from the instance's stored list before and after it. The instance is the whole local
 * server, where files running beside this one create and drop their own databases meanwhile: the sync's counts must
 * equal what it changed, which is checked here, and what it did to our databases is asserted by name in each test.
 */
function changes(before: { database_name: string; is_deleted: boolean }[], after: { database_name: string; is_deleted: boolean }[]) {
  const was = new Map(before.map((d) => [d.database_name, d.is_deleted]));
  const names = (f: (d: { database_name: string; is_deleted: boolean }) => boolean) => after.filter(f).map((d) => d.database_name);
  return {
    appeared: names((d) => !was.has(d.database_name)),
    deleted: names((d) => d.is_deleted && was.get(d.database_name) === false),
    restored: names((d) => !d.is_deleted && was.get(d.database_name) === true),
  };
}

/** Per-engine facts; adding an engine to this test fails to compile until it says what it expects. */
const ENGINES: Record<EngineUnderTest, { open: () => Promise<Server>; oddName: (base: string) => string; systemDatabase: string | null; store: StoreKind }> = {
  // Each engine runs on a different store dialect, so the whole path is covered on both.
  postgresql: { open: postgresServer, oddName: (b) => `${b} it's 库 🐳`, systemDatabase: null, store: 'sqlite' },
  // MariaDB keeps schema names in a 3-byte character set: no emoji there.
  mariadb: { open: mariadbServer, oddName: (b) => `${b} it's 库`, systemDatabase: 'mysql', store: 'postgres' },
};

for (const [dbType, facts] of Object.entries(ENGINES) as [EngineUnderTest, (typeof ENGINES)[EngineUnderTest]][]) {
  describe(`manual sync of a real ${dbType} instance (${facts.store} store)`, () => {
    let ctx: TestContext;
    let app: TestApp;
    let callers: Record<Caller['role'], Caller>;
    let server: Server;
    let instanceId: number;
    const big = uniqueName(`${dbType}_big`);
    const empty = uniqueName(`${dbType}_empty`);
    const odd = facts.oddName(uniqueName(`${dbType}_odd`));
    const ours = [big, empty, odd];
    const today = () => localDate(new Date(), 'UTC');

    const admin = () => ({ authorization: `Bearer ${callers.admin.bearer}` });
    const sync = () => app.inject({ method: 'POST', url: `/database-sizes/instances/${instanceId}/sync-capacity`, headers: callers.operator.headers(true) });
    const databases = async () => {
      const r = await app.inject({ method: 'GET', url: `/api/instances/${instanceId}/databases`, headers: callers.viewer.headers(false) });
      assert.equal(r.statusCode, 200, r.body);
      return r.json().data.databases as {
        database_name: string;
        is_deleted: boolean;
        is_system: boolean;
        size_bytes: number | null;
        size_mb: number | null;
        first_seen_date: string;
        last_seen_date: string;
        deleted_at: string | null;
      }[];
    };

    before(async () => {
      ctx = await newTestContext(facts.store);
      ({ app, callers } = await newTestApp(ctx));
      server = await facts.open();
      await server.createDatabase(big, 20_000);
      await server.createDatabase(empty, 0);
      await server.createDatabase(odd, 10);
      const cred = await app.inject({
        method: 'POST',
        url: '/api/credentials',
        headers: admin(),
        payload: { name: `${dbType}-cred`, db_type: dbType, username: server.username, password: server.password },
      });
      assert.equal(cred.statusCode, 201, cred.body);
      assert.ok(!cred.body.includes(server.password));
      const inst = await app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: admin(),
        payload: { name: `local-${dbType}`, db_type: dbType, host: '127.0.0.1', port: server.port, credential_id: cred.json().data.id, tags: ['test'] },
      });
      assert.equal(inst.statusCode, 201, inst.body);
      instanceId = inst.json().data.id;
    });

    after(async () => {
      for (const n of ours) await server?.dropDatabase(n);
      await server?.close();
      await app?.close();
      await ctx?.cleanup();
    });

    it('syncs: the seed response, and stored bytes equal the server’s own answer', async () => {
      const r = await sync();
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.success, true);
      assert.match(body.message, /^容量同步成功，采集了 \d+ 条记录$/);
      assert.equal(body.message, `容量同步成功，采集了 ${body.data.saved_count} 条记录`);
      for (const k of ['saved_count', 'databases_count', 'total_size_mb', 'instance_id', 'instance_name']) assert.ok(k in body.data, k);
      assert.equal(body.data.instance_id, instanceId);
      assert.equal(body.data.instance_name, `local-${dbType}`);
      assert.ok(body.data.created_count >= 3);

      const expected = await server.sizes(ours);
      const stored = await databases();
      for (const name of ours) {
        const d = stored.find((x) => x.database_name === name);
        assert.ok(d, `${name} collected (names round-trip exactly)`);
        assert.equal(d.size_bytes, expected.get(name) ?? 0, `${name}: stored bytes = server's answer`);
        assert.equal(d.size_mb, Math.round(((expected.get(name) ?? 0) / 1048576) * 100) / 100);
        assert.equal(d.is_deleted, false);
        assert.equal(d.first_seen_date, today());
      }
      assert.ok(stored.find((x) => x.database_name === big)!.size_bytes! > 2_000_000);
      if (facts.systemDatabase) assert.equal(stored.find((x) => x.database_name === facts.systemDatabase)?.is_system, true);

      const total = stored.filter((d) => !d.is_deleted).reduce((s, d) => s + (d.size_bytes ?? 0), 0);
      const inst = (await app.inject({ method: 'GET', url: `/api/instances/${instanceId}`, headers: admin() })).json().data;
      assert.equal(inst.total_size_bytes, total);
      assert.equal(inst.database_count, stored.length);
      assert.equal(inst.last_sync_status, 'completed');
      assert.ok(inst.last_connected);
      const sizes = (await app.inject({ method: 'GET', url: '/instances/api/instances/total-sizes', headers: admin() })).json();
      assert.deepEqual(sizes.data, [{ instance_id: instanceId, total_size_mb: Math.round((total / 1048576) * 100) / 100, synced: true }]);
      assert.equal(body.data.total_size_mb, Math.round((total / 1048576) * 100) / 100);

      // Recorded as a manual_single session with one completed record.
      const s = (await app.inject({ method: 'GET', url: `/api/sync-sessions/${body.data.session_id}`, headers: admin() })).json().data;
      assert.equal(s.sync_type, 'manual_single');
      assert.equal(s.sync_category, 'capacity');
      assert.equal(s.status, 'completed');
      assert.equal(s.records.length, 1);
      assert.equal(s.records[0].status, 'completed');
      assert.equal(s.records[0].saved_count, body.data.saved_count);
      assert.equal(s.records[0].created_count, body.data.created_count);

      const hist = (await app.inject({ method: 'GET', url: `/api/instances/${instanceId}/capacity`, headers: admin() })).json().data;
      assert.deepEqual(
        hist.points.map((p: { collected_date: string; total_size_bytes: number }) => [p.collected_date, p.total_size_bytes]),
        [[today(), total]],
      );
    });

    /** Another file's databases this sync marked deleted are gone from the server (names are never reused). */
    async function othersReallyGone(deleted: string[]) {
      const others = deleted.filter((n) => !ours.includes(n));
      assert.deepEqual(await server.existing(others), [], 'only databases the server no longer has are marked deleted');
    }

    it('sync twice the same day: updated, never duplicated', async () => {
      const before = await databases();
      const r = await sync();
      assert.equal(r.statusCode, 200, r.body);
      // On a server nobody else touched meanwhile: created 0, updated = saved. Other files' new databases are created.
      const c = changes(before, await databases());
      assert.deepEqual(
        c.appeared.filter((n) => ours.includes(n)),
        [],
      );
      assert.equal(r.json().data.created_count, c.appeared.length);
      assert.equal(r.json().data.updated_count, r.json().data.saved_count - c.appeared.length);
      assert.equal(r.json().data.deleted_count, c.deleted.length);
      await othersReallyGone(c.deleted);
      const rows = await ctx.repos.capacity.statsForDay(instanceId, today());
      assert.equal(new Set(rows.map((x) => x.database_name)).size, rows.length, 'one row per database per day');
    });

    it('a dropped database is marked deleted (row and lifecycle), counts say deleted=1; recreated: restored', async () => {
      await server.dropDatabase(empty);
      const before = await databases();
      const r = await sync();
      assert.equal(r.statusCode, 200, r.body);
      // deleted=1, restored=0 counting only ours; other files' databases dropped meanwhile are counted too.
      const c = changes(before, await databases());
      assert.deepEqual(
        c.deleted.filter((n) => ours.includes(n)),
        [empty],
      );
      assert.equal(r.json().data.deleted_count, c.deleted.length);
      await othersReallyGone(c.deleted);
      assert.deepEqual(c.restored, []);
      assert.equal(r.json().data.restored_count, 0);
      const d = (await databases()).find((x) => x.database_name === empty)!;
      assert.equal(d.is_deleted, true);
      assert.ok(d.deleted_at);
      const row = (await ctx.repos.capacity.statsForDay(instanceId, today())).find((x) => x.database_name === empty)!;
      assert.equal(row.is_deleted, 1);
      assert.ok(row.deleted_at);

      await server.createDatabase(empty, 0);
      const before2 = await databases();
      const r2 = await sync();
      assert.equal(r2.statusCode, 200, r2.body);
      const c2 = changes(before2, await databases());
      assert.deepEqual(c2.restored, [empty]);
      assert.equal(r2.json().data.restored_count, 1);
      assert.deepEqual(
        c2.deleted.filter((n) => ours.includes(n)),
        [],
      );
      assert.equal(r2.json().data.deleted_count, c2.deleted.length);
      await othersReallyGone(c2.deleted);
      const d2 = (await databases()).find((x) => x.database_name === empty)!;
      assert.equal(d2.is_deleted, false);
      assert.equal(d2.deleted_at, null);
      const rows = await ctx.repos.capacity.statsForDay(instanceId, today());
      assert.equal(rows.filter((x) => x.database_name === empty).length, 1);
      assert.equal(rows.find((x) => x.database_name === empty)!.is_deleted, 0);
    });

    it('test-connection answers with the server version', async () => {
      const r = await app.inject({ method: 'POST', url: `/api/instances/${instanceId}/test-connection`, headers: callers.operator.headers(true) });
      assert.equal(r.statusCode, 200, r.body);
      assert.ok(r.json().data.server_version.length > 0);
    });

    it('the password never appears in a response, a log line or the audit log', async () => {
      const joined = ctx.logs.join('\n');
      assert.ok(joined.includes('capacity sync completed'), 'the sync was logged');
      assert.ok(!joined.includes(server.password), 'password in logs');
      const audit = await app.inject({ method: 'GET', url: '/api/audit?limit=1000', headers: admin() });
      assert.ok(!audit.body.includes(server.password), 'password in audit log');
      for (const url of ['/api/credentials', `/api/instances/${instanceId}`, '/api/sync-sessions', `/api/instances/${instanceId}/sync-records`]) {
        const r = await app.inject({ method: 'GET', url, headers: admin() });
        assert.equal(r.statusCode, 200, url);
        assert.ok(!r.body.includes(server.password), `password in ${url}`);
      }
      const creds = await ctx.store.db.selectFrom('credentials').select('password_enc').execute();
      assert.ok(
        creds.every((c) => !c.password_enc.includes(server.password) && c.password_enc.startsWith('v1:')),
        'encrypted at rest',
      );
    });
  });
}
