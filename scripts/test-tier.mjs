#!/usr/bin/env node
/**
 * Runs one tier of the tests (see docs/testing.md):
 *   unit    no server, no network, no child process: fakes, a fixed clock, instant sleeps (test/unit/)
 *   medium  real stores and servers: PostgreSQL, MariaDB, the responders (every other test/<area>/)
 *   e2e     the browser, `npm pack` and an installed package, process signals
 *   all     the three, in that order
 * Usage: node scripts/test-tier.mjs <tier> [more node --test flags]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Pure tests still in their area's folder (owned by other work in progress): unit tier all the same. */
const UNIT_ELSEWHERE = ['test/alerts/payloads.test.ts', 'test/engines/oracle-tables.test.ts'];
const E2E = (f) => f.startsWith('test/e2e/') || f === 'test/production/package.test.ts' || f === 'test/production/sigterm.test.ts';

const all = fs
  .readdirSync('test', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => fs.readdirSync(path.join('test', d.name)).filter((f) => f.endsWith('.test.ts')).map((f) => `test/${d.name}/${f}`))
  .sort();
const tiers = {
  unit: all.filter((f) => f.startsWith('test/unit/') || UNIT_ELSEWHERE.includes(f)),
  e2e: all.filter(E2E),
};
tiers.medium = all.filter((f) => !tiers.unit.includes(f) && !tiers.e2e.includes(f));

const [tier, ...extra] = process.argv.slice(2);
const order = tier === 'all' ? ['unit', 'medium', 'e2e'] : [tier];
if (!order.every((t) => t in tiers)) {
  console.error('usage: node scripts/test-tier.mjs unit|medium|e2e|all [node --test flags]');
  process.exit(2);
}
// Every tier runs even when an earlier one failed, so one run shows every failure; the exit status is the first failure's.
let status = 0;
for (const t of order) {
  // Unit tests share nothing: run them in parallel. The others share servers and a 2-core machine: one file at a time.
  const concurrency = t === 'unit' ? [] : ['--test-concurrency=1'];
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...extra, ...tiers[t]], { stdio: 'inherit' });
  console.error(`# tier ${t}: ${tiers[t].length} files in ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${r.status}`);
  if (r.status !== 0 && status === 0) status = r.status ?? 1;
}
process.exit(status);
