/**
 * The engines' sessions in the collector thread (src/engines/collector-thread.ts), against the local PostgreSQL and
 * MariaDB: the same answers and the same classified errors as the engine on this thread, a thread that dies failing
 * only what waited for it (the next connect starts another), a thread idle past its time ending quietly, and a
 * process that waits for the thread's answer and then exits by itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { collectorThreadLimits, collectorThreadUp, inCollectorThread, killCollectorThread, onCollectorThreadStop } from '../../src/engines/collector-thread.js';
import type { Collection } from '../../src/domain/collection.js';
import type { ConnectTarget, Engine } from '../../src/engines/engine.js';
import { mariadbEngine } from '../../src/engines/mysql/mysql.engine.js';
import { postgresqlEngine } from '../../src/engines/postgresql/postgresql.engine.js';
import { msgText } from '../../src/client/shared/i18n/index.js';
import { SyncError } from '../../src/lib/errors.js';
import { sizesReply, startPgResponder } from '../helpers/pg-responder.js';
import { closedPort, mysqlTarget, pgAdminRun, pgTarget, startBlackHole, uniqueName } from '../helpers/targets.js';

async function collectOnce(engine: Engine, target: ConnectTarget) {
  const session = await engine.connect(target);
  try {
    return { version: await session.serverVersion(), collection: await session.collect(), tables: typeof session.collectTables };
  } finally {
    await session.close();
  }
}

async function failure(p: Promise<unknown>): Promise<SyncError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

const byName = (c: { collection: Collection }) => [...c.collection.databases].sort((a, b) => a.database_name.localeCompare(b.database_name));

describe('engine sessions in the collector thread', () => {
  const db = uniqueName('wf_thread');

  before(() => pgAdminRun(`CREATE DATABASE ${db}`));
  after(() => pgAdminRun(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));

  test('PostgreSQL and MariaDB: the same version, databases and sizes as the engine on this thread', async () => {
    for (const [engine, target] of [
      [postgresqlEngine, pgTarget()],
      [mariadbEngine, mysqlTarget()],
    ] as const) {
      const here = await collectOnce(engine, target);
      const there = await collectOnce(inCollectorThread(engine), target);
      assert.equal(there.version, here.version);
      assert.equal(there.tables, here.tables, 'the optional methods the session has');
      assert.deepEqual(
        byName(there).map((d) => d.database_name),
        byName(here).map((d) => d.database_name),
      );
      if (engine === postgresqlEngine) {
        const mine = byName(there).find((d) => d.database_name === db);
        assert.ok(mine && mine.size_bytes! > 0, 'the new database was measured in the thread');
      }
    }
  });

  test('errors come back classified by the engine, as on this thread: refused, unknown role', async () => {
    const port = await closedPort();
    for (const target of [pgTarget({ port }), pgTarget({ username: uniqueName('no_role') })]) {
      const here = await failure(postgresqlEngine.connect(target));
      const there = await failure(inCollectorThread(postgresqlEngine).connect(target));
      assert.equal(there.code, here.code);
      assert.equal(there.msg?.key, here.msg?.key);
      assert.equal(msgText(there.msg!, 'en').replace(/\d+/g, 'N'), msgText(here.msg!, 'en').replace(/\d+/g, 'N'));
    }
  });

  test('a thread that dies fails what waited for it with a transient error; the next connect starts another', async () => {
    const hole = await startBlackHole();
    try {
      const engine = inCollectorThread(postgresqlEngine);
      const told: [string, number][] = [];
      const off = onCollectorThreadStop((detail, failed) => told.push([detail, failed]));
      const waiting = failure(engine.connect(pgTarget({ port: hole.port, connectTimeoutMs: 60_000 })));
      await new Promise((r) => setTimeout(r, 300)); // the connect is in the thread, waiting for the silent server
      await killCollectorThread();
      const err = await waiting;
      assert.equal(err.code, 'connection');
      assert.equal(err.transient, true);
      assert.equal(err.msg?.key, 'cause.collector_thread');
      assert.match(msgText(err.msg!, 'en'), /collector thread stopped/);
      assert.match(msgText(err.msg!, 'zh-CN'), /采集线程异常退出/);
      off();
      assert.deepEqual(told, [[told[0]![0], 1]], 'the listener (the context logs it) is told once, with the one call that failed');
      const again = await collectOnce(engine, pgTarget());
      assert.ok(again.collection.databases.some((d) => d.database_name === db));
    } finally {
      await hole.close();
    }
  });

  test('a hostile server whose answer outgrows the thread heap ends the thread, not the process', async () => {
    // 100,000 databases with 1 KB names (~100 MB of names alone) against a heap of 64 MB.
    const huge = sizesReply(Array.from({ length: 100_000 }, (_, i) => [`${i}-${'x'.repeat(1024)}`, '8192']));
    const responder = await startPgResponder({ handler: (sql) => (/pg_database_size\(oid\)/.test(sql) ? huge : undefined) });
    const heapMb = collectorThreadLimits.heapMb;
    try {
      collectorThreadLimits.heapMb = 64;
      await killCollectorThread(); // the next connect starts a thread with the lower limit
      const engine = inCollectorThread(postgresqlEngine);
      const session = await engine.connect(pgTarget({ port: responder.port, username: 'x', database: 'postgres', queryTimeoutMs: 60_000 }));
      const err = await failure(session.collect());
      await session.close();
      assert.equal(err.code, 'connection');
      assert.equal(err.msg?.key, 'cause.collector_thread');
      assert.match(msgText(err.msg!, 'en'), /out of memory/);
    } finally {
      collectorThreadLimits.heapMb = heapMb;
      await killCollectorThread();
      await responder.close();
    }
    // This process goes on, and so does the next collection, in a new thread.
    const again = await collectOnce(inCollectorThread(postgresqlEngine), pgTarget());
    assert.ok(again.collection.databases.some((d) => d.database_name === db));
  });

  test('idle past idleMs (no session open, no call out) the thread ends quietly; an open session keeps it; the next connect starts one', async () => {
    const idleMs = collectorThreadLimits.idleMs;
    const told: string[] = [];
    const off = onCollectorThreadStop((detail) => told.push(detail));
    const engine = inCollectorThread(postgresqlEngine);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      collectorThreadLimits.idleMs = 300;
      await collectOnce(engine, pgTarget());
      assert.equal(collectorThreadUp(), true);
      const open = await engine.connect(pgTarget());
      await pause(700);
      assert.equal(collectorThreadUp(), true, 'a session open in it keeps the thread');
      assert.match(await open.serverVersion(), /\d/);
      await open.close();
      await pause(700);
      assert.equal(collectorThreadUp(), false, 'idle past idleMs: ended');
      assert.deepEqual(told, [], 'an idle end is not a stop to report');
      const again = await collectOnce(engine, pgTarget());
      assert.ok(
        again.collection.databases.some((d) => d.database_name === db),
        'the next connect starts a thread',
      );
      assert.equal(collectorThreadUp(), true);
    } finally {
      collectorThreadLimits.idleMs = idleMs;
      off();
    }
  });

  test('a process waits for the thread while a call is out, then exits by itself', () => {
    const script = `
      import { inCollectorThread } from './src/engines/collector-thread.ts';
      import { postgresqlEngine } from './src/engines/postgresql/postgresql.engine.ts';
      const s = await inCollectorThread(postgresqlEngine).connect(${JSON.stringify(pgTarget())});
      const c = await s.collect();
      await s.close();
      console.log('databases', c.databases.length);`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /databases [1-9]/);
    assert.ok(Date.now() - t0 < 30_000, 'exited without being stopped');
  });
});
