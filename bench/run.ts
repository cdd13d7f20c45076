/**
 * `npm run bench [scenario…]` — runs the named scenarios (default: all), prints
 * each one's table and rewrites that scenario's `## <name>` section of
 * BENCHMARKS.md, keeping every other section as it was.
 *
 * A scenario measures; this file describes the machine and writes the report.
 * Add one by writing `bench/<name>.bench.ts` and a line in SCENARIOS.
 * Size flags: `--instances 200` is `BENCH_INSTANCES=200` (any `--some-name V`
 * sets `BENCH_SOME_NAME`), so the section's command names it.
 * Exit status: 0, or 1 when a scenario failed or reported failed work.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { estateSync } from './estate-sync.bench.js';
import { statistics } from './statistics.bench.js';
import { importScenario } from './import.bench.js';
import { tables } from './tables.bench.js';
import { savePath } from './save-path.bench.js';
import { api } from './api.bench.js';
import { memory } from './memory.bench.js';
import { largeInstance } from './large-instance.bench.js';
import { runInterruptCleanups } from './common.js';
import { machineCpu, machineShares } from './serve.js';
import { ui } from './ui.bench.js';
import { startup } from './startup.bench.js';
import { apiPath } from './api-path.bench.js';
import { runwayScenario } from './runway.bench.js';
import { scaleOut } from './scale-out.bench.js';
import { suite } from './suite.bench.js';

import type { Cell, Report, Scenario } from './common.js';

export type { Cell, Report, Scenario };

export const SCENARIOS: Record<string, Scenario> = {
  'estate-sync': estateSync,
  statistics,
  import: importScenario,
  tables,
  'save-path': savePath,
  api,
  memory,
  'large-instance': largeInstance,
  ui,
  'api-path': apiPath,
  runway: runwayScenario,
  startup,
  'scale-out': scaleOut,
  suite,
};

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILE = path.join(ROOT, 'BENCHMARKS.md');

const HEADER = `# Benchmarks

Written by \`npm run bench [scenario…]\` (\`bench/run.ts\`); do not edit by hand.
Each section is one scenario, rewritten whenever that scenario is run and kept
otherwise, so sections may come from different days or machines: each one
names its machine, date, the command that reproduces it and its parameters.
Ratios are against the baseline the section names, measured in the same run.
Times are wall-clock; where runs are cheap the figure is the median of several.
Hand-written notes and CPU profiles: [docs/benchmarks-notes.md](docs/benchmarks-notes.md).
`;

export function machine(): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(safeRead('/proc/cpuinfo'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${cpu}, ${os.availableParallelism()} cores, ${gib} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The code measured: commit, and whether src/ had uncommitted changes. */
function codeVersion(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const dirty = git('status', '--porcelain', '--', 'src').length > 0;
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function command(name: string, scenario: Scenario): string {
  const env = scenario.env.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]} `);
  return `${env.join('')}npm run bench ${name}`;
}

function markdownTable(columns: string[], rows: Cell[][]): string {
  const esc = (c: Cell) => String(c).replace(/\|/g, '\\|');
  return [
    `| ${columns.map(esc).join(' | ')} |`,
    `|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function textTable(columns: string[], rows: Cell[][]): string {
  const all = [columns, ...rows].map((r) => r.map(String));
  const widths = columns.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** A steal share from which a section says its figures are not comparable with a quiet host's. */
const STOLEN_WARN = 0.05;

interface RunMeta {
  at: Date;
  load: number;
  code: string;
  /** The share of the cores' time the hypervisor took for other guests while the scenario ran (0–1). */
  stolen: number;
}

function section(name: string, s: Scenario, r: Report, { at, load, code, stolen }: RunMeta): string {
  const servers = Object.entries(r.servers).map(([k, v]) => `${k} ${v}`);
  const params = Object.entries(r.parameters).map(([k, v]) => `${k}=${v}`);
  return [
    `## ${name}`,
    '',
    s.summary,
    '',
    `- Date: ${at.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Command: \`${command(name, s)}\``,
    `- Code: ${code}`,
    `- Machine: ${machine()}`,
    `- Load average at start (1 min): ${load.toFixed(2)} (other work on the machine skews the figures)`,
    ...(load >= 0.5 ? [`- **Machine shared (load ${load.toFixed(1)}): not final figures — rerun on an idle machine (load < 0.5).**`] : []),
    `- CPU stolen by the hypervisor while it ran: ${(stolen * 100).toFixed(1)} % of the cores' time (/proc/stat's steal: time this virtual machine's cores wanted and another guest on the host got)`,
    ...(stolen >= STOLEN_WARN
      ? [
          `- **Host shared (${(stolen * 100).toFixed(0)} % stolen): the same code runs slower here than on a quiet host; compare only with runs that name a like share.**`,
        ]
      : []),
    ...(servers.length ? [`- Servers: ${servers.join(', ')}`] : []),
    `- Parameters: ${params.join(', ')}`,
    ...(r.failed ? ['- **Result: FAILED — some measured work did not succeed; see the notes.**'] : []),
    '',
    markdownTable(r.columns, r.rows),
    '',
    ...r.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

/** `## name` sections of the current file, in file order. */
function readSections(): Map<string, string> {
  const out = new Map<string, string>();
  const text = safeRead(FILE);
  const parts = text.split(/^(?=## )/m).slice(1);
  for (const p of parts) out.set(/^## (\S+)/.exec(p)![1]!, p.trimEnd() + '\n');
  return out;
}

function writeSections(fresh: Map<string, string>): void {
  const sections = readSections();
  for (const [k, v] of fresh) sections.set(k, v);
  const known = Object.keys(SCENARIOS).filter((k) => sections.has(k));
  const others = [...sections.keys()].filter((k) => !(k in SCENARIOS));
  fs.writeFileSync(FILE, [HEADER, ...[...known, ...others].map((k) => sections.get(k)!)].join('\n'));
}

/** `--some-name V` → BENCH_SOME_NAME=V; returns the scenario names. */
function takeFlags(argv: string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) {
      names.push(argv[i]!);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`${argv[i - 1]} needs a value`);
    process.env[`BENCH_${m[1]!.replace(/-/g, '_').toUpperCase()}`] = value;
  }
  return names;
}

async function main(all: string[]): Promise<number> {
  const argv = takeFlags(all);
  const unknown = argv.filter((a) => !(a in SCENARIOS));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    return 2;
  }
  const names = argv.length ? argv : Object.keys(SCENARIOS).filter((k) => !SCENARIOS[k]!.byNameOnly);
  console.log(`machine: ${machine()}`);
  // Scenarios that start `whalefall` run bin/whalefall.mjs, i.e. dist/: build it from these sources first, so a
  // figure never belongs to an older build.
  console.log('building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  // The build's own load (two cores for ~20 s) is still in the 1-minute average: let it settle (at most 90 s), so the
  // load each report gives is other work on the machine, not ours.
  for (let waited = 0; os.loadavg()[0]! >= 0.5 && waited < 90_000; waited += 5_000) await new Promise((r) => setTimeout(r, 5_000));
  let status = 0;
  for (const name of names) {
    const s = SCENARIOS[name]!;
    console.log(`\n== ${name}: ${s.summary}`);
    const meta = { at: new Date(), load: os.loadavg()[0]!, code: codeVersion() };
    const cpu0 = machineCpu();
    let report: Report;
    try {
      report = await s.run();
    } catch (err) {
      console.error(`${name} crashed:`, err);
      status = 1;
      continue;
    }
    console.log(`\n${textTable(report.columns, report.rows)}\n`);
    for (const n of report.notes) console.log(`- ${n}`);
    if (report.failed) status = 1;
    const stolen = machineShares(cpu0, machineCpu()).stolen;
    writeSections(new Map([[name, section(name, s, report, { ...meta, stolen })]]));
    console.log(`\nwrote section "${name}" of ${path.relative(process.cwd(), FILE) || FILE}`);
  }
  return status;
}

// Interrupted: drop what the running scenario created (its finally blocks will not run), then leave.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up what the running scenario created…`);
    void runInterruptCleanups().finally(() => process.exit(130));
  });
}

// Scenarios close what they open; the explicit exit guards against a stray handle keeping a bench alive.
process.exit(await main(process.argv.slice(2)));
