/**
 * A TCP listener on 127.0.0.1 that counts the connections open through it at
 * once (peak), forwarding each to a target (the local PostgreSQL, a
 * pg-responder, a latency proxy). A connection counts from accept until the
 * client ends or drops it — what the client holds, not the proxy's teardown.
 *
 *   const l = await startCountingListener({ targetHost: '127.0.0.1', targetPort: 5432 });
 *   // … 40 parallel tests to 127.0.0.1:l.port …
 *   assert.ok(l.peak() <= 2);
 */
import net from 'node:net';

export interface CountingListener {
  host: '127.0.0.1';
  port: number;
  /** Connections open now. */
  open(): number;
  /** Most connections open at once since start (or the last resetPeak). */
  peak(): number;
  /** Start the peak again from the connections open now. */
  resetPeak(): void;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

export async function startCountingListener(o: { targetHost: string; targetPort: number }): Promise<CountingListener> {
  let open = 0;
  let peak = 0;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    open++;
    peak = Math.max(peak, open);
    let counted = true;
    const done = () => {
      if (counted) open--;
      counted = false;
    };
    const upstream = net.connect({ host: o.targetHost, port: o.targetPort, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('end', done);
    client.on('close', () => {
      done();
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    open: () => open,
    peak: () => peak,
    resetPeak: () => void (peak = open),
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
