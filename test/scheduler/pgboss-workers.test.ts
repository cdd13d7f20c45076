/**
 * Scale-out: three `whalefall worker` processes against one PostgreSQL store
 * sync 30 instances from the pg-boss queue; one worker is killed mid-run; its
 * jobs expire and are picked up by the others. Every record ends terminal and
 * each database has exactly one row for the day.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localDate } from '../../src/lib/clock.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const actor = { userId: null, username: 'test' };

describe('pg-boss workers', () => {
  let ctx: TestContext;
  let proxy: LatencyProxy;
  const workers: ChildProcess[] = [];
  const env: Record<string, string> = {
    WHALEFALL_QUEUE: 'pg-boss',
    WHALEFALL_QUEUE_MAINTENANCE_SECONDS: '1',
    WHALEFALL_SECRET_KEY: randomBytes(32).toString('hex'),
    // Estate-wide (issue #16 item 7): 6 at once for the 3 workers together, so every worker has jobs to lose.
    WHALEFALL_SYNC_CONCURRENCY: '6',
    WHALEFALL_PROCESS_CONCURRENCY: '2',
    WHALEFALL_SYNC_RETRIES: '0',
    WHALEFALL_CONNECT_TIMEOUT_MS: '2000',
    WHALEFALL_SYNC_TIMEOUT_MS: '3000',
    PORT: '0',
  };

  before(async () => {
    ctx = await newTestContext('postgres', { env });
    // Each collection through the proxy takes about a second, so the run lasts long enough to kill a worker in it.
    proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 100 });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    for (let i = 0; i < 30; i++) {
      await ctx.instances.create(
        { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: proxy.port, credential_id: cred.id },
        actor,
      );
    }
    for (let i = 0; i < 3; i++) {
      const w = spawn(process.execPath, [BIN, 'worker'], {
        env: { ...process.env, ...env, DATABASE_URL: ctx.config.databaseUrl!, WHALEFALL_DATA_DIR: ctx.dataDir, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      workers.push(w);
    }
  });
  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await proxy?.close();
    await ctx?.cleanup();
  });

  it('30 instances, 3 workers, one killed mid-run: all 30 terminal, one row per database', async () => {
    const t0 = Date.now();
    const started = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    assert.equal(started.total, 30);
    // Kill a worker once it holds a running record.
    const victim = workers[0]!;
    let killedWhileRunning = false;
    for (let i = 0; i < 300 && !killedWhileRunning; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const recs = await ctx.repos.sync.records(started.session_id);
      if (recs.some((r) => r.status === 'running' && r.holder?.split(':')[1] === String(victim.pid))) {
        victim.kill('SIGKILL');
        killedWhileRunning = true;
      }
    }
    assert.ok(killedWhileRunning, 'a worker was killed in the middle of a job');
    const result = await Promise.race([
      started.done,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('session did not finish in 120 s')), 120_000).unref()),
    ]);
    const recs = await ctx.repos.sync.records(started.session_id);
    const byStatus = recs.reduce<Record<string, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    console.log(`# pg-boss: 30 instances in ${Date.now() - t0} ms, records ${JSON.stringify(byStatus)}, session ${result.status}`);
    for (const r of recs.filter((x) => x.status !== 'completed'))
      console.log(`# not completed: ${r.instance_name} attempt ${r.attempt} [${r.error_code}] ${r.error_message}`);
    assert.ok(
      recs.every((r) => ['completed', 'failed', 'skipped'].includes(r.status)),
      'every record terminal',
    );
    assert.equal(byStatus.completed, 30, 'the killed worker’s job was taken over and completed');
    assert.ok(
      recs.some((r) => r.attempt > 1),
      'at least one record ran again after the kill',
    );
    assert.equal(result.status, 'completed');
    const workerPids = new Set(recs.map((r) => r.holder?.split(':')[1]));
    assert.ok(workerPids.size >= 2, 'the work was spread over the workers');

    const day = localDate(new Date(), 'UTC');
    const dup = await ctx.store.db
      .selectFrom('database_size_stats')
      .select(['instance_id', 'database_name', (eb) => eb.fn.countAll<number>().as('n')])
      .where('collected_date', '=', day)
      .groupBy(['instance_id', 'database_name'])
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    assert.deepEqual(dup, []);
    const perInstance = await ctx.store.db
      .selectFrom('instance_size_stats')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('collected_date', '=', day)
      .executeTakeFirstOrThrow();
    assert.equal(Number(perInstance.n), 30);
  });
});
