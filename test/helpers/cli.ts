/**
 * The `whalefall` CLI in-process (buildCli, as main() runs it) against a temp
 * data dir: much faster than a child process per command, so suites can run
 * hundreds of commands. Commander must not exit the test runner: every
 * command gets exitOverride, and its output is captured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCli } from '../../src/cli/main.js';
import { cliError } from '../../src/cli/shared.js';

export interface CliResult {
  code: number;
  /** What the command printed (console.log and commander's own output). */
  out: string;
  /** What main() would print on stderr: `whalefall: <first line>`, or commander's message. */
  err: string;
}
export type RunCli = (args: string[]) => Promise<CliResult>;

export async function withCli<T>(env: Record<string, string>, fn: (cli: RunCli, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-inproc-'));
  const saved = { env: { ...process.env }, exitCode: process.exitCode, log: console.log };
  Object.assign(process.env, { WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off', LOG_LEVEL: 'silent' }, env);
  delete process.env.DATABASE_URL;
  delete process.env.WHALEFALL_SECRET_KEY;
  Object.assign(process.env, env);
  let out: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  const cli: RunCli = async (args) => {
    out = [];
    const errs: string[] = [];
    const program = buildCli();
    const quiet = (c: typeof program) => {
      c.exitOverride().configureOutput({ writeErr: (s) => void errs.push(s), writeOut: (s) => void out.push(s) });
      c.commands.forEach((sub) => quiet(sub as typeof program));
    };
    quiet(program);
    try {
      await program.parseAsync(['node', 'whalefall', ...args]);
      return { code: 0, out: out.join(''), err: errs.join('') };
    } catch (err) {
      const e = err as Error & { exitCode?: number; code?: string };
      if (e.code?.startsWith('commander.')) return { code: e.exitCode ?? 1, out: out.join(''), err: errs.join('') || e.message };
      // main() prints the first line only, in the CLI's language (cliError); the error's class is kept here so tests can spot raw driver errors
      const known = e.name === 'AppError' || e.name === 'Error' || e.name === 'CliError';
      return { code: 1, out: out.join(''), err: `whalefall: ${cliError(e).split('\n')[0]}\n${known ? '' : `(${e.name})`}` };
    }
  };
  try {
    return await fn(cli, dataDir);
  } finally {
    console.log = saved.log;
    process.env = saved.env;
    process.exitCode = saved.exitCode;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
