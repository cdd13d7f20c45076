/**
 * api-path: an estate sync as a user measures it — through the HTTP API of a
 * running `whalefall serve` (a child process: bin/whalefall.mjs, its own
 * store, logging at info), started with `POST /api/sync/capacity` and polled
 * with `GET /api/sync-sessions/:id` every 200 ms until it is no longer
 * running — against, in the same run, the same batch in-process
 * (`capacitySync.syncMany` in this process, on a fresh store of the same
 * kind) and the ideal (instances × floor / concurrency; the floor is one
 * instance synced alone through the same network, median of 5, measured
 * before and after the runs, the lower kept).
 *
 * The instances are the PostgreSQL wire responder (test/helpers/pg-responder.ts,
 * BENCH_API_PATH_DATABASES databases each) behind a latency proxy adding
 * 50 ms each way, both in a child process (bench/network.child.ts): a
 * connection costs the far side nothing, so the figures are the service's.
 *
 * The scaling curve: every size in BENCH_API_PATH_SIZES × every concurrency
 * in BENCH_API_PATH_CONCURRENCY × every store in BENCH_API_PATH_STORES
 * (SQLite in a temp dir, or a fresh database on the local PostgreSQL). After
 * the API runs of a size, its store is given 30 days of history (the day just
 * synced copied back 29 days, then aggregated through the API) and the
 * server is asked for the instances page and the top growers.
 *
 * BENCH_API_PATH_PROF=<dir>: the server runs with --cpu-prof into <dir>.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { addDays, localDate } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { openStore } from '../src/store/db.js';
import type { Database } from '../src/store/schema.js';
import { pgAdmin, uniqueName } from '../test/helpers/targets.js';
import { envInt, insertBenchInstances, mb, median, onInterrupt, ratio, sec } from './common.js';
import type { ServerFacts } from './network.child.js';
import { startNetwork, type Network, type NetworkLoop } from './network.js';
import type { Cell, Report, Scenario } from './common.js';
import { peakDuring, procCpuMs, procStatus, serviceNodeArgs, startServe } from './serve.js';

const actor = { userId: null, username: 'bench' };
const POLL_MS = 200;
const HISTORY_DAYS = 30;

type StoreKind = 'sqlite' | 'postgresql';

function envList(name: string, def: string): string[] {
  return (process.env[name] || def)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function envInts(name: string, def: string): number[] {
  return envList(name, def).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must list positive integers, got "${s}"`);
    return n;
  });
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

const pctile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

/** What the fake server answers the engine's one query with: `n` databases of fixed sizes. */
function facts(n: number): ServerFacts {
  return {
    version: '15.4',
    maxConnections: 10_000,
    databases: Array.from({ length: n }, (_, i) => ({
      oid: 16_384 + i,
      datname: i === 0 ? 'postgres' : `app_${i}`,
      size: String((i + 1) * 37_000_000 + 8192 * i),
    })),
  };
}

/** A fresh store: a data dir (the key ring, and the SQLite file), plus a database on the local PostgreSQL for that kind. */
interface StoreHandle {
  kind: StoreKind;
  env: Record<string, string>;
  /** Bytes the store takes: the SQLite file and its WAL, or pg_database_size. */
  size(): Promise<number>;
  drop(): Promise<void>;
}

async function newStore(kind: StoreKind): Promise<StoreHandle> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-apipath-'));
  // Syncs at concurrency 128 measure the service's path, not the total connection cap (64 by default): lifted here.
  const env: Record<string, string> = {
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_SCHEDULER: 'off',
    WHALEFALL_DISCOVERY: 'off',
    WHALEFALL_CONNECTIONS_TOTAL: '4096',
  };
  let dbName: string | undefined;
  if (kind === 'postgresql') {
    dbName = uniqueName('apipath');
    const admin = await pgAdmin();
    try {
      await admin.query(`CREATE DATABASE ${dbName}`);
    } finally {
      await admin.end();
    }
    env.DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  }
  const drop = async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (dbName) {
      const admin = await pgAdmin();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    }
  };
  const unregister = onInterrupt(drop);
  return {
    kind,
    env,
    async size() {
      if (!dbName) {
        const f = path.join(dataDir, 'whalefall.db');
        return [f, `${f}-wal`].reduce((s, x) => s + (fs.existsSync(x) ? fs.statSync(x).size : 0), 0);
      }
      const admin = await pgAdmin();
      try {
        return Number((await admin.query<{ n: string }>('SELECT pg_database_size($1) AS n', [dbName])).rows[0]!.n);
      } finally {
        await admin.end();
      }
    },
    async drop() {
      unregister();
      await drop();
    },
  };
}

