/**
 * Credentials at fleet scale and bulk connection tests, against the real
 * PostgreSQL and MariaDB servers on 127.0.0.1: one shared credential, its
 * password rotated once, every instance using it follows; a tag selects;
 * concurrency bounds the run (measured through the latency proxy).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';
import { closedPort } from '../helpers/targets.js';

describe('bulk test-connection and a shared credential', () => {
  let ctx: TestContext;
  let proxy: LatencyProxy;
  let shared: number;
  before(async () => {
    ctx = await newTestContext('sqlite');
    proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 25 });
    // MariaDB's root has no password here: "wrong" is refused, '' is accepted.
    shared = (await ctx.credentials.create({ name: 'mysql-shared', db_type: 'mysql', username: 'root', password: 'wrong' }, CLI_ACTOR)).id;
    const pgCred = (await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'unused-trust' }, CLI_ACTOR)).id;
    const dead = await closedPort();
    for (let i = 0; i < 3; i++)
      await ctx.instances.create({ name: `my-${i}`, db_type: 'mariadb', host: '127.0.0.1', port: 3306, credential_id: shared, tags: ['team:x'] }, CLI_ACTOR);
    await ctx.instances.create({ name: 'pg-direct', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: pgCred, tags: ['team:x'] }, CLI_ACTOR);
    await ctx.instances.create({ name: 'gone', db_type: 'postgresql', host: '127.0.0.1', port: dead, credential_id: pgCred, tags: ['team:x'] }, CLI_ACTOR);
    for (let i = 0; i < 12; i++) {
      await ctx.instances.create(
        { name: `far-${String(i).padStart(2, '0')}`, db_type: 'postgresql', host: '127.0.0.1', port: proxy.port, credential_id: pgCred, tags: ['site:far'] },
        CLI_ACTOR,
      );
    }
  });
  after(async () => {
    await proxy?.close();
    await ctx?.cleanup();
  });

  it('a tag selects; each row says reachable / auth ok; rotating the shared password fixes every instance using it', async () => {
    const before = await ctx.fleet.testConnections({ tag: 'team:x' }, { concurrency: 3 });
    assert.deepEqual(
      before.map((r) => [r.name, r.reachable, r.auth_ok, r.error_code]),
      [
        ['gone', false, null, 'connection'],
        ['my-0', true, false, 'auth'],
        ['my-1', true, false, 'auth'],
        ['my-2', true, false, 'auth'],
        ['pg-direct', true, true, null],
      ],
    );
    assert.ok(!before.some((r) => r.error?.includes('wrong')), 'the password never appears');
    await ctx.credentials.update(shared, { password: '' }, CLI_ACTOR);
    const after = await ctx.fleet.testConnections({ names: ['my-0', 'my-1', 'my-2'] });
    assert.deepEqual(
      after.map((r) => [r.name, r.reachable, r.auth_ok]),
      [
        ['my-0', true, true],
        ['my-1', true, true],
        ['my-2', true, true],
      ],
    );
    assert.match(after[0]!.server_version!, /MariaDB/i);
    const withDoctor = await ctx.fleet.testConnections({ names: ['my-0', 'pg-direct'] }, { doctor: true });
    assert.ok(
      withDoctor.every((r) => r.doctor !== null && r.doctor.checks > 0),
      JSON.stringify(withDoctor),
    );
  });

  it('unknown names and an empty selection are refused', async () => {
    await assert.rejects(ctx.fleet.testConnections({ names: ['nope'] }), /nope.*not found/);
    await assert.rejects(ctx.fleet.testConnections({}), /selection/);
    await assert.rejects(ctx.fleet.testConnections({ all: true }, { concurrency: 0 }), /concurrency/);
  });

  it('concurrency bounds the run: 12 instances 50 ms away, 1 at a time vs 12 at a time', async () => {
    const time = async (concurrency: number) => {
      const accepted = proxy.accepted();
      const t0 = performance.now();
      const rows = await ctx.fleet.testConnections({ tag: 'site:far' }, { concurrency });
      assert.ok(
        rows.every((r) => r.reachable && r.auth_ok),
        JSON.stringify(rows.filter((r) => !r.auth_ok)),
      );
      assert.equal(proxy.accepted() - accepted, 12);
      return performance.now() - t0;
    };
    const serial = await time(1);
    const parallel = await time(12);
    assert.ok(serial > 4 * parallel, `serial ${serial.toFixed(0)} ms vs parallel ${parallel.toFixed(0)} ms`);
  });
});
