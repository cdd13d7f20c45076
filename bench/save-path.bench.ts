/**
 * save-path: saving one day's collection into the store — ours
 * (`CapacityRepository.saveCollection`: batched upserts in one transaction,
 * plus the lifecycle table and the instance totals) against a seed-style save
 * (the seed's `save_collected_data`: one SELECT of the day's rows, then per
 * database one SELECT and an INSERT or UPDATE, then one UPDATE per row to soft
 * delete, all in one transaction — run here through the same Kysely store, so
 * the comparison is the statement pattern, not the ORM).
 *
 * Two shapes: one instance with 20,000 databases, and 200 instances × 100
 * databases; SQLite (a file in a temp dir) and PostgreSQL (a database created
 * for the run and dropped after). Each shape first gets one untimed day (the
 * lifecycle rows exist, as on any night but the first), then per run a new
 * day is saved (inserts), and the same day saved again with 1 % of the
 * databases gone (updates and soft deletes).
 *
 * The floor is the store's raw insert rate into database_size_stats: one
 * prepared INSERT per row in one transaction straight through better-sqlite3,
 * and one INSERT … SELECT FROM unnest(…) per 10,000 rows straight through pg.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { CollectedDatabase } from '../src/domain/collection.js';
import { addDays } from '../src/lib/clock.js';
import { CapacityRepository } from '../src/store/capacity.repository.js';
import { openStore, type Store } from '../src/store/db.js';
import { pgAdmin, uniqueName } from '../test/helpers/targets.js';
import { envInt, int, median, onInterrupt, ratio, sec } from './common.js';
import type { Cell, Report, Scenario } from './common.js';

const DAY0 = '2026-01-01';

interface Shape {
  label: string;
  instances: number;
  databases: number;
}

function collection(n: number, day: number, drop = 0): CollectedDatabase[] {
  const out: CollectedDatabase[] = [];
  for (let j = 0; j < n; j++) {
    if (drop && j % Math.round(1 / drop) === 0) continue;
    const size = (j + 1) * 1048576 + day * 4096;
    out.push({
      database_name: `db_${String(j).padStart(6, '0')}`,
      is_system: false,
      size_bytes: size,
      data_bytes: size - 8192,
      index_bytes: 8192,
      log_bytes: null,
      free_bytes: null,
      used_bytes: null,
      method: 'bench',
    });
  }
  return out;
}

/** The seed's save_collected_data, statement for statement, in one transaction. */
async function seedSave(store: Store, instanceId: number, day: string, now: string, databases: CollectedDatabase[]): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('database_size_stats').selectAll().where('instance_id', '=', instanceId).where('collected_date', '=', day).execute();
    const current = new Set(databases.map((d) => d.database_name));
    for (const r of existing) {
      if (!current.has(r.database_name) && r.is_deleted === 0) {
        await trx.updateTable('database_size_stats').set({ is_deleted: 1, deleted_at: now, updated_at: now }).where('id', '=', r.id).execute();
      }
    }
    for (const d of databases) {
      const row = await trx
        .selectFrom('database_size_stats')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .where('database_name', '=', d.database_name)
        .where('collected_date', '=', day)
        .limit(1)
        .executeTakeFirst();
      if (row) {
        await trx
          .updateTable('database_size_stats')
          .set({
            size_bytes: d.size_bytes,
            data_bytes: d.data_bytes,
            log_bytes: d.log_bytes,
            collected_at: now,
            is_deleted: 0,
            deleted_at: null,
            updated_at: now,
          })
          .where('id', '=', row.id)
          .execute();
      } else {
        await trx
          .insertInto('database_size_stats')
          .values({
            instance_id: instanceId,
            database_name: d.database_name,
            collected_date: day,
            size_bytes: d.size_bytes,
            data_bytes: d.data_bytes,
            log_bytes: d.log_bytes,
            method: d.method,
            collected_at: now,
            is_deleted: 0,
            created_at: now,
            updated_at: now,
          })
          .execute();
      }
    }
  });
}

type Saver = (instanceId: number, day: string, now: string, dbs: CollectedDatabase[]) => Promise<void>;

/** One timed pass over every instance of the shape; returns ms. */
async function pass(ids: number[], save: Saver, day: string, dbs: CollectedDatabase[]): Promise<number> {
  const now = `${day}T03:00:00.000Z`;
  const t0 = performance.now();
  for (const id of ids) await save(id, day, now, dbs);
  return performance.now() - t0;
}

