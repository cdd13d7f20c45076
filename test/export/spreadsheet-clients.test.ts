/**
 * Every CSV export, read the way users read it: Python's `csv` module and
 * LibreOffice Calc (headless `--convert-to xlsx`, then the sheet XML; see
 * spreadsheet-read.py). Numbers must be plain decimals that Calc stores as
 * numbers (no `'-5.934e-7` text), percentages rounded to 2 places, booleans
 * `true`/`false` (Calc: boolean) in every export, the formula guard on
 * strings only (a hostile `=SUM(A1)` database name stays text), and total
 * rows marked as such.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { CollectedDatabase } from '../../src/domain/collection.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const run = promisify(execFile);
const actor = { userId: null, username: 'test' };
const HOSTILE = ['=SUM(A1)', '-cmd', '+1', '@x', 'plain'];

type Report = Record<string, { header: string[]; python: Record<string, string[]>; calc: Record<string, string[]>; calc_values: Record<string, string[]> }>;

function db(name: string, size: number): CollectedDatabase {
  return {
    database_name: name,
    is_system: false,
    size_bytes: size,
    data_bytes: Math.round(size * 0.7),
    index_bytes: Math.round(size * 0.3),
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: 'test',
  };
}

describe('CSV exports read by Python csv and LibreOffice Calc', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let report: Report;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-csv-'));

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin },
    } = await newTestApp(ctx));
    const a = await ctx.instances.create({ name: 'pg-a', db_type: 'postgresql', host: '10.0.0.1', port: 5432, tags: ['env:prod'] }, actor);
    const b = await ctx.instances.create({ name: '=cmd|b', db_type: 'mysql', host: '10.0.0.2', port: 3306, is_active: false }, actor);
    // Sizes chosen for awkward ratios: a one-byte shrink of 168.5 MB is a -5.934e-7 % change.
    const base = 168_500_000;
    const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04'];
    const grow = [0, -1, 56_166_667, 1];
    let size = base;
    for (const [i, day] of days.entries()) {
      size += grow[i]!;
      const dbs = HOSTILE.map((n, k) => db(n, size + k * 1_234_567));
      await ctx.repos.capacity.saveCollection({ instanceId: a.id, collectedDate: day, collectedAt: `${day}T03:00:00.000Z`, databases: dbs });
      await ctx.repos.capacity.saveCollection({
        instanceId: b.id,
        collectedDate: day,
        collectedAt: `${day}T03:00:00.000Z`,
        databases: [db('shop', 3 * (i + 1) * 1_000_003)],
      });
    }
    const agg = await app.inject({
      method: 'POST',
      url: '/api/statistics/aggregate',
      headers: admin.headers(true),
      payload: { period: 'daily', from: days[0], to: days[3] },
    });
    assert.ok(agg.statusCode < 300, agg.body);

    const exports: Record<string, string> = {
      'database-sizes': `/api/export/database-sizes.csv?from=${days[0]}&to=${days[3]}`,
      history: `/api/instances/${a.id}/history.csv`,
      summary: '/api/statistics/summary?format=csv',
      series: `/api/statistics/instances/${a.id}/series?period=daily&from=${days[0]}&to=${days[3]}&format=csv`,
      capacity: `/api/statistics/capacity?period=daily&from=${days[0]}&to=${days[3]}&format=csv`,
      'capacity-db': `/api/statistics/capacity?scope=database&period=daily&from=${days[0]}&to=${days[3]}&format=csv`,
      instances: '/api/instances/export?format=csv',
    };
    for (const [name, url] of Object.entries(exports)) {
      const r = await app.inject({ method: 'GET', url, headers: admin.headers(false) });
      assert.equal(r.statusCode, 200, `${name}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^text\/csv/, name);
      fs.writeFileSync(path.join(dir, `${name}.csv`), r.rawPayload);
    }
    const { stdout } = await run('python3', [path.join(import.meta.dirname, 'spreadsheet-read.py'), dir], { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    report = JSON.parse(stdout) as Report;
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await app?.close();
    await ctx?.cleanup();
  });

  const NUMERIC = /(_bytes|_pct|_id|^instances|^databases|^days_with_data|^port)$/;
  const BOOLEAN = /^is_/;

  it('every export has rows, and every numeric column is a number in Calc, a plain decimal in Python', () => {
    assert.equal(Object.keys(report).length, 7);
    for (const [file, r] of Object.entries(report)) {
      const rows = r.python[r.header[0]!]!.length;
      assert.ok(rows > 0, `${file}: has rows`);
      for (const col of r.header) {
        const py = r.python[col]!;
        for (const v of py) {
          assert.doesNotMatch(v, /^'?-?\d+(\.\d+)?e[+-]?\d+$/i, `${file}.${col}: no exponent form (${v})`);
          assert.doesNotMatch(v, /^'-?[\d.]/, `${file}.${col}: a number is never guarded as text (${v})`);
        }
        if (NUMERIC.test(col)) {
          for (const [i, v] of py.entries()) {
            if (v === '') continue;
            assert.match(v, /^-?\d+(\.\d+)?$/, `${file}.${col}[${i}]: plain decimal (${v})`);
            assert.equal(r.calc[col]![i], 'number', `${file}.${col}[${i}]: Calc reads a number (${v})`);
            assert.equal(Number(r.calc_values[col]![i]), Number(v), `${file}.${col}[${i}]: same value in Calc`);
          }
        }
        if (col.endsWith('_pct')) for (const v of py) assert.match(v, /^(-?\d+(\.\d{1,2})?)?$/, `${file}.${col}: 2 decimals at most (${v})`);
        if (BOOLEAN.test(col)) {
          for (const [i, v] of py.entries()) {
            assert.ok(v === 'true' || v === 'false', `${file}.${col}: true/false (${v})`);
            assert.equal(r.calc[col]![i], 'boolean', `${file}.${col}[${i}]: Calc reads a boolean`);
          }
        }
      }
    }
  });

  it('a one-byte shrink is a tiny number, not text (the pandas object-column bug)', () => {
    const s = report['series.csv']!;
    const pcts = s.python.change_pct!.filter((v) => v !== '');
    assert.ok(pcts.length >= 2);
    assert.ok(pcts.includes('0') || pcts.includes('-0'), `the -5.934e-7 % change rounds to 0: ${pcts.join(' ')}`);
    // The ~1/3 growth of day 3 (56,166,667 B on 5 × ~170 MB) is an unrounded ratio, written with 2 decimals.
    assert.ok(
      pcts.some((v) => /^\d+\.\d{2}$/.test(v) && Number(v) > 30 && Number(v) < 34),
      `the day-3 growth, 2 decimals: ${pcts.join(' ')}`,
    );
  });

  it('the formula guard applies to strings only: hostile names stay text in Calc', () => {
    const d = report['database-sizes.csv']!;
    for (const name of ['=SUM(A1)', '-cmd', '+1', '@x']) {
      const i = d.python.database_name!.indexOf(`'${name}`);
      assert.ok(i >= 0, `${name} guarded with one '`);
      assert.equal(d.calc.database_name![i], 'string', `${name}: text in Calc, not a formula`);
    }
    const inst = report['instances.csv']!;
    assert.ok(inst.python.name!.includes("'=cmd|b"));
    assert.deepEqual([...new Set(inst.python.is_active)].sort(), ['false', 'true']);
  });

  it('totals are marked rows, never mixed in as detail', () => {
    for (const f of ['capacity.csv', 'capacity-db.csv']) {
      const c = report[f]!;
      const kinds = new Set(c.python.series);
      assert.deepEqual([...kinds].sort(), ['top', 'total'], `${f}: each row says total or top`);
      for (const [i, k] of c.python.series!.entries()) if (k === 'total') assert.equal(c.python.instance_name![i], '', 'a total row names no instance');
    }
    const s = report['summary.csv']!;
    assert.equal(s.python.group![0], 'estate');
    assert.equal(s.python.key![0], 'total');
  });
});
