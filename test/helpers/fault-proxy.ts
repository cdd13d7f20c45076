/**
 * A TCP proxy on 127.0.0.1 whose link a test can break, the ways a network
 * breaks: `cut()` resets every connection and refuses new ones (a store
 * restart, a firewall REJECT); `blackHole()` keeps accepting but forwards
 * nothing in either direction, on open connections too (a link dropping
 * packets: no error, no answer); `restore()` passes traffic again (new
 * connections; the broken ones stay broken, as after a real outage).
 *
 *   const p = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
 *   p.cut(); await sleep(6000); p.restore();
 *   await p.close();
 */
import net from 'node:net';

export interface FaultProxy {
  host: '127.0.0.1';
  port: number;
  mode(): 'pass' | 'cut' | 'black-hole';
  cut(): void;
  blackHole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(opts: { targetHost: string; targetPort: number }): Promise<FaultProxy> {
  let mode: 'pass' | 'cut' | 'black-hole' = 'pass';
  const pairs = new Set<{ client: net.Socket; upstream?: net.Socket }>();
  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const pair: { client: net.Socket; upstream?: net.Socket } = { client };
    pairs.add(pair);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (mode === 'black-hole') {
      client.on('data', () => {}); // swallowed
      return;
    }
    const upstream = net.connect({ host: opts.targetHost, port: opts.targetPort });
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (c) => {
      if (mode === 'pass') upstream.write(c);
    });
    upstream.on('data', (c) => {
      if (mode === 'pass') client.write(c);
    });
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    mode: () => mode,
    cut() {
      mode = 'cut';
      for (const p of pairs) {
        p.client.resetAndDestroy();
        p.upstream?.destroy();
      }
      pairs.clear();
    },
    blackHole() {
      mode = 'black-hole';
    },
    restore() {
      // Connections open during a black hole lost bytes: they are broken for good (the peers find out by their timeouts).
      if (mode === 'black-hole') for (const p of pairs) p.client.destroy();
      mode = 'pass';
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of pairs) {
          p.client.destroy();
          p.upstream?.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
