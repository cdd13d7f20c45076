/**
 * runway: what runs out first across the estate — the runway of every live
 * database (robust fit since the last change point, interval, 90-day
 * backtest) for 20,000 databases (800 instances × 25) with 3 years of daily
 * history, on SQLite and on PostgreSQL; cold (the first request of the day
 * fits everything and keeps the fits in the store, as the nightly task does),
 * a restarted process answering from the kept fits (the "cached per
 * day" target), warm (the day's cache in memory), one instance synced since
 * (its databases refitted), and one database's runway (its series read from
 * the store, then fitted and backtested).
 *
 * The history is generated inside the store (recursive CTE / generate_series):
 * a third of the databases grow linearly, a third are flat with noise, a
 * third are purged half-way through the window and grow again.
 *
 * The defaults are the full size (800 × 25 × 1,095 days = 21.9 M
 * daily rows per store; the report on 5,000 instances). Smaller runs set the
 * BENCH_* sizes and are marked "scaled down" in the notes. BENCH_RUNWAY_STORES
 * (sqlite,postgres) and BENCH_RUNWAY_PARTS (runway,report) pick what runs, so
 * one store's full-size runway can be measured on its own (generating 21.9 M
 * rows takes minutes per store).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { addDays } from '../src/lib/clock.js';
import { runway } from '../src/lib/runway.js';
import { RUNWAY_WINDOW_DAYS, RunwayService } from '../src/services/runway.service.js';
import { CapacityReportService } from '../src/services/capacity-report.service.js';
import { ReportRepository } from '../src/store/report.repository.js';
import { openStore, type Store } from '../src/store/db.js';
import { RunwayRepository } from '../src/store/runway.repository.js';
import { StatisticsRepository } from '../src/store/statistics.repository.js';
import { pgAdmin, uniqueName } from '../test/helpers/targets.js';
import { envInt } from './common.js';
import type { Cell, Report, Scenario } from './common.js';

const INSTANCES = envInt('BENCH_RUNWAY_INSTANCES', 800);
const DB_PER_INSTANCE = envInt('BENCH_RUNWAY_DB_PER_INSTANCE', 25);
const DAYS = envInt('BENCH_RUNWAY_DAYS', 1095);
const RUNS = envInt('BENCH_RUNWAY_RUNS', 20);
const REPORT_INSTANCES = envInt('BENCH_REPORT_INSTANCES', 5000);
const REPORT_DB_PER_INSTANCE = envInt('BENCH_REPORT_DB_PER_INSTANCE', 4);
/** The size: 20,000 databases × 3 years; the report on 5,000 instances. */
const FULL_RUNWAY = INSTANCES * DB_PER_INSTANCE >= 20_000 && DAYS >= 1095;
const FULL_REPORT = REPORT_INSTANCES >= 5000;
const STORES = list('BENCH_RUNWAY_STORES', ['sqlite', 'postgres']);
const PARTS = list('BENCH_RUNWAY_PARTS', ['runway', 'report']);
/** The report reads two months of totals and 90 days of database sizes: 95 days end on the month's last day. */
const REPORT_DAYS = 95;
const REPORT_LAST = '2026-11-30';
const FIRST_DAY = '2024-01-01';
const LAST_DAY = addDays(FIRST_DAY, DAYS - 1);
const STAMP = `${FIRST_DAY}T03:00:00.000Z`;
const ms = (x: number) => Number(x.toFixed(1));

/** A comma list from the environment, each value one of `allowed` (default: all of them). */
function list(name: string, allowed: string[]): string[] {
  const raw = process.env[name];
  if (!raw) return allowed;
  const out = raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = out.filter((x) => !allowed.includes(x));
  if (bad.length || !out.length) throw new Error(`${name} must be a comma list of ${allowed.join(', ')}; got "${raw}"`);
  return out;
}

