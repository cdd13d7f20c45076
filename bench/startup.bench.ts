/**
 * Start-up and the unit tier: `whalefall --help` (wall time, peak RSS), a
 * cold `serve` until /healthz answers (a fresh data dir: migrations and the
 * admin user included) and its RSS when idle 5 s later — the compiled
 * runtime (`bin/whalefall.mjs` → dist/, what `npm start` and the installed
 * package run) against the sources through tsx (`test/helpers/whalefall.mjs`,
 * what the tests run and what `npm start` was before) — and `npm run
 * test:unit` (count and wall time). Needs `npm run build` first.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from '../test/helpers/targets.js';
import { envInt, median, type Cell, type Report, type Scenario } from './common.js';

const ENTRIES = { 'compiled (dist/)': 'bin/whalefall.mjs', 'tsx (src/)': 'test/helpers/whalefall.mjs' } as const;

/** Wall ms and peak RSS (KiB) of one run, from GNU time. */
function helpRun(entry: string): { ms: number; rssKiB: number } {
  const t0 = performance.now();
  // GNU time writes the peak RSS to a file: the command's own output goes nowhere.
  const file = path.join(os.tmpdir(), `wf-time-${process.pid}`);
  execFileSync('/usr/bin/time', ['-o', file, '-f', '%M', process.execPath, entry, '--help'], { stdio: 'ignore' });
  const rssKiB = Number(fs.readFileSync(file, 'utf8').trim());
  fs.rmSync(file, { force: true });
  return { ms: performance.now() - t0, rssKiB };
}

/** Spawn serve on a fresh data dir; ms until /healthz answers, then RSS after `idleMs`. */
async function serveRun(entry: string, idleMs: number): Promise<{ ms: number; rssKiB: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-startup-'));
  const port = await closedPort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [entry, 'serve'], {
    env: {
      ...process.env,
      WHALEFALL_DATA_DIR: dataDir,
      PORT: String(port),
      WHALEFALL_SCHEDULER: 'off',
      WHALEFALL_ADMIN_PASSWORD: 'Admin-Secret-1',
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${entry} serve exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, idleMs));
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return { ms, rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const startup: Scenario = {
  summary:
    'Start-up of the compiled runtime (`node dist/…`, what `npm start` and the installed package run) against the sources through tsx (what `npm start` ran before); and the unit tier (`npm run test:unit`).',
  env: ['BENCH_STARTUP_RUNS'],
  async run(): Promise<Report> {
    if (!fs.existsSync('dist/cli/main.js')) throw new Error('run `npm run build` first');
    const n = envInt('BENCH_STARTUP_RUNS', 3);
    const rows: Cell[][] = [];
    for (const [label, entry] of Object.entries(ENTRIES)) {
      const help = Array.from({ length: n }, () => helpRun(entry));
      const serve = [];
      for (let i = 0; i < n; i++) serve.push(await serveRun(entry, 5000));
      rows.push([
        label,
        (median(help.map((h) => h.ms)) / 1000).toFixed(2),
        Math.round(median(help.map((h) => h.rssKiB)) / 1024),
        (median(serve.map((s) => s.ms)) / 1000).toFixed(2),
        Math.round(median(serve.map((s) => s.rssKiB)) / 1024),
      ]);
    }
    const t0 = performance.now();
    const out = execFileSync(process.execPath, ['scripts/test-tier.mjs', 'unit', '--test-reporter=tap'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const unitS = (performance.now() - t0) / 1000;
    const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(out)?.[1]);
    const [tests, pass, fail] = [count('tests'), count('pass'), count('fail')];
    return {
      servers: {},
      parameters: { BENCH_STARTUP_RUNS: n, idle_wait_s: 5 },
      columns: ['runtime', 'whalefall --help (s)', '--help peak RSS (MiB)', 'serve → /healthz (s)', 'serve idle RSS (MiB)'],
      rows,
      notes: [
        'Medians of BENCH_STARTUP_RUNS runs. `serve → /healthz`: from spawn to the first 200, on a fresh SQLite data dir (every migration and the admin user included). Idle RSS: VmRSS 5 s after /healthz answered, nothing requested.',
        `\`npm run test:unit\`: ${tests} tests (${pass} passed, ${fail} failed) in ${unitS.toFixed(1)} s wall (no server, no network; files in parallel).`,
      ],
      failed: fail > 0,
    };
  },
};
