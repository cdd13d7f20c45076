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
 *
 * Then the same again (ours and the baseline) with a fake server: the
 * pg-responder (test/helpers/pg-responder.ts) behind its own latency proxy (the proxies and the responder in a child process: bench/network.child.ts),
 * replaying the real server's databases. It costs nothing per connection, so
 * those rows measure the sync service's own overhead, not PostgreSQL; on a
 * small machine the real server's backend forks, not the service, set the pace.
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
import type { ServerFacts } from './network.child.js';
import { startNetwork, type Network } from './network.js';
import type { Cell, Report, Scenario } from './common.js';

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
async function newEstate(proxy: Network, n: number, concurrency: number): Promise<Estate> {
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
async function batchRun(proxy: Network, n: number, concurrency: number): Promise<RunResult> {
  const estate = await newEstate(proxy, n, concurrency);
  try {
    const m = await measure(() => estate.ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor }));
    const done = m.value;
    const byStatus: Record<string, number> = {};
    for (const rec of await estate.ctx.repos.sync.records(done.session_id)) byStatus[rec.status] = (byStatus[rec.status] ?? 0) + 1;
    const r = { concurrency, instances: n, wallMs: m.wallMs, peakRss: m.peakRss, elu: m.elu, cpuMs: m.cpuMs, status: done.status, byStatus };
    console.log(
      `  syncMany c=${concurrency} n=${n}: ${sec(m.wallMs)} s, peak RSS ${mb(m.peakRss)} MB, loop busy ${pct(m.elu)}, CPU ${sec(m.cpuMs)} s, session ${done.status}, records: ${describeRecords(r)}`,
    );
    return r;
  } finally {
    await estate.close();
  }
}

/** The floor: one instance synced alone through the proxy, and the bare engine round trips under it. */
export async function latencyFloor(proxy: Network, samples: number): Promise<{ syncMs: number; engineMs: number; failures: string[] }> {
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

const pgTarget = (port: number) => ({
  host: PG.host,
  port,
  database: null,
  username: PG.user,
  password: '',
  options: {},
  connectTimeoutMs: 10_000,
  queryTimeoutMs: 30_000,
});

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
  console.log(
    `  bare engine port ${port} c=${c} n=${n}: ${sec(m.wallMs)} s, loop busy ${pct(m.elu)}, CPU ${sec(m.cpuMs)} s${failed ? `, ${failed} FAILED` : ''}`,
  );
  return { ...m, value: failed };
}

