import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import type { Collection } from '../../src/domain/collection.js';
import type { ConnectTarget, Engine } from '../../src/engines/engine.js';
import { mariadbEngine as engine, mysqlEngine } from '../../src/engines/mysql/mysql.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { mysqlAdmin, mysqlTarget, uniqueName } from '../helpers/targets.js';

async function collectOnce(target: ConnectTarget): Promise<Collection> {
  const session = await engine.connect(target);
  try {
    return await session.collect();
  } finally {
    await session.close();
  }
}

async function connectError(target: ConnectTarget, e: Engine = engine): Promise<SyncError> {
  const err: unknown = await e.connect(target).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (x: unknown) => x,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;

describe('MariaDB engine on the local server', () => {
  let admin: mysql.Connection;
  const big = uniqueName('my_big');
  const empty = uniqueName('my_empty');
  const odd = `${uniqueName('my_q')} it's 库`;
  const created = [big, empty, odd];
  const user = uniqueName('u');
  const password = `S3cret-${randomBytes(6).toString('hex')}`;
  const hosts = ['%', '127.0.0.1', 'localhost'];

  /** The server's own sums, read by the test itself. */
  async function sums(): Promise<Map<string, { data: number; index: number; free: number }>> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT TABLE_SCHEMA AS name, SUM(DATA_LENGTH) AS d, SUM(INDEX_LENGTH) AS i, SUM(DATA_FREE) AS f
       FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) GROUP BY TABLE_SCHEMA`,
      [created],
    );
    return new Map(rows.map((r) => [r.name as string, { data: Number(r.d), index: Number(r.i), free: Number(r.f) }]));
  }

  before(async () => {
    admin = await mysqlAdmin();
    for (const name of created) await admin.query(`CREATE DATABASE ${q(name)} CHARACTER SET utf8mb4`);
    // seq_1_to_N: MariaDB's Sequence engine, resolved in the current database.
    await admin.query(`
      USE ${q(big)};
      CREATE TABLE ${q(big)}.t (id INT PRIMARY KEY, payload VARCHAR(200), KEY (payload)) ENGINE = InnoDB;
      INSERT INTO ${q(big)}.t SELECT seq, REPEAT('x', 100) FROM seq_1_to_10000;
      ANALYZE TABLE ${q(big)}.t;
      CREATE TABLE ${q(odd)}.${q("表 it's")} (id INT PRIMARY KEY, payload VARCHAR(200)) ENGINE = MyISAM;
      INSERT INTO ${q(odd)}.${q("表 it's")} SELECT seq, REPEAT('y', 150) FROM seq_1_to_1000;
      DELETE FROM ${q(odd)}.${q("表 it's")} WHERE id % 2 = 0;
      CREATE VIEW ${q(odd)}.v AS SELECT 1 AS one;`);
    for (const host of hosts) await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
  });

  after(async () => {
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${q(name)}`);
    for (const host of hosts) await admin.query('DROP USER IF EXISTS ?@?', [user, host]);
    await admin.end();
  });

  test('logical: sizes equal information_schema sums, names round-trip, system schemas flagged', async () => {
    const before = await sums();
    const c = await collectOnce(mysqlTarget({ options: { method: 'logical' } }));
    const now = await sums();

    assert.match(c.server_version ?? '', /MariaDB/);
    assert.deepEqual(c.warnings, []);
    for (const name of created) {
      const d = c.databases.find((x) => x.database_name === name);
      assert.ok(d, `${name} collected with its exact name`);
      // An empty schema has no TABLES rows: its sizes are a known zero.
      const expected = now.get(name) ?? { data: 0, index: 0, free: 0 };
      assert.deepEqual(before.get(name), now.get(name), `${name} changed while collecting`);
      assert.deepEqual(
        [d.size_bytes, d.data_bytes, d.index_bytes, d.free_bytes],
        [expected.data + expected.index, expected.data, expected.index, expected.free],
        name,
      );
      assert.deepEqual([d.is_system, d.method, d.log_bytes, d.used_bytes, d.error], [false, 'information_schema', null, null, undefined]);
    }
    assert.ok((c.databases.find((x) => x.database_name === big)?.data_bytes ?? 0) > 1_000_000, '10k rows weigh over 1 MB');
    assert.ok((c.databases.find((x) => x.database_name === odd)?.free_bytes ?? 0) > 0, 'deleted MyISAM rows show as free');
    assert.equal(c.databases.find((x) => x.database_name === empty)?.size_bytes, 0);

    const system = c.databases
      .filter((d) => d.is_system)
      .map((d) => d.database_name)
      .sort();
    assert.deepEqual(system, ['information_schema', 'mysql', 'performance_schema', 'sys']);
  });

  test('MariaDB identifiers cannot hold an emoji (utf8mb3), so there is none to round-trip', async () => {
    const emoji = `${uniqueName('my_e')} 🐳`;
    await assert.rejects(admin.query(`CREATE DATABASE ${q(emoji)}`), { errno: 1300 });
  });

  test('a wrong password is an auth error that does not echo the password', async () => {
    const ok = await engine.connect(mysqlTarget({ username: user, password }));
    await ok.close();

    const wrong = `S3cret-wrong-${randomBytes(4).toString('hex')}`;
    const err = await connectError(mysqlTarget({ username: user, password: wrong }));
    assert.equal(err.code, 'auth');
    assert.match(err.message, /^认证失败：用户不存在或密码错误（修复：.*）: Access denied/);
    assert.ok(!err.message.includes(wrong));
  });

  test("the server's statement timeout is classified as a timeout", async () => {
    const slow = await admin.query('SET SESSION max_statement_time = 0.05; SELECT SLEEP(2)').catch((e: unknown) => e);
    await admin.query('SET SESSION max_statement_time = 0');
    assert.equal((slow as { errno?: number }).errno, 1969);
    assert.equal(engine.classifyError(slow, mysqlTarget()).code, 'timeout');
  });

  test('same implementation, two types', () => {
    assert.deepEqual([mysqlEngine.dbType, mysqlEngine.label, engine.dbType, engine.label], ['mysql', 'MySQL', 'mariadb', 'MariaDB']);
  });
});
