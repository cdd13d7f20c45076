/**
 * Upgrades: the store written by the first tagged release of the schema
 * (migrations 0001–0005; the committed fixture for SQLite, made by
 * make-fixture.ts; the same generator run live for PostgreSQL) upgrades to
 * the current schema with every row preserved and still usable;
 * `whalefall migrate --dry-run` lists what is pending and changes nothing;
 * /readyz fails while migrations are pending or the store is unreachable;
 * a store newer than the code is refused with a clear message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/lib/logger.js';
import { decryptSecret, encryptSecret, keyFromSecret, keyId } from '../../src/lib/crypto.js';
import { openStore, type Store } from '../../src/store/db.js';
import { MIGRATION_NAMES, migrationState } from '../../src/store/migrations/index.js';
import { startLatencyProxy } from '../helpers/latency-proxy.js';
import { pgAdmin, uniqueName } from '../helpers/targets.js';
import { FIXTURE_FILE, FIXTURE_SECRET_KEY, firstReleaseStore } from './make-fixture.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const run = promisify(execFile);
const tmp: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-upgrade-'));
  tmp.push(d);
  return d;
}

type Snapshot = Record<string, Record<string, unknown>[]>;

/** Every row of every table (ordered by primary key / all columns), values normalised to strings. */
async function snapshot(db: Kysely<unknown>): Promise<Snapshot> {
  const out: Snapshot = {};
  const tables = (await db.introspection.getTables()).map((t) => t.name).filter((n) => !n.startsWith('whalefall_migrations'));
  for (const t of tables.sort()) {
    const rows = (await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(t)}`.execute(db)).rows;
    const norm = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
    out[t] = norm.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

/**
 * The one value a migration changes on purpose: 0012_measurement writes
 * `method: logical` into MySQL/MariaDB instances that had none, so their
 * history stays comparable when `auto` became the default.
 */
function intendedChanges(before: Snapshot): Snapshot {
  const instances = (before.instances ?? []).map((r) => {
    if (r.db_type !== 'mysql' && r.db_type !== 'mariadb') return r;
    const options = JSON.parse(String(r.options ?? '{}')) as Record<string, unknown>;
    return 'method' in options ? r : { ...r, options: JSON.stringify({ ...options, method: 'logical' }) };
  });
  return { ...before, instances: instances.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
}

/** The fixture's key ring: 0019 encrypts the webhook URLs with it. */
const RING = (() => {
  const k = keyFromSecret(FIXTURE_SECRET_KEY);
  return { currentId: keyId(k), keys: new Map([[keyId(k), k]]) };
})();
const SEAL = { seal: (clear: string) => encryptSecret(RING, clear).value };

/** 0019's change undone for the comparison: webhook URLs (rules' channels, deliveries) decrypted back, and sealed they were. */
function opened(s: Snapshot): Snapshot {
  const open = (v: unknown) => {
    assert.match(String(v), /^v1:/, 'a webhook URL is stored encrypted');
    return decryptSecret(RING, String(v));
  };
  const alert_rules = s.alert_rules?.map((r) => ({
    ...r,
    channels: JSON.stringify(
      (JSON.parse(String(r.channels)) as { type: string; url_enc: string }[]).map(({ type, url_enc, ...rest }) => ({ type, url: open(url_enc), ...rest })),
    ),
  }));
  const alert_deliveries = s.alert_deliveries?.map((r) => ({ ...r, url: open(r.url) }));
  return { ...s, ...(alert_rules ? { alert_rules } : {}), ...(alert_deliveries ? { alert_deliveries } : {}) };
}

/** Every old row is in the new table with the same value in every old column (but for the intended changes). */
function assertPreserved(original: Snapshot, sealed: Snapshot): number {
  const before = intendedChanges(original);
  const afterUp = opened(sealed);
  let rows = 0;
  for (const [table, oldRows] of Object.entries(before)) {
    const newRows = afterUp[table];
    assert.ok(newRows, `table ${table} still exists`);
    assert.equal(newRows.length, oldRows.length, `${table}: row count`);
    const projected = newRows.map((r) => Object.fromEntries(Object.keys(oldRows[0] ?? r).map((k) => [k, r[k]])));
    assert.deepEqual(
      projected.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      oldRows,
      `${table}: every row and value preserved`,
    );
    rows += oldRows.length;
  }
  return rows;
}

/** The upgraded store works with today's services: decrypts credentials, reads history, syncs state. */
async function usable(store: Store, dataDir: string) {
  const config = loadConfig({
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'Asia/Shanghai',
    WHALEFALL_SECRET_KEY: FIXTURE_SECRET_KEY,
    WHALEFALL_SCHEDULER: 'off',
  });
  const ctx = await createContext(config, { store, logger: createLogger('silent') });
  try {
    const creds = await ctx.credentials.list();
    assert.equal(creds.length, 4);
    assert.equal((await ctx.credentials.reveal(creds.find((c) => c.name === 'oracle-monitor')!.id))!.password, 'pw-oracle-Secret');
    const list = await ctx.instances.list();
    assert.equal(list.length, 7);
    const pg = list.find((i) => i.name === 'pg-prod-01')!;
    assert.ok(pg.total_size_bytes! > 1_000_000_000);
    const sessions = await ctx.capacity.sessions({ limit: 10 });
    assert.equal(sessions.total, 4);
    assert.equal((await ctx.alerts.listRules()).length, 3);
    const login = await ctx.auth.login('viewer', 'Viewer-Secret1', '10.0.0.1');
    assert.ok(login);
  } finally {
    await ctx.close();
  }
}

describe('upgrade from the first release [sqlite, committed fixture]', () => {
  after(() => tmp.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('the fixture is at 0001–0005 with rows in every table but the transient lock table', async () => {
    const db = new SQLite(FIXTURE_FILE, { readonly: true });
    try {
      const names = (db.prepare('SELECT name FROM whalefall_migrations ORDER BY name').all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(names, ['0001_initial', '0002_scheduler', '0003_max_bytes', '0004_aggregations', '0005_alerts']);
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'whalefall_%'").all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      for (const t of tables) {
        const n = (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n;
        if (t !== 'sync_locks') assert.ok(n > 0, `${t} has rows`);
      }
    } finally {
      db.close();
    }
  });

  it('migrate --dry-run lists the pending migrations and changes nothing; /readyz is 503 until migrated', async () => {
    const dataDir = tmpDir();
    fs.copyFileSync(FIXTURE_FILE, path.join(dataDir, 'whalefall.db'));
    const env = { ...process.env, WHALEFALL_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' };
    const { stdout } = await run(process.execPath, [BIN, 'migrate', '--dry-run'], { env });
    const pending = MIGRATION_NAMES.filter((n) => n > '0005_alerts');
    assert.match(stdout, new RegExp(`pending \\(${pending.length}\\): ${pending.join(', ')}`));
    const store = openStore({ sqliteFile: path.join(dataDir, 'whalefall.db') });
    try {
      assert.deepEqual((await migrationState(store.db)).pending, pending, 'dry run applied nothing');
      // A server whose store was not migrated (another version migrates it later) is not ready.
      const config = loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_SECRET_KEY: FIXTURE_SECRET_KEY, WHALEFALL_SCHEDULER: 'off' });
      const ctx = await createContext(config, { store: { ...store, migrate: async () => [], close: async () => {} }, logger: createLogger('silent') });
      const app = await buildApp(ctx);
      let res = await app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.match(res.json().reason, /^migrations pending: .*0009_production/);
      await store.migrate(SEAL);
      res = await app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 200, res.body);
      await app.close();
      await ctx.close();
    } finally {
      await store.close();
    }
  });

  it('upgrades to the current schema with every row preserved, and the store works', async () => {
    const dataDir = tmpDir();
    fs.copyFileSync(FIXTURE_FILE, path.join(dataDir, 'whalefall.db'));
    const store = openStore({ sqliteFile: path.join(dataDir, 'whalefall.db') });
    const before = await snapshot(store.db as Kysely<unknown>);
    const applied = await store.migrate(SEAL);
    assert.deepEqual(
      applied,
      MIGRATION_NAMES.filter((n) => n > '0005_alerts'),
    );
    const rows = assertPreserved(before, await snapshot(store.db as Kysely<unknown>));
    console.log(`# sqlite: ${rows} rows in ${Object.keys(before).length} tables preserved through ${applied.join(', ')}`);
    assert.deepEqual((await migrationState(store.db)).pending, []);
    await usable(store, dataDir);
  });

  it('refuses a store newer than the code, with a clear message (serve exits 1, nothing changed)', async () => {
    const dataDir = tmpDir();
    fs.copyFileSync(FIXTURE_FILE, path.join(dataDir, 'whalefall.db'));
    const db = new SQLite(path.join(dataDir, 'whalefall.db'));
    db.prepare("INSERT INTO whalefall_migrations (name, timestamp) VALUES ('9999_from_the_future', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    const env = { ...process.env, WHALEFALL_DATA_DIR: dataDir, DATABASE_URL: '', WHALEFALL_SECRET_KEY: FIXTURE_SECRET_KEY, LOG_LEVEL: 'warn', PORT: '0' };
    const err = await run(process.execPath, [BIN, 'serve'], { env, timeout: 60_000 }).then(
      () => assert.fail('serve started on a newer store'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /whalefall: 存储比本程序新，拒绝启动 \(the store was upgraded by a newer Whalefall: unknown migration 9999_from_the_future/);
    const check = new SQLite(path.join(dataDir, 'whalefall.db'), { readonly: true });
    const names = (check.prepare('SELECT name FROM whalefall_migrations ORDER BY name').all() as { name: string }[]).map((r) => r.name);
    check.close();
    assert.ok(!names.includes('0009_production'), 'nothing migrated');
  });
});

describe('upgrade from the first release [postgres, generated live by the first release’s code]', () => {
  const name = uniqueName('upgrade');
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  after(async () => {
    const a = await pgAdmin();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  });

  it('upgrades with every row preserved; /readyz fails while the store is unreachable', async () => {
    const a = await pgAdmin();
    await a.query(`CREATE DATABASE ${name}`);
    await a.end();
    const dataDir = tmpDir();
    firstReleaseStore(dataDir, url);
    const store = openStore({ databaseUrl: url });
    assert.deepEqual((await migrationState(store.db)).applied, ['0001_initial', '0002_scheduler', '0003_max_bytes', '0004_aggregations', '0005_alerts']);
    const before = await snapshot(store.db as Kysely<unknown>);
    const applied = await store.migrate(SEAL);
    const rows = assertPreserved(before, await snapshot(store.db as Kysely<unknown>));
    console.log(`# postgres: ${rows} rows in ${Object.keys(before).length} tables preserved through ${applied.join(', ')}`);
    await usable(store, dataDir);

    // Readiness follows the store: through a proxy that goes away, /readyz turns 503.
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 0 });
    const config = loadConfig({
      WHALEFALL_DATA_DIR: dataDir,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/${name}`,
      WHALEFALL_SECRET_KEY: FIXTURE_SECRET_KEY,
      WHALEFALL_SCHEDULER: 'off',
    });
    const ctx = await createContext(config, { logger: createLogger('silent') });
    const app = await buildApp(ctx);
    try {
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
      await proxy.close();
      const res = await app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().reason, 'store unreachable');
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'liveness does not depend on the store');
    } finally {
      await app.close();
      await ctx.close().catch(() => {});
    }
  });
});
