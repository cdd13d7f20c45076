/**
 * A scheduled tick whose owner is SIGKILLed (local mode: SQLite, one serve)
 * does not stay `running` in scheduler_runs: the next start closes it
 * `failed`, naming the process that is gone, linked to its session (issue
 * #16 item 3).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBlackHole } from '../helpers/targets.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const actor = { userId: null, username: 'test' };

describe('a tick abandoned by a SIGKILLed serve', { timeout: 120_000 }, () => {
  let dataDir: string;
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  let ctx: Context;
  const children: ChildProcess[] = [];
  const env = () => ({
    ...process.env,
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    // Hourly: the last full hour was missed (nobody ran), so the scheduler's catch-up runs that tick at start.
    WHALEFALL_SYNC_CRON: '0 * * * *',
    WHALEFALL_SYNC_RETRIES: '0',
    WHALEFALL_ADMIN_PASSWORD: 'pw-admin-Secret1',
    PORT: '0',
    LOG_LEVEL: 'info',
  });
  const serve = () => {
    const child = spawn(process.execPath, [BIN, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const listening = new Promise<void>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).on('line', (l) => /listening on/.test(l) && resolve());
      child.on('exit', (code) => reject(new Error(`serve exited (${code})`)));
    });
    listening.catch(() => {});
    return { child, listening };
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-tick-'));
    hole = await startBlackHole();
    ctx = await createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off' }), { logger: createLogger('silent') });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    // A server that accepts and never answers: the tick's session stays running until the kill.
    await ctx.instances.create(
      { name: 'pg-hung', db_type: 'postgresql', host: '127.0.0.1', port: hole.port, credential_id: cred.id, options: { connect_timeout_ms: 120_000 } },
      actor,
    );
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await ctx?.close();
    await hole?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const runs = () => ctx.store.db.selectFrom('scheduler_runs').selectAll().where('job', '=', 'capacity_sync').execute();

  it('SIGKILL mid-tick: the row stays running; the next start closes it failed, naming the process', async () => {
    const first = serve();
    await first.listening;
    const pid = first.child.pid!;
    let row: Awaited<ReturnType<typeof runs>>[number] | undefined;
    for (let i = 0; i < 200 && !row; i++) {
      row = (await runs()).find((r) => r.status === 'running' && r.owner.split(':')[1] === String(pid));
      // Claiming the tick and starting its session are two commits: the kill comes once the session has started.
      const started = row && (await ctx.store.db.selectFrom('sync_sessions').select('id').where('owner', '=', row.owner).executeTakeFirst());
      if (!started) row = undefined;
      if (!row) await sleep(50);
    }
    assert.ok(row, 'the serve claimed the missed tick and is running it');
    const exited = new Promise((r) => first.child.on('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    assert.equal((await runs()).find((r) => r.id === row!.id)!.status, 'running', 'nothing closed it by itself');

    const second = serve();
    await second.listening;
    const closed = (await runs()).find((r) => r.id === row!.id)!;
    assert.equal(closed.status, 'failed');
    assert.ok(closed.finished_at);
    assert.match(closed.message ?? '', new RegExp(`abandoned: the process running this scheduled run is gone.*pid ${pid}`));
    assert.ok(closed.session_id, 'linked to the session it started');
    assert.equal((await ctx.repos.sync.getSession(closed.session_id!))!.status, 'interrupted');
    assert.equal((await runs()).filter((r) => r.status === 'running').length, 0, 'no tick left running (the missed one is not run again)');
    const stopped = new Promise<number | null>((r) => second.child.on('exit', (code) => r(code)));
    second.child.kill('SIGTERM');
    assert.equal(await stopped, 0);
  });
});
