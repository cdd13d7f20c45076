/** Small helpers the bench scenarios share: parameters from the environment, medians, units, peak RSS. */
import type { Store } from '../src/store/db.js';

/** A positive integer from `BENCH_*`, or the default (the full size). */
export function envInt(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
export const sec = (ms: number) => (ms / 1000).toFixed(2);
export const ratio = (x: number) => x.toFixed(2);
export const int = (x: number) => Math.round(x).toLocaleString('en');

/** Wall time of `fn` in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

/** Runs `fn` `runs` times (fresh state is the caller's business) and returns every wall time and the median. */
export async function runs(n: number, fn: (i: number) => Promise<number>): Promise<{ all: number[]; median: number }> {
  const all: number[] = [];
  for (let i = 0; i < n; i++) all.push(await fn(i));
  return { all, median: median(all) };
}

/**
 * Cleanups to run if the bench is interrupted (SIGINT, SIGTERM: Ctrl-C, a
 * `timeout`), when `finally` blocks never get their turn: a scenario that
 * creates databases registers how to drop them, and unregisters once its own
 * `finally` has. run.ts runs whatever is registered, then exits.
 */
const cleanups = new Set<() => Promise<void>>();
let interrupted = false;

/** Long loops (creating thousands of databases) call this each step: after an interrupt it throws, so nothing more is created. */
export function checkInterrupted(): void {
  if (interrupted) throw new Error('interrupted');
}

export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export async function runInterruptCleanups(): Promise<void> {
  interrupted = true;
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    await fn().catch((err: unknown) => console.error('cleanup after interrupt failed:', err));
  }
}

/** A cell of a report's table. */
export type Cell = string | number;

/** What a scenario hands back: everything its section shows beyond the machine, date and command. */
export interface Report {
  /** Server versions it talked to, e.g. `{ PostgreSQL: '15.20' }`. */
  servers: Record<string, string>;
  parameters: Record<string, Cell>;
  columns: string[];
  rows: Cell[][];
  /** Sentences under the table: targets met or missed, subsets and scaling, failures. */
  notes: string[];
  /** Some measured work did not succeed (e.g. a sync record failed): the section says so and the exit status is 1. */
  failed: boolean;
}

export interface Scenario {
  /** One sentence: what is measured against what. */
  summary: string;
  /** `BENCH_*` environment variables it reads (they go into the reproducing command when set). */
  env: string[];
  /** Left out of `npm run bench` with no names (e.g. it runs the whole test suite): run it by name. */
  byNameOnly?: boolean;
  run(): Promise<Report>;
}

/**
 * `n` active PostgreSQL instances at host:port under one credential, written straight into the store (500 rows a
 * statement): a bench's estate, set up before anyone runs on it. `name(i)` names the i-th (0-based).
 */
export async function insertBenchInstances(
  db: Store['db'],
  o: { n: number; host: string; port: number; credentialId: number; name: (i: number) => string },
): Promise<void> {
  const now = new Date().toISOString();
  for (let i = 0; i < o.n; i += 500) {
    const batch = Array.from({ length: Math.min(500, o.n - i) }, (_, k) => ({
      name: o.name(i + k),
      db_type: 'postgresql',
      host: o.host,
      port: o.port,
      credential_id: o.credentialId,
      tags: '["bench"]',
      options: '{}',
      is_active: 1,
      created_at: now,
      updated_at: now,
    }));
    await db.insertInto('instances').values(batch).execute();
  }
}
