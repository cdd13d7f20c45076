/**
 * large-instance: collection from one server with very many databases and
 * tables, created by the bench (uniquely named, dropped after, even on
 * failure).
 *
 * MariaDB, 2,000 databases × 20 InnoDB tables (40,000 tables): our collector
 * (the mariadb engine: connect, collect, close) with each method — logical
 * (the default: one grouped information_schema.TABLES query), physical
 * (InnoDB tablespaces), auto — against the seed's query (SCHEMATA LEFT JOIN
 * TABLES, GROUP BY) and a per-database loop (one TABLES query per schema);
 * the floor is a bare `SELECT COUNT(*) FROM information_schema.TABLES`.
 *
 * PostgreSQL, 1,000 databases: our collector (one query, pg_database_size per
 * database) against a per-database loop (one pg_database_size query per
 * database over the same connection); the floor is listing pg_database.
 *
 * The servers are shared: their counts include every other database on them
 * (noted in the section), which only makes each figure larger.
 */
import mysql from 'mysql2/promise';
import type { ConnectTarget } from '../src/engines/engine.js';
import type { DbType } from '../src/domain/db-type.js';
import { getEngine } from '../src/engines/registry.js';
import { mysqlAdmin, pgAdmin, uniqueName } from '../test/helpers/targets.js';
import { checkInterrupted, envInt, int, median, onInterrupt, ratio, sec } from './common.js';
import type { Cell, Report, Scenario } from './common.js';

const SEED_MYSQL = `
  SELECT s.SCHEMA_NAME AS database_name,
         COALESCE(ROUND(SUM(COALESCE(t.data_length, 0) + COALESCE(t.index_length, 0)) / 1024 / 1024, 2), 0) AS total_size_mb,
         COALESCE(ROUND(SUM(COALESCE(t.data_length, 0)) / 1024 / 1024, 2), 0) AS data_size_mb,
         COALESCE(ROUND(SUM(COALESCE(t.index_length, 0)) / 1024 / 1024, 2), 0) AS index_size_mb
  FROM information_schema.SCHEMATA s
  LEFT JOIN information_schema.tables t ON s.SCHEMA_NAME = t.table_schema
  GROUP BY s.SCHEMA_NAME
  ORDER BY total_size_mb DESC`;

const target = (port: number, username: string, options: Record<string, unknown> = {}): ConnectTarget => ({
  host: '127.0.0.1',
  port,
  database: null,
  username,
  password: '',
  options,
  connectTimeoutMs: 10_000,
  queryTimeoutMs: 600_000,
});

/** Our collector end to end: connect, collect, close. Returns the number of databases it reported. */
async function ours(dbType: DbType, t: ConnectTarget): Promise<number> {
  const session = await getEngine(dbType).connect(t);
  try {
    const c = await session.collect();
    const failed = c.databases.filter((d) => d.size_bytes === null);
    if (failed.length) throw new Error(`${failed.length} databases without a size, e.g. ${failed[0]!.database_name}: ${failed[0]!.error}`);
    return c.databases.length;
  } finally {
    await session.close();
  }
}

/** `runs` timings of `fn` (after one warm-up), with what the last one returned. */
async function timings(runs: number, fn: () => Promise<unknown>): Promise<{ ms: number[]; value: unknown }> {
  let value = await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await fn();
    ms.push(performance.now() - t0);
  }
  return { ms, value };
}

