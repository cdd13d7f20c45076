/**
 * `whalefall sync --instance NAME` on a disabled instance (issue #20 item 6):
 * nothing is synced, stderr says "NAME: skipped: disabled" and the exit code
 * is 1; named together with an active one, the active one is synced and the
 * exit code is still 1. `--all` (active instances only) is unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withCli } from '../helpers/cli.js';
import { newTestContext, type TestContext } from '../helpers/context.js';

const actor = { userId: null, username: 'test' };

describe('sync of a disabled instance from the CLI', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await newTestContext('sqlite');
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'trust' }, actor);
    await ctx.instances.create(
      { name: 'pg-on', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id, options: { exclude: ['wf_t_%'] } },
      actor,
    );
    await ctx.instances.create({ name: 'pg-off', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id, is_active: false }, actor);
  });
  after(async () => {
    await ctx?.cleanup();
  });

  /** Run the CLI in-process and keep its exit code and what it wrote to stderr. */
  const run = async (cli: (a: string[]) => Promise<{ code: number; out: string; err: string }>, args: string[]) => {
    const errs: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.exitCode = 0;
    process.stderr.write = ((s: string | Uint8Array) => (errs.push(String(s)), true)) as typeof process.stderr.write;
    try {
      const r = await cli(args);
      return { ...r, code: r.code || Number(process.exitCode ?? 0), stderr: errs.join('') };
    } finally {
      process.stderr.write = write;
      process.exitCode = 0;
    }
  };

  it('named alone: skipped: disabled, exit 1, no session', async () => {
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir }, async (cli) => {
      const r = await run(cli, ['sync', '--instance', 'pg-off']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^pg-off: skipped: disabled \(实例已禁用\)$/m);
      assert.doesNotMatch(r.out, /completed/);
    });
    // In the CLI's language (WHALEFALL_LANG, else the POSIX locale): English without the Chinese.
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_LANG: 'en' }, async (cli) => {
      const r = await run(cli, ['sync', '--instance', 'pg-off']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^pg-off: skipped: disabled$/m);
    });
    assert.equal((await ctx.capacity.sessions({})).total, 0, 'no session was started');
  });

  it('named with an active one: the active one syncs, exit 1 all the same', async () => {
    await withCli({ WHALEFALL_DATA_DIR: ctx.dataDir }, async (cli) => {
      const r = await run(cli, ['sync', '--instance', 'pg-on', 'pg-off']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /pg-off: skipped: disabled/);
      assert.match(r.out, /pg-on\s+completed/);
      assert.match(r.out, /: completed \(1 ok, 0 failed\)/);
      const all = await run(cli, ['sync', '--all']);
      assert.equal(all.code, 0, all.err + all.stderr);
      assert.match(all.out, /\(1 ok, 0 failed\)/);
    });
    assert.equal((await ctx.instances.getByName('pg-off')).last_sync_at, null, 'the disabled instance was never synced');
  });
});
