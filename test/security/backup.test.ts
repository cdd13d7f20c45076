/**
 * Backup and restore of the SQLite store: `whalefall backup FILE` while the
 * service's own connection is open and writing (online backup API), then
 * `whalefall restore FILE` into a fresh data dir finds every row of every
 * table, byte for byte. Bad backups are refused with the store untouched.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Database as Schema } from '../../src/store/schema.js';
import { decryptSecret, loadKeyRing } from '../../src/lib/crypto.js';
import { withCli } from '../helpers/cli.js';
import { newTestApp, newTestContext, type TestContext } from '../helpers/context.js';
import { startPgResponder, type PgResponder, SIZE_COLUMNS } from '../helpers/pg-responder.js';

const actor = { userId: null, username: 'test' };

/** Every table's rows, in primary-key order (WITHOUT ROWID tables have no rowid), from a SQLite file. */
function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
    ).map((t) => t.name);
    const order = (t: string) => {
      const pk = (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string; pk: number }[]).filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      return pk.length ? pk.map((c) => `"${c.name}"`).join(', ') : 'rowid';
    };
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY ${order(t)}`).all()]));
  } finally {
    db.close();
  }
}

describe('backup and restore (SQLite store)', () => {
  let ctx: TestContext;
  let responder: PgResponder;
  let storeFile: string;
  let backupDir: string;

  before(async () => {
    ctx = await newTestContext('sqlite');
    storeFile = path.join(ctx.dataDir, 'whalefall.db');
    backupDir = fs.mkdtempSync(path.join(ctx.dataDir, 'backups-'));
    const { app } = await newTestApp(ctx); // users, sessions, tokens
    await app.close();
    const rows = Array.from({ length: 400 }, (_, i) => [40_000 + i, `库_${i}_it's`, false, true, String(i * 1_000_003), '15.7']);
    responder = await startPgResponder({
      handler: (q) =>
        /pg_database_size\(oid\)/.test(q)
          ? {
              columns: SIZE_COLUMNS,
              rows,
            }
          : undefined,
    });
    const cred = await ctx.credentials.create({ name: 'bk', username: 'u', password: 'Backup-Pw-1' }, actor);
    for (let i = 0; i < 3; i++) {
      const id = (
        await ctx.instances.create(
          { name: `bk-${i}`, db_type: 'postgresql', host: '127.0.0.1', port: responder.port, credential_id: cred.id, tags: ['a', '鲸'] },
          actor,
        )
      ).id;
      await ctx.capacitySync.syncInstance(id, actor);
    }
    await ctx.settings.update({ sync_concurrency: 5 }, actor);
    await ctx.alerts.createRule({ name: 'bk-rule', kind: 'size_above', threshold: 1 }, actor);
    await ctx.aggregation.aggregate({});
    // A sync closes its connection (and frees its connection slot) just after it answers: let the store settle.
    for (let i = 0; i < 100 && (await ctx.store.db.selectFrom('connection_slots').select('slot').execute()).length; i++)
      await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await ctx?.cleanup();
    await responder?.close();
  });

  it('a backup taken with the service connected, restored into a new data dir, has every row of every table', async () => {
    const file = path.join(backupDir, 'full.db');
    const atBackup = dump(storeFile);
    const tables = Object.keys(atBackup);
    const total = Object.values(atBackup).reduce((s, r) => s + r.length, 0);
    assert.ok(atBackup.database_size_stats!.length >= 1200 && atBackup.users!.length >= 3 && atBackup.credentials!.length === 1, 'a populated store');
    for (const t of [
      'users',
      'api_tokens',
      'web_sessions',
      'credentials',
      'instances',
      'instance_databases',
      'database_size_stats',
      'instance_size_stats',
      'sync_sessions',
      'sync_instance_records',
      'audit_log',
      'settings',
      'alert_rules',
      'aggregations',
    ] satisfies (keyof Schema)[]) {
      assert.ok(atBackup[t]!.length > 0, `${t} has rows to back up`);
    }
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir }, async (cli) => {
      const r = await cli(['backup', file]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`backup written to .*: ${total} rows in ${tables.length} tables`));
      assert.match(r.out, /Keep secret\.key/);
      // refusing to overwrite, unless asked
      const again = await cli(['backup', file]);
      assert.equal(again.code, 1);
      assert.match(again.err, /exists; use --force/);
    });
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
    assert.deepEqual(dump(file), atBackup, 'the backup equals the store at backup time');

    // the store moves on after the backup
    await ctx.instances.create({ name: 'after-backup', db_type: 'mysql', host: 'h' }, actor);

    // restore into a fresh data dir, with the key file beside it
    const fresh = fs.mkdtempSync(path.join(ctx.dataDir, 'restore-'));
    fs.copyFileSync(path.join(ctx.dataDir, 'secret.key'), path.join(fresh, 'secret.key'));
    await withCli({ WHALEFALL_DATA_DIR: fresh }, async (cli) => {
      const r = await cli(['restore', file]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`restored .*: ${total} rows in ${tables.length} tables`));
      assert.doesNotMatch(r.out, /warning/);
      const listed = await cli(['instances', 'list', '--json']);
      assert.deepEqual((JSON.parse(listed.out) as { name: string }[]).map((i) => i.name).sort(), ['bk-0', 'bk-1', 'bk-2']);
    });
    const restored = dump(path.join(fresh, 'whalefall.db'));
    assert.deepEqual(restored, atBackup, 'every row of every table is back');
    const ring = loadKeyRing(fresh, undefined);
    assert.equal(decryptSecret(ring, (restored.credentials![0] as { password_enc: string }).password_enc), 'Backup-Pw-1');
    console.log(`backup/restore: ${total} rows in ${tables.length} tables backed up online and restored identical`);
  });

  // Found by this test: in the backup API's default small steps every concurrent write restarted the copy, which never ended.
  it('a backup under concurrent writes finishes and is consistent (integrity_check ok, a state between before and after)', { timeout: 30_000 }, async () => {
    const file = path.join(backupDir, 'busy.db');
    const before = dump(storeFile).audit_log!.length;
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        await ctx.audit.record(actor, { action: 'busy.write', details: { n: written } });
        written++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir }, async (cli) => {
        for (let i = 0; i < 3; i++) {
          const r = await cli(['backup', file, '--force']);
          assert.equal(r.code, 0, r.err);
        }
      });
    } finally {
      stop = true;
      await writer;
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const n = (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
      assert.ok(n >= before && n <= before + written, `${n} audit rows, between ${before} and ${before + written}`);
      // ids have no gaps: no half-applied transaction
      const ids = (db.prepare('SELECT id FROM audit_log ORDER BY id').all() as { id: number }[]).map((r) => r.id);
      assert.equal(ids.at(-1)! - ids[0]! + 1, ids.length);
    } finally {
      db.close();
    }
    assert.ok(written > 0, 'the writer ran during the backups');
  });

  it("backup refuses the store's own files and the key file, however named, and leaves nothing behind", async () => {
    const atStart = dump(storeFile);
    const key = fs.readFileSync(path.join(ctx.dataDir, 'secret.key'));
    const storeInode = fs.statSync(storeFile).ino;
    const work = fs.mkdtempSync(path.join(ctx.dataDir, 'targets-'));
    fs.symlinkSync(storeFile, path.join(work, 'link.db'));
    fs.mkdirSync(path.join(work, 'dir.db'));
    const cwd = process.cwd();
    process.chdir(work); // relative paths, as a user types them
    try {
      await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_LANG: 'en' }, async (cli) => {
        for (const target of [
          storeFile,
          path.relative(work, storeFile),
          `${path.dirname(storeFile)}/../${path.basename(path.dirname(storeFile))}/whalefall.db`,
          'link.db',
          `${storeFile}-wal`,
          `${storeFile}-shm`,
          path.join(ctx.dataDir, 'secret.key'),
        ]) {
          const r = await cli(['backup', target, '--force']);
          assert.equal(r.code, 1, `${target}: ${r.out}`);
          assert.match(r.err, /^whalefall: .* is \/.*, a file of the store: back up to another path\n/, target);
        }
        const dir = await cli(['backup', 'dir.db', '--force']);
        assert.equal(dir.code, 1);
        assert.equal(dir.err, 'whalefall: dir.db is a directory: give a file name\n');

        // a good backup is one file: no -wal, -shm or .partial beside it, after the backup and after a restore check
        const ok = await cli(['backup', 'one.db']);
        assert.equal(ok.code, 0, ok.err);
        assert.equal((await cli(['backup', 'one.db', '--force'])).code, 0);
      });
      // restore (into a data dir of its own: this process has the test's store open, and restore refuses that)
      await withCli({ WHALEFALL_LANG: 'en' }, async (cli) => {
        const restoreDir = await cli(['restore', 'dir.db']);
        assert.equal(restoreDir.code, 1);
        assert.equal(restoreDir.err, 'whalefall: dir.db is a directory: give a file name\n');
      });
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(fs.readdirSync(work).sort(), ['dir.db', 'link.db', 'one.db']);
    assert.deepEqual(fs.readdirSync(path.join(work, 'dir.db')), []);
    assert.equal(fs.statSync(storeFile).ino, storeInode, 'the store file is the same file');
    assert.deepEqual(fs.readFileSync(path.join(ctx.dataDir, 'secret.key')), key);
    assert.deepEqual(dump(storeFile), atStart, 'the store is unchanged');
    assert.deepEqual(dump(path.join(work, 'one.db')), atStart);
  });

  it("backup and restore refusals are in the CLI's language", async () => {
    const cjk = /[\u3400-\u9fff]/;
    const existing = path.join(backupDir, 'exists.db');
    fs.writeFileSync(existing, 'x');
    const notSqlite = path.join(backupDir, 'lang-not.db');
    fs.writeFileSync(notSqlite, 'this is not a database'.repeat(100));
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_LANG: 'en' }, async (cli) => {
      const r = await cli(['backup', existing]);
      assert.equal(r.err, `whalefall: ${existing} exists: use --force to overwrite it\n`);
    });
    await withCli({ WHALEFALL_LANG: 'en' }, async (cli) => {
      const r = await cli(['restore', notSqlite]);
      assert.match(r.err, /^whalefall: .* is not a SQLite database: |^whalefall: Cannot open the backup /);
      assert.doesNotMatch(r.err, cjk);
      assert.match((await cli(['restore', path.join(backupDir, 'no-such.db')])).err, /^whalefall: Cannot open the backup .*no-such\.db: /);
    });
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_LANG: 'zh-CN' }, async (cli) => {
      assert.equal((await cli(['backup', existing])).err, `whalefall: ${existing} 已存在 (exists; use --force to overwrite)\n`);
    });
  });

  it("an older version's backup (WAL mode, 1,024-byte pages) restores over an existing store and leaves nothing beside it", async () => {
    const dir = fs.mkdtempSync(path.join(backupDir, 'old-'));
    const old = path.join(dir, 'old.db');
    fs.copyFileSync('test/upgrade/store-0005.sqlite', old);
    const rows = dump(old);
    const w = new Database(old);
    assert.equal(w.pragma('page_size', { simple: true }), 1024);
    w.pragma('journal_mode = WAL');
    w.close();
    assert.deepEqual(fs.readdirSync(dir), ['old.db']);
    await withCli({ WHALEFALL_LANG: 'en' }, async (cli, dataDir) => {
      assert.equal((await cli(['instances', 'add', '--name', 'replaced', '--type', 'mysql', '--host', 'h'])).code, 0);
      const r = await cli(['restore', old]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /restored .*; migrated: .*; the previous store is kept as /);
      const restored = dump(path.join(dataDir, 'whalefall.db'));
      const names = (t: Record<string, unknown[]>) => t.instances!.map((i) => (i as { name: string }).name).sort();
      assert.deepEqual(names(restored), names(rows), "the backup's instances (migrated since)");
      assert.equal(restored.database_size_stats!.length, rows.database_size_stats!.length);
      assert.equal(fs.readdirSync(dataDir).filter((f) => f.includes('before-restore')).length, 1);
    });
    assert.deepEqual(fs.readdirSync(dir), ['old.db']);
  });

  it('bad backups are refused and the store stays as it was', async () => {
    const fresh = fs.mkdtempSync(path.join(ctx.dataDir, 'refuse-'));
    const notSqlite = path.join(backupDir, 'not.db');
    fs.writeFileSync(notSqlite, 'this is not a database'.repeat(100));
    const foreign = path.join(backupDir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE t (x)');
    f.close();
    await withCli({ WHALEFALL_DATA_DIR: fresh }, async (cli) => {
      assert.equal((await cli(['instances', 'add', '--name', 'keep-me', '--type', 'mysql', '--host', 'h'])).code, 0);
      const before = dump(path.join(fresh, 'whalefall.db'));
      for (const [file, why] of [
        [notSqlite, /not a SQLite database|cannot open/],
        [foreign, /not a Whalefall store/],
        [path.join(backupDir, 'missing.db'), /cannot open/],
      ] as const) {
        const r = await cli(['restore', file]);
        assert.equal(r.code, 1, `${file}: ${r.out}`);
        assert.match(r.err, why);
        assert.deepEqual(dump(path.join(fresh, 'whalefall.db')), before, `${file}: store unchanged`);
      }
      process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
      const pgStore = await cli(['backup', path.join(backupDir, 'pg.db')]);
      delete process.env.DATABASE_URL;
      assert.equal(pgStore.code, 1);
      assert.match(pgStore.err, /pg_dump/);
    });
  });
});