async function mariadb(
  dbs: number,
  tables: number,
  runs: number,
  rows: Cell[][],
  notes: string[],
  misses: string[],
  servers: Record<string, string>,
): Promise<void> {
  const prefix = uniqueName('large');
  const names = Array.from({ length: dbs }, (_, i) => `${prefix}_${String(i).padStart(5, '0')}`);
  const admin = await mysqlAdmin();
  const dropAll = async (conn: mysql.Connection) => {
    for (const n of names) await conn.query(`DROP DATABASE IF EXISTS \`${n}\``).catch((err: unknown) => console.error(`  could not drop ${n}:`, err));
  };
  const unregister = onInterrupt(async () => {
    const c = await mysqlAdmin();
    await dropAll(c).finally(() => c.end());
  });
  try {
    servers.MariaDB = String(((await admin.query('SELECT VERSION() AS v')) as [{ v: string }[], unknown])[0][0]!.v);
    const t0 = performance.now();
    const cols = 'id INT PRIMARY KEY, name VARCHAR(64), created DATETIME, KEY (name)';
    for (const [i, n] of names.entries()) {
      checkInterrupted();
      await admin.query(
        `CREATE DATABASE \`${n}\`; ${Array.from({ length: tables }, (_, k) => `CREATE TABLE \`${n}\`.t${k} (${cols}) ENGINE=InnoDB;`).join(' ')}`,
      );
      if ((i + 1) % 200 === 0) console.log(`  mariadb: created ${i + 1}/${dbs} databases (${sec(performance.now() - t0)} s)`);
    }
    console.log(`  mariadb: ${dbs} databases × ${tables} tables created in ${sec(performance.now() - t0)} s`);
    const total = Number(((await admin.query('SELECT COUNT(*) AS n FROM information_schema.TABLES')) as [{ n: number }[], unknown])[0][0]!.n);
    const schemas = Number(((await admin.query('SELECT COUNT(*) AS n FROM information_schema.SCHEMATA')) as [{ n: number }[], unknown])[0][0]!.n);

    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
    const measured: [string, { ms: number[]; value: unknown }][] = [];
    try {
      measured.push([
        'floor: bare SELECT COUNT(*) FROM information_schema.TABLES',
        await timings(runs, () => conn.query('SELECT COUNT(*) FROM information_schema.TABLES')),
      ]);
      for (const method of ['logical', 'physical', 'auto'] as const) {
        measured.push([
          `ours: mariadb engine, method ${method} (connect, collect, close)`,
          await timings(runs, () => ours('mariadb', target(3306, 'root', { method }))),
        ]);
      }
      measured.push(["seed's query (SCHEMATA LEFT JOIN TABLES, GROUP BY)", await timings(runs, () => conn.query(SEED_MYSQL))]);
      const all = ((await conn.query('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA')) as [{ s: string }[], unknown])[0].map((r) => r.s);
      measured.push([
        'per-database loop (one TABLES query per schema)',
        await timings(runs, async () => {
          for (const s of all) await conn.query('SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [s]);
        }),
      ]);
    } finally {
      await conn.end();
    }
    const floor = median(measured[0]![1].ms);
    for (const [label, m] of measured) rows.push(['MariaDB', label, sec(median(m.ms)), m.ms.map(sec).join(', '), ratio(median(m.ms) / floor)]);
    const logical = median(measured[1]![1].ms);
    notes.push(
      `MariaDB: ${int(dbs)} databases × ${tables} tables created by the bench; the server held ${int(schemas)} schemas and ${int(total)} tables in all (other databases on the shared server included).`,
      "The 'ours' rows include connecting and closing (the engine end to end); the floor and the seed's and loop's rows run on an open connection. COUNT(*) needs no table statistics (no DATA_LENGTH), so it opens no table: at small sizes the fixed connect cost dominates the ratio, at 40,000 tables the scan does.",
      `Target: MariaDB 40,000 tables collected within 2× the bare COUNT(*) — ours (logical, ${int(dbs * tables)} tables created here) / floor = ${ratio(logical / floor)}: ${logical <= 2 * floor ? 'met' : 'MISSED'}.`,
    );
    if (logical > 2 * floor) misses.push(`MariaDB logical ${ratio(logical / floor)}× the floor`);
  } finally {
    const t0 = performance.now();
    await dropAll(admin);
    unregister();
    console.log(`  mariadb: dropped in ${sec(performance.now() - t0)} s`);
    await admin.end();
  }
}

async function postgresql(dbs: number, runs: number, rows: Cell[][], notes: string[], misses: string[], servers: Record<string, string>): Promise<void> {
  const prefix = uniqueName('large');
  const names = Array.from({ length: dbs }, (_, i) => `${prefix}_${String(i).padStart(5, '0')}`);
  const admin = await pgAdmin();
  const dropAll = async (c: Awaited<ReturnType<typeof pgAdmin>>) => {
    for (const n of names) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`).catch((err: unknown) => console.error(`  could not drop ${n}:`, err));
  };
  const unregister = onInterrupt(async () => {
    const c = await pgAdmin();
    await dropAll(c).finally(() => c.end());
  });
  try {
    servers.PostgreSQL = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    const t0 = performance.now();
    for (const [i, n] of names.entries()) {
      checkInterrupted();
      await admin.query(`CREATE DATABASE ${n}`);
      if ((i + 1) % 100 === 0) console.log(`  postgresql: created ${i + 1}/${dbs} databases (${sec(performance.now() - t0)} s)`);
    }
    console.log(`  postgresql: ${dbs} databases created in ${sec(performance.now() - t0)} s`);
    const total = Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_database')).rows[0]!.n);

    const c = await pgAdmin();
    const measured: [string, { ms: number[]; value: unknown }][] = [];
    try {
      measured.push(['floor: bare SELECT datname FROM pg_database', await timings(runs, () => c.query('SELECT datname FROM pg_database'))]);
      measured.push(['ours: postgresql engine (connect, collect, close)', await timings(runs, () => ours('postgresql', target(5432, 'postgres')))]);
      const all = (await c.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datallowconn AND NOT datistemplate')).rows.map((r) => r.oid);
      measured.push([
        'per-database loop (one pg_database_size query per database)',
        await timings(runs, async () => {
          for (const oid of all) await c.query('SELECT pg_database_size($1::oid)', [oid]);
        }),
      ]);
    } finally {
      await c.end();
    }
    const floor = median(measured[0]![1].ms);
    for (const [label, m] of measured) rows.push(['PostgreSQL', label, sec(median(m.ms)), m.ms.map(sec).join(', '), ratio(median(m.ms) / floor)]);
    const oursMs = median(measured[1]![1].ms);
    notes.push(
      `PostgreSQL: ${int(dbs)} databases created by the bench; the server held ${int(total)} databases in all.`,
      `Target: PostgreSQL 1,000 databases in under 10 s — ours (${int(dbs)} databases) ${sec(oursMs)} s: ${oursMs < 10_000 ? 'met' : 'MISSED'}.`,
    );
    if (oursMs >= 10_000) misses.push(`PostgreSQL ${sec(oursMs)} s`);
  } finally {
    const t0 = performance.now();
    await dropAll(admin);
    unregister();
    console.log(`  postgresql: dropped in ${sec(performance.now() - t0)} s`);
    await admin.end();
  }
}

