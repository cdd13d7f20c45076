/**
 * The seed-shaped GET /instances/api/instances/total-sizes is one query for
 * the whole estate, never one per instance: the statements one request runs
 * are counted with 5 and with 200 instances.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { createLogger } from '../../src/lib/logger.js';
import { newTestApp, type Caller, type TestApp } from '../helpers/context.js';
import { countingSqliteStore } from '../helpers/query-count.js';

let ctx: Context;
let app: TestApp;
let viewer: Caller;
let statements: string[];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-test-'));

before(async () => {
  const counting = countingSqliteStore();
  statements = counting.statements;
  ctx = await createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off' }), {
    logger: createLogger('warn', process.stderr),
    store: counting.store,
  });
  ({
    app,
    callers: { viewer },
  } = await newTestApp(ctx));
});
after(async () => {
  await app?.close();
  await ctx?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function addInstances(from: number, to: number, withSize: boolean) {
  const now = new Date().toISOString();
  for (let i = from; i < to; i++) {
    const row = await ctx.repos.instances.insert({
      name: `i-${i}`,
      db_type: 'mysql',
      host: 'h',
      port: 3306,
      tags: '[]',
      options: '{}',
      is_active: 1,
      created_at: now,
      updated_at: now,
    });
    if (withSize) await ctx.repos.instances.update(row.id, { total_size_bytes: (i + 1) * 1048576 });
  }
}

/** The statements one request ran, and its body. */
async function request(): Promise<{ sqls: string[]; data: { instance_id: number; total_size_mb: number }[] }> {
  statements.length = 0;
  const res = await app.inject({ method: 'GET', url: '/instances/api/instances/total-sizes', headers: { authorization: `Bearer ${viewer.bearer}` } });
  assert.equal(res.statusCode, 200, res.body);
  return { sqls: [...statements], data: res.json().data };
}

it('one query on the instances table, however many instances', async () => {
  await addInstances(0, 5, true);
  const small = await request();
  assert.equal(small.data.length, 5);
  await addInstances(5, 200, false);
  const big = await request();
  assert.equal(big.data.length, 200);
  const onInstances = (sqls: string[]) => sqls.filter((s) => /\bfrom\s+"?instances"?/i.test(s));
  assert.equal(onInstances(big.sqls).length, 1, `statements on instances: ${onInstances(big.sqls).join(' | ')}`);
  // The token's last-used write (and its commit) happens at most once a minute (the first request here), whatever the endpoint.
  const own = (sqls: string[]) => sqls.filter((s) => !/^(update "api_tokens"|begin immediate$|commit$)/i.test(s));
  assert.equal(own(big.sqls).length, own(small.sqls).length, `the same statements for 5 and 200 instances: ${big.sqls.join(' | ')}`);
  assert.deepEqual(
    big.data.slice(0, 2).map((r) => r.instance_id),
    [1, 2],
  );
});
