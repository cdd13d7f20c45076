/**
 * `whalefall serve` loads a database driver only when it first connects with
 * it (issue #22 item 4: memory): a serve on a SQLite store that answers HTTP
 * but never syncs loads none of pg, mysql2, mssql/tedious, oracledb, pg-boss
 * or nodemailer, and starts no collector thread; syncing one PostgreSQL
 * instance then loads pg in the collector thread (engines/collector-thread.ts),
 * and still not mysql2, and no driver on the main thread. What a process
 * loaded is written at exit by test/helpers/loaded-packages.mjs (CommonJS and
 * ECMAScript modules alike, the main thread's and its worker threads').
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { createLogger } from '../../src/lib/logger.js';
import { closedPort } from '../helpers/targets.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const PRELOAD = path.resolve('test/helpers/loaded-packages.mjs');
const actor = { userId: null, username: 'test' };
const DRIVERS = ['pg', 'mysql2', 'mssql', 'tedious', 'oracledb', 'pg-boss', 'nodemailer'];

describe('serve loads a driver on first use', { timeout: 120_000 }, () => {
  let dataDir: string;
  let token: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-lazy-'));
    const ctx = await createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off' }), {
      logger: createLogger('silent'),
    });
    try {
      const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
      // Nothing listens there: the sync fails at once (connection refused), after the engine has loaded its driver.
      await ctx.instances.create({ name: 'pg-closed', db_type: 'postgresql', host: '127.0.0.1', port: await closedPort(), credential_id: cred.id }, actor);
      const admin = await ctx.auth.createUser({ username: 'lazy-admin', password: 'lazy-Secret-1', role: 'admin' }, actor);
      token = (await ctx.auth.createToken(admin.id, { name: 'lazy' }, actor)).token;
    } finally {
      await ctx.close();
    }
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  /** Start serve, run `use` against it, stop it (SIGTERM): the packages it had loaded by then. */
  async function packagesAfter(use: (base: string, auth: Record<string, string>) => Promise<void>): Promise<{ main: string[]; threads: string[] }> {
    const out = path.join(dataDir, `loaded-${Date.now()}.json`);
    const child = spawn(process.execPath, ['--import', PRELOAD, BIN, 'serve'], {
      env: {
        ...process.env,
        WHALEFALL_DATA_DIR: dataDir,
        WHALEFALL_TZ: 'UTC',
        WHALEFALL_SCHEDULER: 'off',
        WHALEFALL_SYNC_RETRIES: '0',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        WF_LOADED_PACKAGES_FILE: out,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        readline.createInterface({ input: child.stdout! }).on('line', (l) => {
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(l);
          if (m) resolve(Number(m[1]));
        });
        void exited.then((code) => reject(new Error(`serve exited (${code}) before listening`)));
      });
      await use(`http://127.0.0.1:${port}`, { authorization: `Bearer ${token}` });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    return JSON.parse(fs.readFileSync(out, 'utf8')) as { main: string[]; threads: string[] };
  }

  it('serving the API and the pages loads no driver', async () => {
    const { main: loaded, threads } = await packagesAfter(async (base, auth) => {
      for (const url of ['/healthz', '/readyz', '/api/instances/overview?limit=50', '/api/instances', '/login']) {
        const res = await fetch(`${base}${url}`, { headers: auth });
        assert.equal(res.status, 200, url);
        await res.arrayBuffer();
      }
    });
    // The probe sees what was loaded (CommonJS and ECMAScript packages): else the absences below prove nothing.
    for (const p of ['fastify', 'better-sqlite3', 'kysely']) assert.ok(loaded.includes(p), `${p} loaded: ${loaded.join(' ')}`);
    assert.deepEqual(
      DRIVERS.filter((p) => loaded.includes(p)),
      [],
    );
    assert.deepEqual(threads, [], 'no collector thread before a connection');
  });

  it('syncing a PostgreSQL instance loads pg, and only pg, in the collector thread', async () => {
    const { main, threads } = await packagesAfter(async (base, auth) => {
      const res = await fetch(`${base}/api/sync/capacity`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 202);
      const { data } = (await res.json()) as { data: { session_id: string } };
      for (;;) {
        const s = (await (await fetch(`${base}/api/sync-sessions/${data.session_id}`, { headers: auth })).json()) as { data: { status: string } };
        if (s.data.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    assert.deepEqual(
      DRIVERS.filter((p) => threads.includes(p)),
      ['pg'],
    );
    assert.deepEqual(
      DRIVERS.filter((p) => main.includes(p)),
      [],
      'the main thread loads no driver',
    );
  });
});