async function run(): Promise<Report> {
  const myDbs = envInt('BENCH_LARGE_MARIADB_DATABASES', 2000);
  const myTables = envInt('BENCH_LARGE_MARIADB_TABLES', 20);
  const pgDbs = envInt('BENCH_LARGE_PG_DATABASES', 1000);
  const runs = envInt('BENCH_LARGE_RUNS', 3);
  // BENCH_LARGE_ONLY=mariadb or postgresql runs one half (e.g. when the other server is busy).
  const only = process.env.BENCH_LARGE_ONLY;
  if (only !== undefined && only !== 'mariadb' && only !== 'postgresql') throw new Error(`BENCH_LARGE_ONLY must be mariadb or postgresql, got "${only}"`);
  const rows: Cell[][] = [];
  const notes: string[] = [];
  const misses: string[] = [];
  const servers: Record<string, string> = {};
  if (only !== 'postgresql') await mariadb(myDbs, myTables, runs, rows, notes, misses, servers);
  if (only !== 'mariadb') await postgresql(pgDbs, runs, rows, notes, misses, servers);
  notes.push(
    `Each figure is the median of ${runs} runs after one warm-up (the runs are listed); ratios are against the floor of the same server.`,
    misses.length ? `Targets missed: ${misses.join('; ')}.` : 'Every target met.',
  );
  return {
    servers,
    parameters: { ...(only ? { only } : {}), 'MariaDB databases': myDbs, 'tables per database': myTables, 'PostgreSQL databases': pgDbs, runs },
    columns: ['server', 'method', 'median (s)', 'runs (s)', 'vs floor'],
    rows,
    notes,
    failed: false,
  };
}

export const largeInstance: Scenario = {
  summary:
    "Collection from one large server: MariaDB 2,000 databases × 20 tables and PostgreSQL 1,000 databases (created and dropped by the bench): our collector's methods against the seed's MySQL query and a per-database loop, with the bare catalog query as the floor.",
  env: ['BENCH_LARGE_MARIADB_DATABASES', 'BENCH_LARGE_MARIADB_TABLES', 'BENCH_LARGE_PG_DATABASES', 'BENCH_LARGE_RUNS', 'BENCH_LARGE_ONLY'],
  run,
};
