/**
 * Batch and scheduled sessions on real servers: bounded concurrency where one
 * bad instance costs only its own timeout, retries of transient failures,
 * progress visible while running, no overlap with a manual sync, and the
 * scheduler's claim so a tick runs once across processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SyncError } from '../../src/lib/errors.js';
import { getEngine } from '../../src/engines/registry.js';
import type { DbType } from '../../src/domain/db-type.js';
import type { Engine } from '../../src/engines/engine.js';
import { SCHEDULER_ACTOR } from '../../src/services/audit.service.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';
import { waitFor } from '../helpers/procs.js';
import { closedPort, startBlackHole } from '../helpers/targets.js';
import { localDate } from '../../src/lib/clock.js';

const actor = { userId: null, username: 'test' };

async function addInstance(ctx: TestContext, name: string, port: number, credentialId: number, dbType: DbType = 'postgresql') {
  return ctx.instances.create({ name, db_type: dbType, host: '127.0.0.1', port, credential_id: credentialId }, actor);
}

describe('a session of 20 instances with 2 bad ones', () => {
  let ctx: TestContext;
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  const TIMEOUT = 2000;

  before(async () => {
    ctx = await newTestContext('sqlite', {
      env: { WHALEFALL_CONNECT_TIMEOUT_MS: String(TIMEOUT), WHALEFALL_SYNC_CONCURRENCY: '8', WHALEFALL_SYNC_RETRIES: '0' },
    });
    hole = await startBlackHole();
    const pg = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'irrelevant-pw' }, actor);
    const my = await ctx.credentials.create({ name: 'my', username: 'root', password: '' }, actor).catch(() => undefined);
    for (let i = 0; i < 18; i++) {
      if (i % 2 === 0 || !my) await addInstance(ctx, `good-pg-${i}`, 5432, pg.id);
      else await addInstance(ctx, `good-my-${i}`, 3306, my.id, 'mariadb');
    }
    await addInstance(ctx, 'bad-hole', hole.port, pg.id);
    await addInstance(ctx, 'bad-closed', await closedPort(), pg.id);
  });
  after(async () => {
    await hole?.close();
    await ctx?.cleanup();
  });

  it('completes as partial in about the bad timeout, not the sum; progress is visible while it runs', async () => {
    const t0 = Date.now();
    const started = await ctx.capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
    assert.equal(started.total, 20);
    // While running: records move pending → running → completed.
    const seen = new Set<string>();
    const poll = setInterval(() => {
      void ctx.repos.sync.records(started.session_id).then((rs) => rs.forEach((r) => seen.add(r.status)));
    }, 20);
    const r = await started.done;
    clearInterval(poll);
    const elapsed = Date.now() - t0;
    assert.equal(r.status, 'partial');
    assert.ok(seen.has('running'), `saw ${[...seen]}`);
    const byName = new Map(r.outcomes.map((o) => [o.instance_name, o]));
    assert.equal(byName.get('bad-hole')!.status, 'failed');
    assert.equal(byName.get('bad-hole')!.error_code, 'timeout');
    assert.equal(byName.get('bad-closed')!.error_code, 'connection');
    assert.equal(r.outcomes.filter((o) => o.status === 'completed').length, 18);
    const goodWork = r.outcomes.filter((o) => o.status === 'completed').reduce((s, o) => s + o.duration_ms, 0);
    console.log(`# 20 instances, 2 bad: ${elapsed} ms wall (bad timeout ${TIMEOUT} ms, good work ${goodWork} ms summed)`);
    assert.ok(elapsed < TIMEOUT + goodWork, 'not the sum of the parts');
    assert.ok(elapsed < TIMEOUT + 3000, `about the bad timeout: ${elapsed} ms`);
    const s = await ctx.repos.sync.getSession(r.session_id);
    assert.deepEqual([s!.status, s!.successful_instances, s!.failed_instances, s!.total_instances], ['partial', 18, 2, 20]);
  });

  it('the sessions API pages and filters', async () => {
    await ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor: SCHEDULER_ACTOR });
    const all = await ctx.capacity.sessions({ limit: 1 });
    assert.equal(all.total, 2);
    assert.equal(all.items.length, 1);
    assert.equal((await ctx.capacity.sessions({ sync_type: 'scheduled_task' })).total, 1);
    assert.equal((await ctx.capacity.sessions({ status: 'partial' })).total, 2);
    assert.equal((await ctx.capacity.sessions({ status: 'completed' })).total, 0);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal((await ctx.capacity.sessions({ from: today, to: today })).total, 2);
    assert.equal((await ctx.capacity.sessions({ to: '2000-01-01' })).total, 0);
    const detail = await ctx.capacity.session(all.items[0]!.session_id);
    assert.equal(detail.records.length, 20);
    for (const rec of detail.records) assert.ok(['completed', 'failed'].includes(rec.status) && rec.attempt === 1 && rec.duration_ms !== null);
  });
});

describe('retries', () => {
  let ctx: TestContext;
  let calls = 0;
  let failures: SyncError[] = [];

  /** The real PostgreSQL engine, failing while `failures` has errors to throw. */
  const flaky: Engine = {
    ...getEngine('postgresql'),
    async connect(target) {
      calls++;
      const e = failures.shift();
      if (e) throw e;
      return getEngine('postgresql').connect(target);
    },
  };

  before(async () => {
    ctx = await newTestContext('sqlite', {
      env: { WHALEFALL_SYNC_RETRIES: '2', WHALEFALL_RETRY_BASE_DELAY_MS: '50' },
      engineFor: (t) => (t === 'postgresql' ? flaky : getEngine(t)),
    });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    await addInstance(ctx, 'flaky', 5432, cred.id);
  });
  after(async () => ctx?.cleanup());

  it('fails once with a connection error, then works: completed, attempt 2', async () => {
    calls = 0;
    failures = [new SyncError('connection', '连接被重置: ECONNRESET')];
    const r = await ctx.capacitySync.syncMany('all-active', { syncType: 'manual_batch', actor });
    assert.equal(r.status, 'completed');
    assert.equal(r.outcomes[0]!.attempt, 2);
    assert.equal(calls, 2);
    const rec = (await ctx.repos.sync.records(r.session_id))[0]!;
    assert.deepEqual([rec.status, rec.attempt, rec.error_code], ['completed', 2, null]);
  });

  it('gives up after the configured retries (3 attempts), keeping the last error', async () => {
    calls = 0;
    failures = [1, 2, 3].map(() => new SyncError('timeout', '连接超时'));
    const r = await ctx.capacitySync.syncMany('all-active', { syncType: 'manual_batch', actor });
    assert.equal(r.status, 'failed');
    assert.equal(calls, 3);
    assert.deepEqual([r.outcomes[0]!.attempt, r.outcomes[0]!.error_code], [3, 'timeout']);
  });

  it('a permanent error (auth) is not retried', async () => {
    calls = 0;
    failures = [new SyncError('auth', 'Access denied')];
    const r = await ctx.capacitySync.syncMany('all-active', { syncType: 'manual_batch', actor });
    assert.equal(calls, 1);
    assert.deepEqual([r.status, r.outcomes[0]!.attempt, r.outcomes[0]!.error_code], ['failed', 1, 'auth']);
  });

  it('the manual 同步容量 button is not retried: the person waiting gets the first answer', async () => {
    calls = 0;
    failures = [new SyncError('connection', 'ECONNREFUSED')];
    const inst = await ctx.instances.getByName('flaky');
    await assert.rejects(ctx.capacitySync.syncInstance(inst.id, actor), /无法连接到实例 flaky/);
    assert.equal(calls, 1);
  });
});

