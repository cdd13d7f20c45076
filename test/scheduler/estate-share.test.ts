/**
 * The estate's `sync_concurrency` shared among the processes that work jobs
 * (processes.service.ts `share`): `serve` and two `worker`s on a PostgreSQL
 * store at 6 run 2 each; once a worker is SIGKILLed, the two left run 3
 * each, so the estate keeps its 6 collections at once (counted at a TCP
 * listener in front of the targets, from connection to goodbye; who ran what from the records' holder
 * and times). A fixed per-process 2 would leave 4; none at all would let
 * one process take all 6.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startCountingListener, type CountingListener } from '../helpers/counting-listener.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';
import { startWhalefall, waitFor, type Proc } from '../helpers/procs.js';

const actor = { userId: null, username: 'test' };
const N = 60;
/** A record's save after its collection may overlap the next collection of its process (its place is freed first). */
const SAVE_SLACK_MS = 400;

/** Most records of one process running at once (by their started/completed times) among those started in [from, to). */
function peakOf(recs: { holder: string | null; started_at: string | null; completed_at: string | null }[], pid: string, from = 0, to = Infinity): number {
  const edges = recs
    .filter((r) => r.holder?.split(':')[1] === pid && r.started_at && r.completed_at)
    .map((r) => [Date.parse(r.started_at!), Date.parse(r.completed_at!) - SAVE_SLACK_MS] as const)
    .filter(([a]) => a >= from && a < to)
    .flatMap(([a, b]) => [
      [a, 1],
      [Math.max(a, b), -1],
    ])
    .sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let now = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, (now += step!));
  return peak;
}

describe('the estate sync concurrency shared among the working processes (serve + 2 workers, PostgreSQL store)', { timeout: 300_000 }, () => {
  let ctx: TestContext;
  let slow: LatencyProxy;
  let listener: CountingListener;
  const procs: Proc[] = [];

  before(async () => {
    const env = { WHALEFALL_QUEUE: 'pg-boss', WHALEFALL_SECRET_KEY: randomBytes(32).toString('hex'), WHALEFALL_TZ: 'UTC', WHALEFALL_SYNC_RETRIES: '0' };
    ctx = await newTestContext('postgres', { env });
    // About a second per collection (a few round trips of 300 ms): long enough for collections to overlap, counted at the listener.
    slow = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 150 });
    listener = await startCountingListener({ targetHost: '127.0.0.1', targetPort: slow.port, until: 'goodbye' });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    for (let i = 0; i < N; i++)
      await ctx.instances.create(
        { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: listener.port, credential_id: cred.id },
        actor,
      );
    await ctx.settings.update({ sync_concurrency: 6 }, actor);
    const childEnv = { ...env, DATABASE_URL: ctx.config.databaseUrl!, WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_SCHEDULER: 'off' };
    procs.push(startWhalefall('serve', childEnv), startWhalefall('worker', childEnv), startWhalefall('worker', childEnv));
    await Promise.all(procs.map((p) => p.port));
    // Each reads the list of live processes every 2 s: the first ones started learn of the later ones.
    await sleep(3_500);
  });
  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await listener?.close();
    await slow?.close();
    await ctx?.cleanup();
  });

  it('6 over three processes is 2 each; a worker killed, the two left run 3 each and the estate 6 again', async () => {
    const [serve, killed, kept] = procs.map((p) => String(p.child.pid));
    listener.resetPeak();
    const started = await ctx.capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
    const records = () => ctx.repos.sync.records(started.session_id);
    const completed = async () => (await records()).filter((r) => r.status === 'completed').length;
    await waitFor('12 records completed', 120_000, async () => (await completed()) >= 12);
    const phase1 = listener.peak();
    const killedAt = Date.now();
    procs[1]!.child.kill('SIGKILL');
    let recs = await records();
    const peaks1 = [serve, killed, kept].map((pid) => peakOf(recs, pid!, 0, killedAt));
    console.log(`# all three: ${phase1} collections at once; by process ${peaks1.join(' / ')}`);
    assert.ok(phase1 <= 6 && phase1 >= 5, `estate peak ${phase1} with three processes at 6`);
    for (const p of peaks1) assert.ok(p <= 2, `a process ran ${p} at once; its share is 2 (${peaks1.join(' / ')})`);

    // Seen gone within a second on this host; its records are recovered and the two left take its share.
    await sleep(1_500);
    const from = Date.now();
    listener.resetPeak();
    const result = await Promise.race([
      started.done,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('session did not finish in 180 s')), 180_000).unref()),
    ]);
    assert.equal(result.status, 'completed');
    recs = await records();
    const phase2 = listener.peak();
    const peaks2 = [serve, kept].map((pid) => peakOf(recs, pid!, from));
    const after2 = recs.filter((r) => r.started_at && Date.parse(r.started_at) >= from).length;
    console.log(`# two left: ${phase2} collections at once over ${after2} records; by process ${peaks2.join(' / ')}`);
    assert.ok(after2 >= 12, `only ${after2} records started after the kill was seen`);
    assert.equal(phase2, 6, `estate peak ${phase2} after the kill; the two left share 6`);
    for (const p of peaks2) assert.equal(p, 3, `a process left ran ${p} at once (${peaks2.join(' / ')})`);
    assert.equal(recs.filter((r) => r.status === 'completed').length, N);
  });
});
