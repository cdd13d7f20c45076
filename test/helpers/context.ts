/**
 * Test contexts: a fresh store (SQLite file in a temp dir, or a fresh
 * PostgreSQL database), the real services, logs captured in memory so tests
 * can grep them. `forEachStore` runs the same tests on both dialects.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import { createContext, type Context, type ContextOptions } from '../../src/context.js';
import { createLogger } from '../../src/lib/logger.js';
import { openStore } from '../../src/store/db.js';
import type { NewInstance } from '../../src/store/schema.js';
import { buildApp } from '../../src/http/app.js';
import { createMigratedDatabase } from './pg-template.js';
import { pgAdmin, uniqueName } from './targets.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgres'];

export interface TestContext extends Context {
  logs: string[];
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function newTestContext(
  kind: StoreKind = 'sqlite',
  opts: Omit<ContextOptions, 'logger' | 'store'> & { env?: Record<string, string> } = {},
): Promise<TestContext> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-test-'));
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  if (kind === 'postgres') {
    const name = uniqueName('store');
    await createMigratedDatabase(name);
    databaseUrl = `postgres://postgres@127.0.0.1:5432/${name}`;
    dropDb = async () => {
      // WHALEFALL_KEEP_TEST_DB=1 keeps every test store for inspection (drop them later: wf_store_* databases).
      if (process.env.WHALEFALL_KEEP_TEST_DB) return;
      const a = await pgAdmin();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  const config: Config = loadConfig({
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_SCHEDULER: 'off',
    WHALEFALL_CONNECT_TIMEOUT_MS: '2000',
    WHALEFALL_SYNC_TIMEOUT_MS: '30000',
    LOG_LEVEL: 'debug',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const store = openStore({ databaseUrl: config.databaseUrl, sqliteFile: path.join(dataDir, 'whalefall.db') });
  const ctx = await createContext(config, { ...opts, logger, store });
  return Object.assign(ctx, {
    logs,
    dataDir,
    async cleanup() {
      await ctx.close();
      await dropDb?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Run a describe block once per store dialect, with a fresh context each. */
export function forEachStore(title: string, body: (get: () => TestContext, kind: StoreKind) => void): void {
  for (const kind of STORE_KINDS) {
    describe(`${title} [${kind}]`, () => {
      let ctx: TestContext;
      before(async () => {
        ctx = await newTestContext(kind);
      });
      after(async () => {
        await ctx?.cleanup();
      });
      body(() => ctx, kind);
    });
  }
}

/**
 * A test context in queue mode (a fresh PostgreSQL store, pg-boss in it) for the tests of this `describe`: made
 * before them, its queue stopped and its store dropped after them.
 */
export function queueTestContext(): () => TestContext {
  let ctx: TestContext;
  before(async () => {
    ctx = await newTestContext('postgres', { env: { WHALEFALL_QUEUE: 'pg-boss', WHALEFALL_SECRET_KEY: randomBytes(32).toString('hex') } });
  });
  after(async () => {
    await ctx?.queue?.stop(1000);
    await ctx?.cleanup();
  });
  return () => ctx;
}

/** An instance row to insert in a store test (host `h`, no credential, active, made now); `over` sets what the test is about. */
export function instanceRow(name: string, over: Partial<NewInstance> = {}): NewInstance {
  const now = new Date().toISOString();
  return { name, db_type: 'postgresql', host: 'h', port: 5432, tags: '[]', options: '{}', is_active: 1, created_at: now, updated_at: now, ...over };
}

export type TestApp = Awaited<ReturnType<typeof buildApp>>;

/** Users of every role, logged in both ways: a cookie session (+ CSRF) and a bearer token. */
export interface Caller {
  role: 'anonymous' | 'viewer' | 'operator' | 'admin';
  headers(write: boolean): Record<string, string>;
  bearer?: string;
}

export async function newTestApp(ctx: Context): Promise<{ app: TestApp; callers: Record<Caller['role'], Caller> }> {
  const app = await buildApp(ctx);
  await app.ready();
  const callers = { anonymous: { role: 'anonymous', headers: () => ({}) } } as unknown as Record<Caller['role'], Caller>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const username = `t-${role}`;
    const password = `pw-${role}-Secret1`;
    await ctx.auth.createUser({ username, password, role }, { userId: null, username: 'test' });
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`);
    const cookie = res.cookies.find((c) => c.name === 'wf_session')!;
    const csrf = res.json().data.csrf_token as string;
    const u = await ctx.auth.userByName(username);
    const token = (await ctx.auth.createToken(u.id, { name: 'test' }, { userId: null, username: 'test' })).token;
    callers[role] = {
      role,
      bearer: token,
      headers: (write) => ({ cookie: `wf_session=${cookie.value}`, ...(write ? { 'x-csrftoken': csrf } : {}) }),
    };
  }
  return { app, callers };
}
