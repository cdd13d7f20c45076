/**
 * The benches' network: a latency proxy in front of a target (the real
 * PostgreSQL, or the fake server), in a child process of its own
 * (bench/network.child.ts), so the proxy's timers and the responder's
 * protocol work are not charged to the process being measured.
 *
 *   const net = await startNetwork({ delayMs: 50, target: { fake: facts } });
 *   // instances point at net.host:net.port …
 *   await net.close();
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NetworkLoop, NetworkSpec } from './network.child.js';

export type { NetworkLoop };

/** The proxy (and fake server) of one target, running in a child process (bench/network.child.ts). */
export interface Network {
  host: '127.0.0.1';
  port: number;
  targetPort: number;
  /** The child's pid (its CPU time is read from /proc). */
  pid: number | undefined;
  /** The network process's event loop since the last call (or its start). */
  loop(): Promise<NetworkLoop>;
  close(): Promise<void>;
}

/** `wrap`: run the child under another command (e.g. `ip netns exec NS`: the proxy on that namespace's loopback). */
export async function startNetwork(spec: NetworkSpec, wrap: string[] = []): Promise<Network> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'network.child.ts');
  const argv = [...wrap, process.execPath, '--import', 'tsx', script, JSON.stringify(spec)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<string> => {
    const gone = exited.then(() => {
      throw new Error(`bench network process exited before ${what}`);
    });
    const r = await Promise.race([lines.next(), gone]);
    if (r.done) throw new Error(`bench network process closed its output before ${what}`);
    return r.value;
  };
  const first = await next('listening');
  const { proxyPort, targetPort } = JSON.parse(first) as { proxyPort: number; targetPort: number };
  return {
    host: '127.0.0.1',
    port: proxyPort,
    targetPort,
    pid: child.pid,
    async loop() {
      child.stdin!.write('loop\n');
      return JSON.parse(await next('answering "loop"')) as NetworkLoop;
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
