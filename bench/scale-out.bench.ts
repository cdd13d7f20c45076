/**
 * scale-out: the nightly session over a large estate run by `serve` + 2
 * `worker` processes on a PostgreSQL store (WHALEFALL_QUEUE=pg-boss), each
 * working at concurrency 16 — and the same with one worker SIGKILLed once 30 %
 * of the records are done.
 *
 * The instances (default 2,000; `--instances N` or BENCH_INSTANCES) are the
 * pg-responder (test/helpers/pg-responder.ts, replaying the local server's
 * databases) behind a latency proxy adding 50 ms each way, in a process of
 * their own (bench/network.child.ts). Each case gets a fresh store database
 * on the local PostgreSQL and fresh processes.
 *
 * Ideal wall time = instances × floor / (3 processes × 16), floor = one
 * instance synced alone through the proxy (bench/estate-sync.bench.ts's
 * latencyFloor). Targets: ≤ 1.3 × ideal without faults, ≤ 1.5 × ideal with
 * the kill. Measured too: the store's connections (pg_stat_activity of the
 * store database, sampled every 250 ms) and each process's resident memory
 * (/proc/PID/status VmRSS, sampled every 250 ms; peaks reported).
 *
 * BENCH_SCALE_OUT_PROF=<dir>: the three processes run with --cpu-prof into
 * <dir> (a profile each per case, written as they stop; summarise with
 * `npx tsx bench/profile-summary.ts <file> --last S`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { createLogger } from '../src/lib/logger.js';
import type { Actor } from '../src/services/audit.service.js';
import { startWhalefall, type Proc } from '../test/helpers/procs.js';
import { envInt, int, mb, onInterrupt, ratio, sec, type Cell, type Report, type Scenario } from './common.js';
import { latencyFloor, serverFacts } from './estate-sync.bench.js';
import { startNetwork, type Network } from './network.js';
import { machineCpu, machineShares, serviceNodeArgs } from './serve.js';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const actor: Actor = { userId: null, username: 'bench' };
const PROCESSES = ['serve', 'worker 1', 'worker 2'] as const;

interface CaseResult {
  wallMs: number;
  /** Until every job was queued (startMany returned). */
  queuedMs: number;
  completed: number;
  byStatus: Record<string, number>;
  storeConnsPeak: number;
  rssPeak: Record<string, number>;
  /** CPU seconds (user + system) each process and the store's backends spent from startMany to the session's end. */
  cpuSec: Record<string, number>;
  /** The share of the cores' time the hypervisor took for other guests over the session (/proc/stat's steal, 0–1). */
  stolen: number;
  killedAt?: number;
  byProcess: Record<string, number>;
  /** Median and p95 of a record's own time (started_at → completed_at), ms. */
  recordP50: number;
  recordP95: number;
  /** Most records running at one moment (from their started/completed times). */
  runningPeak: number;
  /** Records running at once on average, first start to last end. */
  runningMean: number;
  /** Statements the 3 processes sent to the store (their pools and pg-boss's), by first words; filled once they exited. */
  statements: Record<string, number>;
  /** Of those, the ones sent as named prepared statements. */
  named: Record<string, number>;
}

/** The counts the processes' preload (count-statements.mjs) wrote as they exited, summed (`named`: of those sent named). */
function readStatementCounts(dir: string, which: 'stmts' | 'stmts-named' = 'stmts'): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const f of fs.readdirSync(dir).filter((x) => x.startsWith(`${which}.`))) {
    for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, number>)) sum[k] = (sum[k] ?? 0) + v;
  }
  return sum;
}

