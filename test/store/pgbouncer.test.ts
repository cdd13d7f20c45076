/**
 * The PostgreSQL store behind a real pgbouncer (Debian's 1.18, before
 * prepared statements were kept: 1.21) in transaction pooling, two server
 * connections for four store connections, so consecutive statements of one
 * store connection land on different server connections. With
 * `prepare: false` (WHALEFALL_STORE_PREPARE=off) nothing fails. With naming
 * on (the default), the first "prepared statement … does not exist / already
 * exists" switches it off for the pool, once (the warning), and the statement
 * is sent again unnamed: nothing fails, since nothing is named inside a
 * transaction. Skipped when pgbouncer is
 * not installed (`apt-get install pgbouncer`; .ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/db.js';
import { dropTestDatabase, pgAdminRun, uniqueName } from '../helpers/targets.js';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find((f) => fs.existsSync(f));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What one run of the workload did: errors outside and inside transactions, by code. */
interface Outcome {
  queries: number;
  queryErrors: string[];
  transactions: number;
  transactionErrors: string[];
}

/**
 * 200 parameterised queries of four texts at once, and six transactions (a
 * parameterised update and read each) among them; every answer checked.
 */
async function workload(store: Store, size = { queries: 200, transactions: 6 }): Promise<Outcome> {
  const texts = [
    (i: number) => sql<{ v: string }>`select v from items where id = ${i}`,
    (i: number) => sql<{ v: string }>`select v from items where id = ${i} and v is not null`,
    (i: number) => sql<{ v: string }>`select v from items where id = any(${[i]}::int[])`,
    (i: number) => sql<{ v: string }>`select coalesce(v, ${'none'}) as v from items where id = ${i}`,
  ];
  const out: Outcome = { queries: 0, queryErrors: [], transactions: 0, transactionErrors: [] };
  const code = (err: unknown) => (err as { code?: string }).code ?? String(err);
  const queries = Array.from({ length: size.queries }, async (_, n) => {
    const id = (n % 50) + 1;
    try {
      const r = await texts[n % texts.length]!(id).execute(store.db);
      assert.deepEqual(r.rows, [{ v: `item ${id}` }]);
      out.queries++;
    } catch (err) {
      out.queryErrors.push(code(err));
    }
  });
  const transactions = Array.from({ length: size.transactions }, async (_, n) => {
    const id = 100 + (n % 6);
    try {
      const v = await store.db.transaction().execute(async (trx) => {
        await sql`update counters set n = n + ${1} where id = ${id}`.execute(trx);
        const r = await sql<{ n: number }>`select n from counters where id = ${id}`.execute(trx);
        return r.rows[0]!.n;
      });
      assert.ok(v >= 1);
      out.transactions++;
    } catch (err) {
      out.transactionErrors.push(code(err));
    }
  });
  await Promise.all([...queries, ...transactions]);
  return out;
}

