/**
 * The per-instance store work of a batch stays small (it is the service's
 * whole overhead at high concurrency, see BENCHMARKS.md "profiles"): a
 * credential shared by the batch is read and decrypted once, and each
 * instance costs two write transactions (lock + running; save + complete +
 * unlock) — instances running at the same time sharing their COMMITs — with
 * the lock gone and the records completed at the end.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { createLogger } from '../../src/lib/logger.js';
import { startPgResponder, type PgResponder, SIZE_COLUMNS } from '../helpers/pg-responder.js';
import { countingSqliteStore } from '../helpers/query-count.js';

const actor = { userId: null, username: 'test' };
const N = 6;
let ctx: Context;
let responder: PgResponder;
let statements: string[];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-test-'));

before(async () => {
  responder = await startPgResponder({
    serverVersion: '15.4',
    handler: (q) =>
      /pg_database_size\(oid\)/.test(q)
        ? {
            columns: SIZE_COLUMNS,
            rows: [
              [5, 'postgres', false, true, '7500000', '15.4'],
              [16384, 'app', false, true, '8500000', '15.4'],
            ],
          }
        : undefined,
  });
  const counting = countingSqliteStore();
  statements = counting.statements;
  ctx = await createContext(loadConfig({ WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off', WHALEFALL_SYNC_CONCURRENCY: '3' }), {
    logger: createLogger('warn', process.stderr),
    store: counting.store,
  });
  const cred = await ctx.credentials.create({ name: 'shared', db_type: 'postgresql', username: 'postgres', password: 'pw' }, actor);
  for (let i = 0; i < N; i++)
    await ctx.instances.create({ name: `pg-${i}`, db_type: 'postgresql', host: responder.host, port: responder.port, credential_id: cred.id }, actor);
});
after(async () => {
  await ctx?.close();
  await responder?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('a batch reads the shared credential once and runs two transactions per instance', async () => {
  const reveal = ctx.credentials.reveal.bind(ctx.credentials);
  let reveals = 0;
  ctx.credentials.reveal = (id) => {
    reveals++;
    return reveal(id);
  };
  statements.length = 0;
  const done = await ctx.capacitySync.syncMany('all-active', { syncType: 'manual_batch', actor });
  await ctx.alerts.idle();
  assert.equal(done.status, 'completed');
  assert.deepEqual(
    done.outcomes.map((o) => [o.status, o.attempt]),
    Array.from({ length: N }, () => ['completed', 1]),
  );
  assert.equal(reveals, 1, 'one credential read for the whole batch');
  const count = (re: RegExp) => statements.filter((s) => re.test(s)).length;
  // The session itself opens one transaction (session + records); each instance two. Transactions running at the
  // same time share a COMMIT (the store's group commit, src/store/sqlite-driver.ts): every group is committed.
  assert.equal(count(/^savepoint /i), 1 + 2 * N, statements.filter((s) => /^(begin|commit|savepoint)|sync_locks/i.test(s)).join(' | '));
  assert.equal(count(/^commit$/i), count(/^begin immediate$/i));
  assert.equal(count(/^delete from "sync_locks"/i), N, 'one unlock per instance, inside the save transaction');
  assert.equal(count(/from "credentials"/i), 1);
  assert.deepEqual(await ctx.store.db.selectFrom('sync_locks').selectAll().execute(), []);
  const recs = await ctx.repos.sync.records(done.session_id);
  assert.ok(recs.every((r) => r.status === 'completed' && r.attempt === 1 && r.started_at !== null && r.holder !== null));
});