/** `n` instances behind the network and an admin token, written into the store before anyone runs on it. */
async function prepareEstate(store: StoreHandle, net: Network, n: number): Promise<string> {
  const ctx = await createContext(loadConfig(store.env), { logger: createLogger('warn', process.stderr) });
  try {
    const cred = await ctx.credentials.create({ name: 'bench-pg', db_type: 'postgresql', username: 'postgres', password: 'bench-pw' }, actor);
    await insertBenchInstances(ctx.store.db, { n, host: net.host, port: net.port, credentialId: cred.id, name: (i) => `pg-${String(i + 1).padStart(5, '0')}` });
    const admin = await ctx.auth.createUser({ username: 'bench-admin', password: 'bench-Secret-1', role: 'admin' }, actor);
    return (await ctx.auth.createToken(admin.id, { name: 'bench' }, actor)).token;
  } finally {
    await ctx.close();
  }
}

const discard = () => new Writable({ write: (_c, _e, cb) => cb() });

/** A context over the store, logging at info into nothing (as the server logs, minus the writing). */
function inProcessContext(store: StoreHandle, concurrency: number): Promise<Context> {
  return createContext(loadConfig({ ...store.env, WHALEFALL_SYNC_CONCURRENCY: String(concurrency) }), { logger: createLogger('info', discard()) });
}

interface PathResult {
  wallMs: number;
  /** CPU time of the process running the sync (the server child, or this process in-process). */
  cpuMs: number;
  /** The same process's JavaScript thread alone: the sync, its store calls and the HTTP handlers all run on it. */
  mainCpuMs: number;
  /** How busy the machine's cores were during the run, and the share the hypervisor took for other guests (0–1; peakDuring). */
  machineBusy: number;
  machineStolen: number;
  peakRss: number;
  /** How late the sync process's event loop ran what was due, p99 (ms); and the network process's (Network#loop). */
  lateP99Ms: number;
  net: NetworkLoop;
  /** API path only: the network child's CPU time during the run (the simulated servers: the responder and the proxy). */
  netCpuMs?: number;
  status: string;
  ok: number;
  failed: number;
  /** API path only: polls made, their median latency and the bytes of the last one; the server's own duration (completed − started). */
  polls?: { n: number; medianMs: number; lastBytes: number; serverMs: number };
}

async function inProcessRun(kind: StoreKind, net: Network, n: number, c: number): Promise<PathResult> {
  const store = await newStore(kind);
  try {
    await prepareEstate(store, net, n);
    const ctx = await inProcessContext(store, c);
    try {
      // The same measure of the loop as the server's /metrics (prom-client: monitorEventLoopDelay, 10 ms resolution).
      const delay = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
      await net.loop();
      delay.enable();
      const m = await peakDuring(process.pid, () => ctx.capacitySync.syncMany('all-active', { syncType: 'manual_batch', actor }));
      delay.disable();
      const netLoop = await net.loop();
      const ok = m.value.outcomes.filter((o) => o.status === 'completed').length;
      const lateP99Ms = Math.max(0, delay.percentile(99) / 1e6 - LAG_RESOLUTION_MS);
      return {
        wallMs: m.ms,
        cpuMs: m.cpuMs,
        mainCpuMs: m.mainCpuMs,
        machineBusy: m.machineBusy,
        machineStolen: m.machineStolen,
        peakRss: m.peak,
        lateP99Ms,
        net: netLoop,
        status: m.value.status,
        ok,
        failed: n - ok,
      };
    } finally {
      await ctx.close();
    }
  } finally {
    await store.drop();
  }
}

interface SessionBody {
  data: { status: string; started_at: string; completed_at: string | null; successful_instances: number; failed_instances: number };
}

