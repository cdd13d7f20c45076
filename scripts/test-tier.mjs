#!/usr/bin/env node
/**
 * Runs one tier of the tests (see docs/testing.md):
 *   unit    no server, no network, no child process: fakes, a fixed clock, instant sleeps (test/unit/)
 *   medium  real stores and servers: PostgreSQL, MariaDB, the responders (every other test/<area>/);
 *           WHALEFALL_TEST_CONCURRENCY files at a time (default 2), then MEDIUM_ALONE one at a time
 *   e2e     the browser, `npm pack` and an installed package, process signals; the browser files
 *           WHALEFALL_TEST_CONCURRENCY at a time, then E2E_ALONE one at a time
 *   all     the three, in that order
 * Usage: node scripts/test-tier.mjs <tier> [more node --test flags] [test files of that tier: only those]
 *   e.g. node scripts/test-tier.mjs medium test/cli/cli.test.ts   (built dist/, the tier's env, as in npm test)
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Pure tests still in their area's folder (owned by other work in progress): unit tier all the same. */
const UNIT_ELSEWHERE = ['test/alerts/payloads.test.ts', 'test/engines/oracle-tables.test.ts'];
/**
 * Medium files that run after the others, one at a time: what they assert needs a machine that is otherwise quiet
 * (latencies, shutdown bounds), or they take a server over (20,000 tables). Counting a whole server's databases, or
 * several service processes, do not need it: see docs/testing.md.
 */
const MEDIUM_ALONE = {
  'test/scheduler/scale-out-faults.test.ts': 'three service processes; /readyz within 2 s and SIGTERM within its bound',
  'test/security/load.test.ts': '100 HTTP clients for 8 s during a 200-instance sync',
  'test/fleet/import-limits.test.ts': '/healthz p95 under 100 ms during an import',
  'test/tables/tables-budget.test.ts': "20,000 tables in a MariaDB schema: other files' queries of information_schema time out meanwhile",
};
/**
 * E2E files that run after the others, one at a time. The browser files run two at a time (each its own chromium,
 * server on port 0, SQLite store and databases; no bound on a latency).
 */
/**
 * Medium files that mostly wait (service processes working through latency proxies, leases running out): a lane of
 * their own, one at a time, beside the two-at-a-time pool, so they take a core's idle time rather than a slot. No
 * latency or shutdown bound (those files run alone); their waits are backstops of a minute or more.
 */
const MEDIUM_BESIDE = {
  'test/scheduler/scale-out-workers.test.ts': '~8 s of CPU in 29 s: two workers, a session through a latency proxy, a 45 s lease',
  'test/scheduler/multi-host-netns.test.ts': '~8 s of CPU in 20 s: three processes in namespaces, +40 ms links, a 5 s lease',
  'test/scheduler/nightly-jobs.test.ts': '~12 s of CPU in 81 s: serve + two workers, the nightly tasks as queued jobs, a 5 s lease',
};
const E2E_ALONE = {
  // npm pack runs `prepare` (npm run build): it rewrites dist/ (the templates removed and copied again, the bundle
  // swapped), which the other files' processes read.
  'test/production/package.test.ts': 'npm pack rebuilds dist/, which the other files serve from',
  'test/production/sigterm.test.ts': 'the listener closed within 100 ms of SIGTERM, exit within 5 s of a 200 ms bound',
};
const E2E = (f) => f.startsWith('test/e2e/') || f in E2E_ALONE;

const all = fs
  .readdirSync('test', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    fs
      .readdirSync(path.join('test', d.name))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `test/${d.name}/${f}`),
  )
  .sort();
const tiers = {
  unit: all.filter((f) => f.startsWith('test/unit/') || UNIT_ELSEWHERE.includes(f)),
  e2e: all.filter(E2E),
};
tiers.medium = all.filter((f) => !tiers.unit.includes(f) && !tiers.e2e.includes(f));
for (const f of [...Object.keys(MEDIUM_ALONE), ...Object.keys(MEDIUM_BESIDE)]) if (!tiers.medium.includes(f)) throw new Error(`${f}: not a medium test file`);
const concurrency = Number(process.env.WHALEFALL_TEST_CONCURRENCY ?? 2);
if (!(Number.isInteger(concurrency) && concurrency >= 1))
  throw new Error(`WHALEFALL_TEST_CONCURRENCY must be a whole number ≥ 1, got "${process.env.WHALEFALL_TEST_CONCURRENCY}"`);
/**
 * Each tier as the runs it is made of: files and how many run at a time (0: as many as node --test likes). A run
 * marked `beside` starts with the run after it and is waited for before the one after that; its report is printed
 * whole when it ends (two reports never interleave).
 */
const runs = {
  unit: [{ files: tiers.unit, concurrency: 0 }],
  medium: [
    { files: tiers.medium.filter((f) => f in MEDIUM_BESIDE), concurrency: 1, beside: true },
    { files: tiers.medium.filter((f) => !(f in MEDIUM_ALONE) && !(f in MEDIUM_BESIDE)), concurrency },
    { files: tiers.medium.filter((f) => f in MEDIUM_ALONE), concurrency: 1 },
  ],
  e2e: [
    { files: tiers.e2e.filter((f) => !(f in E2E_ALONE)), concurrency },
    { files: tiers.e2e.filter((f) => f in E2E_ALONE), concurrency: 1 },
  ],
};