describe('a manual sync during a scheduled sync of the same instance', () => {
  let ctx: TestContext;
  let proxy: LatencyProxy;

  before(async () => {
    ctx = await newTestContext('postgres', { env: { WHALEFALL_SYNC_RETRIES: '0' } });
    // 100 ms each way makes one collection take about a second.
    proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 100 });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    await addInstance(ctx, 'slow', proxy.port, cred.id);
  });
  after(async () => {
    await proxy?.close();
    await ctx?.cleanup();
  });

  // A collection takes about a second: the first sync holds the instance's lock long enough to be seen.
  const locked = (id: number) =>
    waitFor('the first sync to hold the lock', 10_000, () =>
      ctx.store.db.selectFrom('sync_locks').select('instance_id').where('instance_id', '=', id).executeTakeFirst(),
    );

  it('never two running records for the instance, never duplicate rows', async () => {
    const inst = await ctx.instances.getByName('slow');
    let maxRunning = 0;
    const poll = setInterval(() => {
      void ctx.store.db
        .selectFrom('sync_instance_records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_id', '=', inst.id)
        .where('status', '=', 'running')
        .executeTakeFirst()
        .then((r) => (maxRunning = Math.max(maxRunning, Number(r?.n ?? 0))));
    }, 10);
    const scheduled = ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor: SCHEDULER_ACTOR });
    await locked(inst.id);
    const manual = await ctx.capacitySync.syncInstance(inst.id, actor).then(
      () => 'ran',
      (e: Error & { kind?: string }) => e.kind,
    );
    const s = await scheduled;
    clearInterval(poll);
    assert.equal(manual, 'conflict', 'the manual sync is refused with 409 while the scheduled one holds the instance');
    assert.equal(s.status, 'completed');
    assert.equal(maxRunning, 1);
    const rows = await ctx.repos.capacity.statsForDay(inst.id, localDate(new Date(), 'UTC'));
    assert.equal(new Set(rows.map((r) => r.database_name)).size, rows.length);

    // And the other way round: the scheduled run skips an instance a manual sync holds.
    const manual2 = ctx.capacitySync.syncInstance(inst.id, actor);
    await locked(inst.id);
    const s2 = await ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor: SCHEDULER_ACTOR });
    await manual2;
    assert.equal(s2.outcomes[0]!.status, 'skipped');
    assert.match(s2.outcomes[0]!.error_message!, /正在同步中/);
    assert.equal(s2.status, 'completed', 'a skipped record is not a failure');
  });
});