/** POST the batch (every active instance, or `ids`), then GET the session every 200 ms until it is no longer running (a user's script). */
async function apiSync(
  base: string,
  token: string,
  ids?: number[],
): Promise<Omit<PathResult, 'peakRss' | 'cpuMs' | 'mainCpuMs' | 'machineBusy' | 'machineStolen' | 'lateP99Ms' | 'net'>> {
  const auth = { authorization: `Bearer ${token}` };
  const t0 = performance.now();
  const body = JSON.stringify(ids ? { instance_ids: ids } : {});
  const res = await fetch(`${base}/api/sync/capacity`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
  const started = (await res.json()) as { data: { session_id: string } };
  if (res.status !== 202) throw new Error(`POST /api/sync/capacity: HTTP ${res.status} ${JSON.stringify(started)}`);
  const pollMs: number[] = [];
  let lastBytes = 0;
  for (;;) {
    await sleep(POLL_MS);
    const p0 = performance.now();
    const r = await fetch(`${base}/api/sync-sessions/${started.data.session_id}`, { headers: auth });
    const text = await r.text();
    pollMs.push(performance.now() - p0);
    lastBytes = Buffer.byteLength(text);
    if (r.status !== 200) throw new Error(`GET /api/sync-sessions/:id: HTTP ${r.status} ${text.slice(0, 200)}`);
    const s = (JSON.parse(text) as SessionBody).data;
    if (s.status !== 'running') {
      const wallMs = performance.now() - t0;
      const serverMs = Date.parse(s.completed_at!) - Date.parse(s.started_at);
      return {
        wallMs,
        status: s.status,
        ok: s.successful_instances,
        failed: s.failed_instances,
        polls: { n: pollMs.length, medianMs: median(pollMs), lastBytes, serverMs },
      };
    }
  }
}

/** prom-client's event-loop delay histogram (collectDefaultMetrics): sampled every 10 ms, reset at every scrape. */
const LAG_RESOLUTION_MS = 10;

/**
 * How late the server's event loop ran what was due since the last scrape, p99 in ms: what an SRE reads on the
 * service's own /metrics (whalefall_nodejs_eventloop_lag_p99_seconds, less the histogram's 10 ms sampling interval).
 * Each scrape resets the histogram, so one before a run and one after measure that run.
 */
async function serverLoopLateP99(base: string): Promise<number> {
  const r = await fetch(`${base}/metrics`);
  const text = await r.text();
  const m = /^whalefall_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (r.status !== 200 || !m) throw new Error(`GET /metrics: HTTP ${r.status}, no whalefall_nodejs_eventloop_lag_p99_seconds`);
  return Math.max(0, Number(m[1]) * 1000 - LAG_RESOLUTION_MS);
}

/** GET `paths()` `n` times one after another (after one warm-up); latencies in ms. */
/**
 * fetch, once more on a fresh connection when the pooled one turns out closed: while this process copies the history
 * (synchronous SQLite, seconds) its keep-alive timer cannot run, so the server's 5 s keep-alive may have closed the
 * socket the next request is written to ("other side closed", nothing answered). The requests sent this way are
 * idempotent (reads, and the aggregation of a range, which recomputes it).
 */
async function fetchAfterPause(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
    return fetch(url, init);
  }
}

async function latencies(base: string, token: string, n: number, paths: (i: number) => string): Promise<number[]> {
  const out: number[] = [];
  for (let i = -1; i < n; i++) {
    const t0 = performance.now();
    const r = await fetchAfterPause(`${base}${paths(i)}`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`GET ${paths(i)}: HTTP ${r.status}`);
    if (i >= 0) out.push(performance.now() - t0);
  }
  return out;
}

