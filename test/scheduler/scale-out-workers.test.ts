/**
 * Scale-out faults that assert no latency or shutdown bound, so they run beside other files: workers refused at start
 * when misconfigured, and a worker SIGKILLed mid-session with the default lease (45 s) and heartbeat (15 s), every
 * instance completed within 2 minutes (18 s after the kill at load 10: the bound leaves room for a busy neighbour).
 * The estate: test/helpers/scale-out-estate.ts; the store cut, /readyz and SIGTERM bounds: scale-out-faults.test.ts
 * (run alone).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { TestContext } from '../helpers/context.js';
import { scaleOutEstate, type ScaleOutEstate } from '../helpers/scale-out-estate.js';
import { waitFor } from '../helpers/procs.js';

const actor = { userId: null, username: 'test' };

describe('scale-out workers: refused at start, SIGKILLed with the defaults', { timeout: 600_000 }, () => {
  let e: ScaleOutEstate;
  let ctx: TestContext;
  let base: Record<string, string>;
  before(async () => {
    e = await scaleOutEstate();
    ({ ctx, base } = e);
  });
  after(async () => {
    await e?.close();
  });
  const start = (cmd: 'serve' | 'worker', env: Record<string, string>) => e.start(cmd, env);
  const records = (sid: string) => e.records(sid);
  const completed = (sid: string) => e.completed(sid);
  const assertOneRowPerDatabase = () => e.assertOneRowPerDatabase();

  it('refuses misconfigured workers: no key, another key, another time zone (exit ≠ 0, the variable named)', async () => {
    // The first process stores the estate's zone (UTC); a credential exists, encrypted with `key`.
    const ok = start('worker', base);
    await ok.port;
    const cases: [Record<string, string>, RegExp][] = [
      [{ WHALEFALL_SECRET_KEY: '' }, /WHALEFALL_SECRET_KEY must be set/],
      [{ WHALEFALL_SECRET_KEY: randomBytes(32).toString('hex') }, /WHALEFALL_SECRET_KEY cannot decrypt the stored credential "pg"/],
      [{ WHALEFALL_TZ: 'Asia/Shanghai' }, /WHALEFALL_TZ is "Asia\/Shanghai" but the estate's time zone is "UTC"/],
    ];
    for (const [env, msg] of cases) {
      const p = start('worker', { ...base, ...env });
      const code = await p.exit;
      assert.notEqual(code, 0);
      assert.match(p.stderr(), msg);
      assert.equal(p.stderr().trim().split('\n').length, 1, 'one line');
    }
    ok.child.kill('SIGTERM');
    assert.equal(await ok.exit, 0);
  });

  it('a worker SIGKILLed mid-session with the default lease and heartbeat: every instance completes within 2 minutes', async () => {
    const env = { ...base, WHALEFALL_SYNC_CONCURRENCY: '12', WHALEFALL_PROCESS_CONCURRENCY: '4' };
    const ws = [start('worker', env), start('worker', env)];
    await Promise.all(ws.map((p) => p.port));
    const s = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    s.done.catch(() => {});
    const victim = ws[0]!;
    await waitFor('the victim running records', 30_000, async () =>
      (await records(s.session_id)).some((r) => r.status === 'running' && r.holder?.split(':')[1] === String(victim.child.pid)),
    );
    const t = Date.now();
    victim.child.kill('SIGKILL');
    const done = await waitFor('the session to close', 120_000, async () => {
      const x = await ctx.repos.sync.getSession(s.session_id);
      return x?.status !== 'running' && x;
    }).catch(async (err) => {
      const recs = await records(s.session_id);
      for (const r of recs.filter((x) => x.status !== 'completed'))
        console.log(`# left: ${r.instance_name} ${r.status} holder ${r.holder} attempt ${r.attempt}`);
      const jobs = await sql<{
        state: string;
        singleton_key: string;
        retry_count: number;
        start_after: string;
      }>`SELECT state, singleton_key, retry_count, start_after::text FROM whalefall_boss.job WHERE state < 'completed'`.execute(ctx.store.db);
      for (const j of jobs.rows) console.log(`# job: ${JSON.stringify(j)}`);
      throw err;
    });
    console.log(`# SIGKILL with defaults: session ${done.status} ${Date.now() - t} ms after the kill`);
    assert.equal(done.status, 'completed');
    assert.equal(await completed(s.session_id), 40);
    await assertOneRowPerDatabase();
    ws[1]!.child.kill('SIGTERM');
    assert.equal(await ws[1]!.exit, 0);
  });
});
