/**
 * A TCP proxy on 127.0.0.1 that makes a local server look far away: every
 * chunk, in each direction, is written `delayMs` after it arrived, in order
 * (a round trip costs 2 × delayMs). End of stream and resets travel with the
 * same delay, behind the data sent before them. Backpressure is honoured: a
 * side that cannot keep up pauses the side that feeds it, and no direction
 * holds more than MAX_QUEUED bytes in its delay queue.
 *
 *   const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 50 });
 *   // connect to 127.0.0.1:proxy.port …
 *   await proxy.close();
 */
import net from 'node:net';

export interface LatencyProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Added to every chunk in each direction. */
  delayMs: number;
  /** Listen on this port (default: any free one). */
  port?: number;
}

export interface LatencyProxy {
  host: '127.0.0.1';
  port: number;
  /** Client connections accepted so far. */
  accepted(): number;
  /** Client connections open now. */
  open(): number;
  /** Stop listening and destroy every socket. */
  close(): Promise<void>;
}

/** Bytes waiting in one direction's delay queue before its source is paused. */
const MAX_QUEUED = 4 * 1024 * 1024;

type Item = { at: number } & ({ kind: 'data'; chunk: Buffer } | { kind: 'end' } | { kind: 'reset' });

/**
 * One direction: `from` → delay → `to`. Returns a stop function that drops
 * what is queued (used when the connection is torn down).
 */
function delayedPipe(from: net.Socket, to: net.Socket, delayMs: number, teardown: () => void): () => void {
  const queue: Item[] = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  let waitingDrain = false;
  let stopped = false;

  const pauseOrResume = () => {
    if (stopped) return;
    if (waitingDrain || queued > MAX_QUEUED) from.pause();
    else from.resume();
  };

  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (!stopped && queue.length && queue[0]!.at <= now) {
      const item = queue.shift()!;
      if (item.kind === 'data') {
        queued -= item.chunk.length;
        if (to.destroyed) continue;
        if (!to.write(item.chunk) && !waitingDrain) {
          waitingDrain = true;
          to.once('drain', () => {
            waitingDrain = false;
            pauseOrResume();
          });
        }
      } else if (item.kind === 'end') {
        if (!to.destroyed) to.end();
      } else {
        teardown();
        return;
      }
    }
    pauseOrResume();
    schedule();
  };

  const schedule = () => {
    if (stopped || timer || !queue.length) return;
    timer = setTimeout(flush, Math.max(0, queue[0]!.at - performance.now()));
  };

  const push = (item: Item) => {
    if (stopped) return;
    queue.push(item);
    schedule();
  };

  from.on('data', (chunk: Buffer) => {
    queued += chunk.length;
    push({ at: performance.now() + delayMs, kind: 'data', chunk });
    pauseOrResume();
  });
  from.on('end', () => push({ at: performance.now() + delayMs, kind: 'end' }));
  // An error or a close without a clean end is a reset: the peer learns of it
  // after the same delay, behind the data already in flight.
  from.on('error', () => push({ at: performance.now() + delayMs, kind: 'reset' }));
  from.on('close', (hadError) => {
    if (hadError || !from.readableEnded) push({ at: performance.now() + delayMs, kind: 'reset' });
  });

  return () => {
    stopped = true;
    clearTimeout(timer);
    queue.length = 0;
  };
}

export async function startLatencyProxy(opts: LatencyProxyOptions): Promise<LatencyProxy> {
  const { targetHost, targetPort, delayMs } = opts;
  if (!(delayMs >= 0)) throw new RangeError(`delayMs must be ≥ 0, got ${delayMs}`);
  const sockets = new Set<net.Socket>();
  const stops = new Set<() => void>();
  let accepted = 0;
  let open = 0;

  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    accepted++;
    open++;
    track(client);
    client.setNoDelay(true);
    const upstream = net.connect({ host: targetHost, port: targetPort, allowHalfOpen: true, noDelay: true });
    track(upstream);
    let torn = false;
    const pipes: (() => void)[] = [];
    const teardown = () => {
      if (torn) return;
      torn = true;
      open--;
      for (const stop of pipes) {
        stop();
        stops.delete(stop);
      }
      client.destroy();
      upstream.destroy();
    };
    pipes.push(delayedPipe(client, upstream, delayMs, teardown), delayedPipe(upstream, client, delayMs, teardown));
    for (const stop of pipes) stops.add(stop);
    // Both directions ended cleanly: the connection is over.
    const closeWhenDone = () => {
      if (client.destroyed && upstream.destroyed) teardown();
    };
    client.on('close', closeWhenDone);
    upstream.on('close', closeWhenDone);
    client.resume();
  });
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    accepted: () => accepted,
    open: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stop of stops) stop();
        stops.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
