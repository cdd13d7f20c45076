/**
 * import: fleet onboarding at scale.
 *
 * 1. A CSV of BENCH_IMPORT_INSTANCES (5,000) instances, every one with a
 *    shared credential, tags and some options, imported by
 *    `fleet.import` into a fresh SQLite store: the dry run (parse + checks),
 *    the real import (one transaction), a re-import that changes nothing and
 *    one that changes 10 rows, and the YAML export → import of the same
 *    registry. Target: the real import under 5 s.
 * 2. Bulk test-connection of BENCH_TEST_INSTANCES (500) instances, each
 *    reached through one latency proxy adding BENCH_TEST_DELAY_MS (25 ms)
 *    each way in front of the pg-responder (test/helpers/pg-responder.ts: a
 *    PostgreSQL wire server with no backend per connection, so the server's
 *    connection limit does not cap the concurrency). Run at each concurrency
 *    of BENCH_TEST_CONCURRENCY (8,32,128): wall time should fall about as
 *    instances × floor / concurrency, the floor being one test alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { csvLine } from '../src/lib/csv.js';
import { createLogger } from '../src/lib/logger.js';
import type { Actor } from '../src/services/audit.service.js';
import { FLEET_COLUMNS } from '../src/services/fleet.service.js';
import { startLatencyProxy } from '../test/helpers/latency-proxy.js';
import { startPgResponder } from '../test/helpers/pg-responder.js';
import type { Cell, Report, Scenario } from './common.js';

const actor: Actor = { userId: null, username: 'bench' };

function envInt(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

function envList(name: string, def: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const xs = raw.split(',').map((s) => Number(s.trim()));
  if (!xs.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`${name} must be a comma-separated list of positive integers, got "${raw}"`);
  return xs;
}

async function freshContext(): Promise<{ ctx: Context; close(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-import-'));
  // The bulk test is measured up to concurrency 128: above the default total connection cap (64), lifted here.
  const config = loadConfig({
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_SCHEDULER: 'off',
    LOG_LEVEL: 'warn',
    WHALEFALL_CONNECTIONS_TOTAL: '4096',
  });
  const ctx = await createContext(config, { logger: createLogger('warn', process.stderr) });
  return {
    ctx,
    async close() {
      await ctx.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function fleetCsv(n: number, host: (i: number) => string, port: (i: number) => number, change = new Set<number>()): string {
  const types = ['postgresql', 'mysql', 'mariadb', 'sqlserver'];
  let out = csvLine(FLEET_COLUMNS);
  for (let i = 0; i < n; i++) {
    out += csvLine([
      `inst-${String(i).padStart(5, '0')}`,
      types[i % types.length],
      change.has(i) ? `moved-${i}.example` : host(i),
      port(i),
      '',
      'shared',
      'true',
      i % 10 === 0 ? `机房 ${i % 7}` : '',
      `env:${i % 3 ? 'prod' : 'test'};team:t${i % 25};region:r${i % 4}`,
      i % 20 === 0 ? '{"connect_timeout_ms":5000}' : '',
    ]);
  }
  return out;
}

const sec = (ms: number) => (ms / 1000).toFixed(2);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

export const importScenario: Scenario = {
  summary:
    'Fleet import of BENCH_IMPORT_INSTANCES instances from CSV into a fresh SQLite store (target < 5 s), re-imports and YAML round trip; bulk test-connection of BENCH_TEST_INSTANCES instances through a latency proxy at each concurrency.',
  env: ['BENCH_IMPORT_INSTANCES', 'BENCH_TEST_INSTANCES', 'BENCH_TEST_DELAY_MS', 'BENCH_TEST_CONCURRENCY'],
  async run(): Promise<Report> {
    const N = envInt('BENCH_IMPORT_INSTANCES', 5000);
    const T = envInt('BENCH_TEST_INSTANCES', 500);
    const delay = envInt('BENCH_TEST_DELAY_MS', 25);
    const levels = envList('BENCH_TEST_CONCURRENCY', [8, 32, 128]);
    const rows: Cell[][] = [];
    const notes: string[] = [];
    let failed = false;

    // ---- 1. import ----
    const a = await freshContext();
    try {
      await a.ctx.credentials.create({ name: 'shared', username: 'whalefall', password: 'bench-secret' }, actor);
      const csv = fleetCsv(
        N,
        (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        (i) => 5432 + (i % 3),
      );
      const dry = await timed(() => a.ctx.fleet.import(csv, { format: 'csv', dryRun: true }, actor));
      rows.push(['CSV dry run (parse + checks)', N, sec(dry.ms), `${dry.value.created} to create, ${dry.value.errors.length} errors`]);
      const real = await timed(() => a.ctx.fleet.import(csv, { format: 'csv' }, actor));
      rows.push(['CSV import (stored)', N, sec(real.ms), `${real.value.created} created`]);
      const again = await timed(() => a.ctx.fleet.import(csv, { format: 'csv' }, actor));
      rows.push(['CSV re-import, nothing changed', N, sec(again.ms), `${again.value.unchanged} unchanged`]);
      const changed = fleetCsv(
        N,
        (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        (i) => 5432 + (i % 3),
        new Set(Array.from({ length: 10 }, (_, k) => k * 97)),
      );
      const ten = await timed(() => a.ctx.fleet.import(changed, { format: 'csv' }, actor));
      rows.push(['CSV re-import, 10 rows changed', N, sec(ten.ms), `${ten.value.updated} updated, ${ten.value.created} new`]);
      const yamlText = await timed(() => a.ctx.fleet.export('yaml'));
      rows.push(['YAML export', N, sec(yamlText.ms), `${(yamlText.value.length / 2 ** 20).toFixed(1)} MiB`]);
      const b = await freshContext();
      try {
        await b.ctx.credentials.create({ name: 'shared', username: 'whalefall', password: 'other' }, actor);
        const y = await timed(() => b.ctx.fleet.import(yamlText.value, { format: 'yaml' }, actor));
        rows.push(['YAML import into an empty store', N, sec(y.ms), `${y.value.created} created`]);
        const same = (await b.ctx.fleet.export('csv')) === (await a.ctx.fleet.export('csv'));
        if (!same) {
          failed = true;
          notes.push('FAILED: the YAML round trip did not rebuild the same registry.');
        }
      } finally {
        await b.close();
      }
      if (!real.value.applied || real.value.created !== N || ten.value.updated !== 10 || ten.value.created !== 0) {
        failed = true;
        notes.push('FAILED: the import did not create every instance or the re-import did not update exactly 10.');
      }
      notes.push(
        real.ms < 5000
          ? `Target met: ${N} instances imported in ${sec(real.ms)} s (< 5 s).`
          : `Target MISSED: ${N} instances took ${sec(real.ms)} s (target < 5 s).`,
      );
    } finally {
      await a.close();
    }

    // ---- 2. bulk test-connection ----
    const server = await startPgResponder({ handler: () => undefined });
    const proxy = await startLatencyProxy({ targetHost: server.host, targetPort: server.port, delayMs: delay });
    const c = await freshContext();
    try {
      await c.ctx.credentials.create({ name: 'pg', username: 'postgres', password: '' }, actor);
      const text = fleetCsv(
        T,
        () => proxy.host,
        () => proxy.port,
      )
        .replace(/,(postgresql|mysql|mariadb|sqlserver),/g, ',postgresql,')
        .replace(/,shared,/g, ',pg,');
      const imp = await c.ctx.fleet.import(text, { format: 'csv' }, actor);
      if (imp.created !== T) throw new Error(`bench setup: ${imp.created} of ${T} instances imported: ${JSON.stringify(imp.errors.slice(0, 3))}`);
      // The floor: one test alone, median of 5 after a warm-up (the first pays for loading the driver).
      await c.ctx.fleet.testConnections({ names: ['inst-00000'] });
      const alone: number[] = [];
      for (let k = 0; k < 5; k++) alone.push((await timed(() => c.ctx.fleet.testConnections({ names: ['inst-00000'] }))).ms);
      const floor = alone.sort((x, y) => x - y)[2]!;
      rows.push(['test-connection, 1 instance alone (floor)', 1, sec(floor), 'median of 5']);
      let previous: number | undefined;
      for (const level of levels) {
        const r = await timed(() => c.ctx.fleet.testConnections({ all: true }, { concurrency: level }));
        const bad = r.value.filter((x) => !(x.reachable && x.auth_ok)).length;
        if (bad) {
          failed = true;
          notes.push(`FAILED: ${bad} of ${T} connection tests failed at concurrency ${level}: ${r.value.find((x) => x.error)?.error}`);
        }
        const ideal = (T * floor) / level;
        rows.push([
          `test-connection, concurrency ${level}`,
          T,
          sec(r.ms),
          `ideal ${sec(ideal)} s${previous ? `; ${(previous / r.ms).toFixed(1)}× faster than the level before` : ''}`,
        ]);
        previous = r.ms;
      }
      notes.push(
        `Each connection test goes through the proxy (${delay} ms each way): the wall time should fall with the concurrency until the process itself is the limit.`,
      );
    } finally {
      await c.close();
      await proxy.close();
      await server.close();
    }
    return {
      servers: { 'pg-responder': 'test/helpers/pg-responder.ts' },
      parameters: { BENCH_IMPORT_INSTANCES: N, BENCH_TEST_INSTANCES: T, BENCH_TEST_DELAY_MS: delay, BENCH_TEST_CONCURRENCY: levels.join(',') },
      columns: ['step', 'instances', 'seconds', 'result'],
      rows,
      notes,
      failed,
    };
  },
};
