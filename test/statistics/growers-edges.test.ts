/**
 * Top growers against a reference written from their definition, on both stores, over random histories: days
 * missed, databases new or gone in the window, rows marked deleted, sizes not measured (NULL), system databases,
 * and windows that start before or end after the data, hold one day, or none. The store reads most first and last
 * rows by joining the window's first and last days with rows, and the rest by seeks (statistics.repository.ts
 * `edges`): every case where a database's first or last row is not on those days takes the second way.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { addDays } from '../../src/lib/clock.js';
import type { GrowersQuery } from '../../src/store/statistics.repository.js';
import { StatisticsRepository } from '../../src/store/statistics.repository.js';
import { forEachStore } from '../helpers/context.js';
import { addInstance, days } from './fixtures.js';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = '2024-03-01';

/** Rows in slices a multi-row INSERT takes on both stores. */
function chunks<T>(xs: T[], n = 200): T[][] {
  return Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));
}
const SPAN = 40;

interface DayRow {
  inst: number;
  db: string;
  date: string;
  size: number | null;
  deleted: boolean;
}
interface InstRow {
  inst: number;
  date: string;
  total: number;
}
interface Grower {
  instance_id: number;
  database_name: string;
  first_bytes: number;
  last_bytes: number;
}

/** The definition: last = the last measured row in [from, to]; first = the first measured row of an earlier day. */
function edgesOf<T extends { date: string }>(rows: T[], from: string, to: string, value: (r: T) => number | null): [number | null, number | null] {
  const inWindow = rows.filter((r) => r.date >= from && r.date <= to).sort((a, b) => a.date.localeCompare(b.date));
  const last = inWindow.at(-1);
  if (!last) return [null, null];
  const first = inWindow.find((r) => r.date < last.date);
  return [first ? value(first) : null, value(last)];
}

function rank(xs: Grower[], by: 'bytes' | 'pct'): Grower[] {
  const key = (g: Grower) => (by === 'pct' ? ((g.last_bytes - g.first_bytes) * 100) / g.first_bytes : g.last_bytes - g.first_bytes);
  return xs
    .filter((g) => by === 'bytes' || g.first_bytes > 0)
    .sort((a, b) => key(b) - key(a) || a.instance_id - b.instance_id || a.database_name.localeCompare(b.database_name));
}

