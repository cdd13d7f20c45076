/**
 * Import limits (issue 17, finding 8: a 30 MB import of 325k rows blocked the service for 16.7 s and took RSS to
 * 1.5 GB). A body past WHALEFALL_IMPORT_MAX_BYTES is refused from its Content-Length before it is read; more rows
 * than WHALEFALL_IMPORT_MAX_ROWS are refused with a clear message; one import at a time; and during a maximal
 * accepted import (20,000 rows) /healthz keeps answering in under 100 ms.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

const HEADER = 'name,db_type,host,port,database_name,credential,is_active,description,tags,options\n';
const csvRows = (n: number, from = 0) =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return `lim-${i},postgresql,10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},5432,,,true,rack ${i},env:prod;team:t${i % 10},\n`;
  }).join('');
const yamlRows = (n: number) =>
  stringify({
    instances: Array.from({ length: n }, (_, i) => ({
      name: `big-${i}`,
      db_type: 'postgresql',
      host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 5432,
      description: `机房 ${i}, rack A`,
      tags: ['env:prod', `team:t${i % 10}`],
      options: i % 11 === 0 ? { connect_timeout_ms: 3000 } : {},
    })),
  });

describe('instance import limits', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let port: number;
  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_IMPORT_MAX_ROWS: '100' } });
    ({
      app,
      callers: { admin },
    } = await newTestApp(ctx));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });
  const post = (body: string, type = 'text/csv') =>
    app.inject({ method: 'POST', url: '/api/instances/import', headers: { ...admin.headers(true), 'content-type': type }, payload: body });

  it('a 30 MB import is refused from its Content-Length, before the body is read, with a clear 413', async () => {
    const size = 30 * 1024 * 1024;
    const started = performance.now();
    const res = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/instances/import',
        headers: { ...admin.headers(true), 'content-type': 'text/csv', 'content-length': size },
      });
      let sent = 0;
      req.on('error', reject);
      req.on('response', (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => {
          resolve({ status: r.statusCode!, body, sent });
          req.destroy();
        });
      });
      // Only the first 64 KiB: the answer must not wait for the rest.
      const chunk = HEADER + csvRows(700);
      sent = Buffer.byteLength(chunk);
      req.write(chunk);
    });
    const ms = performance.now() - started;
    assert.equal(res.status, 413, res.body);
    const body = JSON.parse(res.body) as { error: string; error_code: string };
    assert.equal(body.error_code, 'body_too_large');
    assert.match(body.error, /请求体过大.*10 MiB.*request body too large \(limit 10 MiB\)/);
    assert.ok(res.sent < size / 100, 'answered with most of the body never sent');
    assert.ok(ms < 5_000, `refused after ${Math.round(ms)} ms`);
    assert.equal((await ctx.instances.list()).length, 0);
  });

  it('more rows than WHALEFALL_IMPORT_MAX_ROWS are refused (zh-CN + English), nothing stored; the limit itself is accepted', async () => {
    const over = await post(HEADER + csvRows(101));
    assert.equal(over.statusCode, 400, over.body);
    assert.equal(over.json().error_code, 'validation');
    assert.match(over.json().error, /导入文件有 101 行，每次最多 100 行.*the file has 101 rows; at most 100 per import/);
    const overYaml = await post(
      stringify({ instances: Array.from({ length: 101 }, (_, i) => ({ name: `y-${i}`, db_type: 'mysql', host: 'h' })) }),
      'application/yaml',
    );
    assert.equal(overYaml.statusCode, 400);
    assert.match(overYaml.json().error, /at most 100 per import/);
    assert.equal((await ctx.instances.list()).length, 0);
    const ok = await post(HEADER + csvRows(100));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().data.created, 100);
  });

  it('one import at a time: a second, concurrent one gets 409 with a clear message and changes nothing', async () => {
    const before = (await ctx.instances.list()).length;
    const [a, b] = await Promise.all([post(HEADER + csvRows(100, 1000)), post(HEADER + csvRows(50, 5000))]);
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(b.statusCode, 409, b.body);
    assert.equal(b.json().error_code, 'conflict');
    assert.match(b.json().error, /另一个导入正在进行.*another import is running/);
    assert.equal((await ctx.instances.list()).length, before + 100);
    // Once the first is done, the next one runs.
    assert.equal((await post(HEADER + csvRows(50, 5000))).statusCode, 200);
  });
});

describe('a maximal accepted import (20,000 rows) does not block the service', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let port: number;
  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin },
    } = await newTestApp(ctx));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  for (const [format, type, file] of [
    ['YAML', 'application/yaml', () => yamlRows(20_000)],
    ['CSV', 'text/csv', () => HEADER + csvRows(20_000, 100_000)],
  ] as const) {
    it(`${format}: /healthz answers in < 100 ms (95th percentile of the polls) throughout`, async () => {
      const body = file();
      const base = `http://127.0.0.1:${port}`;
      let done = false;
      const importing = fetch(`${base}/api/instances/import`, { method: 'POST', headers: { ...admin.headers(true), 'content-type': type }, body }).finally(
        () => (done = true),
      );
      const polls: number[] = [];
      while (!done) {
        const t = performance.now();
        const h = await fetch(`${base}/healthz`);
        await h.text();
        polls.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 25));
      }
      const res = await importing;
      const report = (await res.json()) as { data: { created: number } };
      assert.equal(res.status, 200);
      assert.equal(report.data.created, 20_000);
      const sorted = [...polls].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
      const max = sorted.at(-1)!;
      console.log(
        `${format} import: ${polls.length} polls of /healthz, median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${max.toFixed(1)} ms`,
      );
      assert.ok(polls.length >= 10, `only ${polls.length} polls: the import was too short to measure`);
      // Before the fix the parse held the loop for seconds (every poll in that stretch waited for it). The 95th
      // percentile is the claim; the max also catches a GC pause or the machine's load (2 cores shared), bounded apart.
      assert.ok(q(0.95) < 100, `/healthz p95 ${q(0.95).toFixed(1)} ms during the import`);
      assert.ok(max < 1_000, `/healthz took ${max.toFixed(1)} ms during the import`);
    });
  }
});
