/**
 * kill -9 in the middle of a session: the next start finds the session
 * `interrupted` and its unfinished records `failed` (interrupted), and a new
 * sync of the day still gives exactly one row per database.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { createLogger } from '../../src/lib/logger.js';
import { localDate } from '../../src/lib/clock.js';
import { startBlackHole } from '../helpers/targets.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');

describe('crash recovery', () => {
  let dataDir: string;
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  const env = () => ({ ...process.env, WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', LOG_LEVEL: '', WHALEFALL_SYNC_RETRIES: '0' });
  const cli = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { env: env(), input, encoding: 'utf8', timeout: 60_000 });
  const open = async (): Promise<Context> =>
    createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC' }), { logger: createLogger('silent') });

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-crash-'));
    hole = await startBlackHole();
    for (const [name, port] of [
      ['pg-good', 5432],
      ['pg-hung', hole.port],
    ] as const) {
      const r = cli(
        [
          'instances',
          'add',
          '--name',
          name,
          '--type',
          'postgresql',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--username',
          'postgres',
          '--password-stdin',
        ],
        'pw-irrelevant\n',
      );
      assert.equal(r.status, 0, r.stderr);
    }
    // The hung instance waits a long time, so the session is surely mid-run when killed.
    const ctx = await open();
    const hung = await ctx.instances.getByName('pg-hung');
    await ctx.instances.update(hung.id, { options: { connect_timeout_ms: 120_000 } }, { userId: null, username: 'test' });
    await ctx.close();
  });
  after(async () => {
    await hole?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGKILL mid-session → interrupted on the next start; re-sync gives one row per database', async () => {
    const child = spawn(process.execPath, [BIN, 'sync', '--all'], { env: env(), stdio: 'ignore' });
    const ctx = await open();
    try {
      // Wait until the good instance is done and the hung one is running.
      let sessionId: string | undefined;
      for (let i = 0; i < 200 && !sessionId; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const s = (await ctx.capacity.sessions({ status: 'running' })).items[0];
        if (!s) continue;
        const recs = await ctx.repos.sync.records(s.session_id);
        if (
          recs.some((r) => r.instance_name === 'pg-good' && r.status === 'completed') &&
          recs.some((r) => r.instance_name === 'pg-hung' && r.status === 'running')
        )
          sessionId = s.session_id;
      }
      assert.ok(sessionId, 'the session got mid-run');
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      assert.equal((await ctx.repos.sync.getSession(sessionId))!.status, 'running', 'nothing happened by itself');

      // The next start (any command: serve, worker, sync) recovers first.
      const r = cli(['sync', '--instance', 'pg-good']);
      assert.equal(r.status, 0, r.stderr);
      const s = await ctx.capacity.session(sessionId);
      assert.equal(s.status, 'interrupted');
      assert.ok(s.completed_at);
      const good = s.records.find((x) => x.instance_name === 'pg-good')!;
      const hung = s.records.find((x) => x.instance_name === 'pg-hung')!;
      assert.equal(good.status, 'completed');
      assert.deepEqual([hung.status, hung.error_code], ['failed', 'interrupted']);
      assert.match(hung.error_message!, /interrupted/);
      assert.deepEqual([s.successful_instances, s.failed_instances], [1, 1]);

      // The dead process's lock on pg-hung does not block a new sync of it.
      const hungId = (await ctx.instances.getByName('pg-hung')).id;
      assert.ok(await ctx.repos.sync.lockHolder(hungId), 'the dead holder left its lock row');
      await ctx.instances.update(hungId, { port: 5432, confirm_move: true }, { userId: null, username: 'test' });
      const again = cli(['sync', '--all']);
      assert.equal(again.status, 0, again.stdout + again.stderr);

      const goodId = (await ctx.instances.getByName('pg-good')).id;
      const rows = await ctx.repos.capacity.statsForDay(goodId, localDate(new Date(), 'UTC'));
      assert.ok(rows.length > 0);
      assert.equal(new Set(rows.map((x) => x.database_name)).size, rows.length, 'exactly one row per database for the day');
    } finally {
      child.kill('SIGKILL');
      await ctx.close();
    }
  });
});