async function generate(store: Store): Promise<void> {
  const db = store.db;
  // 21.9 M rows go into four indexes: a 1 GiB page cache while generating (the default 2 MiB thrashes), reset before measuring.
  if (store.dialect === 'sqlite') await sql`PRAGMA cache_size = -1048576`.execute(db);
  for (let i = 1; i <= INSTANCES; i += 200) {
    const batch = [];
    for (let k = i; k < Math.min(i + 200, INSTANCES + 1); k++) {
      batch.push({
        name: `inst-${k}`,
        db_type: 'postgresql',
        host: 'h',
        port: 1,
        tags: JSON.stringify([`env-${k % 3}`]),
        options: JSON.stringify({ capacity_limit_bytes: 2 ** 40 }),
        is_active: 1,
        created_at: STAMP,
        updated_at: STAMP,
      });
    }
    await db.insertInto('instances').values(batch).execute();
  }
  const ids = (await db.selectFrom('instances').select('id').orderBy('id').execute()).map((r) => r.id);
  const lifecycle = ids.flatMap((id) =>
    Array.from({ length: DB_PER_INSTANCE }, (_, j) => ({
      instance_id: id,
      database_name: `db_${j}`,
      is_system: 0,
      first_seen_date: FIRST_DAY,
      last_seen_date: LAST_DAY,
      is_deleted: 0,
      deleted_at: null,
      created_at: STAMP,
      updated_at: STAMP,
    })),
  );
  for (let i = 0; i < lifecycle.length; i += 1000)
    await db
      .insertInto('instance_databases')
      .values(lifecycle.slice(i, i + 1000))
      .execute();
  // Shapes by d.id % 3: linear growth; flat with noise; a purge to a third at day DAYS − 90, then growth.
  const purgeDay = DAYS - 90;
  const size = (n: string) =>
    sql.raw(`CASE d.id % 3
      WHEN 0 THEN ((d.id * 7919) % 1000 + 100) * 1048576 + (d.id % 50 + 1) * 102400 * ${n}
      WHEN 1 THEN ((d.id * 7919) % 1000 + 100) * 1048576 + ((d.id * 31 + ${n} * 17) % 100) * 1024
      ELSE CASE WHEN ${n} < ${purgeDay} THEN ((d.id * 7919) % 1000 + 300) * 1048576 + (d.id % 50 + 1) * 102400 * ${n}
                ELSE ((d.id * 7919) % 1000 + 100) * 349525 + (d.id % 50 + 1) * 204800 * (${n} - ${purgeDay}) END END`);
  if (store.dialect === 'sqlite') {
    await sql`
      INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, method, collected_at, is_deleted, created_at, updated_at)
      WITH RECURSIVE days(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM days WHERE n < ${DAYS - 1})
      SELECT d.instance_id, d.database_name, date(${FIRST_DAY}, '+' || days.n || ' days'), ${size('days.n')}, 'bench', ${STAMP}, 0, ${STAMP}, ${STAMP}
      FROM days CROSS JOIN instance_databases d`.execute(db);
  } else {
    await sql`
      INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, method, collected_at, is_deleted, created_at, updated_at)
      SELECT d.instance_id, d.database_name, DATE ${sql.lit(FIRST_DAY)} + g.n, ${size('g.n')}, 'bench', ${STAMP}, 0, ${STAMP}, ${STAMP}
      FROM generate_series(0, ${DAYS - 1}) AS g(n) CROSS JOIN instance_databases d`.execute(db);
  }
  await sql`
    INSERT INTO instance_size_stats (instance_id, collected_date, total_size_bytes, data_bytes, database_count, collected_at)
    SELECT instance_id, collected_date, SUM(size_bytes), SUM(size_bytes), COUNT(*), ${STAMP}
    FROM database_size_stats GROUP BY instance_id, collected_date`.execute(db);
  await sql`UPDATE instances SET total_size_bytes = (SELECT s.total_size_bytes FROM instance_size_stats s WHERE s.instance_id = instances.id AND s.collected_date = ${LAST_DAY})`.execute(
    db,
  );
  await sql`ANALYZE`.execute(db);
  if (store.dialect === 'sqlite') await sql`PRAGMA cache_size = -2000`.execute(db);
}