/** `serve 4.1, worker 1 3.9, …, store 6.0` */
const cpuLine = (r: CaseResult) => [...PROCESSES, 'store', 'network', 'bench'].map((p) => `${p} ${(r.cpuSec[p] ?? 0).toFixed(1)}`).join(', ');

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** How long records ran and how many ran at once: whether a slow session is slow records or too few at a time. */
function recordTimes(recs: { started_at: string | null; completed_at: string | null }[]) {
  const spans = recs.filter((r) => r.started_at && r.completed_at).map((r) => [Date.parse(r.started_at!), Date.parse(r.completed_at!)] as const);
  const d = spans.map(([a, b]) => b - a).sort((x, y) => x - y);
  const q = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? 0;
  const edges = spans
    .flatMap(
      ([a, b]) =>
        [
          [a, 1],
          [b, -1],
        ] as const,
    )
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let running = 0;
  let runningPeak = 0;
  for (const [, step] of edges) runningPeak = Math.max(runningPeak, (running += step));
  // Mean over the session's span (first start to last end): the places that were working on average.
  const span = edges.length ? edges[edges.length - 1]![0] - edges[0]![0] : 0;
  const runningMean = span > 0 ? d.reduce((a, b) => a + b, 0) / span : 0;
  return { recordP50: q(0.5), recordP95: q(0.95), runningPeak, runningMean };
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone (the killed worker)
  }
}

/** CPU seconds (utime + stime, /proc/PID/stat) a process has used so far; 0 when it is gone. */
function cpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // fields 14 and 15 (clock ticks; 100 a second on Linux)
  } catch {
    return 0;
  }
}

/** CPU seconds so far of each process, the network child and this bench, and (summed over its backends) of the store database's PostgreSQL backends. */
async function cpuNow(procs: Proc[], net: Network, sampler: pg.Client, dbName: string): Promise<Record<string, number>> {
  const out: Record<string, number> = { network: cpuOf(net.pid), bench: cpuOf(process.pid) };
  procs.forEach((p, i) => (out[PROCESSES[i]!] = cpuOf(p.child.pid)));
  const backends = await sampler.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName]);
  for (const b of backends.rows) out[`pg:${b.pid}`] = cpuOf(b.pid);
  return out;
}

/** CPU spent between two `cpuNow`s: per process, and the store's backends together (one that ended meanwhile is left out). */
function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { store: 0 };
  for (const [k, v] of Object.entries(after)) {
    if (k.startsWith('pg:')) out.store! += v - (before[k] ?? 0);
    else out[k] = v - (before[k] ?? 0);
  }
  return out;
}

