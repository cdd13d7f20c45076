/**
 * Load against a real listening server: `connections` autocannon clients on
 * the instance list and statistics APIs while capacity sessions of
 * `instances` instances (each `databases` databases, on a PostgreSQL
 * wire-protocol responder) run back to back. Used by the bounded load test
 * (test/security/load.test.ts) and by `npm run soak` (bench/soak.ts).
 * The store holds `historyDays` days of history per database (copied from
 * one real sync), so the statistics queries have something to chew on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { buildApp } from '../src/http/app.js';
import { addDays, localDate } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { openStore } from '../src/store/db.js';
import { startPgResponder, type PgResponder, SIZE_COLUMNS } from '../test/helpers/pg-responder.js';

export interface LoadOptions {
  instances: number;
  databases: number;
  historyDays: number;
  connections: number;
  durationSec: number;
  /** Called every `sampleEverySec` with the process RSS (MB), for the soak's memory curve. */
  onSample?: (s: { t: number; rssMb: number; requests: number; sessions: number }) => void;
  sampleEverySec?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  p50: number;
  p99: number;
  max: number;
  sessions: { started: number; completed: number; failedRecords: number; completedRecords: number };
  rssBeforeMb: number;
  rssAfterMb: number;
}

const mb = () => Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-load-'));
  const devNull = new Writable({ write: (_c, _e, cb) => cb() });
  const config = loadConfig({
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_SCHEDULER: 'off',
    LOG_LEVEL: 'warn',
    WHALEFALL_SYNC_CONCURRENCY: '16',
  });
  const store = openStore({ sqliteFile: path.join(dataDir, 'whalefall.db') });
  let ctx: Context | undefined;
  let responder: PgResponder | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    ctx = await createContext(config, { logger: createLogger('warn', devNull), store });
    const rows: [number, string, number][] = Array.from({ length: o.databases }, (_, i) => [50_000 + i, `app_db_${i}`, 10_000_000 + i * 7919]);
    let tick = 0;
    responder = await startPgResponder({
      handler: (q) =>
        /pg_database_size\(oid\)/.test(q)
          ? {
              columns: SIZE_COLUMNS,
              rows: rows.map(([oid, name, size]) => [oid, name, false, true, String(size + (tick++ % 1000) * 4096), '15.7']),
            }
          : undefined,
    });
    const actor = { userId: null, username: 'load' };
    const cred = await ctx.credentials.create({ name: 'load', username: 'collector', password: 'load-pw' }, actor);
    const ids: number[] = [];
    for (let i = 0; i < o.instances; i++) {
      ids.push(
        (
          await ctx.instances.create(
            {
              name: `load-${String(i).padStart(4, '0')}`,
              db_type: 'postgresql',
              host: responder.host,
              port: responder.port,
              credential_id: cred.id,
              tags: [`team-${i % 7}`],
            },
            actor,
          )
        ).id,
      );
    }
    // One real sync, then its rows copied back over the history days.
    await ctx.capacitySync.syncMany(ids, { actor, syncType: 'manual_batch' });
    const today = localDate(new Date(), 'UTC');
    for (let d = 1; d < o.historyDays; d++) {
      const day = addDays(today, -d);
      await sql`INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, data_bytes, index_bytes, log_bytes, free_bytes, used_bytes, max_bytes, method, error, collected_at, is_deleted, deleted_at, created_at, updated_at)
        SELECT instance_id, database_name, ${day}, size_bytes - ${d * 65536}, data_bytes, index_bytes, log_bytes, free_bytes, used_bytes, max_bytes, method, error, collected_at, is_deleted, deleted_at, created_at, updated_at
        FROM database_size_stats WHERE collected_date = ${today}`.execute(ctx.store.db);
      await sql`INSERT INTO instance_size_stats (instance_id, collected_date, total_size_bytes, data_bytes, log_bytes, database_count, collected_at)
        SELECT instance_id, ${day}, total_size_bytes - ${d * 65536 * o.databases}, data_bytes, log_bytes, database_count, collected_at
        FROM instance_size_stats WHERE collected_date = ${today}`.execute(ctx.store.db);
    }
    await ctx.aggregation.aggregate({ from: addDays(today, -o.historyDays), to: today });
    await ctx.auth.createUser({ username: 'loader', password: 'Load-Password-1', role: 'operator' }, actor);
    const token = (await ctx.auth.createToken((await ctx.auth.userByName('loader')).id, { name: 'load' }, actor)).token;

    app = await buildApp(ctx);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const headers = { authorization: `Bearer ${token}` };
    const id = (i: number) => ids[(i * 37) % ids.length];
    const requests = [
      { method: 'GET' as const, path: '/api/instances', headers },
      { method: 'GET' as const, path: '/api/statistics/summary', headers },
      { method: 'GET' as const, path: '/api/statistics/top-growers', headers },
      { method: 'GET' as const, path: `/api/statistics/instances/${id(1)}/series?period=daily`, headers },
      { method: 'GET' as const, path: `/api/instances/${id(2)}/capacity`, headers },
      { method: 'GET' as const, path: `/api/statistics/instances/${id(3)}/forecast`, headers },
      { method: 'GET' as const, path: '/api/instances?db_type=postgresql', headers },
    ];

    // Warm up, then measure memory from a settled state.
    await autocannon({ url: `http://127.0.0.1:${port}`, connections: 10, duration: 2, requests });
    gc();
    const rssBeforeMb = mb();

    // Capacity sessions back to back for as long as the load runs.
    const sessions = { started: 0, completed: 0, failedRecords: 0, completedRecords: 0 };
    let loading = true;
    const syncing = (async () => {
      while (loading) {
        const res = await app!.inject({ method: 'POST', url: '/api/sync/capacity', headers, payload: { instance_ids: ids } });
        if (res.statusCode !== 202) throw new Error(`sync start: ${res.statusCode} ${res.body}`);
        sessions.started++;
        const sid = res.json().data.session_id as string;
        for (;;) {
          const s = await ctx!.store.db.selectFrom('sync_sessions').selectAll().where('session_id', '=', sid).executeTakeFirstOrThrow();
          if (s.status !== 'running') {
            sessions.completed++;
            sessions.failedRecords += s.failed_instances;
            sessions.completedRecords += s.successful_instances;
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();

    const t0 = Date.now();
    let sampler: NodeJS.Timeout | undefined;
    let seen = 0;
    if (o.onSample) {
      sampler = setInterval(
        () => o.onSample!({ t: Math.round((Date.now() - t0) / 1000), rssMb: mb(), requests: seen, sessions: sessions.completed }),
        (o.sampleEverySec ?? 30) * 1000,
      );
    }
    const r = await new Promise<autocannon.Result>((resolve, reject) => {
      const inst = autocannon({ url: `http://127.0.0.1:${port}`, connections: o.connections, duration: o.durationSec, requests, timeout: 30 }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
      inst.on('response', () => void seen++);
    });
    loading = false;
    if (sampler) clearInterval(sampler);
    await syncing;
    gc();
    return {
      requests: r.requests.total,
      rps: Math.round(r.requests.average),
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      sessions,
      rssBeforeMb,
      rssAfterMb: mb(),
    };
  } finally {
    await app?.close();
    await ctx?.close();
    await responder?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