const [tier, ...args] = process.argv.slice(2);
const only = args.filter((a) => a.endsWith('.test.ts')).map((a) => path.relative('.', path.resolve(a)));
const extra = args.filter((a) => !a.endsWith('.test.ts'));
const order = tier === 'all' ? ['unit', 'medium', 'e2e'] : [tier];
if (!order.every((t) => t in tiers)) {
  console.error('usage: node scripts/test-tier.mjs unit|medium|e2e|all [node --test flags] [test files]');
  process.exit(2);
}
const strays = only.filter((f) => !order.some((t) => tiers[t].includes(f)));
if (strays.length > 0) {
  console.error(`not test files of tier ${tier}: ${strays.join(', ')}`);
  process.exit(2);
}
// Unless the caller chose reporters: node's default one, and the slowest files of the medium and e2e runs on stderr.
// (A reporter's destination file given here gets each run's report one after the other: the medium tier is two runs.)
const reporters = (t) =>
  t === 'unit' || extra.some((a) => a.startsWith('--test-reporter'))
    ? []
    : [
        `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
        '--test-reporter-destination=stdout',
        '--test-reporter=./scripts/test-file-times.mjs',
        '--test-reporter-destination=stderr',
      ];
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
// Every tier and run goes on after a failure, so one run shows every failure; the exit status is the first failure's.
// Before the medium and e2e tiers: dist/ as the sources are now (tsc, incremental: seconds when nothing changed; the
// browser bundle when its sources changed; the templates). The tests spawn the CLI from it (test/helpers/whalefall.mjs
// under WHALEFALL_TEST_CLI=dist: half the CPU of a start through tsx) and the scale-out tests their serve/worker;
// built once here, not by files running side by side.
if (order.some((t) => t !== 'unit')) {
  const steps = [
    [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    ['--import', 'tsx', '-e', "const b = await import('./src/http/pages/build.ts'); b.copyServerAssets(); await b.ensureClientBuilt()"],
  ];
  const started = Date.now();
  for (const args of steps) {
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  console.error(`# dist/ built in ${seconds(started)}`);
  process.env.WHALEFALL_TEST_CLI = 'dist';
}
let status = 0;
for (const t of order) {
  const started = Date.now();
  let tierStatus = 0;
  const tierRuns = runs[t].map((r) => ({ ...r, files: only.length ? r.files.filter((f) => only.includes(f)) : r.files })).filter((r) => r.files.length > 0);
  /** The `beside` run under way: waited for after the run that started with it. */
  let beside;
  for (const [i, run] of tierRuns.entries()) {
    const runStarted = Date.now();
    const at = run.concurrency ? [`--test-concurrency=${run.concurrency}`] : [];
    // A reporter's destination file given by the caller: each run after the first writes its own, appended after it
    // (a `beside` run too, when it is the first: the file is then started empty).
    const files = [];
    const flags = extra.map((a) => {
      const dest = /^--test-reporter-destination=(.+)$/.exec(a)?.[1];
      if ((i === 0 && !run.beside) || !dest || dest === 'stdout' || dest === 'stderr') return a;
      if (i === 0) fs.writeFileSync(dest, '');
      files.push([dest, `${dest}.run${i}`]);
      return `--test-reporter-destination=${dest}.run${i}`;
    });
    const argv = ['--import', 'tsx', '--test', ...at, ...reporters(t), ...flags, ...run.files];
    const finish = (status) => {
      for (const [dest, part] of files) {
        if (fs.existsSync(part)) fs.appendFileSync(dest, fs.readFileSync(part));
        fs.rmSync(part, { force: true });
      }
      const how = run.beside ? '1 at a time beside the next run' : `${run.concurrency} at a time`;
      if (runs[t].length > 1) console.error(`# tier ${t}: ${run.files.length} files, ${how}, in ${seconds(runStarted)}, exit ${status}`);
      if (status !== 0 && tierStatus === 0) tierStatus = status ?? 1;
    };
    if (run.beside) {
      // Its output kept until it ends, then printed whole (stdout to stdout, stderr to stderr).
      beside = new Promise((resolve) => {
        const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
        const out = [];
        const err = [];
        child.stdout.on('data', (c) => out.push(c));
        child.stderr.on('data', (c) => err.push(c));
        child.on('close', (code) =>
          resolve(() => {
            process.stdout.write(Buffer.concat(out));
            process.stderr.write(Buffer.concat(err));
            finish(code ?? 1);
          }),
        );
      });
      continue;
    }
    // Not spawnSync: the event loop keeps reading the `beside` run's output meanwhile.
    finish(await new Promise((resolve) => spawn(process.execPath, argv, { stdio: 'inherit' }).on('close', (code) => resolve(code ?? 1))));
    if (beside) {
      (await beside)();
      beside = undefined;
    }
  }
  // Only files of the `beside` run were named: nothing ran with it.
  if (beside) (await beside)();
  console.error(
    `# tier ${t}: ${only.length ? tiers[t].filter((f) => only.includes(f)).length : tiers[t].length} files in ${seconds(started)}, exit ${tierStatus}`,
  );
  if (tierStatus !== 0 && status === 0) status = tierStatus;
}
process.exit(status);
