/**
 * api: HTTP throughput and tail latency of the read endpoints a dashboard and
 * the seed's pages call, on an estate of 5,000 instances (SQLite store, every
 * instance with a size), with autocannon at 50 connections: the instance list,
 * one instance's detail, and the seed-shaped total-sizes. The floor is
 * /healthz on the same server (the HTTP stack alone: no store, no auth).
 *
 * The server is the real app (buildApp) listening on 127.0.0.1, in this
 * process, logging at info to a discarding sink (as a deployment would log);
 * callers use a viewer's bearer token. The statements each request runs are
 * counted through a counting store (total-sizes must stay one query).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { createContext, type Context } from '../src/context.js';
import { buildApp } from '../src/http/app.js';
import { createLogger } from '../src/lib/logger.js';
import { countingSqliteStore } from '../test/helpers/query-count.js';
import { envInt, int, mb, median, ratio } from './common.js';
import type { Cell, Report, Scenario } from './common.js';

const actor = { userId: null, username: 'bench' };

/** `n` instances (multi-row inserts), each with a size and a last sync. */
async function populate(ctx: Context, n: number): Promise<number[]> {
  const now = new Date().toISOString();
  const ids: number[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({
      name: `api-${String(i + k).padStart(5, '0')}`,
      db_type: ['mysql', 'postgresql', 'sqlserver', 'oracle'][(i + k) % 4]!,
      host: `db-${i + k}.example.internal`,
      port: 3306,
      tags: JSON.stringify([`env-${(i + k) % 3}`, 'bench']),
      options: '{}',
      is_active: 1,
      total_size_bytes: (i + k + 1) * 10 * 1048576,
      database_count: 20,
      last_sync_status: 'completed',
      last_sync_at: now,
      created_at: now,
      updated_at: now,
    }));
    ids.push(...(await ctx.store.db.insertInto('instances').values(batch).returning('id').execute()).map((r) => r.id));
  }
  return ids;
}

interface Load {
  reqs: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  bytes: number;
}

function cannon(url: string, token: string, connections: number, seconds: number, paths: () => string): Promise<Load> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url,
        connections,
        duration: seconds,
        headers: { authorization: `Bearer ${token}` },
        requests: [{ setupRequest: (req) => ({ ...req, path: paths() }) }],
      },
      (err, r) => {
        if (err) return reject(err);
        resolve({
          reqs: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          bytes: r.throughput.average,
        });
      },
    );
    inst.on('error', reject);
  });
}

