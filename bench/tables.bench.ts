/**
 * tables: table-level sync on the real servers and the table ledger at scale.
 * - MariaDB `BENCH_TABLES_MY_DBS` schemas × `BENCH_TABLES_MY_TABLES` tables and
 *   PostgreSQL `BENCH_TABLES_PG_DBS` databases × `BENCH_TABLES_PG_TABLES`
 *   tables: wall time and peak RSS (sampled every 20 ms) of a full table sync
 *   through the service (collect + save, budget not binding), against the
 *   floor: the bare catalog query (names and the same size columns, nothing
 *   ranked or saved) over the same databases.
 * - The ledger's save rate (rows/s) of one saveTables call of
 *   `BENCH_TABLES_SAVE_ROWS` tables.
 * - The table trend query (one table's 90 days) p50/p95 over
 *   `BENCH_TABLES_RUNS` random tables, on `BENCH_TABLES_TREND_DAYS` days ×
 *   `BENCH_TABLES_TREND_TABLES` tables of history (SQLite store, generated
 *   inside the store), and the estate-wide top-growing query on it.
 * Defaults are the full sizes; small ones prove it works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { addDays } from '../src/lib/clock.js';
import { openStore } from '../src/store/db.js';
import { TablesRepository } from '../src/store/tables.repository.js';
import { CLI_ACTOR } from '../src/services/audit.service.js';
import type { CollectedTableDatabase } from '../src/domain/tables.js';
import { newTestContext } from '../test/helpers/context.js';
import { mysqlAdmin, pgAdmin, uniqueName } from '../test/helpers/targets.js';
import type { Cell, Report, Scenario } from './common.js';

function envInt(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const MY_DBS = envInt('BENCH_TABLES_MY_DBS', 2000);
const MY_TABLES = envInt('BENCH_TABLES_MY_TABLES', 20);
const PG_DBS = envInt('BENCH_TABLES_PG_DBS', 200);
const PG_TABLES = envInt('BENCH_TABLES_PG_TABLES', 500);
const SAVE_ROWS = envInt('BENCH_TABLES_SAVE_ROWS', 100_000);
const TREND_TABLES = envInt('BENCH_TABLES_TREND_TABLES', 1_000_000);
const TREND_DAYS = envInt('BENCH_TABLES_TREND_DAYS', 90);
const RUNS = envInt('BENCH_TABLES_RUNS', 200);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const mib = (b: number) => Number((b / 2 ** 20).toFixed(0));
const sec = (ms: number) => Number((ms / 1000).toFixed(2));

/** Run `work` and report its wall time and the peak RSS seen while it ran. */
async function measured<T>(work: () => Promise<T>): Promise<{ ms: number; peakRss: number; result: T }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  try {
    const result = await work();
    return { ms: performance.now() - t0, peakRss: Math.max(peak, process.memoryUsage().rss), result };
  } finally {
    clearInterval(timer);
  }
}

