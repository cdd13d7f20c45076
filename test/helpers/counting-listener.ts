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

/**
 * Where a connection stops counting: `end` — when the client ends or drops it (what it holds: connection caps);
 * `goodbye` — also at the PostgreSQL client's Terminate message (the end of its work on the server: a collection),
 * which a client writes a turn of its event loop before it ends the socket, so a busy client's next connection can
 * reach the listener between the two.
 */
export type CountUntil = 'end' | 'goodbye';

export async function startCountingListener(o: { targetHost: string; targetPort: number; until?: CountUntil }): Promise<CountingListener> {
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
    if (o.until === 'goodbye') client.on('data', pgTerminateWatcher(done));
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

/**
 * Calls `said` once the client's PostgreSQL frontend stream holds a Terminate message ('X', length 4). It follows
 * the message boundaries: the first message (startup, SSL or cancel request) has a length and no type byte; every
 * later one a type byte and a length. A TLS session after an SSLRequest is not followed (its bytes are not messages).
 */
function pgTerminateWatcher(said: () => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  let first = true;
  let off = false;
  return (chunk) => {
    if (off) return;
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (first) {
        if (buf.length < 8) return;
        const len = buf.readInt32BE(0);
        if (buf.readInt32BE(4) === 80877103) off = true; // SSLRequest: TLS (or a plain retry) follows
        if (buf.length < len) return;
        buf = buf.subarray(len);
        first = false;
        if (off) return;
        continue;
      }
      if (buf.length < 5) return;
      if (buf[0] === 0x58 && buf.readInt32BE(1) === 4) {
        off = true;
        return said();
      }
      const len = 1 + buf.readInt32BE(1);
      if (buf.length < len) return;
      buf = buf.subarray(len);
    }
  };
}
