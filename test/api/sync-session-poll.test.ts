import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CapacityService } from '../../src/services/capacity.service.js';
import { newTestApp, newTestContext, type TestApp, type TestContext } from '../helpers/context.js';

/** A session without what depends on the moment it is read (elapsed time and the estimate of the rest). */
const timeless = ({ elapsed_ms: _e, remaining_ms_estimate: _r, ...rest }: Record<string, unknown>) => rest;

// GET /api/sync-sessions/:id is polled while a session runs: a running session's records are a snapshot of bounded
// age (not rebuilt on every poll); the session row is always fresh, and a session that ended is read fresh at once.
let ctx: TestContext;
let app: TestApp;
let viewer: Record<string, string>;
before(async () => {
  ctx = await newTestContext('sqlite');
  const t = await newTestApp(ctx);
  app = t.app;
  viewer = t.callers.viewer.headers(false);
});
after(async () => {
  await app?.close();
  await ctx?.cleanup();
});

let made = 0;
async function runningSession(n: number, owner: string | null = 'test') {
  const now = new Date().toISOString();
  const ids: number[] = [];
  for (let i = 0; i < n; i += 500) {
    const rows = Array.from({ length: Math.min(500, n - i) }, () => ({
      name: `poll-${made++}`,
      db_type: 'postgresql',
      host: 'h',
      port: 5432,
      tags: '[]',
      options: '{}',
      is_active: 1,
      created_at: now,
      updated_at: now,
    }));
    ids.push(...(await ctx.store.db.insertInto('instances').values(rows).returning('id').execute()).map((r) => r.id));
  }
  const sessionId = crypto.randomUUID();
  const { records } = await ctx.repos.sync.createSession({
    sessionId,
    syncType: 'manual_batch',
    createdBy: null,
    startedAt: new Date().toISOString(),
    owner,
    instances: ids.map((id, i) => ({ id, name: `poll-${i}` })),
  });
  return { sessionId, records };
}

test('a running session polled within the snapshot age gets the same records; later, or once ended, fresh ones', async () => {
  let now = 1_000_000;
  const svc = new CapacityService(ctx.repos.capacity, ctx.repos.instances, ctx.repos.sync, ctx.clock, 'UTC', { minMs: 5000, costFactor: 0, now: () => now });
  const { sessionId, records } = await runningSession(2500); // more than one serialisation chunk
  const poll = async () =>
    JSON.parse(Buffer.concat(await svc.sessionJson(sessionId)).toString('utf8')) as { status: string; records: { id: number; status: string }[] };

  const first = await poll();
  assert.equal(first.status, 'running');
  assert.equal(first.records.length, 2500);
  assert.ok(first.records.every((r) => r.status === 'pending'));
  assert.deepEqual(timeless(first), timeless(JSON.parse(JSON.stringify(await svc.session(sessionId)))), 'the JSON text says what session() says');

  await ctx.repos.sync.updateRecord(records[0]!.id, { status: 'completed', completed_at: new Date().toISOString(), details: '{"warnings":[]}' });
  now += 4999;
  assert.equal((await poll()).records[0]!.status, 'pending', 'within the snapshot age: the snapshot');
  now += 1;
  const later = await poll();
  assert.equal(later.records[0]!.status, 'completed', 'past it: rebuilt');
  assert.deepEqual(later.records[0]!, JSON.parse(JSON.stringify((await svc.session(sessionId)).records[0])));

  await ctx.repos.sync.updateRecord(records[1]!.id, {
    status: 'failed',
    completed_at: new Date().toISOString(),
    error_code: 'connection',
    error_message: 'refused',
  });
  await ctx.repos.sync.finishSession(sessionId, new Date().toISOString());
  const ended = await poll();
  assert.equal(ended.status, 'partial', 'the session row is never a snapshot');
  assert.equal(ended.records[1]!.status, 'failed', 'an ended session is read fresh at once');
  assert.deepEqual(ended, JSON.parse(JSON.stringify(await svc.session(sessionId))));
});

test('GET /api/sync-sessions/:id answers the envelope with the session and every record; unknown id 404', async () => {
  const { sessionId } = await runningSession(3);
  const res = await app.inject({ method: 'GET', url: `/api/sync-sessions/${sessionId}`, headers: viewer });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  // Sent as a stream of the snapshot's pieces (never joined into one buffer), with their total length.
  assert.equal(Number(res.headers['content-length']), res.rawPayload.length, 'Content-Length: the bytes sent');
  const head = await app.inject({ method: 'HEAD', url: `/api/sync-sessions/${sessionId}`, headers: viewer });
  assert.equal(head.statusCode, 200);
  assert.equal(head.rawPayload.length, 0);
  const body = res.json() as { success: boolean; data: { session_id: string; records: unknown[] } };
  assert.equal(body.success, true);
  assert.deepEqual(timeless(body.data), timeless(JSON.parse(JSON.stringify(await ctx.capacity.session(sessionId)))));
  assert.equal(body.data.records.length, 3);
  // The process that ran a record is shown as {host, pid} (issue #16 item 5); the raw lock tag stays internal.
  for (const r of body.data.records as { holder: unknown }[])
    assert.ok(r.holder === null || (typeof r.holder === 'object' && Object.keys(r.holder).sort().join() === 'host,pid'), JSON.stringify(r.holder));
  assert.ok(!('owner' in body.data), 'internal columns stay internal');
  const missing = await app.inject({ method: 'GET', url: `/api/sync-sessions/${crypto.randomUUID()}`, headers: viewer });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().success, false);
});

