#!/usr/bin/env node
/**
 * What `npm test` checks before the tiers: `npm run lint`, `npm run format:check` and `npm run typecheck`, in two
 * lanes side by side (one core each on a 2-core machine: ESLint's type-checked pass alone is about as long as the
 * other two together). Each script's output is printed whole when it ends, with its time, so the two lanes never
 * interleave. Every script runs to its end; the exit status is the first failure's (in the order below).
 *   node scripts/checks.mjs
 */
import { spawn } from 'node:child_process';

const LANES = [['lint'], ['format:check', 'typecheck']];

function run(script) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('close', (code, signal) => {
      const text = Buffer.concat(out).toString();
      const status = code ?? 1;
      process.stderr.write(`# npm run ${script}: exit ${signal ?? status} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      if (text.trim()) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
      resolve({ script, status });
    });
  });
}

const results = (
  await Promise.all(
    LANES.map(async (lane) => {
      const done = [];
      for (const script of lane) done.push(await run(script));
      return done;
    }),
  )
).flat();
const failed = LANES.flat()
  .map((s) => results.find((r) => r.script === s))
  .find((r) => r.status !== 0);
if (failed) console.error(`# checks: npm run ${failed.script} failed`);
process.exit(failed ? failed.status : 0);
