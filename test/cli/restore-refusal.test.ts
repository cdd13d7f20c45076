/**
 * `whalefall restore` refuses while a live process holds the store, naming
 * it (issue #16 item 9) — the SQLite file and a PostgreSQL store alike — and
 * changes nothing; once the process has stopped, the SQLite restore goes
 * ahead (PostgreSQL: the pg_restore instructions).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
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
