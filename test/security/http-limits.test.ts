/**
 * HTTP limits (issue 17, finding 7): Fastify's requestTimeout/connectionTimeout default to 0 (none), so
 * 1,000 slow-body connections stayed open. They are set and configurable; a client that trickles its body
 * is cut off about `requestTimeout` later, and the service keeps answering meanwhile.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { newTestContext } from '../helpers/context.js';
import { buildApp } from '../../src/http/app.js';

describe('HTTP server limits', () => {
  it('defaults: requestTimeout 30 s, connection and keep-alive timeouts, requests per socket', async () => {
    const ctx = await newTestContext('sqlite');
    const app = await buildApp(ctx);
    try {
      await app.ready();
      const s = app.server;
      assert.equal(s.requestTimeout, 30_000);
      assert.equal(s.headersTimeout, 30_000);
      assert.equal(s.timeout, ctx.config.syncTimeoutMs + 60_000, 'a silent socket: the sync timeout + 60 s');
      assert.equal(s.keepAliveTimeout, 5_000);
      assert.equal(s.maxRequestsPerSocket, 1_000);
    } finally {
      await app.close();
      await ctx.cleanup();
    }
  });

  it('50 connections trickling a body are closed about requestTimeout later; /healthz answers meanwhile', async () => {
    const timeoutMs = 800;
    const ctx = await newTestContext('sqlite', { env: { WHALEFALL_HTTP_REQUEST_TIMEOUT_MS: String(timeoutMs), WHALEFALL_HTTP_MAX_REQUESTS_PER_SOCKET: '3' } });
    const app = await buildApp(ctx);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const sockets: net.Socket[] = [];
    const closed: number[] = [];
    const timers: NodeJS.Timeout[] = [];
    try {
      const t0 = Date.now();
      for (let i = 0; i < 50; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.on('close', () => closed.push(Date.now() - t0));
        s.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
        // one byte every 100 ms: never idle, never done
        timers.push(setInterval(() => s.writable && s.write(' '), 100));
        sockets.push(s);
      }
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      const bound = timeoutMs * 4; // the deadline plus Node's checking interval (timeout / 4) and a loaded machine's slack
      while (closed.length < 50 && Date.now() - t0 < bound * 3) await new Promise((r) => setTimeout(r, 20));
      assert.equal(closed.length, 50, `${closed.length} of 50 closed`);
      assert.ok(Math.max(...closed) < bound, `last closed after ${Math.max(...closed)} ms (limit ${timeoutMs} ms)`);
      assert.ok(Math.min(...closed) >= timeoutMs - 50, `first closed after ${Math.min(...closed)} ms: not before the deadline`);
    } finally {
      timers.forEach(clearInterval);
      sockets.forEach((s) => s.destroy());
      await app.close();
      await ctx.cleanup();
    }
  });
});
