/**
 * suite: the wall time of `npm test` on this machine, step by step — the checks (scripts/checks.mjs: lint beside
 * format check + typecheck), then each test tier
 * (scripts/test-tier.mjs: unit, medium, e2e) — with each tier's file and test counts and its slowest top-level
 * suites, against the 10-minute target of issue #19.
 *
 * Run by name only (`npm run bench suite`): it takes as long as the suite, and it must not run alongside
 * another scenario (they share the servers). It needs the servers `.ci/run` starts and `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cell, Report, Scenario } from './common.js';

const TARGET_S = 600;

interface Step {
  label: string;
  seconds: number;
  status: number;
  files?: number;
  tests?: number;
  failed?: number;
  slowest?: { name: string; seconds: number }[];
}

function timed(label: string, cmd: string, args: string[]): Step {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return { label, seconds: (performance.now() - t0) / 1000, status: r.status ?? 1 };
}

/** One tier through scripts/test-tier.mjs with a TAP file: counts and the slowest top-level suites. */
export function tier(name: string): Step {
  const tap = path.join(os.tmpdir(), `wf-bench-suite-${process.pid}-${name}.tap`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['scripts/test-tier.mjs', name, '--test-reporter=tap', `--test-reporter-destination=${tap}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  const out = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  fs.rmSync(tap, { force: true });
  // The tier's own line comes last (the medium tier prints one line per run before it).
  const files = Number([...r.stderr.matchAll(/# tier \S+: (\d+) files in/g)].at(-1)?.[1] ?? NaN);
  // One report per run of the tier (the medium tier is two), one after the other: their counts add up.
  const count = (k: string) => {
    const all = [...out.matchAll(new RegExp(`^# ${k} (\\d+)`, 'gm'))];
    return all.length ? all.reduce((n, m) => n + Number(m[1]), 0) : NaN;
  };
  // Top-level entries: "ok N - name" / "not ok N - name" at column 0, each followed by its duration_ms.
  const slowest: { name: string; seconds: number }[] = [];
  const re = /^(?:not )?ok \d+ - (.+)\n {2}---\n {2}duration_ms: ([\d.]+)/gm;
  for (let m = re.exec(out); m; m = re.exec(out)) slowest.push({ name: m[1]!, seconds: Number(m[2]) / 1000 });
  slowest.sort((a, b) => b.seconds - a.seconds);
  return { label: `test:${name}`, seconds, status: r.status ?? 1, files, tests: count('tests'), failed: count('fail'), slowest: slowest.slice(0, 5) };
}

export const suite: Scenario = {
  summary: 'Wall time of `npm test` (the checks, then the unit, medium and e2e tiers) on this machine, against the 10-minute target.',
  env: [],
  byNameOnly: true,
  async run(): Promise<Report> {
    // As `npm test` runs them: lint beside format check + typecheck (scripts/checks.mjs), then the tiers.
    const steps: Step[] = [timed('checks (lint ∥ format:check + typecheck)', process.execPath, ['scripts/checks.mjs'])];
    for (const t of ['unit', 'medium', 'e2e']) steps.push(tier(t));
    const total = steps.reduce((s, x) => s + x.seconds, 0);
    const rows: Cell[][] = steps.map((s) => [
      s.label,
      s.seconds.toFixed(1),
      s.files ?? '',
      s.tests ?? '',
      s.failed ?? (s.status === 0 ? 0 : 'exit ' + s.status),
      (s.slowest ?? []).map((x) => `${x.name} (${x.seconds.toFixed(0)} s)`).join('; '),
    ]);
    rows.push(['npm test (sum)', total.toFixed(1), '', '', '', `target ≤ ${TARGET_S} s: ${total <= TARGET_S ? 'met' : 'MISSED'}`]);
    return {
      servers: {},
      parameters: { tiers: 'unit (files in parallel), medium and e2e (as scripts/test-tier.mjs runs them)' },
      columns: ['step', 'wall (s)', 'files', 'tests', 'failed', 'slowest top-level suites'],
      rows,
      notes: [
        `npm test took ${(total / 60).toFixed(1)} min in all (target ≤ ${TARGET_S / 60} min on an idle 2-core machine: ${total <= TARGET_S ? 'met' : 'missed'}).`,
        'Each step as `npm test` runs it; `npm ci` (which builds dist/) is not included.',
      ],
      failed: steps.some((s) => s.status !== 0),
    };
  },
};