/** Copy the day just synced back over the previous `HISTORY_DAYS - 1` days (as if the estate had been synced daily), then aggregate through the API. */
async function simulateHistory(store: StoreHandle, base: string, token: string): Promise<number> {
  const s = openStore({ databaseUrl: store.env.DATABASE_URL, sqliteFile: path.join(store.env.WHALEFALL_DATA_DIR!, 'whalefall.db') });
  const t0 = performance.now();
  try {
    // The synced day: the store's latest. A batch that crossed midnight (UTC) left its first records on the day
    // before: moved onto the synced day first (a fresh store per run: every row is this run's), so every instance
    // gets its 30 days (a curve once copied a tenth of them, with figures that looked plausible).
    const today = String((await sql<{ d: string }>`SELECT max(collected_date) AS d FROM instance_size_stats`.execute(s.db)).rows[0]!.d).slice(0, 10);
    const moved = await ontoSyncedDay(s.db, today);
    if (moved) console.log(`  the batch crossed midnight: ${moved} instances' rows of the day before moved onto ${today}`);
    const pointsFrom = String((await sql<{ at: string }>`SELECT min(collected_at) AS at FROM sync_size_points`.execute(s.db)).rows[0]!.at);
    for (let d = 1; d < HISTORY_DAYS; d++) {
      const day = addDays(today, -d);
      await sql`INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, data_bytes, index_bytes, log_bytes, free_bytes, used_bytes, max_bytes, method, error, collected_at, is_deleted, deleted_at, created_at, updated_at)
        SELECT instance_id, database_name, ${day}, size_bytes - ${d * 65536} * (instance_id % 7), data_bytes, index_bytes, log_bytes, free_bytes, used_bytes, max_bytes, method, error, collected_at, is_deleted, deleted_at, created_at, updated_at
        FROM database_size_stats WHERE collected_date = ${today}`.execute(s.db);
      await sql`INSERT INTO instance_size_stats (instance_id, collected_date, total_size_bytes, data_bytes, log_bytes, database_count, collected_at)
        SELECT instance_id, ${day}, total_size_bytes - ${d * 65536} * (instance_id % 7) * database_count, data_bytes, log_bytes, database_count, collected_at
        FROM instance_size_stats WHERE collected_date = ${today}`.execute(s.db);
      // The per-sync series (issue #20): one nightly sync a day, all kept (its retention, 35 days, is longer than the history).
      await sql`INSERT INTO sync_size_points (instance_id, database_name, size_bytes, collected_at)
        SELECT instance_id, database_name, size_bytes, ${`${day}T02:00:00.000Z`} FROM sync_size_points WHERE collected_at >= ${pointsFrom}`.execute(s.db);
    }
    if (store.kind === 'sqlite') await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(s.db);
    else await sql`ANALYZE`.execute(s.db);
  } finally {
    await s.close();
  }
  const res = await fetchAfterPause(`${base}/api/statistics/aggregate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: addDays(localDate(new Date(), 'UTC'), -(HISTORY_DAYS - 1)) }),
  });
  if (res.status !== 200) throw new Error(`POST /api/statistics/aggregate: HTTP ${res.status} ${await res.text()}`);
  return performance.now() - t0;
}

/**
 * Rows of days before `day` (a batch that crossed midnight) moved onto it, where the same instance (database) has
 * none there; the rest of them (an instance synced on both days) dropped. Returns the instances moved.
 */
async function ontoSyncedDay(db: Kysely<Database>, day: string): Promise<number> {
  const dbs = sql`EXISTS (SELECT 1 FROM database_size_stats t WHERE t.instance_id = database_size_stats.instance_id AND t.database_name = database_size_stats.database_name AND t.collected_date = ${day})`;
  const inst = sql`EXISTS (SELECT 1 FROM instance_size_stats t WHERE t.instance_id = instance_size_stats.instance_id AND t.collected_date = ${day})`;
  await sql`DELETE FROM database_size_stats WHERE collected_date < ${day} AND ${dbs}`.execute(db);
  await sql`UPDATE database_size_stats SET collected_date = ${day} WHERE collected_date < ${day}`.execute(db);
  await sql`DELETE FROM instance_size_stats WHERE collected_date < ${day} AND ${inst}`.execute(db);
  return Number((await sql`UPDATE instance_size_stats SET collected_date = ${day} WHERE collected_date < ${day}`.execute(db)).numAffectedRows ?? 0);
}

interface SizeResult {
  kind: StoreKind;
  n: number;
  api: Map<number, PathResult[]>;
  inProcess: Map<number, PathResult[]>;
  /** A fresh server's first session (one instance) through the API, before each measured run. */
  coldMs: number[];
  history?: { storeBytes: number; historyMs: number; pageP95: number; growersP95: number; idleRss: number };
}

/** Every run of one store kind and size: the API path and the in-process path interleaved, per concurrency; then the 30 days. */
async function measureSize(kind: StoreKind, net: Network, n: number, concurrencies: number[], runs: number, withHistory: boolean): Promise<SizeResult> {
  const out: SizeResult = { kind, n, api: new Map(), inProcess: new Map(), coldMs: [] };
  const prof = process.env.BENCH_API_PATH_PROF;
  for (const c of concurrencies) {
    for (let r = 0; r < runs; r++) {
      const last = r === runs - 1 && c === concurrencies[0];
      const store = await newStore(kind);
      try {
        const token = await prepareEstate(store, net, n);
        const served = await startServe({ ...store.env, WHALEFALL_SYNC_CONCURRENCY: String(c), LOG_LEVEL: 'info' }, [
          ...serviceNodeArgs(),
          ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(prof)}`] : []),
          // Extra node flags for the server (e.g. a preload that traces it): a development knob, named in the report.
          ...(process.env.BENCH_API_PATH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
        ]);
        try {
          // A fresh server's first session loads the engine and its driver and warms the code paths: measured apart,
          // on one instance (its instance is synced again in the batch, a second sync of the day).
          const cold = await apiSync(served.base, token, [1]);
          out.coldMs.push(cold.wallMs);
          await serverLoopLateP99(served.base);
          await net.loop();
          const net0 = procCpuMs(net.pid!);
          const m = await peakDuring(served.pid, () => apiSync(served.base, token));
          const netCpuMs = procCpuMs(net.pid!) - net0;
          const lateP99Ms = await serverLoopLateP99(served.base);
          const api = {
            ...m.value,
            peakRss: m.peak,
            cpuMs: m.cpuMs,
            mainCpuMs: m.mainCpuMs,
            machineBusy: m.machineBusy,
            machineStolen: m.machineStolen,
            lateP99Ms,
            net: await net.loop(),
            netCpuMs,
          };
          out.api.set(c, [...(out.api.get(c) ?? []), api]);
          console.log(
            `  ${kind} n=${n} c=${c} API: ${sec(api.wallMs)} s (server ${sec(api.polls!.serverMs)} s, CPU ${sec(api.cpuMs)} s), ${api.polls!.n} polls (median ${api.polls!.medianMs.toFixed(0)} ms, ${Math.round(api.polls!.lastBytes / 1024)} KiB), peak RSS ${mb(api.peakRss)} MB, ${api.status} ${api.ok} ok ${api.failed} failed`,
          );
          if (withHistory && last) {
            const historyMs = await simulateHistory(store, served.base, token);
            const storeBytes = await store.size();
            const pages = Math.max(1, Math.ceil(n / 50));
            const page = await latencies(served.base, token, 30, (i) => `/api/instances/overview?limit=50&offset=${(((i + 1) * 7) % pages) * 50}`);
            const growers = await latencies(served.base, token, 30, (i) => `/api/statistics/top-growers?days=30&scope=${i % 2 ? 'instance' : 'database'}`);
            out.history = { storeBytes, historyMs, pageP95: pctile(page, 95), growersP95: pctile(growers, 95), idleRss: procStatus(served.pid).rss };
            console.log(
              `  ${kind} n=${n}: ${HISTORY_DAYS} days in ${sec(historyMs)} s, store ${mb(storeBytes)} MB, instances page p95 ${out.history.pageP95.toFixed(0)} ms, top growers p95 ${out.history.growersP95.toFixed(0)} ms`,
            );
          }
        } catch (err) {
          // The server's own last words (a crash, an out-of-memory abort) say more than the client's socket error.
          throw new Error(`${(err as Error).message}; the server's stderr:\n${served.stderr()}`, { cause: err });
        } finally {
          await served.stop();
        }
      } finally {
        await store.drop();
      }
      const inproc = await inProcessRun(kind, net, n, c);
      out.inProcess.set(c, [...(out.inProcess.get(c) ?? []), inproc]);
      console.log(
        `  ${kind} n=${n} c=${c} in-process: ${sec(inproc.wallMs)} s (CPU ${sec(inproc.cpuMs)} s), ${inproc.status} ${inproc.ok} ok ${inproc.failed} failed`,
      );
    }
  }
  return out;
}