/** Raw insert rate of the store's own table: rows/s. */
async function floor(target: { sqliteFile?: string; databaseUrl?: string }, instanceId: number, rows: number): Promise<number> {
  const day = '2099-12-31';
  const now = `${day}T03:00:00.000Z`;
  const names = Array.from({ length: rows }, (_, j) => `floor_${j}`);
  let ms: number;
  if (target.sqliteFile) {
    const raw = new SQLite(target.sqliteFile);
    try {
      raw.pragma('synchronous = NORMAL');
      const ins = raw.prepare(
        'INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, data_bytes, log_bytes, method, collected_at, is_deleted, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)',
      );
      const all = raw.transaction(() => {
        for (let j = 0; j < rows; j++) ins.run(instanceId, names[j], day, j * 1024, j * 1024, null, 'bench', now, now, now);
      });
      const t0 = performance.now();
      all();
      ms = performance.now() - t0;
      raw.prepare('DELETE FROM database_size_stats WHERE collected_date = ?').run(day);
    } finally {
      raw.close();
    }
  } else {
    const c = new pg.Client({ connectionString: target.databaseUrl });
    await c.connect();
    try {
      const t0 = performance.now();
      await c.query('BEGIN');
      for (let i = 0; i < rows; i += 10_000) {
        const part = names.slice(i, i + 10_000);
        await c.query(
          `INSERT INTO database_size_stats (instance_id, database_name, collected_date, size_bytes, data_bytes, log_bytes, method, collected_at, is_deleted, created_at, updated_at)
           SELECT $1, n, $2::date, s, s, NULL, 'bench', $3::timestamptz, 0, $3::timestamptz, $3::timestamptz FROM unnest($4::text[], $5::bigint[]) AS u(n, s)`,
          [instanceId, day, now, part, part.map((_, j) => (i + j) * 1024)],
        );
      }
      await c.query('COMMIT');
      ms = performance.now() - t0;
      await c.query('DELETE FROM database_size_stats WHERE collected_date = $1', [day]);
    } finally {
      await c.end();
    }
  }
  return (rows / ms) * 1000;
}

interface ShapeResult {
  rows: Cell[][];
  oursInsertRate: number;
  speedups: number[];
}

async function runShape(
  store: Store,
  target: { sqliteFile?: string; databaseUrl?: string },
  shape: Shape,
  runsN: number,
  dayBase: number,
): Promise<ShapeResult> {
  const now0 = `${DAY0}T00:00:00.000Z`;
  const ids: number[] = [];
  for (let i = 0; i < shape.instances; i += 500) {
    const batch = Array.from({ length: Math.min(500, shape.instances - i) }, (_, k) => ({
      name: `save-${shape.instances}x${shape.databases}-${i + k}`,
      db_type: 'postgresql',
      host: 'h',
      port: 5432,
      tags: '[]',
      options: '{}',
      is_active: 1,
      created_at: now0,
      updated_at: now0,
    }));
    ids.push(...(await store.db.insertInto('instances').values(batch).returning('id').execute()).map((r) => r.id));
  }
  const repo = new CapacityRepository(store.db, store.dialect);
  const ours: Saver = async (id, day, now, dbs) => {
    await repo.saveCollection({ instanceId: id, collectedDate: day, collectedAt: now, databases: dbs });
  };
  const seed: Saver = (id, day, now, dbs) => seedSave(store, id, day, now, dbs);

  // Untimed first day: lifecycle rows exist from now on.
  await pass(ids, ours, addDays(DAY0, dayBase), collection(shape.databases, 0));

  const rowsPerPass = shape.instances * shape.databases;
  const times = { ours: [[], []] as number[][], seed: [[], []] as number[][] };
  let d = dayBase + 1;
  for (let r = 0; r < runsN; r++) {
    for (const [name, save] of [
      ['ours', ours],
      ['seed', seed],
    ] as const) {
      const day = addDays(DAY0, d++);
      times[name][0]!.push(await pass(ids, save, day, collection(shape.databases, d)));
      times[name][1]!.push(await pass(ids, save, day, collection(shape.databases, d, 0.01)));
    }
    console.log(
      `  ${store.dialect} ${shape.label} run ${r + 1}: ours ${sec(times.ours[0]!.at(-1)!)} s + ${sec(times.ours[1]!.at(-1)!)} s, seed-style ${sec(times.seed[0]!.at(-1)!)} s + ${sec(times.seed[1]!.at(-1)!)} s`,
    );
  }
  const floorRate = await floor(target, ids[0]!, Math.min(rowsPerPass, 100_000));
  const out: Cell[][] = [];
  const speedups: number[] = [];
  const kinds = ['new day (inserts)', 'same day again, 1 % gone (updates + soft deletes)'];
  for (let k = 0; k < 2; k++) {
    const o = median(times.ours[k]!);
    const s = median(times.seed[k]!);
    speedups.push(s / o);
    out.push([
      store.dialect,
      shape.label,
      kinds[k]!,
      sec(o),
      int((rowsPerPass / o) * 1000),
      sec(s),
      int((rowsPerPass / s) * 1000),
      ratio(s / o),
      k === 0 ? int(floorRate) : '',
      k === 0 ? ratio(((rowsPerPass / o) * 1000) / floorRate) : '',
    ]);
  }
  return { rows: out, oursInsertRate: (rowsPerPass / median(times.ours[0]!)) * 1000, speedups };
}

