/**
 * What one sync record costs the process that runs it: CPU ms per record and
 * store statements per record, for an in-process batch (`syncMany`) over
 * the PostgreSQL wire responder behind the +50 ms proxy (as `api-path` runs
 * it), on a fresh SQLite or PostgreSQL store, logging at info into nothing.
 * A development tool, not a scenario (it writes nothing to BENCHMARKS.md):
 *
 *   npx tsx bench/record-cost.ts [sqlite|postgresql] [instances=500] [concurrency=32] [--prof out.cpuprofile]
 *
 * A warm-up batch (a fifth of the size, other instances) runs first, so the
 * figures are a warm process's. Statements are counted where they reach the
 * store: better-sqlite3's Statement#run/all/get/iterate, or pg's
 * Client#query on the store's database (the engine's queries to the
 * responder go through pg too, and are left out). On PostgreSQL, the CPU of
 * the store database's backends over the batch too. `--prof`: a CPU profile of
 * the measured batch only (node:inspector), summarised by
 * `npx tsx bench/profile-summary.ts out.cpuprofile`. The batch is also printed as waves of `c` records (start
 * offsets, mean duration): the first waves' burst and the tail a small batch pays.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { createLogger } from '../src/lib/logger.js';
import type { Database } from '../src/store/schema.js';
import { pgAdmin, uniqueName } from '../test/helpers/targets.js';
import type { ServerFacts } from './network.child.js';
import { startNetwork } from './network.js';
import { insertBenchInstances } from './common.js';
import { machineCpu, machineShares, procCpuMs } from './serve.js';

/** CPU ms of each of this process's threads, by thread id, with its name (/proc/self/task/<tid>/comm). */
function threadCpu(): Map<string, { name: string; ms: number }> {
  const out = new Map<string, { name: string; ms: number }>();
  for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const name = fs.readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, ms: procCpuMs(process.pid, Number(tid)) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

const actor = { userId: null, username: 'bench' };

/** CPU ms so far of each PostgreSQL backend connected to the store database, by pid (none on SQLite). */
async function storeCpu(db: Kysely<Database>, dbName: string | undefined): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!dbName) return out;
  const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = ${dbName}`.execute(db);
  for (const { pid } of rows) {
    try {
      out.set(pid, procCpuMs(pid));
    } catch {
      // The backend ended between the listing and the read.
    }
  }
  return out;
}

// Output piped into `head` closes early: the run must still drop its store database (a leftover one of ~20 MB
// outranked test/metrics/metrics.test.ts's 30,000-row database on the shared server).
process.stdout.on('error', () => {});

const args = process.argv.slice(2);
const profAt = args.indexOf('--prof');
const profFile = profAt >= 0 ? args.splice(profAt, 2)[1] : undefined;
const heapAt = args.indexOf('--heap');
const heapFile = heapAt >= 0 ? args.splice(heapAt, 2)[1] : undefined;
const kind = (args[0] ?? 'sqlite') as 'sqlite' | 'postgresql';
const n = Number(args[1] ?? 500);
const c = Number(args[2] ?? 32);
const warm = Math.max(32, Math.round(n / 5));

/** Statements by their first words, and the synchronous time spent in them (SQLite: the whole statement; pg: sending it). */
const counts = new Map<string, number>();
const times = new Map<string, number>();
let counting = false;
const keys = new Map<string, string>();
/** The statement's first words; cached by text, so the counting costs the measured process next to nothing. */
function keyOf(sql: string): string {
  let key = keys.get(sql);
  if (key === undefined) {
    key = sql.replace(/\s+/g, ' ').trim().slice(0, 100);
    if (keys.size < 10_000) keys.set(sql, key);
  }
  return key;
}
function counted<T>(sql: string, fn: () => T): T {
  if (!counting) return fn();
  const key = keyOf(sql);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
  }
}

function countSqlite(): void {
  const probe = new SQLite(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  for (const m of ['run', 'all', 'get', 'iterate']) {
    const orig = proto[m]!;
    proto[m] = function (this: { source: string }, ...a: unknown[]) {
      return counted(this.source, () => orig.apply(this, a));
    };
  }
}

function countPg(database: string): void {
  const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: unknown }).query = function (this: { database: string }, config: unknown, ...rest: unknown[]) {
    if (this.database !== database) return query.call(this, config, ...rest);
    return counted(typeof config === 'string' ? config : ((config as { text?: string })?.text ?? ''), () => query.call(this, config, ...rest));
  };
}

function facts(dbs: number): ServerFacts {
  return {
    version: '15.4',
    maxConnections: 10_000,
    databases: Array.from({ length: dbs }, (_, i) => ({
      oid: 16_384 + i,
      datname: i === 0 ? 'postgres' : `app_${i}`,
      size: String((i + 1) * 37_000_000 + 8192 * i),
    })),
  };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-record-cost-'));
  const env: Record<string, string> = {
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_SCHEDULER: 'off',
    WHALEFALL_DISCOVERY: 'off',
    WHALEFALL_CONNECTIONS_TOTAL: '4096',
    WHALEFALL_SYNC_CONCURRENCY: String(c),
    // Passed through, to compare with prepared statements off (on by default).
    ...(process.env.WHALEFALL_STORE_PREPARE ? { WHALEFALL_STORE_PREPARE: process.env.WHALEFALL_STORE_PREPARE } : {}),
  };
  let dbName: string | undefined;
  if (kind === 'postgresql') {
    dbName = uniqueName('reccost');
    const admin = await pgAdmin();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    env.DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${dbName}`;
    countPg(dbName);
  } else countSqlite();
  const net = await startNetwork({ delayMs: 50, target: { fake: facts(5) } });
  const discard = new Writable({ write: (_c, _e, cb) => cb() });
  const ctx = await createContext(loadConfig(env), { logger: createLogger('info', discard) });
  try {
    const cred = await ctx.credentials.create({ name: 'bench-pg', db_type: 'postgresql', username: 'postgres', password: 'bench-pw' }, actor);
    await insertBenchInstances(ctx.store.db, {
      n: n + warm,
      host: net.host,
      port: net.port,
      credentialId: cred.id,
      name: (i) => `pg-${String(i + 1).padStart(5, '0')}`,
    });
    const ids = (await ctx.store.db.selectFrom('instances').select('id').orderBy('id').execute()).map((r) => r.id);
    await ctx.capacitySync.syncMany(ids.slice(0, warm), { syncType: 'manual_batch', actor });
    await ctx.alerts.idle();

    const session = profFile ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    }
    const heapSession = heapFile ? new Session() : undefined;
    if (heapSession) {
      heapSession.connect();
      await heapSession.post('HeapProfiler.enable');
      await heapSession.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
    // Before the counting starts and after it ends: its own query is not the batch's.
    const store0 = await storeCpu(ctx.store.db, dbName);
    counting = true;
    const cpu0 = process.cpuUsage();
    const main0 = procCpuMs(process.pid, true);
    const threads0 = threadCpu();
    const net0 = procCpuMs(net.pid!);
    await net.loop();
    const ownDelay = monitorEventLoopDelay({ resolution: 2 });
    ownDelay.enable();
    const machine0 = machineCpu();
    const t0 = performance.now();
    const done = await ctx.capacitySync.syncMany(ids.slice(warm), { syncType: 'manual_batch', actor });
    await ctx.alerts.idle();
    const wall = performance.now() - t0;
    const { stolen } = machineShares(machine0, machineCpu());
    const cpu = process.cpuUsage(cpu0);
    const mainMs = procCpuMs(process.pid, true) - main0;
    const threads1 = threadCpu();
    const netCpu = procCpuMs(net.pid!) - net0;
    const netLoop = await net.loop();
    ownDelay.disable();
    counting = false;
    const store1 = await storeCpu(ctx.store.db, dbName);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(profFile!, JSON.stringify(profile));
      session.disconnect();
    }
    const byName = new Map<string, number>();
    for (const [tid, t] of threads1) {
      const name = tid === String(process.pid) ? 'main' : `${t.name}:${tid}`;
      byName.set(name, (byName.get(name) ?? 0) + t.ms - (threads0.get(tid)?.ms ?? 0));
    }
    if (heapSession) {
      const { profile } = await heapSession.post('HeapProfiler.stopSampling');
      fs.writeFileSync(heapFile!, JSON.stringify(profile));
      heapSession.disconnect();
    }
    const ok = done.outcomes.filter((o) => o.status === 'completed').length;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `${kind} n=${n} c=${c}: ${done.status}, ${ok}/${n} completed; wall ${(wall / 1000).toFixed(2)} s; CPU ${(cpuMs / 1000).toFixed(2)} s = ${(cpuMs / n).toFixed(2)} ms/record (user ${(cpu.user / 1000 / n).toFixed(2)}, system ${(cpu.system / 1000 / n).toFixed(2)}; the JavaScript thread ${(mainMs / n).toFixed(2)}); statements ${(total / n).toFixed(2)}/record; load ${os.loadavg()[0]!.toFixed(2)}; stolen by the hypervisor ${(stolen * 100).toFixed(1)} % of the cores' time`,
    );
    const durations = done.outcomes.map((o) => o.duration_ms).sort((a, b) => a - b);
    const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))];
    console.log(
      `  by thread (ms/record): ${[...byName]
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${(ms / n).toFixed(2)}`)
        .join(', ')}`,
    );
    console.log(
      `  record duration p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms; the network child (responder and proxy) ${(netCpu / 1000).toFixed(2)} s CPU = ${(netCpu / n).toFixed(2)} ms/record, its loop ${Math.round(netLoop.busy * 100)} % busy, late p50 ${netLoop.delayP50Ms.toFixed(1)} / p99 ${netLoop.delayP99Ms.toFixed(1)} ms; this process's loop late p99 ${(ownDelay.percentile(99) / 1e6 - 2).toFixed(1)} ms`,
    );
    if (dbName) {
      // Backends alive at both readings: the store pool keeps its connections through the batch.
      let ms = 0;
      for (const [pid, t] of store1) ms += t - (store0.get(pid) ?? t);
      console.log(`  the store's PostgreSQL backends ${(ms / 1000).toFixed(2)} s CPU = ${(ms / n).toFixed(2)} ms/record (${store1.size} backends)`);
    }
    console.log(`  ${await waves(ctx.store.db, done.session_id, c, wall)}`);
    console.log('  per record: statements, ms spent in the call');
    for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1]))
      console.log(`  ${(v / n).toFixed(2).padStart(6)} ${((times.get(k) ?? 0) / n).toFixed(3).padStart(7)}  ${k}`);
  } finally {
    await ctx.close();
    await net.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (dbName) {
      const admin = await pgAdmin();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }
}

