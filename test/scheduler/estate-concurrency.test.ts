/**
 * One estate-wide `sync_concurrency` (issue #16 item 7): `serve` and two
 * `worker`s on a PostgreSQL store (pg-boss) together never run more
 * collections at once than the setting, counted at a TCP listener in front
 * of the targets (a collection from its connection to its goodbye, the
 * client's Terminate: the estate's cap bounds collections, and the connection
 * caps, tested in connection-caps.test.ts, bound connections to their end); a PATCH of the setting mid-session applies without a
 * restart. The session's records say which process ran each (`holder`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startCountingListener, type CountingListener } from '../helpers/counting-listener.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const actor = { userId: null, username: 'test' };
const N = 18;

interface Proc {
  child: ChildProcess;
  port: Promise<number>;
}

function start(cmd: 'serve' | 'worker', env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, cmd], { env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const port = new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /(?:listening on|metrics on) http:\/\/[^:]+:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`whalefall ${cmd} exited (${code}) before listening: ${err}`)));
  });
  port.catch(() => {});
  return { child, port };
}

async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('estate-wide sync concurrency (serve + 2 workers, PostgreSQL store)', { timeout: 300_000 }, () => {
  let ctx: TestContext;
  let slow: LatencyProxy;
  let listener: CountingListener;
  const procs: Proc[] = [];
  let token: string;

  before(async () => {
    const key = randomBytes(32).toString('hex');
    const env = { WHALEFALL_QUEUE: 'pg-boss', WHALEFALL_SECRET_KEY: key, WHALEFALL_TZ: 'UTC', WHALEFALL_SYNC_RETRIES: '0', WHALEFALL_SYNC_CONCURRENCY: '8' };
    ctx = await newTestContext('postgres', { env });
    // About half a second per collection: long enough for collections to overlap, counted at the listener.
    slow = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 40 });
    listener = await startCountingListener({ targetHost: '127.0.0.1', targetPort: slow.port, until: 'goodbye' });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    for (let i = 0; i < N; i++)
      await ctx.instances.create(
        { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: listener.port, credential_id: cred.id },
        actor,
      );
    await ctx.settings.update({ sync_concurrency: 3 }, actor);
    const admin = await ctx.auth.createUser({ username: 'boss', password: 'pw-boss-Secret1', role: 'admin' }, actor);
    token = (await ctx.auth.createToken(admin.id, { name: 't' }, actor)).token;
    const childEnv = {
      ...env,
      DATABASE_URL: ctx.config.databaseUrl!,
      WHALEFALL_DATA_DIR: ctx.dataDir,
      WHALEFALL_SCHEDULER: 'off',
      WHALEFALL_QUEUE_MAINTENANCE_SECONDS: '5',
    };
    procs.push(start('serve', childEnv), start('worker', childEnv), start('worker', childEnv));
    await Promise.all(procs.map((p) => p.port));
  });
  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await listener?.close();
    await slow?.close();
    await ctx?.cleanup();
  });

  it('3 processes × per-process 8, estate sync_concurrency 3: never more than 3 collections; PATCH to 1 applies mid-session', async () => {
    const servePort = await procs[0]!.port;
    listener.resetPeak();
    const started = await ctx.capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
    const completed = async () => (await ctx.repos.sync.records(started.session_id)).filter((r) => r.status === 'completed').length;
    await waitFor('6 records completed', 120_000, async () => (await completed()) >= 6);
    const before = listener.peak();
    console.log(`# sync_concurrency 3: peak ${before} collections at once over ${await completed()} records`);
    assert.ok(before <= 3, `peak ${before} > 3`);
    assert.ok(before >= 2, 'collections ran in parallel');

    const patch = await fetch(`http://127.0.0.1:${servePort}/api/settings`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sync_concurrency: 1 }),
    });
    assert.equal(patch.status, 200, await patch.text());
    // The syncs running when the setting changed finish; from then on one at a time.
    const liveSync = async () => {
      const now = new Date().toISOString();
      return (await ctx.store.db.selectFrom('connection_slots').select('slot').where('scope', '=', 'sync').where('expires_at', '>=', now).execute()).length;
    };
    await waitFor('the estate down to one sync', 60_000, async () => (await liveSync()) <= 1 && listener.open() <= 1);
    listener.resetPeak();
    const doneAt = await completed();
    const result = await Promise.race([
      started.done,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('session did not finish in 180 s')), 180_000).unref()),
    ]);
    const after = listener.peak();
    console.log(`# after PATCH sync_concurrency 1: peak ${after} over ${N - doneAt} records; session ${result.status}`);
    assert.equal(result.status, 'completed');
    assert.ok(N - doneAt >= 3, 'enough records ran after the change to see it');
    assert.equal(after, 1, `peak ${after} after the change`);

    // Who ran what (issue #16 item 5): every record names its process, one of ours.
    const res = await fetch(`http://127.0.0.1:${servePort}/api/sync-sessions/${started.session_id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const records = ((await res.json()) as { data: { records: unknown[] } }).data.records as { holder: { host: string; pid: number } | null }[];
    const pids = new Set(procs.map((p) => p.child.pid));
    assert.equal(records.length, N);
    for (const r of records) assert.ok(r.holder && pids.has(r.holder.pid) && r.holder.host.length > 0, JSON.stringify(r.holder));
    console.log(`# records ran on ${new Set(records.map((r) => r.holder!.pid)).size} processes`);
  });
});
