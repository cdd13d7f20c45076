/**
 * estate-sync: the nightly batch over a large estate whose servers are far
 * away. 500 PostgreSQL instances — all the local server, each reached through
 * one latency proxy that adds 50 ms each way — synced by
 * `capacitySync.syncMany('all-active')` at concurrency 32 (and 8, the
 * default), against the seed's sequential loop (concurrency 1).
 *
 * Each run gets a fresh SQLite store in its own temp dir, so every run does
 * the same work: a first sync of the day for every instance.
 * The latency floor is one instance synced alone through the proxy (median of
 * 5, measured before and after the batch runs; the lower is kept, since other
 * load on the machine only ever adds); the ideal wall time at concurrency c is
 * instances × floor / c.
 * Two diagnostic rows run the bare engine at our concurrency without the
 * service — through the proxy, and straight to the server — so a miss can be
 * pinned on the service or on the one shared server behind all 500 instances.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { getEngine } from '../src/engines/registry.js';
import { mapLimit } from '../src/lib/concurrency.js';
import { createLogger } from '../src/lib/logger.js';
import type { Actor } from '../src/services/audit.service.js';
import { startLatencyProxy, type LatencyProxy } from '../test/helpers/latency-proxy.js';
import type { Cell, Report, Scenario } from './run.js';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const actor: Actor = { userId: null, username: 'bench' };

function envInt(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Measured<T> {
  value: T;
  wallMs: number;
  /** Peak resident set size, sampled every 50 ms. */
  peakRss: number;
  /** Share of the wall time the event loop was busy (running, or runnable but descheduled by the OS). */
  elu: number;
  /** CPU time this process used (user + system). */
  cpuMs: number;
}

