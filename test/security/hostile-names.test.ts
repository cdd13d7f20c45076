/**
 * Database names a hostile (or broken) server chooses that no store could save: U+0000, which PostgreSQL's text
 * refuses; the same name twice; a name longer than any engine allows. Before, the PostgreSQL store's error failed the
 * whole record as `internal` ("invalid byte sequence for encoding UTF8: 0x00"), and in queue mode a store error hands
 * the job back, so such an instance's record was retried until its job ran out of retries and then stayed pending,
 * its session running for good. Now a NUL becomes U+FFFD with a warning (the sizes are saved), and a duplicate or an
 * overlong name, or sizes adding up past 2^53 bytes (no sum exact beyond), is the instance's `data` error, in the reader's language: the record fails with the reason, nothing
 * saved, and the session closes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msgText, type Msg } from '../../src/client/shared/i18n/index.js';
import { forEachStore, queueTestContext, type TestContext } from '../helpers/context.js';
import { sizesReply, startPgResponder, type PgResponder } from '../helpers/pg-responder.js';

const actor = { userId: null, username: 'test' };

/** The names the responder answers with, changed by each test. */
let names: [string, string][] = [];
let responder: PgResponder;
before(async () => {
  responder = await startPgResponder({
    handler: (sql) => (/pg_database_size\(oid\)/.test(sql) ? sizesReply(names) : undefined),
    serverVersion: '15.7 (responder)',
  });
});
after(async () => {
  await responder?.close();
});

async function instance(ctx: TestContext, name: string): Promise<number> {
  const cred = await ctx.credentials.create({ name: `cred-${name}`, username: 'collector', password: 'pw-hostile' }, actor);
  return (await ctx.instances.create({ name, db_type: 'postgresql', host: responder.host, port: responder.port, credential_id: cred.id }, actor)).id;
}

const stored = async (ctx: TestContext, id: number) =>
  (
    await ctx.store.db.selectFrom('database_size_stats').select(['database_name', 'size_bytes']).where('instance_id', '=', id).orderBy('size_bytes').execute()
  ).map((r) => [r.database_name, r.size_bytes]);

forEachStore('hostile database names', (get) => {
  it('a NUL in a name: saved as U+FFFD with the sizes, and a warning in both languages', async () => {
    const ctx = get();
    names = [
      ['plain', '5'],
      ['a\u0000b', '7'],
    ];
    const id = await instance(ctx, 'nul-names');
    const r = await ctx.capacitySync.syncInstance(id, actor);
    assert.equal(r.data.saved_count, 2);
    assert.deepEqual(await stored(ctx, id), [
      ['plain', 5],
      ['a\uFFFDb', 7],
    ]);
    assert.ok(
      r.data.warnings.some((w) => /^1 个数据库名含无法保存的字符.*: a\uFFFDb$/.test(w)),
      JSON.stringify(r.data.warnings),
    );
    // The English UI renders the instance's last sync remark from its key.
    const row = await ctx.repos.instances.get(id);
    const remark = msgText(JSON.parse(row!.last_sync_error_msg!) as Msg, 'en');
    assert.match(remark, /1 database name\(s\) held characters no store can hold \(U\+0000, a lone surrogate\), replaced by \uFFFD: a\uFFFDb/);
  });

  it('a name given twice, longer than any engine allows, or sizes past 8 PiB in all: a data error saying which, nothing saved', async () => {
    const ctx = get();
    const id = await instance(ctx, 'dup-names');
    for (const [list, key, shown] of [
      [
        [
          ['twice', '1'],
          ['other', '2'],
          ['twice', '3'],
        ],
        'cause.duplicate_names',
        /: twice$/,
      ],
      [[['n'.repeat(300), '1']], 'cause.name_too_long', /longer than 256 characters; nothing was saved: n{64}…$/],
      [
        [
          ['huge-a', String(Number.MAX_SAFE_INTEGER)],
          ['huge-b', String(Number.MAX_SAFE_INTEGER)],
        ],
        'cause.sizes_past_safe',
        /^The 2 sizes the server returned add up past 8 PiB/,
      ],
    ] as const) {
      names = list.map(([n, s]) => [n, s]);
      await assert.rejects(ctx.capacitySync.syncInstance(id, actor), (err: Error & { code?: string; msg?: { params?: { cause?: unknown } } }) => {
        assert.equal(err.code, 'data');
        const cause = err.msg?.params?.cause as { key: string; params: Record<string, string> };
        assert.equal(cause.key, key);
        assert.match(msgText(cause, 'en'), shown);
        return true;
      });
      assert.deepEqual(await stored(ctx, id), []);
    }
  });
});

describe('hostile database names in queue mode', () => {
  const ctx = queueTestContext();
  it('a duplicate name fails the record with the reason (not handed back to the queue), and the session closes', async () => {
    names = [
      ['twice', '1'],
      ['twice', '2'],
    ];
    const id = await instance(ctx(), 'dup-queue');
    const s = await ctx().capacitySync.startMany([id], { syncType: 'manual_batch', actor });
    const [rec] = await ctx().repos.sync.records(s.session_id);
    const ran = await ctx().capacitySync.runQueuedRecord(rec!.id);
    assert.ok(typeof ran === 'object', `the job is done, not handed back: ${JSON.stringify(ran)}`);
    await ran.after;
    const [after] = await ctx().repos.sync.records(s.session_id);
    assert.deepEqual([after?.status, after?.error_code], ['failed', 'data']);
    assert.match(after?.error_message ?? '', /重复的数据库名/);
    assert.equal((await ctx().repos.sync.getSession(s.session_id))?.status, 'failed');
    assert.equal((await s.done).status, 'failed', "the session's waiter sees it closed");
  });
});