async function runOn(store: Store): Promise<{ rows: Cell[][]; misses: string[]; rowCount: number; generateMs: number; states: string }> {
  await store.migrate();
  const t0 = performance.now();
  await generate(store);
  const generateMs = performance.now() - t0;
  const rowCount = Number(
    (
      await store.db
        .selectFrom('database_size_stats')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  console.log(`  ${store.dialect}: generated ${rowCount} rows in ${(generateMs / 1000).toFixed(1)} s`);
  const clock = { now: () => new Date(`${LAST_DAY}T12:00:00.000Z`) };
  const rows: Cell[][] = [];
  const misses: string[] = [];
  const record = (name: string, p50: number, p95: number, target: number) => {
    rows.push([store.dialect, name, ms(p50), ms(p95), target, p95 <= target ? 'yes' : 'NO']);
    if (p95 > target) misses.push(`${store.dialect} ${name}: ${ms(p95)} ms > ${target} ms`);
    console.log(`  ${store.dialect} ${name}: p50 ${ms(p50)} ms, p95 ${ms(p95)} ms`);
  };

  const service = () => new RunwayService({ repo: new RunwayRepository(store.db), clock, timeZone: 'UTC' });
  const info = (name: string, msValue: number) => {
    rows.push([store.dialect, name, ms(msValue), ms(msValue), '', '']);
    console.log(`  ${store.dialect} ${name}: ${ms(msValue)} ms`);
  };
  // The day's first fit: what the nightly task does (or the first request of a day it did not run on).
  let s = performance.now();
  const fitted = await service().list({ scope: 'database', limit: 20 });
  info(`estate runway, ${fitted.total.toLocaleString('en')} databases, the day's fit (nightly task; kept in the store)`, performance.now() - s);
  // A restarted process: the estate answered from the kept fits.
  const svc = service();
  s = performance.now();
  const cold = await svc.list({ scope: 'database', limit: 20 });
  const coldMs = performance.now() - s;
  record(`estate runway, ${cold.total.toLocaleString('en')} databases, cold process (the day's fits kept)`, coldMs, coldMs, 10_000);
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    s = performance.now();
    await svc.list({ scope: 'database', limit: 20 });
    warm.push(performance.now() - s);
  }
  warm.sort((a, b) => a - b);
  record("estate runway, warm (the day's cache)", warm[2]!, warm[4]!, 10_000);
  // One instance synced since: its databases refitted, the rest read back.
  const synced = (await store.db.selectFrom('instances').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow()).id;
  await store.db
    .updateTable('instances')
    .set({ last_sync_at: `${LAST_DAY}T11:00:00.000Z` })
    .where('id', '=', synced)
    .execute();
  s = performance.now();
  await svc.list({ scope: 'database', limit: 20 });
  record(`estate runway after one instance synced (its ${DB_PER_INSTANCE} databases refitted)`, performance.now() - s, performance.now() - s, 10_000);
  const states = Object.entries(
    (await svc.list({ scope: 'database', limit: 100_000 })).items.reduce<Record<string, number>>((m, i) => ((m[i.state] = (m[i.state] ?? 0) + 1), m), {}),
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

  // One database: its window read from the store, then fitted and backtested.
  const repo = new StatisticsRepository(store.db, store.dialect);
  const ids = (await store.db.selectFrom('instances').select('id').execute()).map((r) => r.id);
  const one: number[] = [];
  const reads: number[] = [];
  const fits: number[] = [];
  let seed = 7;
  for (let i = 0; i < RUNS + 1; i++) {
    const id = ids[(seed = (seed * 48271) % 2147483647) % ids.length]!;
    s = performance.now();
    const series = await repo.databaseDaily(id, `db_${seed % DB_PER_INSTANCE}`, addDays(LAST_DAY, -(RUNWAY_WINDOW_DAYS - 1)), LAST_DAY);
    const read = performance.now();
    runway(
      series.map((p) => ({ date: p.collected_date, bytes: p.size_bytes! })),
      2 ** 40,
    );
    const done = performance.now();
    if (i > 0) {
      one.push(done - s);
      reads.push(read - s);
      fits.push(done - read);
    }
  }
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
  record('one database (read + fit + backtest)', p50(one), p95(one), 20);
  rows.push(
    [store.dialect, '… of which the read (180 days)', ms(p50(reads)), ms(p95(reads)), '', ''],
    [store.dialect, '… of which fit + backtest', ms(p50(fits)), ms(p95(fits)), '', ''],
  );
  return { rows, misses, rowCount, generateMs, states };
}

/** A fresh estate of REPORT_INSTANCES instances (95 days, REPORT_DB_PER_INSTANCE databases each, composition rows) and the November report built from it. */
async function reportOn(store: Store): Promise<{ rows: Cell[][]; misses: string[]; note: string }> {
  await store.migrate();
  const db = store.db;
  const first = addDays(REPORT_LAST, -(REPORT_DAYS - 1));
  const t0 = performance.now();
  for (let i = 1; i <= REPORT_INSTANCES; i += 500) {
    const batch = [];
    for (let k = i; k < Math.min(i + 500, REPORT_INSTANCES + 1); k++) {
      batch.push({
        name: `r-${k}`,
        db_type: k % 2 ? 'postgresql' : 'mysql',
        host: 'h',
        port: 1,
        tags: JSON.stringify([`team-${k % 20}`, `env-${k % 3}`]),
        options: JSON.stringify(k % 4 ? { capacity_limit_bytes: 2 ** 42 } : {}),
        is_active: 1,
        created_at: STAMP,
        updated_at: STAMP,
      });
    }
    await db.insertInto('instances').values(batch).execute();
  }
  const ids = (await db.selectFrom('instances').select('id').orderBy('id').execute()).map((r) => r.id);
  const lifecycle = ids.flatMap((id) =>
    Array.from({ length: REPORT_DB_PER_INSTANCE }, (_, j) => ({
      instance_id: id,
      database_name: `db_${j}`,
      is_system: 0,
      first_seen_date: first,
      last_seen_date: REPORT_LAST,
      is_deleted: 0,
      deleted_at: null,
      created_at: STAMP,
      updated_at: STAMP,
    })),
  );
  for (let i = 0; i < lifecycle.length; i += 1000)
    await db
      .insertInto('instance_databases')
      .values(lifecycle.slice(i, i + 1000))
      .execute();
  // db_0 never changes (a cleanup candidate); the others grow by (id % 50 + 1) × 100 KiB a day.
  const size = (n: string) =>
    sql.raw(`((d.id * 7919) % 1000 + 100) * 1048576 + CASE WHEN d.database_name = 'db_0' THEN 0 ELSE (d.id % 50 + 1) * 102400 * ${n} END`);
  if (store.dialect === 'sqlite') {
    await sql`
      INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, method, collected_at, is_deleted, created_at, updated_at)
      WITH RECURSIVE days(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM days WHERE n < ${REPORT_DAYS - 1})
      SELECT d.instance_id, d.database_name, date(${first}, '+' || days.n || ' days'), ${size('days.n')}, 'bench', ${STAMP}, 0, ${STAMP}, ${STAMP}
      FROM days CROSS JOIN instance_databases d`.execute(db);
  } else {
    await sql`
      INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, method, collected_at, is_deleted, created_at, updated_at)
      SELECT d.instance_id, d.database_name, DATE ${sql.lit(first)} + g.n, ${size('g.n')}, 'bench', ${STAMP}, 0, ${STAMP}, ${STAMP}
      FROM generate_series(0, ${REPORT_DAYS - 1}) AS g(n) CROSS JOIN instance_databases d`.execute(db);
  }
  await sql`
    INSERT INTO instance_size_stats (instance_id, collected_date, total_size_bytes, data_bytes, database_count, collected_at)
    SELECT instance_id, collected_date, SUM(size_bytes), SUM(size_bytes), COUNT(*), ${STAMP}
    FROM database_size_stats GROUP BY instance_id, collected_date`.execute(db);
  const parts = JSON.stringify([
    { kind: 'heap', bytes: 10 * 2 ** 30, detail: null },
    { kind: 'reclaimable', bytes: 2 ** 30, detail: null },
    { kind: 'wal_retained_by_slots', bytes: 2 ** 29, detail: { slots: [{ name: 'old', active: false, bytes: 2 ** 29, inactive_holding_wal: true }] } },
  ]);
  const comps = ids.map((id) => ({
    instance_id: id,
    collected_date: REPORT_LAST,
    parts,
    ceiling_bytes: null,
    ceiling_source: null,
    disk_used_bytes: null,
    method: 'bench',
    collected_at: STAMP,
  }));
  for (let i = 0; i < comps.length; i += 500)
    await db
      .insertInto('instance_composition')
      .values(comps.slice(i, i + 500))
      .execute();
  await sql`ANALYZE`.execute(db);
  const generateMs = performance.now() - t0;
  const clock = { now: () => new Date('2026-12-01T08:00:00.000Z') };
  const runway = new RunwayService({ repo: new RunwayRepository(db), clock, timeZone: 'UTC' });
  const settings = { effective: async () => ({ showback_rate_per_gb_month: 0.1, showback_currency: 'CNY' }) } as unknown as ConstructorParameters<
    typeof CapacityReportService
  >[0]['settings'];
  const svc = new CapacityReportService({ repo: new ReportRepository(db), runway, settings, clock, timeZone: 'UTC', chromiumPath: '/nonexistent' });
  const rows: Cell[][] = [];
  const misses: string[] = [];
  const record = (name: string, msValue: number, target: number) => {
    rows.push([store.dialect, name, ms(msValue), ms(msValue), target, msValue <= target ? 'yes' : 'NO']);
    if (msValue > target) misses.push(`${store.dialect} ${name}: ${ms(msValue)} ms > ${target} ms`);
    console.log(`  ${store.dialect} ${name}: ${ms(msValue)} ms`);
  };
  let s = performance.now();
  const doc = await svc.document('2026-11', 'csv', 'en');
  record(`monthly report (CSV), ${REPORT_INSTANCES.toLocaleString('en')} instances, cold (runway fitted in it)`, performance.now() - s, 5_000);
  s = performance.now();
  await svc.document('2026-11', 'html', 'en');
  record('monthly report (HTML), warm runway', performance.now() - s, 5_000);
  // A restarted process on the 1st: the runway's fits kept by the nightly task (here: by the first report).
  const restarted = new CapacityReportService({
    repo: new ReportRepository(db),
    runway: new RunwayService({ repo: new RunwayRepository(db), clock, timeZone: 'UTC' }),
    settings,
    clock,
    timeZone: 'UTC',
    chromiumPath: '/nonexistent',
  });
  s = performance.now();
  await restarted.document('2026-11', 'csv', 'en');
  record("monthly report (CSV), cold process (the day's runway fits kept)", performance.now() - s, 5_000);
  // Each statement on its own (the report runs them together), to show where the time goes.
  const repo = new ReportRepository(db);
  const queries: [string, () => Promise<unknown>][] = [
    ['totals at the month end', () => repo.totalsAt('2026-11-01', '2026-11-30')],
    ['totals a month before', () => repo.totalsAt('2026-10-01', '2026-10-31')],
    ['averages', () => repo.averages('2026-11-01', '2026-11-30')],
    ['latest compositions', () => repo.latestCompositions('2026-11-30')],
    ['deleted databases with history', () => repo.deletedWithHistory(50)],
    ['unchanged for 90 days', () => repo.unchanged(addDays('2026-11-30', -89), '2026-11-30', 50)],
  ];
  for (const [name, f] of queries) {
    s = performance.now();
    await f();
    rows.push([store.dialect, `… report query: ${name}`, ms(performance.now() - s), ms(performance.now() - s), '', '']);
  }
  const r = await svc.build('2026-11');
  return {
    rows,
    misses,
    note: `${store.dialect} report: ${REPORT_INSTANCES} instances × ${REPORT_DB_PER_INSTANCE} databases × ${REPORT_DAYS} days generated in ${(generateMs / 1000).toFixed(1)} s; ${r.by_tag.length} tags, ${r.cleanup.length} cleanup rows listed (each kind capped at 50), CSV ${(String(doc.body).length / 1024).toFixed(0)} KiB.`,
  };
}

/** A fresh store of the kind named, dropped after `fn`. */
async function withStore<T>(kind: string, label: string, servers: Record<string, string>, fn: (store: Store) => Promise<T>): Promise<T> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wf-bench-${label}-`));
    const store = openStore({ sqliteFile: path.join(dir, 'whalefall.db') });
    try {
      return await fn(store);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const name = uniqueName(`bench${label}`);
  const admin = await pgAdmin();
  servers.PostgreSQL = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  // No statement timeout: generating 21.9 M rows takes long statements (the service default of 60 s would cancel them).
  const store = openStore({ databaseUrl: `postgres://postgres@127.0.0.1:5432/${name}`, statementTimeoutMs: 0 });
  try {
    return await fn(store);
  } finally {
    await store.close();
    const a = await pgAdmin();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  }
}

export const runwayScenario: Scenario = {
  summary:
    'Runway of every live database (robust fit, change point, interval, 90-day backtest) for 20,000 databases with 3 years of daily history, cold and cached, and one database; the monthly capacity report for 5,000 instances; on SQLite and PostgreSQL.',
  env: [
    'BENCH_RUNWAY_INSTANCES',
    'BENCH_RUNWAY_DB_PER_INSTANCE',
    'BENCH_RUNWAY_DAYS',
    'BENCH_RUNWAY_RUNS',
    'BENCH_REPORT_INSTANCES',
    'BENCH_REPORT_DB_PER_INSTANCE',
    'BENCH_RUNWAY_STORES',
    'BENCH_RUNWAY_PARTS',
  ],
  async run(): Promise<Report> {
    const servers: Record<string, string> = {};
    const rows: Cell[][] = [];
    const notes: string[] = [
      `Load average at start: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(', ')} (a shared machine: ${os.cpus().length} cores).`,
    ];
    const misses: string[] = [];
    const size = (full: boolean) =>
      full ? "the issue's full size" : "**scaled down**: not the issue's size (20,000 databases × 1,095 days; the report on 5,000 instances)";
    if (PARTS.includes('runway'))
      notes.push(`Runway: ${INSTANCES.toLocaleString('en')} instances × ${DB_PER_INSTANCE} databases × ${DAYS} days, ${size(FULL_RUNWAY)}.`);
    if (PARTS.includes('report')) notes.push(`Report: ${REPORT_INSTANCES.toLocaleString('en')} instances, ${size(FULL_REPORT)}.`);
    for (const kind of STORES) {
      const label = kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
      if (PARTS.includes('runway')) {
        const r = await withStore(kind, 'runway', servers, runOn);
        rows.push(...r.rows);
        misses.push(...r.misses);
        notes.push(`${label}: ${r.rowCount.toLocaleString('en')} daily rows generated in ${(r.generateMs / 1000).toFixed(1)} s; states: ${r.states}.`);
      }
      if (PARTS.includes('report')) {
        const r = await withStore(kind, 'report', servers, reportOn);
        rows.push(...r.rows);
        misses.push(...r.misses);
        notes.push(r.note);
      }
    }
    notes.push(
      `Load average at the end: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(', ')}.`,
    );
    notes.push(
      `The runway reads the last ${RUNWAY_WINDOW_DAYS} days of each series (the fit starts at the last change point inside them); older history is not read.`,
    );
    notes.push(
      misses.length
        ? `Targets missed: ${misses.join('; ')}.`
        : "Every target met (estate ≤ 10 s from the day's kept fits, one database ≤ 20 ms, the report ≤ 5 s).",
    );
    notes.push(
      "The day's fit (no target) reads every series' window from the ledger; the nightly task does it after the 04:00 work, and a sync refits only its instance, so a request reads the kept fits (runway_fits).",
    );
    notes.push(
      `The backtest replays every day of the last 90 (stride 1) for the items a request returns (the cold rows ask for 20); the estate pass only fits.`,
    );
    return {
      servers,
      parameters: {
        instances: INSTANCES,
        databases_per_instance: DB_PER_INSTANCE,
        days: DAYS,
        runs: RUNS,
        report_instances: REPORT_INSTANCES,
        report_databases_per_instance: REPORT_DB_PER_INSTANCE,
        stores: STORES.join('+'),
        parts: PARTS.join('+'),
      },
      columns: ['store', 'what', 'p50 ms', 'p95 ms', 'target ms', 'met'],
      rows,
      notes,
      failed: false,
    };
  },
};
