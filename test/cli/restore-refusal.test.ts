/**
 * `whalefall restore` refuses while a live process holds the store, naming
 * it (issue #16 item 9) — the SQLite file and a PostgreSQL store alike — and
 * changes nothing — a CLI command that beats no heartbeat (a `sync`) as much as
 * a serve; once the process has stopped, the SQLite restore goes
 * ahead (PostgreSQL: the pg_restore instructions).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import { newTestContext, type TestContext } from '../helpers/context.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

function serve(env: Record<string, string>): { child: ChildProcess; listening: Promise<void>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', WHALEFALL_SCHEDULER: 'off', ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const listening = new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => /listening on/.test(l) && resolve());
    void exit.then((code) => reject(new Error(`serve exited (${code})`)));
  });
  listening.catch(() => {});
  return { child, listening, exit };
}

describe('restore refuses while the store is in use', { timeout: 180_000 }, () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  let pgCtx: TestContext | undefined;
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pgCtx?.cleanup();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('SQLite: refused naming the serve process, nothing changed; allowed once it stopped', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-restore-'));
    dirs.push(dataDir);
    const env = { WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_ADMIN_PASSWORD: 'pw-admin-Secret1' };
    const s = serve(env);
    children.push(s.child);
    await s.listening;
    const backup = path.join(dataDir, 'copy.db');
    const b = await cli(['backup', backup], env);
    assert.equal(b.code, 0, b.err);
    const before = fs.readdirSync(dataDir).sort();

    const r = await cli(['restore', backup], env);
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`the store is in use by serve pid ${s.child.pid} on ${os.hostname()} \\(last seen [^)]+\\): stop it first`));
    assert.deepEqual(fs.readdirSync(dataDir).sort(), before, 'nothing renamed or written');

    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
    const ok = await cli(['restore', backup], env);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /restored .*the previous store is kept as/);
  });

  it('SQLite: refused while a CLI sync (no heartbeat) has the store open, naming it; nothing changed; allowed once it ended', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-restore-sync-'));
    dirs.push(dataDir);
    const env = { WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_LANG: 'en', WHALEFALL_SCHEDULER: 'off', PW: 'pw-x' };
    // a server that accepts and never answers: the sync waits on it, holding the store open
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const add = await cli(
        [...'instances add --name silent --type postgresql --host 127.0.0.1 --username u --password-env PW --port'.split(' '), String(port)],
        env,
      );
      assert.equal(add.code, 0, add.err);
      const backup = path.join(dataDir, 'copy.db');
      assert.equal((await cli(['backup', backup], env)).code, 0);
      const sync = spawn(process.execPath, [BIN, 'sync', '--instance', 'silent'], {
        env: { ...process.env, ...env, WHALEFALL_CONNECT_TIMEOUT_MS: '60000' },
        stdio: 'ignore',
      });
      children.push(sync);
      const ended = new Promise<void>((r) => sync.on('exit', () => r()));
      const store = path.join(dataDir, 'whalefall.db');
      const sessions = () => {
        const db = new SQLite(store, { readonly: true });
        try {
          return (db.prepare('SELECT count(*) AS n FROM sync_sessions').get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      for (let i = 0; sessions() === 0; i++) {
        assert.ok(i < 600, 'the sync started its session');
        await new Promise((r) => setTimeout(r, 100));
      }
      const before = fs.readdirSync(dataDir).sort();

      const r = await cli(['restore', backup], env);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, new RegExp(`the store is in use by pid ${sync.pid} on ${os.hostname()} \\(whalefall sync --instance silent\\): stop it first`));
      assert.deepEqual(fs.readdirSync(dataDir).sort(), before, 'nothing renamed or written');
      assert.equal(sessions(), 1, "the sync's session is still in the store");

      sync.kill('SIGKILL');
      await ended;
      const ok = await cli(['restore', backup], env);
      assert.equal(ok.code, 0, ok.err);
      assert.equal(sessions(), 0, 'the backup, taken before the sync, is what the store holds now');
    } finally {
      silent.close();
    }
  });

  it('PostgreSQL: refused naming the serve process; once stopped, the pg_restore instructions', async () => {
    pgCtx = await newTestContext('postgres');
    const env = {
      DATABASE_URL: pgCtx.config.databaseUrl!,
      WHALEFALL_DATA_DIR: pgCtx.dataDir,
      WHALEFALL_TZ: 'UTC',
      WHALEFALL_ADMIN_PASSWORD: 'pw-admin-Secret1',
    };
    const s = serve(env);
    children.push(s.child);
    await s.listening;
    const file = path.join(pgCtx.dataDir, 'dump.db');
    const r = await cli(['restore', file], env);
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`the store is in use by serve pid ${s.child.pid} on ${os.hostname()}`));

    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
    const after = await cli(['restore', file], env);
    assert.notEqual(after.code, 0);
    assert.match(after.err, /the store is PostgreSQL \(DATABASE_URL\): .*pg_restore/);
    assert.doesNotMatch(after.err, /in use/);
  });
});