forEachStore('top growers: joined edge days against the definition', (get) => {
  const dbRows: DayRow[] = [];
  const instRows: InstRow[] = [];
  const live: { inst: number; db: string; system: boolean }[] = [];
  const instances: number[] = [];
  let repo: StatisticsRepository;

  before(async () => {
    const ctx = get();
    repo = new StatisticsRepository(ctx.store.db, ctx.store.dialect);
    const r = random(22);
    const dates = days(FIRST, SPAN);
    for (let i = 0; i < 6; i++) {
      const inst = await addInstance(ctx, `edge-${i}`);
      instances.push(inst);
      for (let k = 0; k < 6; k++) {
        const db = `db${k}`;
        // Some databases start late or stop early; every one misses days now and then.
        const start = r() < 0.3 ? Math.floor(r() * SPAN) : 0;
        const end = r() < 0.3 ? start + Math.floor(r() * (SPAN - start)) : SPAN - 1;
        let size = 1000 + Math.floor(r() * 100_000);
        for (let d = start; d <= end; d++) {
          if (r() < 0.15) continue;
          size += Math.floor(r() * 5000) - 1500;
          const deleted = r() < 0.05;
          const unmeasured = !deleted && r() < 0.07;
          dbRows.push({ inst, db, date: dates[d]!, size: unmeasured ? null : Math.max(0, size), deleted });
        }
        const system = r() < 0.15;
        const gone = r() < 0.1;
        if (!gone) live.push({ inst, db, system });
        const at = `${FIRST}T03:00:00.000Z`;
        await ctx.store.db
          .insertInto('instance_databases')
          .values({
            instance_id: inst,
            database_name: db,
            is_system: system ? 1 : 0,
            first_seen_date: FIRST,
            last_seen_date: dates[end]!,
            is_deleted: gone ? 1 : 0,
            deleted_at: gone ? at : null,
            created_at: at,
            updated_at: at,
          })
          .execute();
      }
      for (const date of dates) {
        if (r() < 0.15) continue;
        instRows.push({ inst, date, total: 10_000 + Math.floor(r() * 1_000_000) });
      }
    }
    const stamp = (date: string) => `${date}T03:00:00.000Z`;
    for (const part of chunks(dbRows)) {
      await ctx.store.db
        .insertInto('database_size_stats')
        .values(
          part.map((x) => ({
            instance_id: x.inst,
            database_name: x.db,
            collected_date: x.date,
            size_bytes: x.size,
            method: 'test',
            collected_at: stamp(x.date),
            is_deleted: x.deleted ? 1 : 0,
            deleted_at: x.deleted ? stamp(x.date) : null,
            created_at: stamp(x.date),
            updated_at: stamp(x.date),
          })),
        )
        .execute();
    }
    for (const part of chunks(instRows)) {
      const rows = part.map((x) => ({
        instance_id: x.inst,
        collected_date: x.date,
        total_size_bytes: x.total,
        database_count: 1,
        collected_at: stamp(x.date),
      }));
      await ctx.store.db.insertInto('instance_size_stats').values(rows).execute();
    }
  });

  // Windows inside the data, starting before it, ending after it, of one day, and past its end (no rows).
  const windows: [string, string][] = [
    [addDays(FIRST, 5), addDays(FIRST, 34)],
    [addDays(FIRST, -20), addDays(FIRST, 10)],
    [addDays(FIRST, 25), addDays(FIRST, 60)],
    [addDays(FIRST, 12), addDays(FIRST, 12)],
    [addDays(FIRST, 12), addDays(FIRST, 13)],
    [addDays(FIRST, 39), addDays(FIRST, 39)],
    [addDays(FIRST, 41), addDays(FIRST, 70)],
  ];
  const query = (from: string, to: string, by: 'bytes' | 'pct', extra: Partial<GrowersQuery> = {}): GrowersQuery => ({
    from,
    to,
    fromTs: `${from}T00:00:00.000Z`,
    untilTs: `${addDays(to, 1)}T00:00:00.000Z`,
    by,
    limit: 1000,
    includeSystem: false,
    ...extra,
  });
  const shape = (xs: { instance_id: number; database_name: string; first_bytes: number; last_bytes: number }[]) =>
    xs.map((g) => ({
      instance_id: Number(g.instance_id),
      database_name: g.database_name,
      first_bytes: Number(g.first_bytes),
      last_bytes: Number(g.last_bytes),
    }));

  it('databases: the same growers, in the same order, as the definition', async () => {
    let compared = 0;
    for (const [from, to] of windows) {
      for (const includeSystem of [false, true]) {
        const expected: Grower[] = [];
        for (const d of live.filter((x) => includeSystem || !x.system)) {
          const mine = dbRows.filter((x) => x.inst === d.inst && x.db === d.db && !x.deleted && x.size !== null);
          const [first, last] = edgesOf(mine, from, to, (x) => x.size);
          if (first !== null && last !== null) expected.push({ instance_id: d.inst, database_name: d.db, first_bytes: first, last_bytes: last });
        }
        for (const by of ['bytes', 'pct'] as const) {
          const got = await repo.databaseGrowers(query(from, to, by, { includeSystem }));
          assert.deepEqual(shape(got), rank(expected, by), `window ${from}..${to} by ${by}, system ${includeSystem}`);
          compared += got.length;
        }
      }
    }
    assert.ok(compared > 200, `compared ${compared} growers`);
  });

  it('instances: the same growers as the definition, and a tag-like subset', async () => {
    for (const [from, to] of windows) {
      const expected: Grower[] = [];
      for (const inst of instances) {
        const [first, last] = edgesOf(
          instRows.filter((x) => x.inst === inst),
          from,
          to,
          (x) => x.total,
        );
        if (first !== null && last !== null) expected.push({ instance_id: inst, database_name: '', first_bytes: first, last_bytes: last });
      }
      assert.deepEqual(shape(await repo.instanceGrowers(query(from, to, 'bytes'))), rank(expected, 'bytes'), `window ${from}..${to}`);
      const some = instances.slice(0, 3);
      assert.deepEqual(
        shape(await repo.instanceGrowers(query(from, to, 'bytes', { instanceIds: some }))),
        rank(
          expected.filter((g) => some.includes(g.instance_id)),
          'bytes',
        ),
      );
    }
  });
});
