/**
 * Where the bytes went on a MariaDB started by the test (own datadir under a
 * temp folder, a free port, --log-bin): binary logs with their sizes (as
 * SHOW BINARY LOGS and the files on disk say), data/indexes/free of a test
 * schema, free space growing after rows are deleted from an InnoDB table,
 * the redo capacity; a login without BINLOG MONITOR gets binary_logs null
 * with the grant named, never 0.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import { mariadbEngine } from '../../src/engines/mysql/mysql.engine.js';
import type { Composition, CompositionPart } from '../../src/domain/composition.js';
import { startMariadb, type OwnMariadb } from '../helpers/mariadb-server.js';
import { mysqlTarget } from '../helpers/targets.js';

const part = (c: Composition, kind: string) => c.parts.find((p) => p.kind === kind)!;

describe('MariaDB composition (own server with --log-bin)', () => {
  let server: OwnMariadb;
  let admin: mysql.Connection;

  before(async () => {
    server = await startMariadb(['--log-bin=binlog', '--binlog-format=ROW', '--server-id=1', '--innodb-file-per-table=1']);
    admin = await server.admin();
    await admin.query(`CREATE DATABASE comp; CREATE TABLE comp.big (id INT PRIMARY KEY, pad VARCHAR(1000), KEY k (pad(100))) ENGINE=InnoDB; USE comp`);
    // ~30 MB of rows, in a few transactions (each lands in the binary log).
    for (let i = 0; i < 6; i++) {
      await admin.query(`INSERT INTO comp.big SELECT seq, REPEAT(CHAR(65 + seq % 26), 900) FROM seq_${i * 5000 + 1}_to_${(i + 1) * 5000}`);
    }
    await admin.query('FLUSH BINARY LOGS');
    // information_schema.TABLES reads InnoDB's persistent statistics: refresh them now rather than wait for the background recalculation.
    await admin.query('ANALYZE TABLE comp.big');
    await admin.query(`CREATE USER nobin@'%' IDENTIFIED BY 'Nobin-Secret-1'; GRANT SELECT ON *.* TO nobin@'%'`);
  });
  after(async () => {
    await admin?.end().catch(() => {});
    await server?.stop();
  });

  const collect = async (over = {}): Promise<Composition> => {
    const s = await mariadbEngine.connect(mysqlTarget({ port: server.port, ...over }));
    try {
      return await s.composition!();
    } finally {
      await s.close();
    }
  };

  it('binary logs with their sizes, as on disk; data and indexes of the schema; redo', async () => {
    const c = await collect();
    const bin = part(c, 'binary_logs');
    const files = bin.detail!.files as { name: string; bytes: number }[];
    assert.equal(bin.detail!.enabled, true);
    assert.ok(files.length >= 2, JSON.stringify(files));
    for (const f of files) assert.equal(f.bytes, fs.statSync(path.join(server.dir, 'data', f.name)).size, f.name);
    assert.equal(
      bin.bytes,
      files.reduce((a, f) => a + f.bytes, 0),
    );
    assert.ok(bin.bytes! > 25e6, `binlogs ${bin.bytes}`);
    const data = (part(c, 'data').detail!.schemas as Record<string, number>).comp!;
    assert.ok(data > 25e6, `data ${data}`);
    assert.ok((part(c, 'indexes').detail!.schemas as Record<string, number>).comp! > 1e6);
    assert.equal(part(c, 'redo').bytes, 16 * 1024 * 1024);
    assert.equal(part(c, 'temp').bytes, null);
    assert.ok(part(c, 'temp').reason);
  });

  it('rows deleted from an InnoDB table: the free part grows', async () => {
    const before1 = (part(await collect(), 'free').detail!.schemas as Record<string, number>).comp ?? 0;
    await admin.query('DELETE FROM comp.big WHERE id > 3000');
    // InnoDB frees the pages when purge has run; wait for the statistics to show it, not a fixed time.
    const deadline = Date.now() + 60_000;
    let after1 = before1;
    while (Date.now() < deadline) {
      await admin.query('ANALYZE TABLE comp.big');
      after1 = (part(await collect(), 'free').detail!.schemas as Record<string, number>).comp ?? 0;
      if (after1 > before1 + 10e6) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(after1 > before1 + 10e6, `free ${before1} → ${after1}`);
  });

  it('a login without BINLOG MONITOR: binary_logs null with the grant named, never 0', async () => {
    const c = await collect({ username: 'nobin', password: 'Nobin-Secret-1' });
    const bin: CompositionPart = part(c, 'binary_logs');
    assert.equal(bin.bytes, null);
    assert.match(bin.reason!, /BINLOG MONITOR/);
    assert.notEqual(part(c, 'data').bytes, null);
  });
});
