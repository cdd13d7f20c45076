/**
 * `whalefall serve` / `worker` child processes for the scale-out tests and
 * the scale-out bench: started with an environment, their HTTP port read from
 * the "listening on" line, their stderr kept, their exit awaited.
 *
 *   const w = startWhalefall('worker', { DATABASE_URL, WHALEFALL_QUEUE: 'pg-boss', … });
 *   await w.port;                      // listening (health + metrics)
 *   w.child.kill('SIGTERM'); await w.exit;
 *
 * `wrap` runs the command under another (e.g. `ip netns exec NS`); `nodeArgs` go to node before the script (e.g. `--cpu-prof`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const BIN = path.resolve('bin/whalefall.mjs');

export interface Proc {
  child: ChildProcess;
  port: Promise<number>;
  exit: Promise<number | null>;
  stderr: () => string;
  /** Every stdout line so far (the JSON log lines of serve/worker). */
  stdout: () => string[];
}

export function startWhalefall(cmd: 'serve' | 'worker', env: Record<string, string>, wrap: string[] = [], nodeArgs: string[] = []): Proc {
  const argv = [...wrap, process.execPath, ...nodeArgs, BIN, cmd];
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const out: string[] = [];
  const port = new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      out.push(line);
      const m = /(?:listening on|metrics on) http:\/\/[^:]+:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    void exit.then((code) => reject(new Error(`whalefall ${cmd} exited (${code}) before listening: ${err}`)));
  });
  port.catch(() => {}); // awaited by the tests that need it
  return { child, port, exit, stderr: () => err, stdout: () => out };
}

/** Poll `fn` every 100 ms until it returns something truthy; throws after `ms`. */
export async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}
