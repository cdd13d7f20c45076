/**
 * SIGTERM during a sync: `whalefall serve` stops taking work (new requests
 * refused), lets running syncs finish within WHALEFALL_SHUTDOWN_TIMEOUT_MS,
 * aborts what is still running past it, marks the records not started
 * `skipped`, closes the session `interrupted`, closes its pools and exits 0.
 * Nothing is half-written: capacity rows exist exactly for completed records.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/db.js';
import { newTestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const actor = { userId: null, username: 'test' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A data dir with 12 instances behind the proxy and an operator token; the context is closed again. */
async function prepare(proxyPort: number): Promise<{ dataDir: string; token: string }> {
  const ctx = await newTestContext('sqlite');
  const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
  for (let i = 0; i < 12; i++) {
    await ctx.instances.create(
      { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: proxyPort, credential_id: cred.id },
      actor,
    );
  }
  const u = await ctx.auth.createUser({ username: 'op', password: 'Operator-Secret1', role: 'operator' }, actor);
  const token = (await ctx.auth.createToken(u.id, { name: 'test' }, actor)).token;
  await ctx.close();
  return { dataDir: ctx.dataDir, token };
}

async function runAndTerm(dataDir: string, token: string, boundMs: number) {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      WHALEFALL_DATA_DIR: dataDir,
      PORT: String(port),
      WHALEFALL_TZ: 'UTC',
      WHALEFALL_SCHEDULER: 'off',
      WHALEFALL_SYNC_CONCURRENCY: '3',
      WHALEFALL_SYNC_RETRIES: '0',
      WHALEFALL_SHUTDOWN_TIMEOUT_MS: String(boundMs),
      WHALEFALL_ADMIN_PASSWORD: 'Admin-Secret-1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.on('exit', (code) => r({ code, at: Date.now() })));
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  for (let i = 0; ; i++) {
    if (/listening on/.test(out)) break;
    if (i > 600) throw new Error(`serve did not start:\n${out}`);
    await sleep(50);
  }
  const started = await fetch(`${base}/api/sync/capacity`, { method: 'POST', headers, body: '{}' });
  assert.equal(started.status, 202);
  const sessionId = ((await started.json()) as { data: { session_id: string } }).data.session_id;
  // Wait until some records completed and one has just started: it has most of its
  // collection (seconds through the proxy) ahead of it when the signal lands. A record
  // of the first wave seen running after its wave-mate completed may be a few ms from
  // done, and a short bound would then abort nothing (a flake under load).
  for (let i = 0; ; i++) {
    const s = (await (await fetch(`${base}/api/sync-sessions/${sessionId}`, { headers })).json()) as {
      data: { records: { status: string; started_at: string | null }[] };
    };
    const st = s.data.records.map((r) => r.status);
    const fresh = s.data.records.some((r) => r.status === 'running' && r.started_at && Date.now() - Date.parse(r.started_at) < 400);
    if (st.includes('completed') && fresh) break;
    if (i > 600) throw new Error(`no progress: ${st}`);
    await sleep(25);
  }
  const t0 = Date.now();
  child.kill('SIGTERM');
  await sleep(100);
  // Stops taking work: the HTTP listener is closed.
  const refused = await fetch(`${base}/healthz`).then(
    (r) => `answered ${r.status}`,
    () => 'refused',
  );
  const { code, at } = await exited;
  const store = openStore({ sqliteFile: path.join(dataDir, 'whalefall.db') });
  try {
    const session = (await store.db.selectFrom('sync_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst())!;
    const records = await store.db.selectFrom('sync_instance_records').selectAll().where('session_id', '=', sessionId).execute();
    const rows = new Map<number, number>();
    for (const r of await store.db
      .selectFrom('database_size_stats')
      .select(['instance_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('instance_id')
      .execute())
      rows.set(Number(r.instance_id), Number(r.n));
    const locks = await store.db.selectFrom('sync_locks').selectAll().execute();
    return { code, elapsed: at - t0, out, refused, session, records, rows, locks };
  } finally {
    await store.close();
  }
}

describe('SIGTERM during a sync', () => {
  let proxy: LatencyProxy;
  const dirs: string[] = [];
  before(async () => {
    // A collection through the proxy takes a couple of seconds.
    proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 250 });
  });
  after(async () => {
    await proxy?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  function checkCommon(r: Awaited<ReturnType<typeof runAndTerm>>) {
    assert.equal(r.code, 0, `exit code 0\n${r.out}`);
    assert.equal(r.refused, 'refused', 'no new requests once stopping');
    assert.match(r.out, /"msg":"stopped"/, 'the pools were closed before exiting');
    assert.equal(r.session.status, 'interrupted');
    const by = (st: string) => r.records.filter((x) => x.status === st);
    assert.equal(by('completed').length + by('failed').length + by('skipped').length, 12, `all terminal: ${r.records.map((x) => x.status)}`);
    assert.equal(r.session.successful_instances, by('completed').length);
    assert.equal(r.session.failed_instances, by('failed').length);
    assert.ok(by('skipped').length > 0, 'records not started were marked');
    for (const x of by('skipped')) assert.equal(x.error_code, 'interrupted');
    for (const x of r.records) {
      const n = r.rows.get(x.instance_id) ?? 0;
      if (x.status === 'completed') assert.equal(n, x.saved_count);
      else assert.equal(n, 0, `${x.instance_name} (${x.status}): nothing half-written`);
    }
    assert.deepEqual(r.locks, []);
    return { completed: by('completed').length, aborted: by('failed').length, skipped: by('skipped').length };
  }

  it('with a generous bound, running syncs finish; the rest is skipped; exit 0', async () => {
    const { dataDir, token } = await prepare(proxy.port);
    dirs.push(dataDir);
    const r = await runAndTerm(dataDir, token, 30_000);
    const n = checkCommon(r);
    assert.equal(n.aborted, 0, 'nothing aborted');
    console.log(`# bound 30 s: exit 0 after ${r.elapsed} ms; ${n.completed} completed, ${n.skipped} skipped`);
  });

  it('with a short bound, what still runs is aborted (nothing saved); exit 0 just after the bound', async () => {
    const { dataDir, token } = await prepare(proxy.port);
    dirs.push(dataDir);
    const r = await runAndTerm(dataDir, token, 200);
    const n = checkCommon(r);
    assert.ok(n.aborted > 0, 'running records were aborted');
    for (const x of r.records.filter((y) => y.status === 'failed')) assert.equal(x.error_code, 'interrupted');
    assert.ok(r.elapsed < 5000, `exited soon after the bound: ${r.elapsed} ms`);
    console.log(`# bound 200 ms: exit 0 after ${r.elapsed} ms; ${n.completed} completed, ${n.aborted} aborted, ${n.skipped} skipped`);
  });
});