async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const value = await fn();
    const wallMs = performance.now() - t0;
    peak = Math.max(peak, process.memoryUsage().rss);
    const cpu = process.cpuUsage(cpu0);
    return { value, wallMs, peakRss: peak, elu: performance.eventLoopUtilization(elu0).utilization, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

interface Estate {
  ctx: Context;
  ids: number[];
  close(): Promise<void>;
}

/** A fresh store with one credential and `n` instances behind the proxy, registered through the services. */
async function newEstate(proxy: LatencyProxy, n: number, concurrency: number): Promise<Estate> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-'));
  let ctx: Context | undefined;
  try {
    const config = loadConfig({
      WHALEFALL_DATA_DIR: dataDir,
      WHALEFALL_TZ: 'UTC',
      WHALEFALL_SCHEDULER: 'off',
      WHALEFALL_SYNC_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'warn',
    });
    // Warnings (a failed instance) go to stderr, away from the tables.
    ctx = await createContext(config, { logger: createLogger('warn', process.stderr) });
    const cred = await ctx.credentials.create({ name: 'bench-pg', db_type: 'postgresql', username: PG.user, password: '' }, actor);
    const ids: number[] = [];
    for (let i = 1; i <= n; i++) {
      const inst = await ctx.instances.create(
        { name: `pg-${String(i).padStart(4, '0')}`, db_type: 'postgresql', host: proxy.host, port: proxy.port, credential_id: cred.id, tags: ['bench'] },
        actor,
      );
      ids.push(inst.id);
    }
    const c = ctx;
    return {
      ctx: c,
      ids,
      async close() {
        await c.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await ctx?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

interface RunResult {
  concurrency: number;
  instances: number;
  wallMs: number;
  peakRss: number;
  elu: number;
  cpuMs: number;
  status: string;
  byStatus: Record<string, number>;
}

const recordsOk = (r: RunResult) => (r.byStatus.completed ?? 0) === r.instances && Object.keys(r.byStatus).length === 1;
const describeRecords = (r: RunResult) =>
  Object.entries(r.byStatus)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');

/** One batch run: `syncMany('all-active')` over a fresh estate of `n` instances. */
async function batchRun(proxy: LatencyProxy, n: number, concurrency: number): Promise<RunResult> {
  const estate = await newEstate(proxy, n, concurrency);
  try {
    const m = await measure(() => estate.ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor }));
    const done = m.value;
    const byStatus: Record<string, number> = {};
    for (const rec of await estate.ctx.repos.sync.records(done.session_id)) byStatus[rec.status] = (byStatus[rec.status] ?? 0) + 1;
    const r = { concurrency, instances: n, wallMs: m.wallMs, peakRss: m.peakRss, elu: m.elu, cpuMs: m.cpuMs, status: done.status, byStatus };
    console.log(`  syncMany c=${concurrency} n=${n}: ${sec(m.wallMs)} s, peak RSS ${mb(m.peakRss)} MB, loop busy ${pct(m.elu)}, CPU ${sec(m.cpuMs)} s, session ${done.status}, records: ${describeRecords(r)}`);
    return r;
  } finally {
    await estate.close();
  }
}

/** The floor: one instance synced alone through the proxy, and the bare engine round trips under it. */
async function latencyFloor(proxy: LatencyProxy, samples: number): Promise<{ syncMs: number; engineMs: number; failures: string[] }> {
  const estate = await newEstate(proxy, samples + 1, 1);
  try {
    const failures: string[] = [];
    const once = async (id: number) => {
      const t0 = performance.now();
      const done = await estate.ctx.capacitySync.syncMany([id], { syncType: 'manual_batch', actor });
      const ms = performance.now() - t0;
      const o = done.outcomes[0]!;
      if (o.status !== 'completed') failures.push(`floor sync of ${o.instance_name}: ${o.status} ${o.error_code ?? ''} ${o.error_message ?? ''}`);
      return ms;
    };
    await once(estate.ids[0]!); // warm-up: JIT, first connection
    const syncs: number[] = [];
    for (const id of estate.ids.slice(1)) syncs.push(await once(id));

    const engine = getEngine('postgresql');
    const target = pgTarget(proxy.port);
    const engines: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      const session = await engine.connect(target);
      await session.collect();
      await session.close();
      engines.push(performance.now() - t0);
    }
    return { syncMs: median(syncs), engineMs: median(engines), failures };
  } finally {
    await estate.close();
  }
}

const pgTarget = (port: number) => ({ host: PG.host, port, database: null, username: PG.user, password: '', options: {}, connectTimeoutMs: 10_000, queryTimeoutMs: 30_000 });

/**
 * Diagnostic: the bare PostgreSQL engine (connect, collect, close) over `n`
 * connections at concurrency `c` — no store, no sync service. Through the
 * proxy it is what the service would take if it cost nothing; straight to the
 * server it is the server's own ceiling (PostgreSQL forks a backend per
 * connection, one at a time in the postmaster).
 */
async function bareEngine(port: number, n: number, c: number): Promise<Measured<number>> {
  const engine = getEngine('postgresql');
  let failed = 0;
  const m = await measure(() =>
    mapLimit(Array.from({ length: n }), c, async () => {
      try {
        const session = await engine.connect(pgTarget(port));
        await session.collect().finally(() => session.close());
      } catch {
        failed++;
      }
    }),
  );
  console.log(`  bare engine port ${port} c=${c} n=${n}: ${sec(m.wallMs)} s, loop busy ${pct(m.elu)}, CPU ${sec(m.cpuMs)} s${failed ? `, ${failed} FAILED` : ''}`);
  return { ...m, value: failed };
}

async function serverFacts(): Promise<{ version: string; maxConnections: number }> {
  const c = new pg.Client({ ...PG, database: 'postgres' });
  await c.connect();
  try {
    const v = await c.query<{ server_version: string }>('SHOW server_version');
    const m = await c.query<{ max_connections: string }>('SHOW max_connections');
    return { version: v.rows[0]!.server_version, maxConnections: Number(m.rows[0]!.max_connections) };
  } finally {
    await c.end();
  }
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const sec = (ms: number) => (ms / 1000).toFixed(2);
const ratio = (x: number) => x.toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)} %`;

async function run(): Promise<Report> {
  const N = envInt('BENCH_INSTANCES', 500);
  const delayMs = envInt('BENCH_DELAY_MS', 50);
  const ours = envInt('BENCH_CONCURRENCY', 32);
  const runs = envInt('BENCH_RUNS', 3);
  const budgetS = envInt('BENCH_BASELINE_BUDGET_S', 360);
  const subset = Math.min(N, envInt('BENCH_BASELINE_SUBSET', 100));
  const defaultConcurrency = loadConfig({}).syncConcurrency;

  const server = await serverFacts();
  if (ours >= server.maxConnections) throw new Error(`BENCH_CONCURRENCY=${ours} would exhaust max_connections=${server.maxConnections}`);
  const proxy = await startLatencyProxy({ targetHost: PG.host, targetPort: PG.port, delayMs });
  try {
    console.log(`  proxy 127.0.0.1:${proxy.port} → ${PG.host}:${PG.port}, +${delayMs} ms each way`);
    const floorBefore = await latencyFloor(proxy, 5);
    console.log(`  floor before: sync ${floorBefore.syncMs.toFixed(0)} ms, engine alone ${floorBefore.engineMs.toFixed(0)} ms`);

    // Ours and the default, several runs each (cheap); medians below.
    const concurrencies = [...new Set([ours, defaultConcurrency])];
    const results = new Map<number, RunResult[]>();
    for (let i = 0; i < runs; i++) {
      for (const c of concurrencies) results.set(c, [...(results.get(c) ?? []), await batchRun(proxy, N, c)]);
    }
    // Diagnostics at our concurrency: the same connections without the service, through the proxy and straight to the server.
    const bareProxied = await bareEngine(proxy.port, N, ours);
    const bareDirect = await bareEngine(PG.port, N, ours);

    const floorAfter = await latencyFloor(proxy, 5);
    console.log(`  floor after: sync ${floorAfter.syncMs.toFixed(0)} ms, engine alone ${floorAfter.engineMs.toFixed(0)} ms`);
    const floor = floorAfter.syncMs < floorBefore.syncMs ? floorAfter : floorBefore;
    const floorFailures = [...floorBefore.failures, ...floorAfter.failures];
    const ideal = (c: number, n = N) => (n * floor.syncMs) / Math.min(c, n);

    // The baseline is one run; a subset scaled linearly when the full loop would outlast the budget.
    const fullEstimateS = ideal(1) / 1000;
    const baselineN = fullEstimateS > budgetS ? subset : N;
    const baseline = await batchRun(proxy, baselineN, 1);
    const baselineWall = (baseline.wallMs * N) / baselineN;
    const scaled = baselineN !== N;

    const all = [baseline, ...[...results.values()].flat()];
    const failedRuns = all.filter((r) => !recordsOk(r));
    const bareFailed = bareProxied.value + bareDirect.value;
    const rows: Cell[][] = [];
    rows.push([
      scaled ? `baseline: sequential (c=1), measured on ${baselineN}, ×${N / baselineN} scaled` : 'baseline: sequential (c=1)',
      1,
      sec(baselineWall),
      sec(ideal(1)),
      ratio(baselineWall / ideal(1)),
      '1.00',
      pct(baseline.elu),
      sec(baseline.cpuMs * (N / baselineN)),
      mb(baseline.peakRss),
      describeRecords(baseline),
    ]);
    for (const c of concurrencies) {
      const rs = results.get(c)!;
      const wall = median(rs.map((r) => r.wallMs));
      rows.push([
        `${c === ours ? 'ours' : 'default'}: syncMany c=${c}${runs > 1 ? ` (median of ${runs})` : ''}`,
        c,
        sec(wall),
        sec(ideal(c)),
        ratio(wall / ideal(c)),
        ratio(baselineWall / wall),
        pct(median(rs.map((r) => r.elu))),
        sec(median(rs.map((r) => r.cpuMs))),
        Math.max(...rs.map((r) => mb(r.peakRss))),
        rs.every(recordsOk) ? `${N} completed${runs > 1 ? ' ×' + runs : ''}` : rs.map(describeRecords).join(' / '),
      ]);
    }
    const bareRow = (label: string, m: Measured<number>): Cell[] => [
      label, ours, sec(m.wallMs), '', '', '', pct(m.elu), sec(m.cpuMs), mb(m.peakRss), m.value ? `${m.value} FAILED connections` : `${N} ok`,
    ];
    rows.push(bareRow('diagnostic: bare engine via the proxy (no store, no service)', bareProxied));
    rows.push(bareRow('diagnostic: bare engine direct, no proxy (server ceiling)', bareDirect));

    const oursWall = median(results.get(ours)!.map((r) => r.wallMs));
    const overhead = oursWall / ideal(ours);
    const oursRss = Math.max(...results.get(ours)!.map((r) => mb(r.peakRss)));
    const reachable = Math.max(ideal(ours), bareDirect.wallMs);
    const serverBound = bareDirect.wallMs > ideal(ours) * 1.3;
    const notes = [
      `Latency floor: one instance synced alone through the proxy takes ${floor.syncMs.toFixed(0)} ms ` +
        `(median of 5 after a warm-up, measured before the runs: ${floorBefore.syncMs.toFixed(0)} ms, and after: ${floorAfter.syncMs.toFixed(0)} ms; the lower is used); ` +
        `the bare PostgreSQL engine (connect, collect, close) ${floor.engineMs.toFixed(0)} ms of it. Ideal = ${N} × floor / concurrency. ` +
        `Cross-check: the sequential baseline averaged ${(baseline.wallMs / baselineN).toFixed(0)} ms per instance.`,
      `Target overhead at c=${ours} (ours / ideal) ≤ 1.30: ${ratio(overhead)} — ${overhead <= 1.3 ? 'met' : 'MISSED'}.`,
      `Target peak RSS at c=${ours} < 300 MB: ${oursRss} MB — ${oursRss < 300 ? 'met' : 'MISSED'}.`,
      `Server ceiling: ${N} bare connections straight to the local PostgreSQL at c=${ours}, with no proxy, take ${sec(bareDirect.wallMs)} s ` +
        `(${(N / (bareDirect.wallMs / 1000)).toFixed(0)} connections/s)` +
        (serverBound
          ? `, more than the ${sec(ideal(ours))} s latency ideal: at this concurrency the one shared server, not the sync service, sets the pace ` +
            `(all ${N} "instances" are one postmaster forking a backend per connection). Ours / max(ideal, server ceiling) = ${ratio(oursWall / reachable)}; ` +
            `ours / bare engine through the proxy = ${ratio(oursWall / bareProxied.wallMs)} (the service's own share).`
          : `, below the ${sec(ideal(ours))} s latency ideal: the server is not the limit. Ours / bare engine through the proxy = ${ratio(oursWall / bareProxied.wallMs)}.`),
      '"loop busy" is the event-loop utilisation of this process during the run and "CPU" the CPU time it used (user + system, including the in-process latency proxy): ' +
        'loop busy well above CPU / wall means the loop had work but not a core (on a small machine, the server\'s backends compete for the same cores).',
      scaled
        ? `The sequential baseline was NOT run on all ${N} instances: ${N} × floor ≈ ${fullEstimateS.toFixed(0)} s exceeds the ${budgetS} s budget, so it ran on the first ${baselineN} and its wall time is scaled ×${N / baselineN} (linear: it is one instance after another). Measured: ${sec(baseline.wallMs)} s for ${baselineN}.`
        : `The sequential baseline ran on all ${N} instances (estimated ${fullEstimateS.toFixed(0)} s, within the ${budgetS} s budget).`,
      `Runs in seconds: ${[...results].map(([c, rs]) => `c=${c}: ${rs.map((r) => sec(r.wallMs)).join(', ')}`).join('; ')}; baseline: ${sec(baseline.wallMs)}.`,
      "Peak RSS is the whole bench process (sampled every 50 ms during the run); runs share one process, so later runs start from earlier runs' heap.",
      failedRuns.length || floorFailures.length || bareFailed
        ? `FAILURES: ${[
            ...failedRuns.map((r) => `syncMany c=${r.concurrency} n=${r.instances}: ${describeRecords(r)} (session ${r.status})`),
            ...floorFailures,
            ...(bareFailed ? [`${bareFailed} bare-engine connections failed`] : []),
          ].join('; ')}.`
        : 'Every run ended with every sync record completed (counted by status in sync_instance_records).',
    ];
    return {
      servers: { PostgreSQL: server.version },
      parameters: {
        instances: N,
        'delay each way': `${delayMs} ms`,
        concurrency: `${ours} (ours), ${defaultConcurrency} (default), 1 (baseline)`,
        runs,
        store: 'SQLite (fresh per run)',
        'PostgreSQL max_connections': server.maxConnections,
      },
      columns: ['run', 'concurrency', 'wall (s)', 'ideal (s)', 'wall / ideal', 'speed-up vs baseline', 'loop busy', 'CPU (s)', 'peak RSS (MB)', 'records'],
      rows,
      notes,
      failed: failedRuns.length > 0 || floorFailures.length > 0 || bareFailed > 0,
    };
  } finally {
    await proxy.close();
  }
}

export const estateSync: Scenario = {
  summary:
    'Nightly batch over 500 PostgreSQL instances 50 ms away (one latency proxy in front of the local server): `syncMany` at concurrency 32 and 8 against the seed\'s sequential loop (concurrency 1).',
  env: ['BENCH_INSTANCES', 'BENCH_DELAY_MS', 'BENCH_CONCURRENCY', 'BENCH_RUNS', 'BENCH_BASELINE_BUDGET_S', 'BENCH_BASELINE_SUBSET'],
  run,
};
