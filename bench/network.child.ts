/**
 * The estate-sync bench's network, in a process of its own: a latency proxy in
 * front of a target — the real PostgreSQL, or the fake server (pg-responder)
 * started here too. Between the service and its databases there is a network
 * and other machines' CPU, not the service's event loop: run in the bench
 * process, the proxy's timers and the responder's protocol work would be
 * charged to the sync service and compete with it for the same thread.
 *
 * argv[2]: JSON `{ delayMs, target: { host, port } | { fake: ServerFacts } }`.
 * Prints one JSON line `{ proxyPort, targetPort }` when listening; then, for
 * each line `loop` read on stdin, one JSON line NetworkLoop (its event loop
 * since the last one); stops on SIGTERM or when its parent goes away (stdin
 * closes).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startLatencyProxy } from '../test/helpers/latency-proxy.js';
import { startPgResponder, SIZE_COLUMNS } from '../test/helpers/pg-responder.js';

export interface ServerFacts {
  version: string;
  maxConnections: number;
  /** What the engine's one query returns on the real server: the fake server replays it. */
  databases: { oid: number; datname: string; size: string }[];
}

export interface NetworkSpec {
  delayMs: number;
  /** The proxy's port (default: any free one). */
  listenPort?: number;
  target: { host: string; port: number } | { fake: ServerFacts };
}

/**
 * This process's event loop over a stretch of a run. A chunk is due at the proxy 50 ms after it came in, but it is
 * taken in and sent on only when the loop gets to it: when the loop is busy (hundreds of connections at once on a
 * small machine), every hop is late by about the loop's delay, and that lateness is the simulated network's, not the
 * service's.
 */
export interface NetworkLoop {
  /** Event-loop utilisation, 0–1. */
  busy: number;
  /** How late the loop ran what was due, ms (monitorEventLoopDelay's timer, less its own interval). */
  delayP50Ms: number;
  delayP99Ms: number;
}

/** The pg-responder answering the engine's one query with the real server's databases. */
function fakeServer(facts: ServerFacts) {
  const rows = facts.databases.map((d) => [d.oid, d.datname, false, true, d.size, facts.version]);
  return startPgResponder({
    serverVersion: facts.version,
    handler: (sql) =>
      /pg_database_size\(oid\)/.test(sql)
        ? {
            columns: SIZE_COLUMNS,
            rows,
          }
        : undefined,
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as NetworkSpec;
  const responder = 'fake' in spec.target ? await fakeServer(spec.target.fake) : undefined;
  const target = responder ? { host: responder.host, port: responder.port } : (spec.target as { host: string; port: number });
  const proxy = await startLatencyProxy({ targetHost: target.host, targetPort: target.port, delayMs: spec.delayMs, port: spec.listenPort });
  const stop = async () => {
    await proxy.close();
    await responder?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('close', () => void stop());
  const resolutionMs = 2;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  let since = performance.eventLoopUtilization();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'loop') return;
    const now = performance.eventLoopUtilization();
    const figures: NetworkLoop = {
      busy: performance.eventLoopUtilization(now, since).utilization,
      delayP50Ms: Math.max(0, delay.percentile(50) / 1e6 - resolutionMs),
      delayP99Ms: Math.max(0, delay.percentile(99) / 1e6 - resolutionMs),
    };
    since = now;
    delay.reset();
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  });
  process.stdout.write(`${JSON.stringify({ proxyPort: proxy.port, targetPort: target.port })}\n`);
}

void main();
