/**
 * large-instance: collection from one server with very many databases and
 * tables, created by the bench (uniquely named, dropped after, even on
 * failure).
 *
 * MariaDB, 2,000 databases × 20 InnoDB tables (40,000 tables): our collector
 * (the mariadb engine: connect, collect, close) with each method — logical
 * (one grouped information_schema.TABLES query), physical (InnoDB
 * tablespaces), auto (the default: both) — against the seed's query (SCHEMATA LEFT JOIN
 * TABLES, GROUP BY) and a per-database loop (one TABLES query per schema);
 * the floor is a bare `SELECT COUNT(*) FROM information_schema.TABLES`.
 *
 * PostgreSQL, 1,000 databases: our collector (one query, pg_database_size per
 * database) against a per-database loop (one pg_database_size query per
 * database over the same connection); the floor is listing pg_database.
 *
 * MariaDB runs as a server of the bench's own (test/helpers/mariadb-server.ts:
 * a datadir in a temp dir, a free port), stopped and removed at the end: the
 * shared one is left alone. Also timed there: physical through the seed route
 * (the app in this process, `POST /database-sizes/instances/:id/sync-capacity`
 * over HTTP, as the UI's button sends it). The PostgreSQL server is shared:
 * its count includes every other database on it (noted in the section), which
 * only makes each figure larger.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { buildApp } from '../src/http/app.js';
import { createLogger } from '../src/lib/logger.js';
import { startMariadb } from '../test/helpers/mariadb-server.js';
import type { ConnectTarget } from '../src/engines/engine.js';
import type { DbType } from '../src/domain/db-type.js';
import { getEngine } from '../src/engines/registry.js';
import { pgAdmin, uniqueName } from '../test/helpers/targets.js';
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

const actor = { userId: null, username: 'bench' };
const BENCH_USER = 'whalefall';
const BENCH_PASSWORD = 'bench-Secret-1';

const target = (port: number, username: string, options: Record<string, unknown> = {}): ConnectTarget => ({
  host: '127.0.0.1',
  port,
  database: null,
  username,
  password: username === BENCH_USER ? BENCH_PASSWORD : '',
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

/** The in-process app (buildApp over a SQLite store in a temp dir) with `instance` registered, an operator's token. */
async function seedRouteApp(
  port: number,
  method: string,
): Promise<{ base: string; token: string; id: number; db: Context['store']['db']; collectMs: number[]; close(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-large-'));
  let ctx: Context | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  const close = async () => {
    await app?.close();
    await ctx?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // The log is read, not written: each sync's 'capacity sync completed' line says how long it took up to the save.
    const collectMs: number[] = [];
    const log = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const line of chunk.toString().split('\n')) {
          if (line.includes('"capacity sync completed"')) collectMs.push((JSON.parse(line) as { duration_ms: number }).duration_ms);
        }
        cb();
      },
    });
    ctx = await createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off' }), {
      logger: createLogger('info', log),
    });
    const cred = await ctx.credentials.create({ name: 'bench-mariadb', db_type: 'mariadb', username: BENCH_USER, password: BENCH_PASSWORD }, actor);
    const inst = await ctx.instances.create(
      { name: 'large-mariadb', db_type: 'mariadb', host: '127.0.0.1', port, credential_id: cred.id, options: { method } },
      actor,
    );
    const user = await ctx.auth.createUser({ username: 'bench-operator', password: 'bench-Secret-1', role: 'operator' }, actor);
    const token = (await ctx.auth.createToken(user.id, { name: 'bench' }, actor)).token;
    app = await buildApp(ctx);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return { base, token, id: inst.id, db: ctx.store.db, collectMs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** One manual sync through the seed route, as the UI's button sends it; returns the number of databases saved. */
async function seedRouteSync(base: string, token: string, id: number): Promise<number> {
  const res = await fetch(`${base}/database-sizes/instances/${id}/sync-capacity`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`seed route: HTTP ${res.status} ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data: { databases_count: number } }).data.databases_count;
}

async function mariadb(
  dbs: number,
  tables: number,
  runs: number,
  skipSlow: boolean,
  rows: Cell[][],
  notes: string[],
  misses: string[],
  servers: Record<string, string>,
): Promise<void> {
  // A server of the bench's own (datadir in a temp folder, a free port): 40,000 tables on the shared one slow
  // every other test. The folder is on /dev/shm when there is one (tmpfs: a CREATE TABLE costs 0.6 ms there
  // against 30 ms of fsyncs on this machine's disk; about 4 GB of RAM at full size); BENCH_LARGE_MARIADB_DIR
  // chooses another. The redo log is flushed once a second (creating the tables); nothing measured writes.
  const baseDir = process.env.BENCH_LARGE_MARIADB_DIR || (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const t0 = performance.now();
  const server = await startMariadb(['--innodb-buffer-pool-size=128M', '--innodb-flush-log-at-trx-commit=0', '--max-connections=200'], 120_000, baseDir);
  const unregister = onInterrupt(() => server.stop());
  console.log(`  mariadb: own server on port ${server.port} (${server.dir}) started in ${sec(performance.now() - t0)} s`);
  try {
    const admin = await server.admin();
    try {
      servers.MariaDB = String(((await admin.query('SELECT VERSION() AS v')) as [{ v: string }[], unknown])[0][0]!.v);
      // The login the docs ask for (physical / auto need PROCESS), used by every measured row.
      await admin.query(
        `CREATE USER '${BENCH_USER}'@'127.0.0.1' IDENTIFIED BY '${BENCH_PASSWORD}'; GRANT SELECT, SHOW VIEW, PROCESS ON *.* TO '${BENCH_USER}'@'127.0.0.1'`,
      );
      const c0 = performance.now();
      const cols = 'id INT PRIMARY KEY, name VARCHAR(64), created DATETIME, KEY (name)';
      for (let i = 0; i < dbs; i++) {
        checkInterrupted();
        const n = `large_${String(i).padStart(5, '0')}`;
        await admin.query(
          `CREATE DATABASE \`${n}\`; ${Array.from({ length: tables }, (_, k) => `CREATE TABLE \`${n}\`.t${k} (${cols}) ENGINE=InnoDB;`).join(' ')}`,
        );
        if ((i + 1) % 200 === 0) console.log(`  mariadb: created ${i + 1}/${dbs} databases (${sec(performance.now() - c0)} s)`);
      }
      console.log(`  mariadb: ${dbs} databases × ${tables} tables created in ${sec(performance.now() - c0)} s`);
    } finally {
      await admin.end();
    }
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: BENCH_USER, password: BENCH_PASSWORD });
    const measured: [string, { ms: number[]; value: unknown }][] = [];
    let first: { ms: number; value: number } | undefined;
    const split: string[] = [];
    const perRound: string[] = [];
    try {
      const total = Number(((await conn.query('SELECT COUNT(*) AS n FROM information_schema.TABLES')) as [{ n: number }[], unknown])[0][0]!.n);
      const schemas = Number(((await conn.query('SELECT COUNT(*) AS n FROM information_schema.SCHEMATA')) as [{ n: number }[], unknown])[0][0]!.n);
      notes.push(
        `MariaDB: a server of the bench's own (mariadbd, datadir in a temp folder under ${baseDir}, buffer pool 128 MB), ${int(dbs)} databases × ${tables} tables created by the bench: ${int(schemas)} schemas and ${int(total)} tables in all (the system ones included).`,
      );
      // The floor, physical on the engine and physical through the seed route are timed in rounds (one of each per
      // round, after a warm-up round): on a shared machine each sees the same load.
      const seed = await seedRouteApp(server.port, 'physical');
      try {
        const f0 = performance.now();
        const value = await seedRouteSync(seed.base, seed.token, seed.id);
        first = { ms: performance.now() - f0, value };
        const today = (await seed.db.selectFrom('database_size_stats').select('collected_date').limit(1).executeTakeFirstOrThrow()).collected_date;
        let moved = 0;
        const round: [string, () => Promise<unknown>][] = [
          ['floor: bare SELECT COUNT(*) FROM information_schema.TABLES', () => conn.query('SELECT COUNT(*) FROM information_schema.TABLES')],
          ['ours: mariadb engine, method physical (connect, collect, close)', () => ours('mariadb', target(server.port, BENCH_USER, { method: 'physical' }))],
          [
            'ours through the seed route, method physical, a new day (HTTP: POST /database-sizes/instances/:id/sync-capacity, connect, collect, save, answer)',
            () => seedRouteSync(seed.base, seed.token, seed.id),
          ],
          ["ours through the seed route, method physical, the same day again (the day's rows re-saved)", () => seedRouteSync(seed.base, seed.token, seed.id)],
        ];
        const ms = round.map((): number[] => []);
        const upToSave = round.map((): number[] => []);
        for (let r = 0; r <= runs; r++) {
          for (const [i, [, fn]] of round.entries()) {
            if (i === 2) {
              // A new day for the store: today's rows moved to a day of their own in the past (not timed), so the
              // sync inserts the day's rows of databases it already knows, as the first click of a day does.
              await seed.db
                .updateTable('database_size_stats')
                .set({ collected_date: new Date(Date.UTC(2000, 0, ++moved)).toISOString().slice(0, 10) })
                .where('collected_date', '=', today)
                .execute();
            }
            const logged = seed.collectMs.length;
            const t = performance.now();
            await fn();
            if (r > 0) ms[i]!.push(performance.now() - t);
            if (r > 0 && seed.collectMs.length > logged) upToSave[i]!.push(seed.collectMs[seed.collectMs.length - 1]!);
          }
        }
        for (const [i, [label]] of round.entries()) measured.push([label, { ms: ms[i]!, value: undefined }]);
        // Each round's own ratio to its floor: on a loaded machine the load moves between rounds more than within one.
        for (const i of [1, 2, 3])
          perRound.push(`${['', 'the engine', 'a new day', 'the same day again'][i]} ${ratio(median(ms[i]!.map((x, r) => x / ms[0]![r]!)))}`);
        for (const i of [2, 3]) {
          const whole = median(ms[i]!);
          const before = median(upToSave[i]!);
          split.push(
            `${i === 2 ? 'a new day' : 'the same day again'}: ${sec(whole)} s = ${sec(before)} s up to the save (lock, session, connect, collect) + ${sec(whole - before)} s after (save of the day's rows, session end, audit, HTTP answer)`,
          );
        }
      } finally {
        await seed.close();
      }
      if (!skipSlow) {
        for (const method of ['logical', 'auto'] as const) {
          measured.push([
            `ours: mariadb engine, method ${method} (connect, collect, close)`,
            await timings(runs, () => ours('mariadb', target(server.port, BENCH_USER, { method }))),
          ]);
        }
      }
      if (!skipSlow) {
        measured.push(["seed's query (SCHEMATA LEFT JOIN TABLES, GROUP BY)", await timings(runs, () => conn.query(SEED_MYSQL))]);
        const all = ((await conn.query('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA')) as [{ s: string }[], unknown])[0].map((r) => r.s);
        measured.push([
          'per-database loop (one TABLES query per schema)',
          await timings(runs, async () => {
            for (const s of all) await conn.query('SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [s]);
          }),
        ]);
      }
    } finally {
      await conn.end();
    }
    const floor = median(measured[0]![1].ms);
    for (const [label, m] of measured) rows.push(['MariaDB', label, sec(median(m.ms)), m.ms.map(sec).join(', '), ratio(median(m.ms) / floor)]);
    const at = (prefix: string) => median(measured.find(([l]) => l.startsWith(prefix))![1].ms);
    const physical = at('ours: mariadb engine, method physical');
    const route = at('ours through the seed route, method physical, a new day');
    const again = at('ours through the seed route, method physical, the same day');
    notes.push(
      "The 'ours' rows include connecting and closing (the engine end to end); the floor and the seed's and loop's rows run on an open connection. COUNT(*) needs no table statistics (no DATA_LENGTH), so it opens no table: at small sizes the fixed connect cost dominates the ratio, at 40,000 tables the scan does. Every row logs in as the same user (SELECT, SHOW VIEW, PROCESS on *.*, as docs/engines.md asks).",
      `The seed route rows: the app in this process (buildApp, SQLite store in a temp dir, logging at info into nothing), the instance registered with method physical, an operator's bearer token; one POST timed from the request to the parsed answer (HTTP, lock, session, connect, collect, save of ${int(first!.value)} databases, audit, answer). The instance's first sync (every database new to the store) took ${sec(first!.ms)} s, not counted. 'A new day': today's rows are moved to a past day before each (not timed), so the save inserts the day's rows, as a day's first click does; 'the same day again' re-saves them (updates). The floor, the engine and the two route rows run in rounds, one of each per round after a warm-up round.`,
      `Median of each round's ratio to that round's floor: ${perRound.join(', ')}.`,
      `Where the seed route's time goes (medians; the sync's own log says how long it took up to the save): ${split.join('; ')}.`,
      `Target: physical through the seed route within 2× the bare COUNT(*) — a new day ${ratio(route / floor)}, the same day again ${ratio(again / floor)} (the engine alone ${ratio(physical / floor)}): ${route <= 2 * floor ? 'met' : 'MISSED'}.`,
    );
    if (route > 2 * floor) misses.push(`MariaDB physical through the seed route ${ratio(route / floor)}× the floor`);
    if (!skipSlow) {
      const logical = at('ours: mariadb engine, method logical');
      notes.push(
        `Target: MariaDB 40,000 tables collected within 2× the bare COUNT(*) — ours (logical) / floor = ${ratio(logical / floor)}: ${logical <= 2 * floor ? 'met' : 'MISSED'}.`,
      );
      if (logical > 2 * floor) misses.push(`MariaDB logical ${ratio(logical / floor)}× the floor`);
    }
  } finally {
    const s0 = performance.now();
    await server.stop();
    unregister();
    console.log(`  mariadb: own server stopped and removed in ${sec(performance.now() - s0)} s`);
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
  // BENCH_LARGE_QUICK=1: MariaDB's floor, physical and the seed route only (the logical, auto, seed's-query and loop
  // rows take minutes at full size).
  const quick = process.env.BENCH_LARGE_QUICK === '1';
  if (only !== 'postgresql') await mariadb(myDbs, myTables, runs, quick, rows, notes, misses, servers);
  if (only !== 'mariadb') await postgresql(pgDbs, runs, rows, notes, misses, servers);
  notes.push(
    `Each figure is the median of ${runs} runs after one warm-up (the runs are listed); ratios are against the floor of the same server.`,
    misses.length ? `Targets missed: ${misses.join('; ')}.` : 'Every target met.',
  );
  return {
    servers,
    parameters: {
      ...(only ? { only } : {}),
      ...(quick ? { quick: 'yes' } : {}),
      'MariaDB databases': myDbs,
      'tables per database': myTables,
      'PostgreSQL databases': pgDbs,
      runs,
    },
    columns: ['server', 'method', 'median (s)', 'runs (s)', 'vs floor'],
    rows,
    notes,
    failed: false,
  };
}

export const largeInstance: Scenario = {
  summary:
    "Collection from one large server: MariaDB 2,000 databases × 20 tables and PostgreSQL 1,000 databases (created and dropped by the bench): our collector's methods against the seed's MySQL query and a per-database loop, with the bare catalog query as the floor.",
  env: [
    'BENCH_LARGE_MARIADB_DATABASES',
    'BENCH_LARGE_MARIADB_TABLES',
    'BENCH_LARGE_PG_DATABASES',
    'BENCH_LARGE_RUNS',
    'BENCH_LARGE_ONLY',
    'BENCH_LARGE_QUICK',
    'BENCH_LARGE_MARIADB_DIR',
  ],
  run,
};