async function run(): Promise<Report> {
  const N = envInt('BENCH_API_INSTANCES', 5000);
  const connections = envInt('BENCH_API_CONNECTIONS', 50);
  const seconds = envInt('BENCH_API_SECONDS', 10);
  const runsN = envInt('BENCH_API_RUNS', 3);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-api-'));
  const counting = countingSqliteStore(path.join(dataDir, 'whalefall.db'));
  const discard = new Writable({ write: (_c, _e, cb) => cb() });
  let ctx: Context | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    ctx = await createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off' }), {
      logger: createLogger('info', discard),
      store: counting.store,
    });
    const ids = await populate(ctx, N);
    const user = await ctx.auth.createUser({ username: 'bench-viewer', password: 'bench-Secret-1', role: 'viewer' }, actor);
    const token = (await ctx.auth.createToken(user.id, { name: 'bench' }, actor)).token;
    app = await buildApp(ctx);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    console.log(`  ${N} instances at ${address}, ${connections} connections, ${seconds} s × ${runsN} runs per endpoint`);

    let k = 0;
    let page = 0;
    const pageSize = 100;
    const pages = Math.ceil(N / pageSize);
    // The whole list in one response is an export (a script's one call), not what 50 dashboards poll: it is measured at a
    // few connections; the pages every client should use, at the full count.
    const exportConnections = Math.min(connections, envInt('BENCH_API_EXPORT_CONNECTIONS', 4));
    const endpoints: { name: string; path: () => string; connections: number }[] = [
      { name: 'floor: GET /healthz (no store, no auth)', path: () => '/healthz', connections },
      {
        name: `GET /api/instances?limit=${pageSize}&offset=… (a page of ${int(N)})`,
        path: () => `/api/instances?limit=${pageSize}&offset=${(page = (page + 7) % pages) * pageSize}`,
        connections,
      },
      { name: `GET /api/instances (all ${int(N)} in one response)`, path: () => '/api/instances', connections: exportConnections },
      { name: 'GET /api/instances/:id (detail)', path: () => `/api/instances/${ids[(k = (k * 48271 + 1) % ids.length)]}`, connections },
      { name: 'GET /instances/api/instances/total-sizes (seed)', path: () => '/instances/api/instances/total-sizes', connections },
    ];
    // Statements per request, counted on one request each (the auth lookup included).
    const perRequest = new Map<string, string[]>();
    for (const e of endpoints) {
      counting.statements.length = 0;
      const res = await app.inject({ method: 'GET', url: e.path(), headers: { authorization: `Bearer ${token}` } });
      if (res.statusCode !== 200) throw new Error(`${e.name}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
      perRequest.set(e.name, [...counting.statements]);
    }

    const rows: Cell[][] = [];
    const results = new Map<string, Load[]>();
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    try {
      for (let r = 0; r < runsN; r++) {
        for (const e of endpoints) {
          const l = await cannon(address, token, e.connections, seconds, e.path);
          await sleep(1000); // let responses still in flight when autocannon stopped drain before the next endpoint
          results.set(e.name, [...(results.get(e.name) ?? []), l]);
          console.log(
            `  run ${r + 1} ${e.name}: ${int(l.reqs)} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms${l.non2xx || l.errors ? `, ${l.non2xx} non-2xx, ${l.errors} errors` : ''}`,
          );
        }
      }
    } finally {
      clearInterval(sampler);
    }
    const floorReqs = median(results.get(endpoints[0]!.name)!.map((l) => l.reqs));
    let failed = false;
    for (const e of endpoints) {
      const ls = results.get(e.name)!;
      const bad = ls.reduce((s, l) => s + l.non2xx + l.errors, 0);
      if (bad) failed = true;
      const reqs = median(ls.map((l) => l.reqs));
      rows.push([
        e.name,
        e.connections,
        int(reqs),
        median(ls.map((l) => l.p50)),
        median(ls.map((l) => l.p99)),
        int(median(ls.map((l) => l.bytes)) / reqs),
        perRequest.get(e.name)!.length,
        ratio(reqs / floorReqs),
        bad ? `${bad} failed` : 'all 200',
      ]);
    }
    const ts = perRequest.get(endpoints[4]!.name)!;
    const onInstances = ts.filter((s) => /\bfrom\s+"?instances"?/i.test(s)).length;
    return {
      servers: {},
      parameters: {
        instances: N,
        connections,
        'duration per run': `${seconds} s`,
        runs: runsN,
        store: 'SQLite (file in a temp dir)',
        auth: 'viewer bearer token',
        logging: 'info, discarded',
      },
      columns: ['endpoint', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'bytes / response', 'statements / request', 'req/s vs floor', 'responses'],
      rows,
      notes: [
        `Medians of ${runsN} runs of ${seconds} s each, endpoints interleaved; autocannon with the connections listed against the app in this same process (client and server share the CPU: the figures are a lower bound for a separate client).`,
        `Statements per request include the bearer token lookup (its last-used time is written at most once a minute per token, so not on these requests). The paged list runs two (the page and its X-Total-Count).`,
        `The whole list in one response (${int(N)} instances) is measured at ${exportConnections} connections: it is what a script exporting the estate calls once; its cost grows with the estate (reading and serialising every row), which is why the list pages (limit/offset) and the UI uses the paged overview.`,
        `Total-sizes ran ${onInstances} statement(s) on the instances table for ${int(N)} instances: ${onInstances === 1 ? 'one query, as required' : 'MORE THAN ONE — regression'} (also asserted by test/api/total-sizes-queries.test.ts).`,
        `Peak RSS of this process (server and autocannon) during the load: ${mb(peakRss)} MB.`,
        'No latency target is set by the issue for these endpoints; the floor row shows what the HTTP stack alone serves on this machine.',
      ],
      failed: failed || onInstances !== 1,
    };
  } finally {
    await app?.close();
    await ctx?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const api: Scenario = {
  summary:
    'HTTP read endpoints on 5,000 instances with autocannon at 50 connections: instance list (a page; the whole list at 4 connections), instance detail, seed-shaped total-sizes (must stay one query), against /healthz as the floor.',
  env: ['BENCH_API_INSTANCES', 'BENCH_API_CONNECTIONS', 'BENCH_API_EXPORT_CONNECTIONS', 'BENCH_API_SECONDS', 'BENCH_API_RUNS'],
  run,
};
