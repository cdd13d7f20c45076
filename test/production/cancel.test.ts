/**
 * Cancel: a 20-instance session cancelled midway — from the API in local
 * mode, from the CLI (another process) in pg-boss mode. Instances not started
 * end `skipped`, running ones are aborted (or finish if already saving), the
 * session ends `cancelled`, the counts add up, and nothing is half-written:
 * an instance has capacity rows for the day exactly when its record completed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Engine } from '../../src/engines/engine.js';
import { getEngine } from '../../src/engines/registry.js';
import { newTestApp, newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const actor = { userId: null, username: 'test' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function addInstances(ctx: TestContext, port: number, n = 20): Promise<void> {
  const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
  for (let i = 0; i < n; i++) {
    await ctx.instances.create({ name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port, credential_id: cred.id }, actor);
  }
}

/** Wait until `n` records of the session completed (and some are still to come). */
async function waitCompleted(ctx: TestContext, sessionId: string, n: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const recs = await ctx.repos.sync.records(sessionId);
    if (recs.filter((r) => r.status === 'completed').length >= n) return;
    await sleep(25);
  }
  throw new Error('the session made no progress');
}

/** The invariants of a cancelled session. */
async function checkCancelled(ctx: TestContext, sessionId: string) {
  const s = (await ctx.repos.sync.getSession(sessionId))!;
  const recs = await ctx.repos.sync.records(sessionId);
  const by = (st: string) => recs.filter((r) => r.status === st);
  const [completed, failed, skipped] = [by('completed'), by('failed'), by('skipped')];
  assert.equal(s.status, 'cancelled');
  assert.ok(s.completed_at);
  assert.equal(recs.length, 20);
  assert.equal(completed.length + failed.length + skipped.length, 20, `no record left pending or running: ${recs.map((r) => r.status)}`);
  assert.equal(s.successful_instances, completed.length);
  assert.equal(s.failed_instances, failed.length);
  assert.ok(completed.length >= 1 && completed.length < 20, `some completed before the cancel: ${completed.length}`);
  assert.ok(skipped.length > 0, 'instances not started were skipped');
  for (const r of skipped) assert.deepEqual([r.error_code, r.started_at], ['cancelled', null]);
  for (const r of failed) assert.equal(r.error_code, 'cancelled', `a failed record was aborted by the cancel: ${r.error_message}`);
  // Nothing half-written: capacity rows exist exactly for the completed instances, with the saved counts.
  for (const r of recs) {
    const rows = await ctx.store.db
      .selectFrom('database_size_stats')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', r.instance_id)
      .executeTakeFirstOrThrow();
    const tracked = await ctx.store.db
      .selectFrom('instance_databases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', r.instance_id)
      .executeTakeFirstOrThrow();
    if (r.status === 'completed') {
      assert.ok(Number(rows.n) > 0 && Number(rows.n) === r.saved_count, `${r.instance_name}: ${rows.n} rows, record says ${r.saved_count}`);
    } else {
      assert.equal(Number(rows.n), 0, `${r.instance_name} (${r.status}) has no capacity rows`);
      assert.equal(Number(tracked.n), 0, `${r.instance_name} (${r.status}) has no tracked databases`);
      const inst = await ctx.repos.instances.get(r.instance_id);
      assert.equal(inst!.last_sync_status, null, 'a cancel is not the instance’s failure');
    }
  }
  const locks = await ctx.store.db.selectFrom('sync_locks').selectAll().execute();
  assert.deepEqual(locks, [], 'every lock released');
  return { completed: completed.length, aborted: failed.length, skipped: skipped.length };
}