async function mariadbRun(rows: Cell[][], notes: string[], servers: Record<string, string>): Promise<boolean> {
  const admin = await mysqlAdmin();
  const prefix = uniqueName('bt_my');
  const names = Array.from({ length: MY_DBS }, (_, i) => `${prefix}_${i}`);
  const user = uniqueName('bt_u');
  const password = `Bench-${user.slice(-8)}`;
  const ctx = await newTestContext('sqlite', { env: { WHALEFALL_SYNC_TIMEOUT_MS: '3600000' } });
  try {
    servers.MariaDB = String(((await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v'))[0][0] as { v: string }).v);
    for (let i = 0; i < names.length; i += 50) {
      let q = '';
      for (const n of names.slice(i, i + 50)) {
        q += `CREATE DATABASE ${n};`;
        for (let t = 0; t < MY_TABLES; t++) q += `CREATE TABLE ${n}.t${t} (id int PRIMARY KEY, v varchar(100)) ENGINE=InnoDB;`;
      }
      await admin.query(q);
    }
    for (const host of ['%', 'localhost', '127.0.0.1']) {
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await admin.query('GRANT SELECT, SHOW VIEW ON *.* TO ?@?', [user, host]);
    }
    const cred = await ctx.credentials.create({ name: 'bench', db_type: 'mariadb', username: user, password }, CLI_ACTOR);
    const inst = await ctx.instances.create(
      {
        name: 'bench-mariadb',
        db_type: 'mariadb',
        host: '127.0.0.1',
        port: 3306,
        credential_id: cred.id,
        options: { tables_max_tables: MY_DBS * MY_TABLES, tables_max_seconds: 86_400 },
      },
      CLI_ACTOR,
    );
    const floor = await measured(async () => {
      const c = await mysql.createConnection({ host: '127.0.0.1', user, password });
      try {
        for (const n of names)
          await c.query('SELECT TABLE_NAME, DATA_LENGTH, INDEX_LENGTH, DATA_FREE, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [n]);
      } finally {
        await c.end();
      }
    });
    const run = await measured(() => ctx.tables.syncTables(inst.id, { databases: names, actor: CLI_ACTOR }));
    const ok = run.result.saved_count === MY_DBS * MY_TABLES;
    rows.push([
      `MariaDB ${MY_DBS} × ${MY_TABLES} tables: full table sync`,
      sec(run.ms),
      mib(run.peakRss),
      sec(floor.ms),
      Number((run.ms / floor.ms).toFixed(2)),
      run.result.saved_count,
    ]);
    if (!ok) notes.push(`MariaDB: saved ${run.result.saved_count} rows, expected ${MY_DBS * MY_TABLES}`);
    return ok;
  } finally {
    for (let i = 0; i < names.length; i += 100)
      await admin.query(
        names
          .slice(i, i + 100)
          .map((n) => `DROP DATABASE IF EXISTS ${n};`)
          .join(''),
      );
    for (const host of ['%', 'localhost', '127.0.0.1']) await admin.query('DROP USER IF EXISTS ?@?', [user, host]);
    await admin.end();
    await ctx.cleanup();
  }
}

async function postgresRun(rows: Cell[][], notes: string[], servers: Record<string, string>): Promise<boolean> {
  const admin = await pgAdmin();
  const prefix = uniqueName('bt_pg');
  const names = Array.from({ length: PG_DBS }, (_, i) => `${prefix}_${i}`);
  const ctx = await newTestContext('sqlite', { env: { WHALEFALL_SYNC_TIMEOUT_MS: '3600000' } });
  try {
    servers.PostgreSQL = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const ddl = Array.from({ length: PG_TABLES }, (_, t) => `CREATE TABLE t${t} (id int PRIMARY KEY, v text);`).join('');
    for (const n of names) {
      await admin.query(`CREATE DATABASE ${n}`);
      const c = await pgAdmin(n);
      await c.query(ddl);
      await c.end();
    }
    const cred = await ctx.credentials.create({ name: 'bench', db_type: 'postgresql', username: 'postgres', password: 'trust-auth' }, CLI_ACTOR);
    const inst = await ctx.instances.create(
      {
        name: 'bench-pg',
        db_type: 'postgresql',
        host: '127.0.0.1',
        port: 5432,
        credential_id: cred.id,
        options: { tables_max_tables: PG_DBS * PG_TABLES, tables_max_seconds: 86_400 },
      },
      CLI_ACTOR,
    );
    const floor = await measured(async () => {
      for (const n of names) {
        const c = await pgAdmin(n);
        await c.query("SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind IN ('r', 'p', 'm') AND relnamespace = 'public'::regnamespace");
        await c.end();
      }
    });
    const run = await measured(() => ctx.tables.syncTables(inst.id, { databases: names, actor: CLI_ACTOR }));
    const ok = run.result.saved_count === PG_DBS * PG_TABLES;
    rows.push([
      `PostgreSQL ${PG_DBS} × ${PG_TABLES} tables: full table sync`,
      sec(run.ms),
      mib(run.peakRss),
      sec(floor.ms),
      Number((run.ms / floor.ms).toFixed(2)),
      run.result.saved_count,
    ]);
    if (!ok) notes.push(`PostgreSQL: saved ${run.result.saved_count} rows, expected ${PG_DBS * PG_TABLES}`);
    return ok;
  } finally {
    for (const n of names) await admin.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
    await admin.end();
    await ctx.cleanup();
  }
}

/** The save rate and the trend query on a generated history (SQLite store). */
async function ledgerRun(rows: Cell[][], notes: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-tables-'));
  const store = openStore({ sqliteFile: path.join(dir, 'whalefall.db') });
  try {
    await store.migrate();
    const db = store.db;
    const stamp = '2030-01-01T00:00:00.000Z';
    await db
      .insertInto('instances')
      .values({ name: 'i', db_type: 'postgresql', host: 'h', port: 1, tags: '[]', options: '{}', is_active: 1, created_at: stamp, updated_at: stamp })
      .execute();
    const repo = new TablesRepository(db);
    const per = 1000;
    const databases: CollectedTableDatabase[] = Array.from({ length: Math.ceil(SAVE_ROWS / per) }, (_, d) => ({
      database_name: `db_${d}`,
      tables: Array.from({ length: Math.min(per, SAVE_ROWS - d * per) }, (_, t) => ({
        schema_name: 'public',
        table_name: `t_${t}`,
        kind: 'table' as const,
        parent: null,
        total_bytes: 8192 * (t + 1),
        data_bytes: 8192 * t,
        index_bytes: 8192,
        lob_bytes: 0,
        free_bytes: null,
        row_estimate: t,
      })),
    }));
    const first = await measured(() =>
      repo.saveTables({ instanceId: 1, collectedDate: '2030-01-01', collectedAt: stamp, method: 'pg_class', databases, presentDatabases: null }),
    );
    const second = await measured(() =>
      repo.saveTables({ instanceId: 1, collectedDate: '2030-01-02', collectedAt: stamp, method: 'pg_class', databases, presentDatabases: null }),
    );
    rows.push([
      `ledger save, ${SAVE_ROWS} tables, first day (new names)`,
      sec(first.ms),
      mib(first.peakRss),
      '',
      '',
      Math.round(SAVE_ROWS / (first.ms / 1000)),
    ]);
    rows.push([`ledger save, ${SAVE_ROWS} tables, next day`, sec(second.ms), mib(second.peakRss), '', '', Math.round(SAVE_ROWS / (second.ms / 1000))]);
    await sql`DELETE FROM table_size_stats`.execute(db);
    await sql`DELETE FROM table_names`.execute(db);

    // History: TREND_TABLES names, TREND_DAYS daily rows each, generated inside SQLite.
    const gen = await measured(async () => {
      await sql`
        INSERT INTO table_names (id, instance_id, database_name, schema_name, table_name, kind, first_seen_date, last_seen_date, is_deleted)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${TREND_TABLES})
        SELECT i, 1, 'db_' || (i / 1000), 'public', 't_' || i, 'table', '2030-01-01', '2030-01-01', 0 FROM n`.execute(db);
      await sql`
        INSERT INTO table_size_stats (table_id, collected_date, total_bytes, data_bytes, index_bytes, lob_bytes, free_bytes, row_estimate, method, is_deleted)
        WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < ${TREND_DAYS - 1})
        SELECT n.id, date('2030-01-01', '+' || d.k || ' days'), (n.id % 977 + 1) * 8192 + d.k * (n.id % 13) * 8192, (n.id % 977) * 8192, 8192, 0, NULL, n.id % 5000, 1, 0
        FROM table_names n CROSS JOIN d ORDER BY n.id, d.k`.execute(db);
      await sql`ANALYZE`.execute(db);
    });
    const last = addDays('2030-01-01', TREND_DAYS - 1);
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const id = 1 + Math.floor(Math.random() * TREND_TABLES);
      const t0 = performance.now();
      const points = await repo.series(id, addDays(last, -89), last);
      times.push(performance.now() - t0);
      if (points.length !== Math.min(90, TREND_DAYS)) throw new Error(`trend of ${id}: ${points.length} points`);
    }
    const top = await measured(() => repo.topGrowing(addDays(last, -Math.min(7, TREND_DAYS - 1)), last, 50));
    // Move the history out of the WAL first (it holds page copies): the database file alone is then the ledger's size.
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
    const size = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    rows.push([
      `trend query (one table, 90 days) on ${TREND_DAYS} d × ${TREND_TABLES} tables: p50 / p95 ms`,
      `${pct(times, 50).toFixed(2)} / ${pct(times, 95).toFixed(2)}`,
      '',
      '',
      '',
      RUNS,
    ]);
    rows.push([`top 50 growing tables over 7 days, estate-wide (${TREND_TABLES} tables)`, sec(top.ms), mib(top.peakRss), '', '', top.result.length]);
    notes.push(
      `History generated in ${sec(gen.ms)} s: ${TREND_TABLES * TREND_DAYS} rows, SQLite file ${mib(size)} MiB after a WAL checkpoint (${(size / (TREND_TABLES * TREND_DAYS)).toFixed(1)} bytes a row, the name dimension and every index included).`,
    );
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const tables: Scenario = {
  summary:
    'Table-level sync of MariaDB 2,000 schemas × 20 tables and PostgreSQL 200 databases × 500 tables (wall time, peak RSS) against the bare catalog query; the table-ledger save rate; the table trend query p95 on 90 days × 1 M tables of history (SQLite store).',
  env: [
    'BENCH_TABLES_MY_DBS',
    'BENCH_TABLES_MY_TABLES',
    'BENCH_TABLES_PG_DBS',
    'BENCH_TABLES_PG_TABLES',
    'BENCH_TABLES_SAVE_ROWS',
    'BENCH_TABLES_TREND_TABLES',
    'BENCH_TABLES_TREND_DAYS',
    'BENCH_TABLES_RUNS',
  ],
  async run(): Promise<Report> {
    const rows: Cell[][] = [];
    const notes: string[] = [];
    const servers: Record<string, string> = {};
    const okMy = await mariadbRun(rows, notes, servers);
    const okPg = await postgresRun(rows, notes, servers);
    await ledgerRun(rows, notes);
    notes.push(
      'Floor = the bare catalog query over the same databases (one per schema on MariaDB, one connection and query per database on PostgreSQL), nothing ranked or saved; ratio = table sync ÷ floor. Peak RSS is the whole bench process.',
    );
    return {
      servers,
      parameters: {
        my_dbs: MY_DBS,
        my_tables: MY_TABLES,
        pg_dbs: PG_DBS,
        pg_tables: PG_TABLES,
        save_rows: SAVE_ROWS,
        trend_tables: TREND_TABLES,
        trend_days: TREND_DAYS,
        runs: RUNS,
      },
      columns: ['measure', 'wall s (or ms)', 'peak RSS MiB', 'floor s', 'ratio', 'rows / count'],
      rows,
      notes,
      failed: !(okMy && okPg),
    };
  },
};
