/**
 * Scale-out across "machines" on one host (issue #16): Linux network
 * namespaces the test creates, joined by veth pairs to a bridge in the store's
 * namespace. Every address lives inside those namespaces; nothing is added to
 * the host's own network.
 *
 *   ns S: bridge 10.213.0.1/24 — a PostgreSQL cluster of its own (initdb +
 *         pg_ctl in a temp folder): the store, and the target the instances reach
 *   ns A: 10.213.0.10 — `serve`   (hostname host-a)
 *   ns B: 10.213.0.11 — `worker`  (hostname host-b: the one whose link is cut)
 *   ns C: 10.213.0.12 — `worker`  (hostname host-c)
 *
 * Each of A, B, C has a latency proxy on its own loopback (127.0.0.1:15432 →
 * the cluster in S, +40 ms each way), so the instances' one address means
 * "far away" from every machine. The test itself reads the store through the
 * cluster's Unix socket (sockets in the file system are not namespaced).
 *
 * Needs root, iproute2 and /usr/lib/postgresql/15/bin; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startNetwork, type Network } from '../../bench/network.js';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { localDate } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { startWhalefall, waitFor, type Proc } from '../helpers/procs.js';

const run = promisify(execFile);
const PGBIN = '/usr/lib/postgresql/15/bin';
const actor = { userId: null, username: 'test' };
const INSTANCES = 30;
const id = randomBytes(3).toString('hex');
const NS = { s: `wf${id}s`, a: `wf${id}a`, b: `wf${id}b`, c: `wf${id}c` };
const ADDR = { s: '10.213.0.1', a: '10.213.0.10', b: '10.213.0.11', c: '10.213.0.12' };

const ip = (...args: string[]) => run('ip', args);
const inNs = (ns: string, ...cmd: string[]) => run('ip', ['netns', 'exec', ns, ...cmd]);

/** Why this host cannot run the test, or undefined. */
async function cannotRun(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (ip netns add)';
  if (!fs.existsSync(path.join(PGBIN, 'initdb'))) return `no PostgreSQL binaries in ${PGBIN}`;
  const probe = `wf${id}p`;
  try {
    await ip('netns', 'add', probe);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]}`;
  }
  await ip('netns', 'del', probe).catch(() => {});
  return undefined;
}

const skip = await cannotRun();
if (skip) console.log(`# multi-host test skipped: ${skip}`);

