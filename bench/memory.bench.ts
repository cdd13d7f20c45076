/**
 * memory: resident memory of `whalefall serve` (bin/whalefall.mjs, a child
 * process, SQLite store, scheduler off) in three phases — idle after start,
 * during a batch sync of 500 instances against a fake server, and while
 * serving the instance list under load — sampled from /proc/<pid>/status
 * (VmRSS every 50 ms; VmHWM, the kernel's own peak, at the end).
 *
 * The fake server is the pg-responder (test/helpers/pg-responder.ts) in this
 * process, behind a latency proxy adding 50 ms each way, answering the
 * PostgreSQL engine's query with 3 databases; the child reaches it over TCP
 * like any server. The estate, a credential and an admin token are written
 * into the child's data directory before it starts (same store, same key).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { createLogger } from '../src/lib/logger.js';
import { startLatencyProxy } from '../test/helpers/latency-proxy.js';
import { startPgResponder, SIZE_COLUMNS } from '../test/helpers/pg-responder.js';
import { envInt, insertBenchInstances, int, sec } from './common.js';
import { peakDuring, procStatus, serviceNodeArgs, startServe, type Served } from './serve.js';
import type { Cell, Report, Scenario } from './common.js';

const actor = { userId: null, username: 'bench' };
const TARGET_MB = 200;

async function run(): Promise<Report> {
  const N = envInt('BENCH_MEM_INSTANCES', 500);
  const concurrency = envInt('BENCH_MEM_CONCURRENCY', 32);
  const loadSeconds = envInt('BENCH_MEM_SECONDS', 10);
  const delayMs = envInt('BENCH_DELAY_MS', 50);
  // The node flags of the child: those deploy/whalefall.service sets (its NODE_OPTIONS, as the service runs), or
  // BENCH_MEM_NODE_ARGS (e.g. `--max-semi-space-size=4`; empty: none) to compare V8 settings.
  const nodeArgs = process.env.BENCH_MEM_NODE_ARGS !== undefined ? process.env.BENCH_MEM_NODE_ARGS.split(/\s+/).filter(Boolean) : serviceNodeArgs();

  const rows = [
    [5, 'postgres', false, true, '7500000', '15.4'],
    [16384, 'app', false, true, '850000000', '15.4'],
    [16385, 'reports', false, true, '95000000', '15.4'],
  ];
  const responder = await startPgResponder({
    serverVersion: '15.4',
    handler: (q) =>
      /pg_database_size\(oid\)/.test(q)
        ? {
            columns: SIZE_COLUMNS,
            rows,
          }
        : undefined,
  });
  const proxy = await startLatencyProxy({ targetHost: responder.host, targetPort: responder.port, delayMs });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-mem-'));
  let served: Served | undefined;
  try {
    const env = {
      WHALEFALL_DATA_DIR: dataDir,
      WHALEFALL_TZ: 'UTC',
      WHALEFALL_SCHEDULER: 'off',
      WHALEFALL_SYNC_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'warn',
    };
    // The estate, written before the server starts.
    const setup = await createContext(loadConfig(env), { logger: createLogger('warn', process.stderr) });
    let token: string;
    try {
      const cred = await setup.credentials.create({ name: 'bench-pg', db_type: 'postgresql', username: 'postgres', password: 'bench-pw' }, actor);
      await insertBenchInstances(setup.store.db, { n: N, host: proxy.host, port: proxy.port, credentialId: cred.id, name: (i) => `mem-${i}` });
      const admin = await setup.auth.createUser({ username: 'bench-admin', password: 'bench-Secret-1', role: 'admin' }, actor);
      token = (await setup.auth.createToken(admin.id, { name: 'bench' }, actor)).token;
    } finally {
      await setup.close();
    }

    served = await startServe({ ...env, LOG_LEVEL: 'info' }, nodeArgs);
    const { base, pid, startMs } = served;
    const auth = { authorization: `Bearer ${token}` };

    // 1. Idle: settle, then sample for a few seconds.
    await sleep(2000);
    const idle = await peakDuring(pid, () => sleep(3000));
    console.log(`  started in ${sec(startMs)} s; idle peak ${int(idle.peak / 2 ** 20)} MB`);

    // 2. A batch sync of every instance.
    const sync = await peakDuring(pid, async () => {
      const res = await fetch(`${base}/api/sync/capacity`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
      const body = (await res.json()) as { data: { session_id: string } };
      if (res.status !== 202) throw new Error(`POST /api/sync/capacity: HTTP ${res.status} ${JSON.stringify(body)}`);
      for (;;) {
        await sleep(250);
        const s = (await (await fetch(`${base}/api/sync-sessions/${body.data.session_id}`, { headers: auth })).json()) as {
          data: { status: string; successful_instances: number; failed_instances: number };
        };
        if (s.data.status !== 'running') return s.data;
      }
    });
    console.log(
      `  sync of ${N}: ${sync.value.status} (${sync.value.successful_instances} ok, ${sync.value.failed_instances} failed) in ${sec(sync.ms)} s; peak ${int(sync.peak / 2 ** 20)} MB`,
    );

    // 3. Serving the list under load.
    // The list as the UI serves it (the instances page: the paged overview) to 50 connections, then the whole list in one
    // response (an export, what a script calls) to 4: 50 clients each pulling the whole list keep the loop saturated, and a
    // 0.25 MB response then drains over many loop turns — seconds of tail latency that say nothing about memory.
    const list = await peakDuring(pid, () =>
      autocannon({ url: `${base}/api/instances/overview?limit=50`, connections: 50, duration: loadSeconds, headers: auth }),
    );
    console.log(`  list page under load: ${int(list.value.requests.average)} req/s; peak ${int(list.peak / 2 ** 20)} MB`);
    const whole = await peakDuring(pid, () => autocannon({ url: `${base}/api/instances`, connections: 4, duration: loadSeconds, headers: auth }));
    console.log(`  whole list under load: ${int(whole.value.requests.average)} req/s; peak ${int(whole.peak / 2 ** 20)} MB`);
    const hwm = procStatus(pid).hwm;

    const mbs = (b: number) => Math.round(b / 2 ** 20);
    const met = (b: number) => (mbs(b) < TARGET_MB ? 'yes' : 'NO');
    const syncOk = sync.value.status === 'completed' && sync.value.successful_instances === N;
    const clean = (r: autocannon.Result) => r.non2xx === 0 && r.errors === 0;
    const listOk = clean(list.value) && clean(whole.value);
    // CPU time of the server per request: steadier than req/s on a shared machine (the bench's own autocannon and the
    // neighbours' load move req/s; a V8 setting that costs throughput shows here as more CPU per request).
    const load = (p: { value: autocannon.Result; cpuMs: number }) =>
      `${int(p.value.requests.average)} req/s, p99 ${p.value.latency.p99} ms, ${(p.cpuMs / Math.max(1, p.value.requests.total)).toFixed(2)} ms CPU/request${
        clean(p.value) ? '' : `, ${p.value.non2xx} non-2xx, ${p.value.errors} errors`
      }`;
    const table: Cell[][] = [
      ['idle (after start, 3 s sampled)', mbs(idle.peak), TARGET_MB, met(idle.peak), `started in ${sec(startMs)} s`],
      [
        `during a sync of ${int(N)} instances (fake server, +${delayMs} ms each way, c=${concurrency})`,
        mbs(sync.peak),
        TARGET_MB,
        met(sync.peak),
        `${sync.value.status}: ${sync.value.successful_instances} ok, ${sync.value.failed_instances} failed, ${sec(sync.ms)} s`,
      ],
      [
        `serving the instances page's list (GET /api/instances/overview?limit=50 of ${int(N)}), autocannon 50 connections ${loadSeconds} s`,
        mbs(list.peak),
        TARGET_MB,
        met(list.peak),
        load(list),
      ],
      [
        `serving the whole list (GET /api/instances, all ${int(N)} in one response), autocannon 4 connections ${loadSeconds} s`,
        mbs(whole.peak),
        TARGET_MB,
        met(whole.peak),
        load(whole),
      ],
      ['whole run: VmHWM (kernel peak)', mbs(hwm), TARGET_MB, met(hwm), ''],
    ];
    return {
      servers: { 'fake server': 'pg-responder (3 databases) behind a latency proxy, in the bench process' },
      parameters: {
        instances: N,
        'sync concurrency': concurrency,
        'delay each way': `${delayMs} ms`,
        'list load': `${loadSeconds} s each: the page at 50 connections, the whole list at 4`,
        store: 'SQLite',
        process: `\`node ${nodeArgs.length ? `${nodeArgs.join(' ')} ` : ''}bin/whalefall.mjs serve\` (the compiled dist/, as installed), LOG_LEVEL=info`,
      },
      columns: ['phase', 'peak RSS (MB)', 'target (MB)', 'met', 'what ran'],
      rows: table,
      notes: [
        'RSS of the `whalefall serve` child only (not the bench): VmRSS sampled every 50 ms from /proc/<pid>/status per phase, and VmHWM at the end.',
        'The server is the compiled JavaScript in dist/ (bin/whalefall.mjs, as `npm start` and an installed package run it): `npm run build` first.',
        'What the resident memory is made of (idle: the node binary, the V8 heap and what fills it; under load: heap growth) and what was cut: docs/benchmarks-notes.md, "issue 22 item 4".',
        hwm / 2 ** 20 < TARGET_MB ? `Target < ${TARGET_MB} MB met in every phase.` : `Target < ${TARGET_MB} MB MISSED (peak ${mbs(hwm)} MB).`,
      ],
      failed: !syncOk || !listOk,
    };
  } finally {
    await served?.stop();
    await proxy.close();
    await responder.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const memory: Scenario = {
  summary:
    'Peak resident memory of `whalefall serve`: idle, during a 500-instance batch sync against a fake server 50 ms away, and while serving the instance list (the page to 50 connections, the whole list to 4) (target < 200 MB).',
  env: ['BENCH_MEM_INSTANCES', 'BENCH_MEM_CONCURRENCY', 'BENCH_MEM_SECONDS', 'BENCH_DELAY_MS', 'BENCH_MEM_NODE_ARGS'],
  run,
};