describe('cancel a 20-instance session midway [local mode, API]', () => {
  let ctx: TestContext;
  let proxy: LatencyProxy;

  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_SYNC_CONCURRENCY: '4', WHALEFALL_SYNC_RETRIES: '0' } });
    // Each collection through the proxy takes a few hundred ms: long enough to cancel in the middle.
    proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 60 });
    await addInstances(ctx, proxy.port);
  });
  after(async () => {
    await proxy?.close();
    await ctx?.cleanup();
  });

  it('skips the rest, aborts the running, ends cancelled with counts that add up; a second cancel is refused', async () => {
    const { app, callers } = await newTestApp(ctx);
    try {
      const started = await ctx.capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
      await waitCompleted(ctx, started.session_id, 4);
      const t0 = Date.now();
      const res = await app.inject({ method: 'POST', url: `/api/sync-sessions/${started.session_id}/cancel`, headers: callers.operator.headers(true) });
      assert.equal(res.statusCode, 202, res.body);
      const body = res.json().data as { skipped: number; running: number };
      assert.ok(body.skipped > 0, res.body);
      const done = await started.done;
      const elapsed = Date.now() - t0;
      assert.equal(done.status, 'cancelled');
      const n = await checkCancelled(ctx, started.session_id);
      console.log(`# local: cancel answered, session closed in ${elapsed} ms: ${n.completed} completed, ${n.aborted} aborted, ${n.skipped} skipped`);
      assert.ok(elapsed < 2000, `running records were aborted, not waited for: ${elapsed} ms`);
      // The viewer cannot cancel; a closed session cannot be cancelled again.
      const viewer = await app.inject({ method: 'POST', url: `/api/sync-sessions/${started.session_id}/cancel`, headers: callers.viewer.headers(true) });
      assert.equal(viewer.statusCode, 403);
      const again = await app.inject({ method: 'POST', url: `/api/sync-sessions/${started.session_id}/cancel`, headers: callers.operator.headers(true) });
      assert.equal(again.statusCode, 409);
      assert.match(again.body, /无法取消/);
      // What a UI shows: the session says it was cancelled, when and by whom, with every record.
      const shown = (await app.inject({ method: 'GET', url: `/api/sync-sessions/${started.session_id}`, headers: callers.viewer.headers(false) })).json().data;
      assert.equal(shown.status, 'cancelled');
      assert.ok(shown.cancel_requested_at);
      assert.equal(typeof shown.cancelled_by, 'number');
      assert.equal(shown.records.length, 20);
      const listed = await app.inject({ method: 'GET', url: '/api/sync-sessions?status=cancelled', headers: callers.viewer.headers(false) });
      assert.equal(listed.json().data.total, 1);
      const audit = await ctx.store.db.selectFrom('audit_log').selectAll().where('action', '=', 'sync.cancel').execute();
      assert.equal(audit.length, 1);
      // The instances synced fine afterwards: the cancel left nothing behind.
      const next = await ctx.capacitySync.syncMany('all-active', { syncType: 'manual_batch', actor });
      assert.equal(next.status, 'completed');
    } finally {
      await app.close();
    }
  });
});

describe('cancel a 20-instance session midway [pg-boss mode, CLI from another process]', () => {
  let ctx: TestContext;
  const env = {
    WHALEFALL_QUEUE: 'pg-boss',
    WHALEFALL_QUEUE_MAINTENANCE_SECONDS: '1',
    WHALEFALL_SECRET_KEY: randomBytes(32).toString('hex'),
    WHALEFALL_SYNC_CONCURRENCY: '4',
    WHALEFALL_SYNC_RETRIES: '0',
  };
  // The real PostgreSQL engine; after the first 3 collections every collection hangs (a server that stops
  // answering), so the cancel lands midway whatever the load on the machine: 3 done, 4 running, 13 queued.
  let collections = 0;
  const gated: Engine = {
    ...getEngine('postgresql'),
    async connect(target) {
      const session = await getEngine('postgresql').connect(target);
      return {
        serverVersion: () => session.serverVersion(),
        doctor: () => session.doctor(),
        close: () => session.close(),
        collect: async () => {
          const c = await session.collect();
          if (++collections > 3) await new Promise(() => {});
          return c;
        },
      };
    },
  };

  before(async () => {
    ctx = await newTestContext('postgres', { env, engineFor: (t) => (t === 'postgresql' ? gated : getEngine(t)) });
    await addInstances(ctx, 5432);
    await ctx.queue!.work({ concurrency: () => 4 }, (id) => ctx.capacitySync.runQueuedRecord(id));
  });
  after(async () => {
    await ctx?.cleanup();
  });

  it('workers skip what is queued and abort what runs; the session ends cancelled', async () => {
    const started = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    await waitCompleted(ctx, started.session_id, 3);
    for (let i = 0; i < 400 && (await ctx.repos.sync.records(started.session_id)).filter((r) => r.status === 'running').length < 4; i++) await sleep(25);
    const t0 = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'cancel', started.session_id], {
      env: { ...process.env, ...env, DATABASE_URL: ctx.config.databaseUrl!, WHALEFALL_DATA_DIR: ctx.dataDir, LOG_LEVEL: 'warn' },
    });
    assert.match(stdout, /cancel requested \(13 not started → skipped, 4 running → aborting\)/);
    assert.equal((await started.done).status, 'cancelled');
    const elapsed = Date.now() - t0;
    const n = await checkCancelled(ctx, started.session_id);
    assert.deepEqual(n, { completed: 3, aborted: 4, skipped: 13 });
    console.log(
      `# pg-boss: CLI cancel (another process) to closed session in ${elapsed} ms: ${n.completed} completed, ${n.aborted} aborted, ${n.skipped} skipped`,
    );
    // Queued jobs of skipped records are drained as no-ops; a new session of the same instances runs.
    collections = -1000;
    const next = await ctx.capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
    assert.equal((await next.done).status, 'completed');
  });
});