/**
 * The batch as waves of `c` records in the order they started: each wave's start offsets (from the session's start)
 * and its records' mean duration (lock to completion), then when the last record and the session ended. Shows the
 * first waves' burst (records started together contend for the loop) and the tail (the last, partial wave).
 */
async function waves(db: Awaited<ReturnType<typeof createContext>>['store']['db'], sessionId: string, c: number, wallMs: number): Promise<string> {
  const ms = (x: unknown) => new Date(x as string).getTime();
  const recs = await db
    .selectFrom('sync_instance_records')
    .select(['started_at', 'completed_at'])
    .where('session_id', '=', sessionId)
    .orderBy('started_at')
    .execute();
  const sess = await db.selectFrom('sync_sessions').select(['started_at', 'completed_at']).where('session_id', '=', sessionId).executeTakeFirstOrThrow();
  const s0 = ms(sess.started_at);
  const parts: string[] = [];
  for (let w = 0; w * c < recs.length; w++) {
    const part = recs.slice(w * c, (w + 1) * c);
    const mean = part.reduce((a, r) => a + ms(r.completed_at) - ms(r.started_at), 0) / part.length;
    parts.push(`${ms(part[0]!.started_at) - s0}-${ms(part.at(-1)!.started_at) - s0}:${Math.round(mean)}`);
  }
  const last = Math.max(...recs.map((r) => ms(r.completed_at)));
  return `waves of ${c} (started ms after the session's start: mean duration ms) ${parts.join(' ')}; last record done at ${last - s0} ms, session closed at ${ms(sess.completed_at) - s0} ms, the batch (syncMany, then the alerts it raised) took ${Math.round(wallMs)} ms`;
}

await main();