describe('scheduler ticks', () => {
  let a: TestContext;
  let b: TestContext;

  before(async () => {
    // Two processes on one store share the credential key, as the README asks of every process.
    const key = { WHALEFALL_SECRET_KEY: 'scheduler-ticks-test-key' };
    a = await newTestContext('postgres', { env: key });
    // A second process on the same store: same DATABASE_URL, its own services.
    b = await newTestContext('sqlite', { env: { ...key, DATABASE_URL: a.config.databaseUrl! } });
    const cred = await a.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    await addInstance(a, 'pg', 5432, cred.id);
  });
  after(async () => {
    await b?.cleanup(); // closes its pool and data dir; the database is a's, dropped below
    await a?.cleanup();
  });

  it('the same tick fired in two processes runs once', async () => {
    const at = new Date('2026-11-25T03:00:00.000Z');
    await Promise.all([a.scheduler.tick('capacity_sync', at), b.scheduler.tick('capacity_sync', at)]);
    const sessions = await a.capacity.sessions({ sync_type: 'scheduled_task' });
    assert.equal(sessions.total, 1);
    assert.equal(sessions.items[0]!.status, 'completed');
    const runs = await a.repos.scheduler.list('capacity_sync');
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'completed');
    assert.equal(runs[0]!.session_id, sessions.items[0]!.session_id);
  });

  it('a tick while a scheduled session still runs is skipped, with the reason', async () => {
    const { session } = await a.repos.sync.createSession({
      sessionId: crypto.randomUUID(),
      syncType: 'scheduled_task',
      createdBy: null,
      startedAt: new Date().toISOString(),
      owner: 'x',
      instances: [],
    });
    await a.scheduler.tick('capacity_sync', new Date('2026-11-25T04:00:00.000Z'));
    const run = (await a.repos.scheduler.list('capacity_sync'))[0]!;
    assert.equal(run.status, 'skipped');
    assert.match(run.message!, /still running/);
    await a.repos.sync.finishSession(session.session_id, new Date().toISOString());
  });

  it('the aggregation slot runs on its own schedule', async () => {
    await a.scheduler.tick('daily_aggregation', new Date('2026-11-25T04:00:00.000Z'));
    const run = (await a.repos.scheduler.list('daily_aggregation'))[0]!;
    assert.equal(run.status, 'completed');
  });

  it('a run missed while the service was down runs once at start', async () => {
    // A daily cron that fired 7 minutes ago (UTC) and was never recorded: start() catches it up, a
    // second start does not. (An every-minute cron would let a minute boundary between the two starts
    // create a second, genuinely missed tick.)
    const fired = new Date(Date.now() - 7 * 60_000);
    await a.settings.update({ sync_cron: `${fired.getUTCMinutes()} ${fired.getUTCHours()} * * *` }, actor);
    const before = (await a.capacity.sessions({ sync_type: 'scheduled_task' })).total;
    await a.scheduler.start();
    await a.scheduler.stop(); // waits for the catch-up run in flight
    const after1 = (await a.capacity.sessions({ sync_type: 'scheduled_task' })).total;
    assert.equal(after1, before + 1);
    await b.scheduler.start();
    await b.scheduler.stop();
    assert.equal((await a.capacity.sessions({ sync_type: 'scheduled_task' })).total, after1, 'the other process finds the tick claimed');
    assert.ok(a.scheduler.nextRuns().capacity_sync === null, 'stopped');
    await a.settings.update({ sync_cron: null }, actor);
  });

  it('settings: a bad cron is refused and nothing changes; a good one reschedules', async () => {
    await assert.rejects(a.settings.update({ sync_cron: 'every night', sync_concurrency: 4 }, actor), /sync_cron: 无效的 cron/);
    assert.equal((await a.settings.effective()).sync_concurrency, 8);
    await a.scheduler.start();
    await a.settings.update({ sync_cron: '30 2 * * *' }, actor);
    await a.scheduler.reschedule();
    const next = new Date(a.scheduler.nextRuns().capacity_sync!);
    assert.deepEqual([next.getUTCHours(), next.getUTCMinutes()], [2, 30]);
    await a.scheduler.stop();
  });
});
