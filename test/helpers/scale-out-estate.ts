/**
 * The estate of the scale-out fault tests (`test/scheduler/scale-out-*.test.ts`): a PostgreSQL store with the pg-boss
 * queue, reached by the processes through a fault proxy the test breaks; 40 PostgreSQL instances behind a latency proxy
 * (each collection takes about a second, so a session lasts long enough to break things in it); the environment of
 * the `serve`/`worker` processes (a credential exists, encrypted with the estate's key; scheduler off).
 *
 *   const e = await scaleOutEstate();
 *   const w = e.start('worker', { ...e.base, WHALEFALL_LEASE_MS: '10000' });
 *   …
 *   await e.close();   // SIGKILLs what is still running, closes the proxies, drops the store
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { localDate } from '../../src/lib/clock.js';
import { newTestContext, type TestContext } from './context.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js';
import { startWhalefall, type Proc } from './procs.js';

const actor = { userId: null, username: 'test' };

export interface ScaleOutEstate {
  ctx: TestContext;
  /** Between the processes and the store. */
  store: FaultProxy;
  /** Between the processes and the instances. */
  target: LatencyProxy;
  /** The processes' environment: the store through `store`, key, zone, short connect/statement timeouts, no retries. */
  base: Record<string, string>;
  /** A process, killed by close() if still running. */
  start(cmd: 'serve' | 'worker', env: Record<string, string>): Proc;
  records(sessionId: string): ReturnType<TestContext['repos']['sync']['records']>;
  completed(sessionId: string): Promise<number>;
  /** No database has two rows for today. */
  assertOneRowPerDatabase(): Promise<void>;
  close(): Promise<void>;
}

export async function scaleOutEstate(): Promise<ScaleOutEstate> {
  const key = randomBytes(32).toString('hex');
  const ctx = await newTestContext('postgres', { env: { WHALEFALL_QUEUE: 'pg-boss', WHALEFALL_SECRET_KEY: key, WHALEFALL_TZ: 'UTC' } });
  const store = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
  const target = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 60 });
  const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
  for (let i = 0; i < 40; i++) {
    await ctx.instances.create(
      { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: target.port, credential_id: cred.id },
      actor,
    );
  }
  const url = new URL(ctx.config.databaseUrl!);
  url.port = String(store.port);
  const base = {
    DATABASE_URL: url.toString(),
    WHALEFALL_DATA_DIR: ctx.dataDir,
    WHALEFALL_QUEUE: 'pg-boss',
    WHALEFALL_SECRET_KEY: key,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_SYNC_RETRIES: '0',
    WHALEFALL_CONNECT_TIMEOUT_MS: '3000',
    WHALEFALL_SYNC_TIMEOUT_MS: '10000',
    WHALEFALL_STORE_CONNECT_TIMEOUT_MS: '1000',
    WHALEFALL_STORE_STATEMENT_TIMEOUT_MS: '3000',
    WHALEFALL_SCHEDULER: 'off',
  };
  const procs: Proc[] = [];
  const records = (sid: string) => ctx.repos.sync.records(sid);
  return {
    ctx,
    store,
    target,
    base,
    start(cmd, env) {
      const p = startWhalefall(cmd, env);
      procs.push(p);
      return p;
    },
    records,
    completed: async (sid) => (await records(sid)).filter((r) => r.status === 'completed').length,
    async assertOneRowPerDatabase() {
      const day = localDate(new Date(), 'UTC');
      const dup = await ctx.store.db
        .selectFrom('database_size_stats')
        .select(['instance_id', 'database_name', (eb) => eb.fn.countAll<number>().as('n')])
        .where('collected_date', '=', day)
        .groupBy(['instance_id', 'database_name'])
        .having((eb) => eb.fn.countAll(), '>', 1)
        .execute();
      assert.deepEqual(dup, []);
    },
    async close() {
      for (const p of procs) p.child.kill('SIGKILL');
      await store.close();
      await target.close();
      await ctx.cleanup();
    },
  };
}
