/**
 * `whalefall doctor` for SQL Server through the real driver: the checks and
 * the exact GRANT text per login and per version (2012 has no CONNECT ANY
 * DATABASE; 2022 accepts VIEW SERVER PERFORMANCE STATE).
 */
import { localizeCheck } from '../../src/engines/common.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import type { TdsResponder } from '../helpers/tds-responder.js';
import { DATABASES, failure, startServer, target, WEIRD } from '../helpers/sqlserver-server.js';

describe('SQL Server doctor (real driver, TDS responder)', () => {
  let server: TdsResponder;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('doctor: a login without VIEW ANY DEFINITION gets the exact GRANTs; a full one gets none', async () => {
    const limited = await engine.connect(target(server.port, { username: 'collector', options: { used_space: true } }));
    try {
      const checks = await limited.doctor();
      assert.deepEqual(
        checks.map((c) => [c.name, c.ok, c.fix]),
        [
          ['VIEW ANY DATABASE', true, undefined],
          ['VIEW ANY DEFINITION', false, ['GRANT VIEW ANY DEFINITION TO [CORP\\collector];']],
          ['VIEW SERVER PERFORMANCE STATE', false, ['GRANT VIEW SERVER PERFORMANCE STATE TO [CORP\\collector];']],
          ['CONNECT (each database)', false, ['GRANT CONNECT ANY DATABASE TO [CORP\\collector];']],
        ],
      );
      const definition = checks[1]!;
      assert.equal(definition.detail, `sys.master_files 中可见 0/${DATABASES.length} 个数据库的文件`);
      assert.equal(localizeCheck(definition, 'en').detail, `sys.master_files shows the files of 0/${DATABASES.length} database(s)`);
      assert.equal(definition.undercounts, `${DATABASES.length} 个数据库的容量未知`);
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
      assert.deepEqual(
        checks.map((c) => [c.name, c.ok, c.fix, c.undercounts]),
        [
          ['VIEW ANY DATABASE', true, undefined, undefined],
          ['VIEW ANY DEFINITION', true, undefined, undefined],
          ['VIEW SERVER PERFORMANCE STATE', true, undefined, undefined],
          ['CONNECT (each database)', true, undefined, undefined],
        ],
      );
    } finally {
      await full.close();
    }
  });

  test('doctor per version: 2022 accepts VIEW SERVER PERFORMANCE STATE alone; 2012 gets CREATE USER per database', async () => {
    const doctorOf = async (username: string) => {
      const s = await engine.connect(target(server.port, { username, options: { used_space: true } }));
      try {
        return await s.doctor();
      } finally {
        await s.close();
      }
    };
    const perf = await doctorOf('perf2022');
    assert.deepEqual(perf.find((c) => c.name === 'VIEW SERVER PERFORMANCE STATE')?.ok, true);
    assert.ok(server.queries.some((q) => q.includes("HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER PERFORMANCE STATE')")));

    const before = server.queries.length;
    const old = await doctorOf('old2012');
    assert.ok(!server.queries.slice(before).some((q) => q.includes('VIEW SERVER PERFORMANCE STATE')), '2012 is not asked about a permission it does not have');
    assert.deepEqual(
      old.map((c) => [c.name, c.ok]),
      [
        ['VIEW ANY DATABASE', true],
        ['VIEW ANY DEFINITION', true],
        ['VIEW SERVER STATE', true],
        ['CONNECT (each database)', false],
      ],
    );
    assert.deepEqual(old[3]!.fix, [
      'USE [docs_fs]; CREATE USER [old2012] FOR LOGIN [old2012];',
      "USE [it's 库 [x]] 🐳]; CREATE USER [old2012] FOR LOGIN [old2012];",
    ]);
  });

  test('doctor without used-space mode still asks for the server-state grant (the composition reads it; snapshots and group databases too)', async () => {
    const s = await engine.connect(target(server.port, { username: 'collector' }));
    try {
      const checks = await s.doctor();
      const state = checks.find((c) => c.name === 'VIEW SERVER PERFORMANCE STATE')!;
      assert.equal(state.ok, false);
      assert.match(state.detail, /sys\.dm_os_volume_stats \(composition[\s\S]*5 snapshot or availability-group database\(s\)/);
      assert.equal(state.undercounts, '空间构成中数据/日志的已用与空闲及磁盘上限未知；快照大小未知、可用性组角色未知');
      assert.equal(localizeCheck(state, 'en').undercounts, 'composition: used/unused split and volume ceiling unknown; snapshot sizes and group roles unknown');
      assert.deepEqual(state.fix, ['GRANT VIEW SERVER PERFORMANCE STATE TO [CORP\\collector];']);
      assert.ok(!checks.some((c) => c.name === 'CONNECT (each database)'), 'no per-database access needed without used-space mode');
    } finally {
      await s.close();
    }
  });
});
