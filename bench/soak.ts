/**
 * `npm run soak` — the load of bench/load.ts for a long time (default 10 min),
 * printing RSS every 30 s, and failing when memory keeps growing: the mean
 * RSS of the last third of the samples may exceed the first third's by at
 * most SOAK_MAX_GROWTH_PCT (default 15 %), and no request may fail.
 *   SOAK_SECONDS=600 SOAK_CONNECTIONS=100 SOAK_INSTANCES=200 SOAK_DATABASES=30 SOAK_HISTORY_DAYS=90 npm run soak
 * Run it on an idle machine; `node --expose-gc` (the script sets it) makes the samples steadier.
 */
import { runLoad } from './load.js';

const env = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const seconds = env('SOAK_SECONDS', 600);
const maxGrowthPct = env('SOAK_MAX_GROWTH_PCT', 15);
const samples: number[] = [];

const r = await runLoad({
  instances: env('SOAK_INSTANCES', 200),
  databases: env('SOAK_DATABASES', 30),
  historyDays: env('SOAK_HISTORY_DAYS', 90),
  connections: env('SOAK_CONNECTIONS', 100),
  durationSec: seconds,
  sampleEverySec: env('SOAK_SAMPLE_SECONDS', 30),
  onSample: (s) => {
    samples.push(s.rssMb);
    console.log(`t=${s.t}s rss=${s.rssMb} MB responses=${s.requests} sessions=${s.sessions}`);
  },
});
const third = Math.max(1, Math.floor(samples.length / 3));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const first = mean(samples.slice(0, third));
const last = mean(samples.slice(-third));
const growth = first ? ((last - first) / first) * 100 : 0;
console.log(
  `soak ${seconds}s: ${r.requests} requests (${r.rps}/s), errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}; ` +
    `latency p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms; sessions ${r.sessions.completed} (${r.sessions.completedRecords} records completed, ${r.sessions.failedRecords} failed); ` +
    `RSS before ${r.rssBeforeMb} MB, after ${r.rssAfterMb} MB, first-third mean ${first.toFixed(1)} MB, last-third mean ${last.toFixed(1)} MB (${growth.toFixed(1)} %)`,
);
const failed = r.errors + r.timeouts + r.non2xx + r.sessions.failedRecords > 0 || (samples.length >= 3 && growth > maxGrowthPct);
process.exit(failed ? 1 : 0);