describe('the store behind pgbouncer 1.18 in transaction mode', { skip: PGBOUNCER ? false : 'pgbouncer is not installed (apt-get install pgbouncer)' }, () => {
  const name = uniqueName('pgbouncer');
  let dir: string;
  let bouncer: ChildProcess | undefined;
  let bouncerLog = '';
  let url: string;
  const stores: Store[] = [];

  before(async () => {
    await pgAdminRun(`CREATE DATABASE ${name}`);
    await pgAdminRun(
      `CREATE TABLE items (id int PRIMARY KEY, v text);
        INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 50) i;
        CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
        INSERT INTO counters SELECT i, 0 FROM generate_series(100, 105) i;`,
      name,
    );
    // What Whalefall's start sets on its database (ENSURE_CUSTOM_PLANS): statements are named only under it.
    await pgAdminRun(`ALTER DATABASE ${name} SET plan_cache_mode = force_custom_plan`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-pgbouncer-'));
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'users.txt'), '"postgres" ""\n');
    fs.writeFileSync(
      path.join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${name} = host=127.0.0.1 port=5432 dbname=${name}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${path.join(dir, 'users.txt')}`,
        'pool_mode = transaction',
        'default_pool_size = 2',
        'max_client_conn = 100',
        // node-postgres sends the store's statement_timeout as a startup parameter (docs/operations.md).
        'ignore_startup_parameters = extra_float_digits,statement_timeout',
        'logfile =',
        'pidfile =',
      ].join('\n') + '\n',
    );
    // pgbouncer refuses to run as root; it reads its files first, then becomes the user given.
    const asRoot = process.getuid?.() === 0;
    bouncer = spawn(PGBOUNCER!, [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
    bouncer.stdout!.on('data', (d: Buffer) => (bouncerLog += d.toString()));
    bouncer.stderr!.on('data', (d: Buffer) => (bouncerLog += d.toString()));
    url = `postgres://postgres@127.0.0.1:${port}/${name}`;
    for (let i = 0; ; i++) {
      const c = new pg.Client({ connectionString: url });
      try {
        await c.connect();
        await c.end();
        break;
      } catch (err) {
        await c.end().catch(() => {});
        if (i >= 50 || bouncer.exitCode !== null) throw new Error(`pgbouncer did not start: ${String(err)}\n${bouncerLog}`);
        await sleep(100);
      }
    }
  });
  after(async () => {
    for (const s of stores) await s.close();
    if (bouncer && bouncer.exitCode === null) {
      const exited = new Promise((resolve) => bouncer!.once('exit', resolve));
      bouncer.kill('SIGTERM');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await dropTestDatabase(name);
  });

  it('prepare: false (WHALEFALL_STORE_PREPARE=off): 200 concurrent queries and 6 transactions, not one error', async () => {
    const offs: unknown[] = [];
    const store = openStore({ databaseUrl: url, poolMax: 4, prepare: false, onPrepareOff: (_reason, err) => offs.push(err.code) });
    stores.push(store);
    const out = await workload(store);
    assert.deepEqual(out, { queries: 200, queryErrors: [], transactions: 6, transactionErrors: [] });
    assert.deepEqual(offs, [], 'no statement was named, so the pooler never refused one');
  });

  it('prepare on: the first pooler error switches naming off (told once); every query and every transaction answers', async () => {
    const offs: { reason: string; code?: string }[] = [];
    const store = openStore({ databaseUrl: url, poolMax: 4, prepare: true, onPrepareOff: (reason, err) => offs.push({ reason, code: err.code }) });
    stores.push(store);
    const first = await workload(store);
    console.log(`# first workload with naming on: ${JSON.stringify(first)}; told: ${JSON.stringify(offs)}`);
    assert.equal(offs.length, 1, JSON.stringify(offs));
    assert.ok(['26000', '42P05'].includes(offs[0]!.code ?? ''), JSON.stringify(offs));
    // Statements are named only outside a transaction, and sent again unnamed when the pooler lost the name: no error at all.
    assert.deepEqual(first, { queries: 200, queryErrors: [], transactions: 6, transactionErrors: [] });
    // Naming is off for the pool now: the same workload again, nothing fails.
    const second = await workload(store);
    assert.deepEqual(second, { queries: 200, queryErrors: [], transactions: 6, transactionErrors: [] });
    assert.equal(offs.length, 1);
  });

  it('prepare on, transactions only: nothing is named inside a transaction, so none fails and the pool is never told', async () => {
    const offs: (string | undefined)[] = [];
    const store = openStore({ databaseUrl: url, poolMax: 4, prepare: true, onPrepareOff: (_reason, err) => offs.push(err.code) });
    stores.push(store);
    // Four at once, so the store's connections and pgbouncer's two server connections cross.
    for (let i = 0; i < 10; i++) {
      const r = await Promise.all(Array.from({ length: 4 }, () => workload(store, { queries: 0, transactions: 1 })));
      assert.deepEqual(
        r.flatMap((o) => o.transactionErrors),
        [],
      );
    }
    assert.deepEqual(offs, []);
  });
});
