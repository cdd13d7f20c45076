/**
 * `whalefall serve` as a child process, for the benches that measure what a
 * deployment does (bin/whalefall.mjs, its own store, HTTP on a free port):
 * start it, wait until /healthz answers, read its memory from /proc, stop it.
 *
 *   const srv = await startServe({ WHALEFALL_DATA_DIR: dir, … });
 *   const { value, peak } = await peakDuring(srv.pid, () => fetch(`${srv.base}/api/…`));
 *   await srv.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { closedPort } from '../test/helpers/targets.js';
import { onInterrupt } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** VmRSS (now) and VmHWM (the kernel's peak) of `pid`, in bytes. */
export function procStatus(pid: number): { rss: number; hwm: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * CPU time `pid` has used so far (user + system), in ms, from /proc/<pid>/stat: all its threads (the JavaScript
 * thread, V8's GC helpers, libuv's pool). `mainThread`: the JavaScript thread's alone (/proc/<pid>/task/<pid>/stat),
 * a lower bound on the wall time of whatever that one thread ran; a thread id: that thread's alone.
 */
export function procCpuMs(pid: number, thread: boolean | number = false): number {
  const tid = thread === true ? pid : thread;
  const stat = fs.readFileSync(tid === false ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces, in parentheses): utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/**
 * The machine's CPU time since boot, all cores (jiffies): busy (what this machine ran: everything but idle, iowait and
 * steal), stolen (the time the hypervisor gave this virtual machine's cores to another guest: /proc/stat's `steal`) and
 * in all. On a shared host the steal is what makes the same code's figures drift from one hour to the next.
 */
export function machineCpu(): { busy: number; steal: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal (guest time is already in user)
  return { busy: total - f[3]! - f[4]! - f[7]!, steal: f[7]!, total };
}

/** The share of all cores' time between two `machineCpu()` readings that was busy, and that was stolen (0–1 each). */
export function machineShares(m0: ReturnType<typeof machineCpu>, m1: ReturnType<typeof machineCpu>): { busy: number; stolen: number } {
  const total = Math.max(1, m1.total - m0.total);
  return { busy: (m1.busy - m0.busy) / total, stolen: (m1.steal - m0.steal) / total };
}

/**
 * Peak VmRSS of `pid` (sampled every 50 ms) while `fn` runs, its wall time, the CPU time `pid` used meanwhile (all
 * threads, and its JavaScript thread's alone), how busy the whole machine was (0–1, all cores: what its processes
 * ran) and how much of its cores' time the hypervisor took for other guests (0–1; busy + stolen near 1: CPU-bound).
 */
export async function peakDuring<T>(
  pid: number,
  fn: () => Promise<T>,
): Promise<{ value: T; peak: number; ms: number; cpuMs: number; mainCpuMs: number; machineBusy: number; machineStolen: number }> {
  let peak = procStatus(pid).rss;
  const cpu0 = procCpuMs(pid);
  const main0 = procCpuMs(pid, true);
  const m0 = machineCpu();
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, procStatus(pid).rss);
    } catch {
      /* the child is gone: the caller finds out */
    }
  }, 50);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    peak = Math.max(peak, procStatus(pid).rss);
    const shares = machineShares(m0, machineCpu());
    return {
      value,
      peak,
      ms,
      cpuMs: procCpuMs(pid) - cpu0,
      mainCpuMs: procCpuMs(pid, true) - main0,
      machineBusy: shares.busy,
      machineStolen: shares.stolen,
    };
  } finally {
    clearInterval(t);
  }
}

async function waitHealthy(base: string, child: ChildProcess, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`whalefall serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`whalefall serve did not answer ${base}/healthz within ${ms} ms`);
}

export interface Served {
  base: string;
  pid: number;
  /** Time from spawn to the first healthy answer. */
  startMs: number;
  /** The last 4,000 characters the server wrote to stderr. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** The node flags deploy/whalefall.service gives the service (its NODE_OPTIONS): a bench's server runs as the service runs. */
export function serviceNodeArgs(): string[] {
  const unit = fs.readFileSync(path.join(ROOT, 'deploy/whalefall.service'), 'utf8');
  // `Environment="NODE_OPTIONS=a b"`: quoted, as systemd splits an unquoted value on spaces.
  return (/^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m.exec(unit)?.[1] ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Starts `node [nodeArgs] bin/whalefall.mjs serve` with `env` added (HOST and PORT are chosen here); its stdout (the
 * log) is discarded. `nodeArgs`: by default the service unit's flags (serviceNodeArgs); e.g. `--cpu-prof` added
 * (not allowed in NODE_OPTIONS).
 */
export async function startServe(env: Record<string, string>, nodeArgs: string[] = serviceNodeArgs()): Promise<Served> {
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'bin/whalefall.mjs'), 'serve'], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const unregister = onInterrupt(async () => void child.kill('SIGKILL'));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    unregister();
  };
  try {
    await waitHealthy(base, child, 60_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { base, pid: child.pid!, startMs: performance.now() - t0, stderr: () => stderr, stop };
}