describe('multi-host scale-out in network namespaces: a worker cut off mid-session and back', { timeout: 600_000, skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-netns-'));
  const data = path.join(dir, 'pg');
  const sock = path.join(dir, 'sock');
  const created: string[] = [];
  const nets: Network[] = [];
  const procs: Record<'a' | 'b' | 'c', Proc | undefined> = { a: undefined, b: undefined, c: undefined };
  let pgStarted = false;
  let ctx: Context;

  before(async () => {
    for (const ns of Object.values(NS)) {
      await ip('netns', 'add', ns);
      created.push(ns);
      await inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    await inNs(NS.s, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    await inNs(NS.s, 'ip', 'addr', 'add', `${ADDR.s}/24`, 'dev', 'br0');
    await inNs(NS.s, 'ip', 'link', 'set', 'br0', 'up');
    for (const m of ['a', 'b', 'c'] as const) {
      // One veth pair per machine: eth0 in the machine's namespace, p<m> on the store's bridge.
      await ip('link', 'add', 'eth0', 'netns', NS[m], 'type', 'veth', 'peer', 'name', `p${m}`, 'netns', NS.s);
      await inNs(NS.s, 'ip', 'link', 'set', `p${m}`, 'master', 'br0');
      await inNs(NS.s, 'ip', 'link', 'set', `p${m}`, 'up');
      await inNs(NS[m], 'ip', 'addr', 'add', `${ADDR[m]}/24`, 'dev', 'eth0');
      await inNs(NS[m], 'ip', 'link', 'set', 'eth0', 'up');
    }
    // The store: a cluster of its own, listening only inside S (and on its socket for this test).
    fs.mkdirSync(sock);
    await run('chown', ['-R', 'postgres:postgres', dir]);
    await run('runuser', ['-u', 'postgres', '--', path.join(PGBIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    fs.appendFileSync(path.join(data, 'pg_hba.conf'), 'host all all 10.213.0.0/24 trust\n');
    const opts = `-c listen_addresses=${ADDR.s} -c port=5432 -c unix_socket_directories=${sock} -c fsync=off -c max_connections=200`;
    await inNs(NS.s, 'runuser', '-u', 'postgres', '--', path.join(PGBIN, 'pg_ctl'), '-D', data, '-l', path.join(dir, 'pg.log'), '-w', '-o', opts, 'start');
    pgStarted = true;
    const admin = new pg.Client({ host: sock, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query('CREATE DATABASE whalefall');
    await admin.end();
    // Each machine's way to the targets: a latency proxy on its own loopback.
    for (const m of ['a', 'b', 'c'] as const)
      nets.push(await startNetwork({ delayMs: 40, listenPort: 15432, target: { host: ADDR.s, port: 5432 } }, ['ip', 'netns', 'exec', NS[m]]));

    const key = randomBytes(32).toString('hex');
    const common = { WHALEFALL_QUEUE: 'pg-boss', WHALEFALL_SECRET_KEY: key, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off', WHALEFALL_DATA_DIR: dir };
    ctx = await createContext(loadConfig({ ...common, DATABASE_URL: `postgres://postgres@localhost/whalefall?host=${sock}` }), {
      logger: createLogger('warn'),
    });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    for (let i = 0; i < INSTANCES; i++) {
      await ctx.instances.create(
        { name: `pg-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: 15432, credential_id: cred.id },
        actor,
      );
    }
    const env = {
      ...common,
      DATABASE_URL: `postgres://postgres@${ADDR.s}:5432/whalefall`,
      WHALEFALL_HEARTBEAT_MS: '1000',
      WHALEFALL_LEASE_MS: '5000',
      WHALEFALL_SYNC_CONCURRENCY: '9', // estate-wide
      WHALEFALL_PROCESS_CONCURRENCY: '3', // and at most 3 in each process, so every host takes records
      WHALEFALL_SYNC_RETRIES: '0',
      WHALEFALL_CONNECT_TIMEOUT_MS: '3000',
      WHALEFALL_SYNC_TIMEOUT_MS: '10000',
      WHALEFALL_STORE_CONNECT_TIMEOUT_MS: '1000',
      WHALEFALL_STORE_STATEMENT_TIMEOUT_MS: '3000',
    };
    // Each machine has its own host name (holder host:pid: another host's pid cannot be checked, only its lease).
    const machine = (m: 'a' | 'b' | 'c') => ['ip', 'netns', 'exec', NS[m], 'unshare', '--uts', '--', 'sh', '-c', `hostname host-${m} && exec "$@"`, 'sh'];
    procs.a = startWhalefall('serve', env, machine('a'));
    procs.b = startWhalefall('worker', env, machine('b'));
    procs.c = startWhalefall('worker', env, machine('c'));
    await Promise.all(Object.values(procs).map((p) => p!.port));
  });

  after(async () => {
    for (const p of Object.values(procs)) p?.child.kill('SIGKILL');
    await Promise.all(Object.values(procs).map((p) => p?.exit));
    await ctx?.close().catch(() => {});
    for (const n of nets) await n.close().catch(() => {});
    if (pgStarted) await inNs(NS.s, 'runuser', '-u', 'postgres', '--', path.join(PGBIN, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop').catch(() => {});
    for (const ns of created) await ip('netns', 'del', ns).catch((err: Error) => console.log(`# could not delete namespace ${ns}: ${err.message}`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const records = (sid: string) => ctx.repos.sync.records(sid);
  const beatOf = async (host: string) => (await ctx.processesRepo.live('1970-01-01T00:00:00.000Z')).find((p) => p.host === host);

  it('the session completes on the others, one row per database per day; the cut worker stays up and rejoins', async () => {
    const s = await ctx.capacitySync.startMany('all-active', { syncType: 'scheduled_task', actor });
    s.done.catch(() => {});
    await waitFor('host-b running records', 60_000, async () =>
      (await records(s.session_id)).some((r) => r.status === 'running' && r.holder?.startsWith('host-b:')),
    );
    const cutAt = Date.now();
    await inNs(NS.s, 'ip', 'link', 'set', 'pb', 'down');
    const done = await waitFor('the session to close without host-b', 180_000, async () => {
      const x = await ctx.repos.sync.getSession(s.session_id);
      return x?.status !== 'running' && x;
    });
    const recs = await records(s.session_id);
    const byHost = recs.reduce<Record<string, number>>(
      (m, r) => ({ ...m, [r.holder?.split(':')[0] ?? '-']: (m[r.holder?.split(':')[0] ?? '-'] ?? 0) + 1 }),
      {},
    );
    console.log(`# link of host-b cut: session ${done.status} ${Date.now() - cutAt} ms after the cut; records by host ${JSON.stringify(byHost)}`);
    assert.equal(done.status, 'completed');
    assert.equal(recs.filter((r) => r.status === 'completed').length, INSTANCES);
    const stale = await beatOf('host-b');
    assert.ok(stale && Date.parse(stale.last_seen_at) < Date.now() - 2000, 'host-b stopped beating while cut off');
    const day = localDate(new Date(), 'UTC');
    const dup = await ctx.store.db
      .selectFrom('database_size_stats')
      .select(['instance_id', 'database_name', (eb) => eb.fn.countAll<number>().as('n')])
      .where('collected_date', '=', day)
      .groupBy(['instance_id', 'database_name'])
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    assert.deepEqual(dup, [], 'one row per database per day');
    assert.equal(procs.b!.child.exitCode, null, `host-b's worker alive while cut off:\n${procs.b!.stderr()}`);

    const restoredAt = Date.now();
    await inNs(NS.s, 'ip', 'link', 'set', 'pb', 'up');
    await waitFor('host-b beating again', 60_000, async () => {
      const b = await beatOf('host-b');
      return b && Date.parse(b.last_seen_at) > restoredAt;
    });
    // …and taking work again: host-b runs records of a following session. Its fetch loop may still sleep out the
    // backoff of the cut (up to 5 s) while a short session ends on the other two, so sessions follow one another
    // (every one must complete) until host-b has run records or 60 s have passed.
    const hosts = new Set<string | undefined>();
    const until = Date.now() + 60_000;
    let sessions = 0;
    while (!hosts.has('host-b') && Date.now() < until) {
      const s2 = await ctx.capacitySync.startMany('all-active', { syncType: 'manual_batch', actor });
      s2.done.catch(() => {});
      sessions++;
      await waitFor('the following session to close', 180_000, async () => (await ctx.repos.sync.getSession(s2.session_id))?.status === 'completed');
      for (const r of await records(s2.session_id)) hosts.add(r.holder?.split(':')[0]);
    }
    console.log(`# after the restore: ${sessions} session(s) ran on ${[...hosts].join(', ')}`);
    assert.ok(hosts.has('host-b'), 'host-b runs records again');
    for (const m of ['a', 'b', 'c'] as const) {
      procs[m]!.child.kill('SIGTERM');
      assert.equal(await procs[m]!.exit, 0, procs[m]!.stderr());
    }
  });
});