async function run(): Promise<Report> {
  const one = envInt('BENCH_SAVE_DATABASES', 20_000);
  const many = envInt('BENCH_SAVE_INSTANCES', 200);
  const perInstance = envInt('BENCH_SAVE_DB_PER_INSTANCE', 100);
  const runsN = envInt('BENCH_SAVE_RUNS', 3);
  const shapes: Shape[] = [
    { label: `1 instance × ${int(one)} databases`, instances: 1, databases: one },
    { label: `${int(many)} instances × ${int(perInstance)} databases`, instances: many, databases: perInstance },
  ];
  const rows: Cell[][] = [];
  const misses: string[] = [];
  const servers: Record<string, string> = {};
  const check = (store: string, r: ShapeResult, shape: Shape) => {
    for (const sp of r.speedups) if (sp < 20) misses.push(`${store} ${shape.label}: ${ratio(sp)}× faster than seed-style (target ≥ 20×)`);
    if (store === 'sqlite' && r.oursInsertRate < 100_000) misses.push(`sqlite ${shape.label}: ${int(r.oursInsertRate)} rows/s (target ≥ 100,000)`);
  };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-save-'));
  const sqliteFile = path.join(dir, 'whalefall.db');
  const lite = openStore({ sqliteFile });
  try {
    await lite.migrate();
    for (const [i, shape] of shapes.entries()) {
      const r = await runShape(lite, { sqliteFile }, shape, runsN, i * 100);
      rows.push(...r.rows);
      check('sqlite', r, shape);
    }
  } finally {
    await lite.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const name = uniqueName('benchsave');
  const admin = await pgAdmin();
  servers.PostgreSQL = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/${name}`;
  const pgStore = openStore({ databaseUrl });
  const drop = async () => {
    const a = await pgAdmin();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => a.end());
  };
  const unregister = onInterrupt(drop);
  try {
    await pgStore.migrate();
    for (const [i, shape] of shapes.entries()) {
      const r = await runShape(pgStore, { databaseUrl }, shape, runsN, i * 100);
      rows.push(...r.rows);
      check('postgres', r, shape);
    }
  } finally {
    await pgStore.close();
    await drop();
    unregister();
  }

  return {
    servers,
    parameters: {
      'one instance': `${one} databases`,
      'many instances': `${many} × ${perInstance} databases`,
      runs: runsN,
      sqlite: 'file in a temp dir, WAL, synchronous=NORMAL',
    },
    columns: [
      'store',
      'shape',
      'save',
      'ours (s)',
      'ours rows/s',
      'seed-style (s)',
      'seed-style rows/s',
      'speed-up',
      'floor rows/s (raw insert)',
      'ours / floor',
    ],
    rows,
    notes: [
      `Medians of ${runsN} runs; each run saves every instance of the shape once per row kind, ours and the seed-style save alternating on fresh days of the same store.`,
      "Ours does more than the seed's save: it also maintains the lifecycle table (instance_databases: first/last seen, deleted, restored) and the day's instance totals, in the same transaction.",
      "Seed-style: the seed's save_collected_data (one SELECT of the day's rows, per database one SELECT then INSERT or UPDATE, one UPDATE per soft-deleted row, one transaction) issued through the same Kysely store.",
      'Floor: raw insert rate into database_size_stats (same indexes) — SQLite: one prepared INSERT per row in one transaction through better-sqlite3; PostgreSQL: INSERT … SELECT FROM unnest() per 10,000 rows through pg; measured on min(rows per pass, 100,000) rows.',
      misses.length ? `Targets missed: ${misses.join('; ')}.` : 'Targets met: ours ≥ 20× the seed-style save in every case, ≥ 100,000 rows/s into SQLite.',
    ],
    failed: false,
  };
}

export const savePath: Scenario = {
  summary:
    "Saving one day's collection (1 instance × 20,000 databases; 200 × 100) into SQLite and PostgreSQL: ours against the seed's per-database SELECT + INSERT/UPDATE save, with the store's raw insert rate as the floor.",
  env: ['BENCH_SAVE_DATABASES', 'BENCH_SAVE_INSTANCES', 'BENCH_SAVE_DB_PER_INSTANCE', 'BENCH_SAVE_RUNS'],
  run,
};
