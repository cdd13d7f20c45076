/**
 * MariaDB physical vs logical vs auto on the real server, on the same
 * databases. The physical figure is checked against the .ibd files on disk
 * (the test reads the data directory itself), the logical one against
 * information_schema, and auto = physical + the logical size of the tables
 * that have no tablespace file (here a MyISAM and an Aria table).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import type { Collection } from '../../src/domain/collection.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { decodeFilename, mariadbEngine as engine, splitTablespace } from '../../src/engines/mysql/mysql.engine.js';
import { localizeCheck } from '../../src/engines/common.js';
import { FALLBACK_NOTE } from '../../src/engines/mysql/mysql.methods.js';
import { mysqlAdmin, mysqlTarget, uniqueName } from '../helpers/targets.js';
import { textOf } from '../../src/client/shared/i18n/index.js';

async function collect(target: ConnectTarget): Promise<Collection> {
  const s = await engine.connect(target);
  try {
    return await s.collect();
  } finally {
    await s.close();
  }
}

describe('file-name decoding', () => {
  it('decodes @xxxx code units and folds partitions into their table', () => {
    assert.deepEqual(decodeFilename('wf@0020it@0027s@0020@5e93'), { name: "wf it's 库", decodable: true });
    assert.deepEqual(decodeFilename('caf@0G'), { name: 'caf@0G', decodable: false });
    assert.deepEqual(splitTablespace('my@002ddb/orders#P#p2024'), { schema: 'my-db', table: 'orders', decodable: true });
    assert.deepEqual(splitTablespace('db/t#p#p0#sp#sp1'), { schema: 'db', table: 't', decodable: true });
    assert.equal(splitTablespace('innodb_system'), null);
  });
});

describe('MariaDB methods on the same databases', () => {
  let admin: mysql.Connection;
  let datadir: string;
  const plain = uniqueName('meth');
  const odd = `${uniqueName('meth_odd')} it's 库`;
  const ours = [plain, odd];

  before(async () => {
    admin = await mysqlAdmin();
    const [[row]] = (await admin.query('SELECT @@datadir AS d')) as unknown as [[{ d: string }]];
    datadir = row.d;
    for (const name of ours) {
      const q = admin.escapeId(name);
      await admin.query(`CREATE DATABASE ${q} CHARACTER SET utf8mb4`);
      await admin.query(`CREATE TABLE ${q}.inno (id int PRIMARY KEY, v varchar(255), KEY (v)) ENGINE=InnoDB`);
      await admin.query(`INSERT INTO ${q}.inno SELECT seq, repeat('x', 200) FROM ${q}.seq_1_to_20000`);
      await admin.query(`CREATE TABLE ${q}.part (id int PRIMARY KEY) ENGINE=InnoDB PARTITION BY HASH (id) PARTITIONS 3`);
      await admin.query(`INSERT INTO ${q}.part SELECT seq FROM ${q}.seq_1_to_3000`);
      await admin.query(`CREATE TABLE ${q}.mi (id int PRIMARY KEY, v varchar(255)) ENGINE=MyISAM`);
      await admin.query(`INSERT INTO ${q}.mi SELECT seq, repeat('y', 100) FROM ${q}.seq_1_to_5000`);
      await admin.query(`CREATE TABLE ${q}.ar (id int PRIMARY KEY) ENGINE=Aria`);
      await admin.query(`INSERT INTO ${q}.ar SELECT seq FROM ${q}.seq_1_to_1000`);
      await admin.query(`ANALYZE TABLE ${q}.inno, ${q}.part, ${q}.mi, ${q}.ar`);
    }
  });
  after(async () => {
    for (const name of ours) await admin?.query(`DROP DATABASE IF EXISTS ${admin.escapeId(name)}`);
    await admin?.end();
  });

  /** The .ibd files of a schema, read from disk (the directory name is the encoded schema name). */
  function ibdFiles(schema: string): number[] {
    const dir = [...fs.readdirSync(datadir)].find((d) => decodeFilename(d).name === schema);
    assert.ok(dir, `data directory for ${schema}`);
    return fs
      .readdirSync(path.join(datadir, dir))
      .filter((f) => f.endsWith('.ibd'))
      .map((f) => fs.statSync(path.join(datadir, dir, f)).size);
  }
  const ibdBytes = (schema: string) => ibdFiles(schema).reduce((a, b) => a + b, 0);

  async function tableStats(schema: string) {
    const [rows] = (await admin.query(
      "SELECT COALESCE(SUM(DATA_LENGTH), 0) AS d, COALESCE(SUM(INDEX_LENGTH), 0) AS i, COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
      [schema],
    )) as unknown as [{ d: string; i: string; n: string }[]];
    return { data: Number(rows[0]!.d), index: Number(rows[0]!.i), tables: Number(rows[0]!.n) };
  }

  async function logicalOf(schema: string, engines: string[] | null) {
    const [rows] = (await admin.query(
      `SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ${engines ? 'AND ENGINE IN (?)' : ''}`,
      engines ? [schema, engines] : [schema],
    )) as unknown as [{ b: string }[]];
    return Number(rows[0]!.b);
  }

  it('physical = the .ibd files on disk; auto = physical + the non-InnoDB tables; logical = information_schema', async () => {
    const [logical, physical, auto] = await Promise.all([
      collect(mysqlTarget({ options: { method: 'logical' } })),
      collect(mysqlTarget({ options: { method: 'physical' } })),
      collect(mysqlTarget({ options: { method: 'auto' } })),
    ]);
    for (const name of ours) {
      const l = logical.databases.find((d) => d.database_name === name)!;
      const p = physical.databases.find((d) => d.database_name === name)!;
      const a = auto.databases.find((d) => d.database_name === name)!;
      assert.ok(l && p && a, `${name} found by every method (names decoded)`);
      assert.equal(p.size_bytes, ibdBytes(name), 'physical = .ibd files');
      assert.equal(p.method, 'innodb_tablespaces');
      const nonInnodb = await logicalOf(name, ['MyISAM', 'Aria']);
      assert.ok(nonInnodb > 0);
      assert.equal(a.size_bytes, p.size_bytes! + nonInnodb, 'auto fills exactly the tables physical cannot see');
      assert.equal(a.method, 'innodb_tablespaces+information_schema');
      assert.equal(l.size_bytes, await logicalOf(name, null));
      // What the README explains: files carry free and reserved pages the logical sums do not.
      const innodbLogical = await logicalOf(name, ['InnoDB']);
      assert.ok(p.size_bytes! >= innodbLogical, `physical ${p.size_bytes} >= logical InnoDB ${innodbLogical}`);
      console.log(`# ${name}: logical ${l.size_bytes}, physical ${p.size_bytes} (InnoDB logical ${innodbLogical}), auto ${a.size_bytes}`);
    }
    assert.ok(physical.warnings.some((w) => /non-InnoDB/.test(textOf(w))));
    const sys = physical.databases.find((d) => d.database_name === 'mysql');
    assert.equal(sys?.is_system, true);
  });

  it('auto is the default: the .ibd files on disk (within a page per table) + the MyISAM/Aria tables; data, index, free and files per database', async () => {
    const auto = await collect(mysqlTarget()); // no method option: the engine's default
    for (const name of ours) {
      const a = auto.databases.find((d) => d.database_name === name)!;
      assert.equal(a.method, 'innodb_tablespaces+information_schema', 'auto by default');
      const files = ibdFiles(name);
      const onDisk = files.reduce((x, y) => x + y, 0);
      const nonInnodb = await logicalOf(name, ['MyISAM', 'Aria']);
      // A table may grow by a page between the read and the stat: one 16 KiB page per .ibd file is the tolerance.
      assert.ok(
        Math.abs(a.size_bytes! - (onDisk + nonInnodb)) <= 16_384 * files.length,
        `${name}: auto ${a.size_bytes} vs .ibd ${onDisk} + MyISAM/Aria ${nonInnodb}`,
      );
      assert.ok(Math.abs(a.allocated_bytes! - onDisk) <= 16_384 * files.length, `allocated ${a.allocated_bytes} = .ibd ${onDisk}`);
      const stats = await tableStats(name);
      assert.equal(a.data_bytes, stats.data, 'data = Σ DATA_LENGTH');
      assert.equal(a.index_bytes, stats.index, 'index = Σ INDEX_LENGTH');
      assert.ok(a.free_bytes !== null && a.free_bytes >= 0);
      assert.ok(a.size_bytes! > stats.data + stats.index - nonInnodb, 'files hold more than the InnoDB statistics');
      console.log(
        `# ${name}: auto ${a.size_bytes} = .ibd ${onDisk} (${files.length} files) + MyISAM/Aria ${nonInnodb}; data ${a.data_bytes}, index ${a.index_bytes}, free ${a.free_bytes}`,
      );
    }
    assert.ok(engine.methodNotes?.[auto.databases[0]!.method], 'the method has its one-line explanation');
  });

  it('auto without PROCESS falls back to logical: every database noted, a warning, and the doctor says what is under-counted', async () => {
    const user = uniqueName('noproc');
    const password = `pw_${user}`;
    await admin.query(`CREATE USER ${admin.escape(user)}@'%' IDENTIFIED BY ${admin.escape(password)}`);
    try {
      await admin.query(`GRANT SELECT, SHOW VIEW ON *.* TO ${admin.escape(user)}@'%'`);
      const target = mysqlTarget({ username: user, password, options: { method: 'auto' } });
      const c = await collect(target);
      const d = c.databases.find((x) => x.database_name === plain)!;
      assert.equal(d.method, 'information_schema', 'measured logically');
      assert.equal(d.note, FALLBACK_NOTE);
      assert.equal(d.size_bytes, await logicalOf(plain, null));
      assert.ok(
        c.warnings.some((w) => /PROCESS/.test(textOf(w)) && /logical/.test(textOf(w))),
        c.warnings.map((w) => textOf(w)).join('; '),
      );
      const s = await engine.connect(mysqlTarget({ username: user, password }));
      try {
        const process = (await s.doctor()).find((p) => p.name === 'PROCESS');
        assert.equal(process?.ok, false);
        assert.match(localizeCheck(process!, 'en').undercounts!, /falls back to logical/);
        assert.deepEqual(process!.fix, [`GRANT PROCESS ON *.* TO '${user}'@'%';`]);
      } finally {
        await s.close();
      }
    } finally {
      await admin.query(`DROP USER IF EXISTS ${admin.escape(user)}@'%'`);
    }
  });
});