export async function serverFacts(): Promise<ServerFacts> {
  const c = new pg.Client({ ...PG, database: 'postgres' });
  await c.connect();
  try {
    const v = await c.query<{ server_version: string }>('SHOW server_version');
    const m = await c.query<{ max_connections: string }>('SHOW max_connections');
    const d = await c.query<{ oid: number; datname: string; size: string }>(
      'SELECT oid, datname, pg_database_size(oid) AS size FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname',
    );
    return { version: v.rows[0]!.server_version, maxConnections: Number(m.rows[0]!.max_connections), databases: d.rows };
  } finally {
    await c.end();
  }
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const sec = (ms: number) => (ms / 1000).toFixed(2);
const ratio = (x: number) => x.toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)} %`;

interface Settings {
  N: number;
  ours: number;
  runs: number;
  budgetS: number;
  subset: number;
}

/** Everything measured against one target (the real server or the fake one), each through its own latency proxy. */
interface TargetResult {
  floor: { syncMs: number; engineMs: number };
  floorBefore: number;
  floorAfter: number;
  ideal: (c: number) => number;
  baseline: RunResult;
  baselineN: number;
  baselineWall: number;
  results: Map<number, RunResult[]>;
  oursWall: number;
  bareProxied: Measured<number>;
  bareDirect: Measured<number>;
  failures: string[];
  rows: Cell[][];
}

async function measureTarget(label: string, proxy: Network, directPort: number, concurrencies: number[], s: Settings): Promise<TargetResult> {
  const { N, ours, runs, budgetS, subset } = s;
  console.log(`  [${label}] proxy 127.0.0.1:${proxy.port} → 127.0.0.1:${directPort}`);
  const floorBefore = await latencyFloor(proxy, 5);
  console.log(`  [${label}] floor before: sync ${floorBefore.syncMs.toFixed(0)} ms, engine alone ${floorBefore.engineMs.toFixed(0)} ms`);

  // Several runs each (cheap); medians below.
  const results = new Map<number, RunResult[]>();
  for (let i = 0; i < runs; i++) {
    for (const c of concurrencies) results.set(c, [...(results.get(c) ?? []), await batchRun(proxy, N, c)]);
  }
  // Diagnostics at our concurrency: the same connections without the service, through the proxy and straight to the server.
  const bareProxied = await bareEngine(proxy.port, N, ours);
  const bareDirect = await bareEngine(directPort, N, ours);

  const floorAfter = await latencyFloor(proxy, 5);
  console.log(`  [${label}] floor after: sync ${floorAfter.syncMs.toFixed(0)} ms, engine alone ${floorAfter.engineMs.toFixed(0)} ms`);
  const floor = floorAfter.syncMs < floorBefore.syncMs ? floorAfter : floorBefore;
  const ideal = (c: number) => (N * floor.syncMs) / Math.min(c, N);

  // The baseline is one run; a subset scaled linearly when the full loop would outlast the budget.
  const baselineN = ideal(1) / 1000 > budgetS ? subset : N;
  const baseline = await batchRun(proxy, baselineN, 1);
  const baselineWall = (baseline.wallMs * N) / baselineN;

  const all = [baseline, ...[...results.values()].flat()];
  const failures = [
    ...all.filter((r) => !recordsOk(r)).map((r) => `${label}: syncMany c=${r.concurrency} n=${r.instances}: ${describeRecords(r)} (session ${r.status})`),
    ...[...floorBefore.failures, ...floorAfter.failures].map((f) => `${label}: ${f}`),
    ...(bareProxied.value + bareDirect.value ? [`${label}: ${bareProxied.value + bareDirect.value} bare-engine connections failed`] : []),
  ];
  const rows: Cell[][] = [];
  rows.push([
    `${label} — baseline: sequential (c=1)${baselineN !== N ? `, measured on ${baselineN}, ×${N / baselineN} scaled` : ''}`,
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
      `${label} — ${c === ours ? 'ours' : 'default'}: syncMany c=${c}${runs > 1 ? ` (median of ${runs})` : ''}`,
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
  const bareRow = (what: string, m: Measured<number>): Cell[] => [
    `${label} — diagnostic: ${what}`,
    ours,
    sec(m.wallMs),
    '',
    '',
    '',
    pct(m.elu),
    sec(m.cpuMs),
    mb(m.peakRss),
    m.value ? `${m.value} FAILED connections` : `${N} ok`,
  ];
  rows.push(bareRow('bare engine via the proxy (no store, no service)', bareProxied));
  rows.push(bareRow('bare engine direct, no proxy (server ceiling)', bareDirect));

  return {
    floor,
    floorBefore: floorBefore.syncMs,
    floorAfter: floorAfter.syncMs,
    ideal,
    baseline,
    baselineN,
    baselineWall,
    results,
    oursWall: median(results.get(ours)!.map((r) => r.wallMs)),
    bareProxied,
    bareDirect,
    failures,
    rows,
  };
}

const REAL = 'real server';
const FAKE = 'fake server';

async function run(): Promise<Report> {
  const N = envInt('BENCH_INSTANCES', 500);
  const delayMs = envInt('BENCH_DELAY_MS', 50);
  const ours = envInt('BENCH_CONCURRENCY', 32);
  const runs = envInt('BENCH_RUNS', 3);
  const budgetS = envInt('BENCH_BASELINE_BUDGET_S', 360);
  const subset = Math.min(N, envInt('BENCH_BASELINE_SUBSET', 100));
  const settings: Settings = { N, ours, runs, budgetS, subset };
  const defaultConcurrency = loadConfig({}).syncConcurrency;

  const server = await serverFacts();
  if (ours >= server.maxConnections) throw new Error(`BENCH_CONCURRENCY=${ours} would exhaust max_connections=${server.maxConnections}`);
  console.log(`  +${delayMs} ms each way through each proxy`);

  // The real server: ours and the default.
  const concurrencies = [...new Set([ours, defaultConcurrency])];
  let real: TargetResult;
  const proxy = await startNetwork({ delayMs, target: { host: PG.host, port: PG.port } });
  try {
    real = await measureTarget(REAL, proxy, PG.port, concurrencies, settings);
  } finally {
    await proxy.close();
  }

  // The fake server: ours only — it measures the service, which the default's figure would not add to.
  let fake: TargetResult;
  const fakeProxy = await startNetwork({ delayMs, target: { fake: server } });
  try {
    fake = await measureTarget(FAKE, fakeProxy, fakeProxy.targetPort, [ours], settings);
  } finally {
    await fakeProxy.close();
  }

  const oursRss = Math.max(...[...real.results.get(ours)!, ...fake.results.get(ours)!].map((r) => mb(r.peakRss)));
  const realOverhead = real.oursWall / real.ideal(ours);
  const fakeOverhead = fake.oursWall / fake.ideal(ours);
  const reachable = Math.max(real.ideal(ours), real.bareDirect.wallMs);
  const serverBound = real.bareDirect.wallMs > real.ideal(ours) * 1.3;
  const floorNote = (label: string, t: TargetResult) =>
    `${label}: one instance synced alone through the proxy takes ${t.floor.syncMs.toFixed(0)} ms (before the runs: ${t.floorBefore.toFixed(0)} ms, after: ${t.floorAfter.toFixed(0)} ms; the lower is used), ` +
    `the bare engine (connect, collect, close) ${t.floor.engineMs.toFixed(0)} ms; the sequential baseline averaged ${(t.baseline.wallMs / t.baselineN).toFixed(0)} ms per instance`;
  const baselineNote = (label: string, t: TargetResult) =>
    t.baselineN !== N
      ? `${label}: the sequential baseline ran on the first ${t.baselineN} instances only (${N} × floor ≈ ${(t.ideal(1) / 1000).toFixed(0)} s exceeds the ${budgetS} s budget); its wall time is scaled ×${N / t.baselineN} (measured ${sec(t.baseline.wallMs)} s)`
      : `${label}: the sequential baseline ran on all ${N} instances`;
  const runsNote = (label: string, t: TargetResult) =>
    `${label}: ${[...t.results].map(([c, rs]) => `c=${c}: ${rs.map((r) => sec(r.wallMs)).join(', ')}`).join('; ')}; baseline: ${sec(t.baseline.wallMs)}`;
  const failures = [...real.failures, ...fake.failures];

  const notes = [
    `Two targets, each behind its own latency proxy (+${delayMs} ms each way). "${REAL}" rows: the local PostgreSQL ${server.version}, all ${N} "instances" one postmaster. ` +
      `"${FAKE}" rows: the pg-responder (test/helpers/pg-responder.ts), a PostgreSQL wire-protocol stub answering the engine's one query with the real server's ${server.databases.length} databases and sizes — ` +
      "fake server: measures the sync service's own overhead, not PostgreSQL. The real `pg` client talks to it over TCP; it forks nothing and scans no catalog, so a connection costs the server almost nothing. " +
      "The proxies and the responder run in a child process (bench/network.child.ts), as the network and the servers are not in the service's process in a deployment: the CPU and loop-busy columns are the bench process's (the sync service, its store and the pg client) alone; on this 2-core machine the child competes for the cores, not for the event loop.",
    `Latency floor and ideal (ideal = ${N} × floor / concurrency): ${floorNote(REAL, real)}; ${floorNote(FAKE, fake)}.`,
    `Target overhead at c=${ours} (ours / ideal) ≤ 1.30 — ${FAKE} (the sync service's own overhead): ${ratio(fakeOverhead)} — ${fakeOverhead <= 1.3 ? 'met' : 'MISSED'}; ` +
      `${REAL} (the issue's setup, end to end): ${ratio(realOverhead)} — ${realOverhead <= 1.3 ? 'met' : 'MISSED'}.`,
    `Target peak RSS at c=${ours} < 300 MB: ${oursRss} MB — ${oursRss < 300 ? 'met' : 'MISSED'}.`,
    `Server ceiling (${REAL}): ${N} bare connections straight to the local PostgreSQL at c=${ours}, with no proxy, take ${sec(real.bareDirect.wallMs)} s ` +
      `(${(N / (real.bareDirect.wallMs / 1000)).toFixed(0)} connections/s)` +
      (serverBound
        ? `, more than the ${sec(real.ideal(ours))} s latency ideal: at this concurrency the one shared server, not the sync service, sets the pace ` +
          `(one postmaster forking a backend per connection). Ours / max(ideal, server ceiling) = ${ratio(real.oursWall / reachable)}; ` +
          `ours / bare engine through the proxy = ${ratio(real.oursWall / real.bareProxied.wallMs)}.`
        : `, below the ${sec(real.ideal(ours))} s latency ideal: the server is not the limit. Ours / bare engine through the proxy = ${ratio(real.oursWall / real.bareProxied.wallMs)}.`) +
      ` The same ${N} bare connections straight to the ${FAKE} take ${sec(fake.bareDirect.wallMs)} s; through its proxy ${sec(fake.bareProxied.wallMs)} s (ours / that = ${ratio(fake.oursWall / fake.bareProxied.wallMs)}).`,
    '"loop busy" is the event-loop utilisation of this process during the run and "CPU" the CPU time it used (user + system of the bench process: the service, its SQLite store and the pg client; not the proxies and the responder, which run in a child process): ' +
      "loop busy well above CPU / wall means the loop had work but not a core (on a small machine, the server's backends compete for the same cores).",
    `${baselineNote(REAL, real)}; ${baselineNote(FAKE, fake)}.`,
    `Runs in seconds — ${runsNote(REAL, real)}; ${runsNote(FAKE, fake)}.`,
    "Peak RSS is the whole bench process (sampled every 50 ms during the run); runs share one process, so later runs start from earlier runs' heap.",
    failures.length ? `FAILURES: ${failures.join('; ')}.` : 'Every run ended with every sync record completed (counted by status in sync_instance_records).',
  ];
  return {
    servers: { PostgreSQL: server.version, 'fake server': `pg-responder replaying that server's ${server.databases.length} databases` },
    parameters: {
      instances: N,
      'delay each way': `${delayMs} ms`,
      concurrency: `${ours} (ours), ${defaultConcurrency} (default, real server only), 1 (baseline)`,
      runs,
      store: 'SQLite (fresh per run)',
      'PostgreSQL max_connections': server.maxConnections,
    },
    columns: ['run', 'concurrency', 'wall (s)', 'ideal (s)', 'wall / ideal', 'speed-up vs baseline', 'loop busy', 'CPU (s)', 'peak RSS (MB)', 'records'],
    rows: [...real.rows, ...fake.rows],
    notes,
    failed: failures.length > 0,
  };
}

export const estateSync: Scenario = {
  summary:
    "Nightly batch over 500 PostgreSQL instances 50 ms away: `syncMany` at concurrency 32 and 8 against the seed's sequential loop (concurrency 1), " +
    'first against the local server behind a latency proxy ("real server"), then against a wire-protocol stub behind one ("fake server": the sync service\'s own overhead, not PostgreSQL).',
  env: ['BENCH_INSTANCES', 'BENCH_DELAY_MS', 'BENCH_CONCURRENCY', 'BENCH_RUNS', 'BENCH_BASELINE_BUDGET_S', 'BENCH_BASELINE_SUBSET'],
  run,
};