/** One case: a fresh store, `n` instances, serve + 2 workers; `killAt` (0–1): SIGKILL worker 1 once that share is done. */
async function runCase(net: Network, n: number, concurrency: number, killAt?: number): Promise<CaseResult> {
  const dbName = `wf_bench_scaleout_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ ...PG, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const drop = async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
  };
  const procs: Proc[] = [];
  const unregister = onInterrupt(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await drop();
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-scaleout-'));
  let ctx: Context | undefined;
  const statements: Record<string, number> = {};
  const named: Record<string, number> = {};
  try {
    const env = {
      // The service units' node flags; every statement each process sends, counted (a killed worker's counts die with it: the no-fault case is the measure).
      NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', ...serviceNodeArgs(), '--import', path.resolve('bench/count-statements.mjs')].join(' ').trim(),
      WF_COUNT_STATEMENTS_FILE: path.join(dataDir, 'stmts'),
      DATABASE_URL: `postgres://${PG.user}@${PG.host}:${PG.port}/${dbName}`,
      WHALEFALL_QUEUE: 'pg-boss',
      WHALEFALL_SECRET_KEY: randomBytes(32).toString('hex'),
      WHALEFALL_TZ: 'UTC',
      WHALEFALL_DATA_DIR: dataDir,
      WHALEFALL_SCHEDULER: 'off',
      // sync_concurrency is estate-wide (store-side slots), 48, and shared among the processes that work jobs: 16 each
      // while all three live, 24 each for the two left once one is killed (docs/operations.md, "Estate-wide concurrency").
      WHALEFALL_SYNC_CONCURRENCY: String(concurrency * PROCESSES.length),
    };
    ctx = await createContext(loadConfig({ ...env, LOG_LEVEL: 'warn' }), { logger: createLogger('warn', process.stderr) });
    const cred = await ctx.credentials.create({ name: 'bench-pg', db_type: 'postgresql', username: PG.user, password: '' }, actor);
    for (let i = 1; i <= n; i++) {
      await ctx.instances.create(
        { name: `pg-${String(i).padStart(5, '0')}`, db_type: 'postgresql', host: net.host, port: net.port, credential_id: cred.id, tags: ['bench'] },
        actor,
      );
    }
    // BENCH_SCALE_OUT_PROF: a CPU profile of each process (not allowed in NODE_OPTIONS), written as it stops.
    const prof = process.env.BENCH_SCALE_OUT_PROF;
    const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(prof)}`] : [];
    procs.push(startWhalefall('serve', env, [], nodeArgs), startWhalefall('worker', env, [], nodeArgs), startWhalefall('worker', env, [], nodeArgs));
    await Promise.all(procs.map((p) => p.port));
    // Each process reads the list of live ones at start and every 2 s: the ones started first learn of the others (and
    // lower their share to 16) within that. A nightly tick finds its processes running long before; so does this session.
    await new Promise((r) => setTimeout(r, 3_000));

    const rssPeak: Record<string, number> = {};
    // The last CPU reading of each process while it lived (the killed worker's ends with it).
    const cpuLast: Record<string, number> = {};
    let storeConnsPeak = 0;
    const sampler = new pg.Client({ ...PG, database: 'postgres' });
    await sampler.connect();
    let sampling = true;
    const samples = (async () => {
      while (sampling) {
        const r = await sampler
          .query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [dbName])
          .catch(() => ({ rows: [{ n: '0' }] }));
        storeConnsPeak = Math.max(storeConnsPeak, Number(r.rows[0]!.n));
        procs.forEach((p, i) => {
          rssPeak[PROCESSES[i]!] = Math.max(rssPeak[PROCESSES[i]!] ?? 0, rssOf(p.child.pid));
          cpuLast[PROCESSES[i]!] = Math.max(cpuLast[PROCESSES[i]!] ?? 0, cpuOf(p.child.pid));
        });
        await new Promise((r2) => setTimeout(r2, 250));
      }
    })();

    const cpu0 = await cpuNow(procs, net, sampler, dbName);
    const machine0 = machineCpu();
    const t0 = performance.now();
    const s = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    const queuedMs = performance.now() - t0;
    s.done.catch(() => {});
    let killedAt: number | undefined;
    for (;;) {
      const session = await ctx.repos.sync.getSession(s.session_id);
      if (session && session.status !== 'running') break;
      if (killAt !== undefined && killedAt === undefined) {
        const done = (await ctx.repos.sync.records(s.session_id)).filter((r) => r.status === 'completed').length;
        if (done >= killAt * n) {
          procs[1]!.child.kill('SIGKILL');
          killedAt = performance.now() - t0;
          console.log(`  worker 1 SIGKILLed at ${sec(killedAt)} s (${done} of ${n} done)`);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const wallMs = performance.now() - t0;
    const { stolen } = machineShares(machine0, machineCpu());
    sampling = false;
    await samples;
    const cpu1 = await cpuNow(procs, net, sampler, dbName);
    for (const p of PROCESSES) cpu1[p] = Math.max(cpu1[p]!, cpuLast[p] ?? 0);
    const cpuSec = cpuSpent(cpu0, cpu1);
    await sampler.end();
    const recs = await ctx.repos.sync.records(s.session_id);
    const byStatus = recs.reduce<Record<string, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    const pidName = new Map(procs.map((p, i) => [String(p.child.pid), PROCESSES[i]!]));
    const byProcess = recs.reduce<Record<string, number>>((m, r) => {
      const who = pidName.get(r.holder?.split(':')[1] ?? '') ?? '?';
      return { ...m, [who]: (m[who] ?? 0) + 1 };
    }, {});
    return {
      wallMs,
      queuedMs,
      completed: byStatus.completed ?? 0,
      byStatus,
      storeConnsPeak,
      rssPeak,
      cpuSec,
      stolen,
      killedAt,
      byProcess,
      ...recordTimes(recs),
      statements,
      named,
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exit));
    // BENCH_LOG_DIR: keep each process's log lines (what a slow case spent its time on).
    const logDir = process.env.BENCH_LOG_DIR;
    if (logDir) {
      fs.mkdirSync(logDir, { recursive: true });
      procs.forEach((p, i) =>
        fs.writeFileSync(path.join(logDir, `${killAt === undefined ? 'plain' : 'killed'}-${PROCESSES[i]!.replace(' ', '')}.log`), p.stdout().join('\n')),
      );
    }
    Object.assign(statements, readStatementCounts(dataDir));
    Object.assign(named, readStatementCounts(dataDir, 'stmts-named'));
    await ctx?.close();
    await drop();
    unregister();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const scaleOut: Scenario = {
  summary:
    "The nightly session on a PostgreSQL store run by `serve` + 2 `worker` processes at concurrency 16 each (pg-boss; the estate's sync_concurrency 48 shared among them), against the ideal (instances × floor / 48); and the same with one worker SIGKILLed at 30 % (BENCH_KILL_AT), after which the two left share the 48.",
  env: ['BENCH_INSTANCES', 'BENCH_DELAY_MS', 'BENCH_CONCURRENCY', 'BENCH_KILL_AT', 'BENCH_LOG_DIR', 'BENCH_SCALE_OUT_PROF'],
  async run(): Promise<Report> {
    const n = envInt('BENCH_INSTANCES', 2000);
    const delayMs = envInt('BENCH_DELAY_MS', 50);
    const concurrency = envInt('BENCH_CONCURRENCY', 16);
    // Percent of the records done when worker 1 is killed.
    const killAt = envInt('BENCH_KILL_AT', 30);
    const facts = await serverFacts();
    const net = await startNetwork({ delayMs, target: { fake: facts } });
    try {
      const floor = await latencyFloor(net, 5);
      const ideal = (n * floor.syncMs) / Math.min(n, PROCESSES.length * concurrency);
      console.log(`  floor ${floor.syncMs.toFixed(0)} ms; ideal ${sec(ideal)} s`);
      const plain = await runCase(net, n, concurrency);
      console.log(`  no fault: ${sec(plain.wallMs)} s; ${(total(plain.statements) / n).toFixed(1)} store statements per record`);
      console.log(`  CPU s over the session: ${cpuLine(plain)}`);
      for (const [k, v] of Object.entries(plain.statements)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25))
        console.log(`    ${(v / n).toFixed(2).padStart(6)}  ${`${Math.round(((plain.named[k] ?? 0) / v) * 100)} % named`.padStart(12)}  ${k}`);
      const killed = await runCase(net, n, concurrency, killAt / 100);
      console.log(`  worker killed at ${killAt} %: ${sec(killed.wallMs)} s; CPU s: ${cpuLine(killed)}`);
      const row = (label: string, r: CaseResult, target: number): Cell[] => [
        label,
        int(n),
        sec(r.wallMs),
        sec(r.queuedMs),
        sec(ideal),
        ratio(r.wallMs / ideal),
        `≤ ${target.toFixed(2)} ${r.wallMs / ideal <= target ? 'met' : 'MISSED'}`,
        `${int(r.recordP50)} / ${int(r.recordP95)}`,
        `${r.runningPeak} / ${r.runningMean.toFixed(1)}`,
        r.killedAt === undefined ? (total(r.statements) / n).toFixed(1) : '–',
        [...PROCESSES, 'store'].map((p) => (r.cpuSec[p] ?? 0).toFixed(1)).join(' / '),
        r.storeConnsPeak,
        PROCESSES.map((p) => mb(r.rssPeak[p] ?? 0)).join(' / '),
        PROCESSES.map((p) => r.byProcess[p] ?? 0).join(' / '),
        Object.entries(r.byStatus)
          .map(([k, v]) => `${v} ${k}`)
          .join(', '),
      ];
      // What the measured CPU allows on this machine: all of it (the 3 processes, the store, the network child, this
      // bench) spread over the cores' time the hypervisor left it (a shared host takes some: /proc/stat's steal).
      const cores = os.cpus().length;
      const given = cores * (1 - Math.min(0.95, plain.stolen));
      const cpuAll = Object.values(plain.cpuSec).reduce((a, b) => a + b, 0);
      const cpuFloor = (cpuAll / given) * 1000;
      const failed = plain.completed !== n || killed.completed !== n || floor.failures.length > 0;
      return {
        servers: {
          PostgreSQL: `${facts.version} (the store)`,
          'fake server': `pg-responder replaying that server's ${facts.databases.length} databases, +${delayMs} ms each way`,
        },
        parameters: {
          instances: n,
          processes: 'serve + 2 workers',
          concurrency_per_process: `${concurrency} (sync_concurrency ${concurrency * PROCESSES.length} shared; ${Math.ceil((concurrency * PROCESSES.length) / 2)} each after the kill)`,
          delay_ms: delayMs,
          kill_at: `${killAt} %`,
          lease_ms: 'default (45000)',
          heartbeat_ms: 'default (15000)',
        },
        columns: [
          'case',
          'instances',
          'wall s',
          'of which queueing s',
          'ideal s',
          'wall / ideal',
          'target',
          'record ms p50 / p95',
          'records running at once (peak / mean)',
          'store statements per record',
          'CPU s serve / w1 / w2 / store',
          'store conns peak',
          'RSS MB serve / w1 / w2 (peak)',
          'records serve / w1 / w2',
          'records',
        ],
        rows: [row('no fault', plain, 1.3), row(`worker 1 SIGKILLed at ${killAt} % (${sec(killed.killedAt ?? 0)} s)`, killed, 1.5)],
        notes: [
          "Record ms: a record's own time, started_at → completed_at (connect, collect, save); records running at once: the most whose spans overlap, and the mean (the records' summed time over the span from the first start to the last end). Slow records = the work itself (store, CPU); few at once = admission or fetching.",
          `Floor: one instance synced alone through the proxy ${floor.syncMs.toFixed(0)} ms (bare engine ${floor.engineMs.toFixed(0)} ms); ideal = ${n} × floor / ${Math.min(n, PROCESSES.length * concurrency)} = ${sec(ideal)} s.`,
          "Store statements per record: every statement the 3 processes sent to the store (store pools and pg-boss, polls and heartbeats included) over the session, divided by the records; counted by bench/count-statements.mjs preloaded into them (no-fault case only: the killed worker's counts die with it).",
          "CPU s: user + system time (/proc/PID/stat) each process spent from startMany to the session's end, and the store database's PostgreSQL backends together (those alive at the end); printed, not in the table: the network child (responder and proxy) and this bench process, which share the 2 cores.",
          "Store connections: every backend of the store database in pg_stat_activity (the 3 processes' store and pg-boss pools plus this bench's own context), peak of 250 ms samples. Budget: 3 × (6 + 2) + the bench's own.",
          "All processes run on this one machine, so the killed worker's records (and the jobs it had fetched) are recovered as soon as another process sees its pid gone (each watches the pids of the processes on its host every second); on separate machines its locks must expire first (lease 45 s after its last heartbeat).",
          `CPU floor (no fault): the CPU measured over the session, every process's and the store's, the network child and this bench included, was ${cpuAll.toFixed(1)} s (${((cpuAll * 1000) / n).toFixed(1)} ms a record); on ${cores} cores${plain.stolen >= 0.005 ? `, of which the hypervisor gave it ${given.toFixed(1)} (it took ${(plain.stolen * 100).toFixed(0)} % of their time for other guests on the host)` : ''}, the session cannot take less than ${sec(cpuFloor)} s, ${ratio(cpuFloor / ideal)}× the ideal, whatever the waits. The ideal counts only the network's delay; a target below that floor needs less CPU a record (docs/benchmarks-notes.md, session 11).`,
          ...floor.failures,
        ],
        failed,
      };
    } finally {
      await net.close();
    }
  },
};