/** One instance synced alone through the network, in-process: median of `samples` after a warm-up. */
async function floor(kind: StoreKind, net: Network, samples: number): Promise<number> {
  const store = await newStore(kind);
  try {
    await prepareEstate(store, net, samples + 1);
    const ctx = await inProcessContext(store, 1);
    try {
      const ids = (await ctx.store.db.selectFrom('instances').select('id').orderBy('id').execute()).map((r) => r.id);
      const xs: number[] = [];
      for (const [i, id] of ids.entries()) {
        const t0 = performance.now();
        const done = await ctx.capacitySync.syncMany([id], { syncType: 'manual_batch', actor });
        if (done.status !== 'completed') throw new Error(`floor sync: session ${done.status}`);
        if (i > 0) xs.push(performance.now() - t0);
      }
      return median(xs);
    } finally {
      await ctx.close();
    }
  } finally {
    await store.drop();
  }
}

async function run(): Promise<Report> {
  const sizes = envInts('BENCH_API_PATH_SIZES', '500,2000,10000');
  const concurrencies = envInts('BENCH_API_PATH_CONCURRENCY', '32,128');
  const kinds = envList('BENCH_API_PATH_STORES', 'sqlite,postgresql') as StoreKind[];
  for (const k of kinds) if (k !== 'sqlite' && k !== 'postgresql') throw new Error(`BENCH_API_PATH_STORES: unknown store "${k}" (sqlite, postgresql)`);
  const runs = envInt('BENCH_RUNS', 3);
  const delayMs = envInt('BENCH_DELAY_MS', 50);
  const databases = envInt('BENCH_API_PATH_DATABASES', 5);
  const history = (process.env.BENCH_API_PATH_HISTORY ?? '1') !== '0';

  const net = await startNetwork({ delayMs, target: { fake: facts(databases) } });
  const results: SizeResult[] = [];
  const floors = new Map<StoreKind, { before: number; after: number }>();
  try {
    for (const kind of kinds) {
      const before = await floor(kind, net, 5);
      console.log(`  ${kind}: floor before ${before.toFixed(0)} ms`);
      for (const n of sizes) results.push(await measureSize(kind, net, n, concurrencies, runs, history));
      const after = await floor(kind, net, 5);
      console.log(`  ${kind}: floor after ${after.toFixed(0)} ms`);
      floors.set(kind, { before, after });
    }
  } finally {
    await net.close();
  }

  const rows: Cell[][] = [];
  const misses: string[] = [];
  let failed = false;
  const target = (n: number) => (n >= 10_000 ? 1.3 : 1.2);
  /** A missed ratio, with a third decimal when two would show it equal to its target (1.204 against 1.2). */
  const missed = (x: number, limit: number) => (Number(ratio(x)) <= limit ? x.toFixed(3) : ratio(x));
  /** Issue #22 item 1: the API path within 1.15× of the in-process path. */
  const API_OVER_IN_PROCESS = 1.15;
  const cores = os.cpus().length;
  for (const r of results) {
    const f = floors.get(r.kind)!;
    const fl = Math.min(f.before, f.after);
    for (const c of concurrencies) {
      const ideal = (r.n * fl) / Math.min(c, r.n);
      const api = r.api.get(c)!;
      const inp = r.inProcess.get(c)!;
      const apiWall = median(api.map((x) => x.wallMs));
      const inWall = median(inp.map((x) => x.wallMs));
      const bad = [...api, ...inp].filter((x) => x.ok !== r.n);
      if (bad.length) failed = true;
      const apiRss = Math.max(...api.map((x) => mb(x.peakRss)));
      // The least wall time the API run's CPU allows: the server's JavaScript thread cannot run faster than its own CPU
      // time, nor the machine than its busy time spread over the cores' time the hypervisor left it (a shared host
      // takes some: /proc/stat's steal).
      const threadFloor = median(api.map((x) => x.mainCpuMs));
      const stolen = median(api.map((x) => x.machineStolen));
      const machineFloor = median(api.map((x) => (x.machineBusy * x.wallMs) / Math.max(0.05, 1 - x.machineStolen)));
      const floor = Math.max(threadFloor, machineFloor) / ideal;
      // The cores the target needs at this CPU a record: all the run's CPU (every process on the machine) within the
      // target's wall time, at 100 % and with perfect overlap — a lower bound.
      const cpuAll = median(api.map((x) => x.machineBusy * x.wallMs)) * cores;
      const given = `${cores}${stolen >= 0.005 ? ` (${(cores * (1 - stolen)).toFixed(1)} given by the hypervisor in this run)` : ''}`;
      const targetWall = target(r.n) * ideal;
      const coresNeeded = cpuAll / targetWall;
      // The same without the simulated servers' CPU (on a real estate the instances answer from their own machines).
      const coresOurs = (cpuAll - median(api.map((x) => x.netCpuMs ?? 0))) / targetWall;
      if (apiWall / inWall > API_OVER_IN_PROCESS)
        misses.push(`${r.kind} ${r.n} c=${c}: API ${missed(apiWall / inWall, API_OVER_IN_PROCESS)}× in-process (target ≤ ${API_OVER_IN_PROCESS})`);
      if (apiWall / ideal > target(r.n))
        misses.push(
          `${r.kind} ${r.n} c=${c}: API ${missed(apiWall / ideal, target(r.n))}× ideal (target ≤ ${target(r.n)}; CPU floor ${ratio(floor)}×${floor >= target(r.n) ? ', at or past the target by itself' : ''}; it needs ${coresNeeded.toFixed(1)} cores of ${given}, ${coresOurs.toFixed(1)} without the simulated servers)`,
        );
      if (r.n >= 10_000 && apiRss >= 300) misses.push(`${r.kind} ${r.n} c=${c}: peak RSS ${apiRss} MB (target < 300)`);
      const h = c === concurrencies[0] ? r.history : undefined;
      const polls = api.map((x) => x.polls!);
      rows.push([
        r.kind,
        r.n,
        c,
        sec(ideal),
        sec(inWall),
        ratio(inWall / ideal),
        sec(apiWall),
        ratio(apiWall / ideal),
        ratio(apiWall / inWall),
        ratio(median(api.map((x) => x.cpuMs)) / median(inp.map((x) => x.cpuMs))),
        `${pct(median(api.map((x) => x.machineBusy)))} (${pct(stolen)}) / ${pct(median(inp.map((x) => x.machineBusy)))} (${pct(median(inp.map((x) => x.machineStolen)))})`,
        `${ratio(floor)} (${sec(threadFloor)} · ${sec(machineFloor)}; ${coresNeeded.toFixed(1)} · ${coresOurs.toFixed(1)} cores)`,
        `${median(api.map((x) => x.lateP99Ms)).toFixed(0)} / ${median(inp.map((x) => x.lateP99Ms)).toFixed(0)} / ${Math.max(...[...api, ...inp].map((x) => x.net.delayP99Ms)).toFixed(0)} (${pct(Math.max(...[...api, ...inp].map((x) => x.net.busy)))})`,
        sec(median(polls.map((p) => p.serverMs))),
        `${median(polls.map((p) => p.n))} × ${median(polls.map((p) => p.medianMs)).toFixed(0)} ms, ${Math.round(median(polls.map((p) => p.lastBytes)) / 1024)} KiB`,
        apiRss,
        h ? mb(h.storeBytes) : '',
        h ? h.pageP95.toFixed(0) : '',
        h ? h.growersP95.toFixed(0) : '',
        bad.length ? `${bad.length} run(s) with failed records` : `all ${r.n} completed ×${api.length + inp.length}`,
      ]);
    }
  }
  const floorNote = [...floors].map(([k, f]) => `${k}: ${f.before.toFixed(0)} ms before, ${f.after.toFixed(0)} ms after`).join('; ');
  const cold = median(results.flatMap((r) => r.coldMs));
  const runsNote = results
    .flatMap((r) =>
      concurrencies.map(
        (c) =>
          `${r.kind} ${r.n} c=${c}: API ${r.api
            .get(c)!
            .map((x) => sec(x.wallMs))
            .join(', ')}; in-process ${r.inProcess
            .get(c)!
            .map((x) => sec(x.wallMs))
            .join(', ')}`,
      ),
    )
    .join('; ');
  return {
    servers: { 'fake server': `pg-responder answering with ${databases} databases, behind a latency proxy (+${delayMs} ms each way), in a child process` },
    parameters: {
      instances: sizes.join(', '),
      concurrency: concurrencies.join(', '),
      stores: kinds.join(', '),
      runs,
      poll: `every ${POLL_MS} ms`,
      'API server': `\`node ${[...serviceNodeArgs(), ''].join(' ')}bin/whalefall.mjs serve\` (child process; the node flags of deploy/whalefall.service${process.env.BENCH_API_PATH_NODE_ARGS ? `, and BENCH_API_PATH_NODE_ARGS=${process.env.BENCH_API_PATH_NODE_ARGS}` : ''}), LOG_LEVEL=info (discarded)`,
      history: history ? `${HISTORY_DAYS} days (the synced day copied back, then POST /api/statistics/aggregate)` : 'not simulated',
    },
    columns: [
      'store',
      'instances',
      'concurrency',
      'ideal (s)',
      'in-process (s)',
      'in-process / ideal',
      'API (s)',
      'API / ideal',
      'API / in-process',
      'CPU: API / in-process',
      'machine busy (stolen): API / in-process',
      'CPU floor / ideal, API (server thread s · machine s; cores the target needs · without the simulated servers)',
      'loop late p99 (ms): server / in-process / network (its busy)',
      'server-side (s)',
      'polls',
      'API peak RSS (MB)',
      `store after ${HISTORY_DAYS} days (MB)`,
      'instances page p95 (ms)',
      'top growers p95 (ms)',
      'records',
    ],
    rows,
    notes: [
      `Ideal = instances × floor / concurrency; the floor is one instance synced alone in-process through the same network (median of 5; ${floorNote}; the lower is used).`,
      `Before each measured API run, the fresh server syncs one instance through the API (same POST and polls): that first session loads the engine and its driver and warms the code, and took ${sec(cold)} s (median), against a floor of ${sec(Math.min(...[...floors.values()].map((f) => Math.min(f.before, f.after))))} s warm. The batch is measured on the warmed server, as a long-running server runs its nightly batch.`,
      `API: from sending POST /api/sync/capacity until a poll (GET /api/sync-sessions/:id, every ${POLL_MS} ms after the previous answer) says the session is no longer running — the figure a user's script measures, up to one poll interval late. ` +
        "\"server-side\" is the session's own completed_at − started_at. In-process: `capacitySync.syncMany('all-active')` in the bench process on a fresh store of the same kind, logging at info into nothing.",
      'CPU: API / in-process compares the CPU time of the process running the sync (the server child; the bench process in-process) during the run: less sensitive to other load on the machine than wall times.',
      "Machine busy: the share of all cores' time that was not idle during the run (/proc/stat: the server or the bench process, the network child with the responder and the proxy, the store, anything else). In parentheses, the share the hypervisor took for other guests on the host (/proc/stat's steal: the cores' time this machine wanted and did not get); busy and stolen together near 100 %: the run is CPU-bound: the ideal counts only the network's delay, as if the responder, the proxy, the store and the service cost no CPU, so from there on wall time grows with the CPU per record, not with the waits.",
      "CPU floor: the least wall time the API run's CPU allows, against the ideal — the larger of the server's JavaScript thread's CPU time (/proc/<pid>/task/<pid>/stat: the sync, its store calls, the pg client and the HTTP handlers all run on that one thread; V8's GC helpers and libuv's pool are left out) and the machine's busy time over the cores' time the hypervisor left it (machine busy × wall / (1 − stolen): the server, the network child, the store, the bench). Where the floor is at or past the target, no overlap of the waits can meet it: the target needs less CPU a record on that thread (or more cores), whatever the waits. Cores the target needs: all the CPU the run used (machine busy × wall × cores) over the target's wall time (target × ideal) — a lower bound, at 100 % busy with perfect overlap; past the machine's cores (or the share of them the hypervisor gave in the run, when it took some), the point cannot meet its target here at this CPU a record. The second figure leaves out the network child's CPU (/proc: the responder and the proxy, which stand in for instances on their own machines): what the service, its store and the bench's client need.",
      `Loop late: how late an event loop ran what was due, p99 over the run — the server's from its own /metrics (whalefall_nodejs_eventloop_lag_p99_seconds, scraped before and after the run, less prom-client's ${LAG_RESOLUTION_MS} ms sampling interval), in-process the bench process's (monitorEventLoopDelay, the same interval), and the network process's (the proxy and the responder; the larger of the API and in-process runs, with how busy its loop was). Every step of a record that waits for its loop (a reply, a COMMIT, a free place) waits about that long at worst: when the sync's loop is late by tens of ms and the network's by a few, the one thread running the sync sets the pace, not the simulated network or the waits the ideal counts.`,
      'Peak RSS: VmRSS of the server child, sampled every 50 ms during the API run (the bench process and the network child not included).',
      `Targets: API ≤ 1.2× ideal at 500 and 2,000 instances, ≤ 1.3× at 10,000; API ≤ ${API_OVER_IN_PROCESS}× in-process; peak RSS < 300 MB at 10,000 — ${misses.length ? `MISSED: ${misses.join('; ')}` : 'met for every size measured'}.`,
      history
        ? `After the API runs of each size (first concurrency, last run), the store is given ${HISTORY_DAYS} days: the synced day copied to the ${HISTORY_DAYS - 1} days before (sizes shifted so instances grow; the per-sync series too, one sync a day, all within its 35-day retention, so the store size includes it at its bound), then aggregated (POST /api/statistics/aggregate). The instances page is GET /api/instances/overview?limit=50 at varied offsets, top growers GET /api/statistics/top-growers?days=30 (database and instance scope alternating): 30 sequential requests each after a warm-up, p95.`
        : 'History not simulated (BENCH_API_PATH_HISTORY=0).',
      `Runs (s): ${runsNote}.`,
    ],
    failed,
  };
}

export const apiPath: Scenario = {
  summary:
    'Estate sync through the HTTP API (POST /api/sync/capacity, poll GET /api/sync-sessions/:id every 200 ms) against the same batch in-process and the ideal, on a wire-protocol stub 50 ms away; ' +
    'the scaling curve over sizes, concurrencies and stores (SQLite, PostgreSQL) with peak RSS, store size after 30 days, instances page and top growers p95.',
  env: [
    'BENCH_API_PATH_SIZES',
    'BENCH_API_PATH_CONCURRENCY',
    'BENCH_API_PATH_STORES',
    'BENCH_API_PATH_DATABASES',
    'BENCH_API_PATH_HISTORY',
    'BENCH_API_PATH_PROF',
    'BENCH_API_PATH_NODE_ARGS',
    'BENCH_RUNS',
    'BENCH_DELAY_MS',
  ],
  run,
};