test('a rebuilt snapshot takes the leading pages whose records are all final as they were, and reads the rest', async () => {
  let now = 1_000_000;
  const reads: number[] = [];
  const sync = new Proxy(ctx.repos.sync, {
    get: (target, key, recv) =>
      key === 'records'
        ? (id: string, page?: { afterId: number; limit: number }) => (reads.push(page?.afterId ?? -1), target.records(id, page))
        : Reflect.get(target, key, recv),
  });
  const svc = new CapacityService(ctx.repos.capacity, ctx.repos.instances, sync, ctx.clock, 'UTC', { minMs: 1000, costFactor: 0, now: () => now, chunk: 1000 });
  const poll = async (sessionId: string) => {
    reads.length = 0;
    now += 1000;
    return JSON.parse(Buffer.concat(await svc.sessionJson(sessionId)).toString('utf8')) as {
      successful_instances: number;
      failed_instances: number;
      records: { id: number; status: string }[];
    };
  };
  const same = async (sessionId: string, got: unknown) =>
    assert.deepEqual(timeless(got as Record<string, unknown>), timeless(JSON.parse(JSON.stringify(await svc.session(sessionId)))));
  const setStatus = (ids: number[], status: string) =>
    ctx.store.db.updateTable('sync_instance_records').set({ status, completed_at: new Date().toISOString() }).where('id', 'in', ids).execute();

  // A session run here: completed, skipped and failed records never change again.
  const { sessionId, records } = await runningSession(2500);
  const ids = records.map((r) => r.id);
  await poll(sessionId);
  assert.equal(reads.length, 3, 'the first snapshot reads every page');
  await setStatus(ids.slice(0, 900), 'completed');
  await setStatus(ids.slice(900, 950), 'skipped');
  await setStatus(ids.slice(950, 1000), 'failed');
  await poll(sessionId);
  assert.equal(reads[0], 0, 'the first page was still moving at the last snapshot: read again');
  const third = await poll(sessionId);
  assert.deepEqual(reads, [ids[999], ids[1999]], 'the first page, now all final, is taken as it was');
  assert.equal(third.successful_instances, 900);
  assert.equal(third.failed_instances, 50);
  await same(sessionId, third);
  await setStatus(ids.slice(1000, 1500), 'running');
  const fourth = await poll(sessionId);
  assert.equal(fourth.records[1200]!.status, 'running', 'a page still moving is read again');
  await same(sessionId, fourth);

  // In queue mode a failed record may be handed back (a shutdown): its page is never taken as it was.
  const q = await runningSession(1000, null);
  await setStatus(
    q.records.map((r) => r.id),
    'failed',
  );
  await poll(q.sessionId);
  await poll(q.sessionId);
  assert.deepEqual(reads, [0, q.records[999]!.id], 'read again (and the empty page after a full one)');
  await ctx.repos.sync.handBackRecord(q.records[7]!.id);
  const back = await poll(q.sessionId);
  assert.equal(back.records[7]!.status, 'pending');
  assert.equal(back.failed_instances, 999);
});

test('GET /api/sync-sessions/:id/summary: the session with its live counts and no records, reading no record', async () => {
  const { sessionId, records } = await runningSession(40);
  const ids = records.map((r) => r.id);
  const set = (from: number, to: number, status: string) =>
    ctx.store.db.updateTable('sync_instance_records').set({ status, completed_at: new Date().toISOString() }).where('id', 'in', ids.slice(from, to)).execute();
  await set(0, 10, 'completed');
  await set(10, 13, 'failed');
  await set(13, 20, 'running');
  const res = await app.inject({ method: 'GET', url: `/api/sync-sessions/${sessionId}/summary`, headers: viewer });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { success: boolean; data: Record<string, unknown> };
  assert.equal(body.success, true);
  assert.ok(!('records' in body.data), 'no records');
  assert.ok(!('owner' in body.data), 'internal columns stay internal');
  const { records: _all, ...full } = JSON.parse(JSON.stringify(await ctx.capacity.session(sessionId))) as Record<string, unknown>;
  assert.deepEqual(timeless(body.data), timeless(full), 'the same session and counts as the full answer');
  assert.equal(body.data.successful_instances, 10);
  assert.equal(body.data.failed_instances, 3);
  assert.equal(body.data.running_instances, 7);
  assert.equal(typeof body.data.remaining_ms_estimate, 'number', 'an estimate once a record has ended');
  assert.ok(res.rawPayload.length < 1024, `${res.rawPayload.length} bytes`);

  // No record is read for it: a summary of a 40-record session costs one grouped count.
  const reads: string[] = [];
  const sync = new Proxy(ctx.repos.sync, {
    get: (target, key, recv) =>
      key === 'records' ? (...a: Parameters<typeof target.records>) => (reads.push('records'), target.records(...a)) : Reflect.get(target, key, recv),
  });
  const svc = new CapacityService(ctx.repos.capacity, ctx.repos.instances, sync, ctx.clock, 'UTC');
  await svc.sessionSummary(sessionId);
  assert.deepEqual(reads, []);

  // Ended: the session row's own counters (no live count).
  await set(13, 40, 'completed');
  await ctx.repos.sync.finishSession(sessionId, new Date().toISOString());
  const ended = (await app.inject({ method: 'GET', url: `/api/sync-sessions/${sessionId}/summary`, headers: viewer })).json() as {
    data: Record<string, unknown>;
  };
  assert.equal(ended.data.status, 'partial');
  assert.equal(ended.data.successful_instances, 37);
  assert.equal(ended.data.failed_instances, 3);
  assert.equal(ended.data.running_instances, 0);

  const missing = await app.inject({ method: 'GET', url: `/api/sync-sessions/${crypto.randomUUID()}/summary`, headers: viewer });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().success, false);
  const bad = await app.inject({ method: 'GET', url: '/api/sync-sessions/not-a-uuid/summary', headers: viewer });
  assert.equal(bad.statusCode, 400);
});
