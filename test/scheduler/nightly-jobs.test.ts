/**
 * The nightly extras in queue mode (issue #16 item 8): a real PostgreSQL
 * store, `serve` + 2 `worker` child processes, real PostgreSQL targets behind
 * a latency proxy (so a composition or a table sync takes a while). The tick
 * is taken by this test's own process (the same Scheduler.tick a `serve`
 * runs at 04:00); the tasks run on the child processes. Lease and heartbeat
 * are shortened: the test is about the mechanism.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';
import { startWhalefall, waitFor, type Proc } from '../helpers/procs.js';

const actor = { userId: null, username: 'test' };
const INSTANCES = 12;

describe('nightly extras as queued jobs (PostgreSQL store, serve + 2 workers)', { timeout: 600_000 }, () => {
  let ctx: TestContext;
  let target: LatencyProxy;
  let serve: Proc;
  let workers: Proc[];
  const key = randomBytes(32).toString('hex');
  let runId: number;
  let at: Date;

  before(async () => {
    const env = { WHALEFALL_QUEUE: 'pg-boss', WHALEFALL_SECRET_KEY: key, WHALEFALL_TZ: 'UTC', WHALEFALL_HEARTBEAT_MS: '1000', WHALEFALL_LEASE_MS: '5000' };
    ctx = await newTestContext('postgres', { env });
    target = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 80 });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    for (let i = 0; i < INSTANCES; i++) {
      await ctx.instances.create(
        { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: target.port, credential_id: cred.id },
        actor,
      );
    }
    const procEnv = {
      ...env,
      DATABASE_URL: ctx.config.databaseUrl!,
      WHALEFALL_DATA_DIR: ctx.dataDir,
      WHALEFALL_SYNC_RETRIES: '0',
      WHALEFALL_CONNECT_TIMEOUT_MS: '5000',
      WHALEFALL_SYNC_TIMEOUT_MS: '30000',
      WHALEFALL_SYNC_CONCURRENCY: '6', // estate-wide
      WHALEFALL_PROCESS_CONCURRENCY: '2', // and at most 2 in each process, so all three share the work
      WHALEFALL_SCHEDULER: 'off',
    };
    serve = startWhalefall('serve', procEnv);
    workers = [startWhalefall('worker', procEnv), startWhalefall('worker', procEnv)];
    await Promise.all([serve, ...workers].map((p) => p.port));
    // Something to aggregate: a session run by the child processes.
    const s = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    s.done.catch(() => {});
    await waitFor('the sync session', 120_000, async () => (await ctx.repos.sync.getSession(s.session_id))?.status === 'completed');
  });
  after(async () => {
    for (const p of [serve, ...(workers ?? [])]) p?.child.kill('SIGKILL');
    await target?.close();
    await ctx?.cleanup();
  });

  const tasks = () => ctx.store.db.selectFrom('daily_tasks').selectAll().where('run_id', '=', runId).orderBy('id').execute();
  const pidOf = (holder: string | null) => Number(holder?.split(':')[1]);

  it('the 04:00 tick queues the extras; serve and both workers share them; a worker SIGKILLed while holding one: another process finishes it', async () => {
    at = new Date();
    await ctx.scheduler.tick('daily_aggregation', at);
    const run = (await ctx.repos.scheduler.list('daily_aggregation'))[0]!;
    runId = run.id;
    assert.equal(run.status, 'completed', 'the tick is done once the tasks are queued');
    assert.match(run.message!, /queued \d+ nightly task/);
    const all = await tasks();
    const kinds = all.reduce<Record<string, number>>((m, t) => ({ ...m, [t.kind]: (m[t.kind] ?? 0) + 1 }), {});
    assert.deepEqual(kinds, { aggregate: 4, composition: INSTANCES, tables: INSTANCES, alerts: 1, runway: 1, tables_thin: 1, retention: 1 });

    // Every process reports the estate's unfinished nightly tasks.
    const metrics = await (await fetch(`http://127.0.0.1:${await workers[1]!.port}/metrics`)).text();
    assert.match(metrics, /^whalefall_nightly_tasks\{status="(pending|running|waiting)"\} [1-9]/m);
    const victim = workers[0]!;
    const heldByVictim = async () => (await tasks()).filter((t) => t.status === 'running' && pidOf(t.holder) === victim.child.pid);
    // Freeze the victim before reading what it holds: a quick task (an
    // aggregation period) can finish between the read and the kill, and a
    // task the victim finished itself is not one it was killed holding.
    const held = await waitFor('the victim frozen while holding a nightly task', 60_000, async () => {
      if ((await heldByVictim()).length === 0) return false;
      victim.child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 300)); // a commit already sent lands
      const mine = await heldByVictim();
      if (mine.length === 0) victim.child.kill('SIGCONT');
      return mine.length > 0 && mine;
    });
    victim.child.kill('SIGKILL');
    await victim.exit;
    const done = await waitFor('every nightly task over', 180_000, async () => {
      const ts = await tasks();
      return ts.every((t) => t.status === 'completed' || t.status === 'failed') && ts;
    });
    const failed = done.filter((t) => t.status !== 'completed');
    assert.deepEqual(
      failed.map((t) => `${t.kind} ${t.subject}: ${t.message}`),
      [],
    );
    for (const h of held) {
      const t = done.find((x) => x.id === h.id)!;
      assert.notEqual(pidOf(t.holder), victim.child.pid, `task ${t.kind} ${t.subject} finished by another process`);
      assert.ok(t.attempt >= 2, 'run again after the kill');
    }
    const pids = new Set(done.map((t) => pidOf(t.holder)));
    console.log(`# nightly tasks: ${done.length} over ${pids.size} processes; the victim held ${held.map((t) => `${t.kind} ${t.subject}`).join(', ')}`);
    assert.ok(pids.size >= 2, `done by more than one process (${[...pids].join(', ')})`);
    const live = [serve.child.pid, workers[1]!.child.pid];
    for (const t of done) assert.ok(live.includes(pidOf(t.holder)) || pidOf(t.holder) === victim.child.pid, 'a holder of this estate');
    // Stage 2 ran after stage 1 was over.
    const lastStage1 = Math.max(...done.filter((t) => t.stage === 1).map((t) => Date.parse(t.finished_at!)));
    for (const t of done.filter((x) => x.stage === 2)) assert.ok(Date.parse(t.started_at!) >= lastStage1, `${t.kind} started after stage 1`);
    await waitFor('the run summary', 10_000, async () =>
      /nightly tasks done: \d+ completed, 0 failed/.test((await ctx.repos.scheduler.list('daily_aggregation'))[0]!.message ?? ''),
    );
    for (const p of [serve, workers[1]!]) assert.equal(p.child.exitCode, null, p.stderr());
  });

  /** The rows the extras write, in key order, and the columns a rerun may change (measured again, or renumbered). */
  const TABLES: Record<string, { order: string; rerun: string[] }> = {
    aggregations: { order: 'scope, instance_id, database_name, period, period_start', rerun: ['id'] },
    database_size_stats: { order: 'instance_id, database_name, collected_date', rerun: [] },
    instance_composition: { order: 'instance_id, collected_date', rerun: ['id', 'parts', 'ceiling_bytes', 'disk_used_bytes', 'collected_at'] },
    table_size_stats: {
      order: 'table_id, collected_date',
      rerun: ['total_bytes', 'data_bytes', 'index_bytes', 'lob_bytes', 'free_bytes', 'row_estimate', 'table_count'],
    },
    alert_events: { order: 'id', rerun: ['last_evaluated_at'] },
  };
  async function snapshot(): Promise<Record<string, Record<string, unknown>[]>> {
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const [table, { order }] of Object.entries(TABLES)) {
      out[table] = (await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)} ORDER BY ${sql.raw(order)}`.execute(ctx.store.db)).rows;
    }
    return out;
  }
  const byKey = (snap: Record<string, Record<string, unknown>[]>) =>
    Object.fromEntries(
      Object.entries(snap).map(([t, rows]) => [t, rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TABLES[t]!.rerun.includes(k))))]),
    );

  it('running the extras twice leaves the same rows: every job delivered again, and the whole run again', async () => {
    const first = await snapshot();
    assert.ok(first.aggregations!.length > 0 && first.instance_composition!.length === INSTANCES && first.table_size_stats!.length > 0);
    // Every job delivered a second time (a retry after a lost acknowledgement): nothing runs, nothing moves.
    for (const t of await tasks()) assert.equal(await ctx.dailyJobs.runQueued(t.id), 'done');
    assert.deepEqual(await snapshot(), first);
    // The whole run again for the same tick (a new run row): the same rows, by key; the aggregates exactly.
    const again = await ctx.repos.scheduler.claim('daily_aggregation', new Date(at.getTime() + 1).toISOString(), 'test', new Date().toISOString());
    runId = again!;
    await ctx.dailyJobs.enqueueRun(runId, at);
    const done = await waitFor('the second run over', 180_000, async () => {
      const ts = await tasks();
      return ts.every((t) => t.status === 'completed' || t.status === 'failed') && ts;
    });
    assert.equal(done.filter((t) => t.status === 'completed').length, done.length);
    assert.deepEqual(byKey(await snapshot()), byKey(first));
    for (const p of [serve, workers[1]!]) {
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0, p.stderr());
    }
  });
});
