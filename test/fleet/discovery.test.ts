/**
 * Discovery. Real probes go to 127.0.0.1 only (the local PostgreSQL and
 * MariaDB, a closed port, a silent port); the bounds (count, rate, deadline)
 * are checked with a recording probe that opens no socket at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMysqlGreeting, type ProbeResult } from '../../src/lib/probe.js';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { DiscoveryService, parseTarget } from '../../src/services/discovery.service.js';
import { newTestApp, newTestContext, type TestContext } from '../helpers/context.js';
import { closedPort, startBlackHole } from '../helpers/targets.js';

describe('discovery: target lists', () => {
  it('expands hosts, host:port and IPv4 CIDR lazily; refuses what is not an address', () => {
    const c = parseTarget('10.1.2.0/24', 't')!;
    assert.deepEqual([c.count, c.host(0), c.host(253), c.port], [254, '10.1.2.1', '10.1.2.254', null]);
    const one = parseTarget('10.1.2.3/32:6000', 't')!;
    assert.deepEqual([one.count, one.host(0), one.port], [1, '10.1.2.3', 6000]);
    assert.equal(parseTarget('192.168.0.0/31', 't')!.count, 2);
    assert.equal(parseTarget('  # just a comment', 't'), undefined);
    assert.deepEqual([parseTarget('[::1]:5433', 't')!.host(0), parseTarget('[::1]:5433', 't')!.port], ['::1', 5433]);
    assert.throws(() => parseTarget('300.1.1.1/24', 'line 3'), /line 3: .*not an IPv4 CIDR/);
    assert.throws(() => parseTarget('db;rm', 'line 4'), /line 4: .*not a host/);
    assert.throws(() => parseTarget('h:70000', 'line 5'), /line 5: .*65535/);
  });

  it('reads MySQL and MariaDB greetings and error packets', () => {
    const packet = (payload: Buffer) => Buffer.concat([Buffer.from([payload.length & 255, payload.length >> 8, 0, 0]), payload]);
    assert.deepEqual(parseMysqlGreeting(packet(Buffer.from('\x0a8.0.36\0rest', 'latin1'))), { kind: 'mysql', server_version: '8.0.36' });
    assert.deepEqual(parseMysqlGreeting(packet(Buffer.from('\x0a5.5.5-10.11.6-MariaDB\0', 'latin1'))), { kind: 'mariadb', server_version: '10.11.6-MariaDB' });
    const err = parseMysqlGreeting(packet(Buffer.from("\xff\x6a\x04Host '10.0.0.9' is not allowed to connect", 'latin1')));
    assert.equal(err?.kind, 'mysql');
    assert.match(err!.note!, /not allowed/);
    assert.equal(parseMysqlGreeting(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), undefined);
  });
});

describe('discovery on 127.0.0.1', () => {
  let ctx: TestContext;
  let hole: { port: number; close(): Promise<void> };
  before(async () => {
    ctx = await newTestContext('sqlite');
    hole = await startBlackHole();
    await ctx.instances.create({ name: 'known-pg', db_type: 'postgresql', host: '127.0.0.1', port: 5432 }, CLI_ACTOR);
  });
  after(async () => {
    await hole?.close();
    await ctx?.cleanup();
  });

  it('finds PostgreSQL and MariaDB, marks the registered one, proposes the other; closed and silent ports answer nothing', async () => {
    const dead = await closedPort();
    const r = await ctx.discovery.discover({ targets: ['127.0.0.1'], ports: [5432, 3306, dead, hole.port], timeout_ms: 1500 }, CLI_ACTOR);
    assert.deepEqual([r.targets, r.probed, r.not_probed], [4, 4, 0]);
    assert.deepEqual(
      r.found.map((f) => [f.port, f.db_type, f.registered_as]),
      [
        [5432, 'postgresql', 'known-pg'],
        [3306, 'mariadb', null],
      ],
    );
    assert.match(r.found[1]!.server_version!, /^10\.\d+.*MariaDB/);
    assert.deepEqual(r.silent, { refused: 1, timeout: 1 });
    assert.deepEqual(
      r.proposals.map((p) => [p.name, p.db_type, p.host, p.port, p.tags]),
      [['mariadb-127-0-0-1-3306', 'mariadb', '127.0.0.1', 3306, ['discovered']]],
    );
    // The proposals are an import file.
    const file = DiscoveryService.proposalsFile(r, 'csv');
    const imp = await ctx.fleet.import(file, { format: 'csv' }, CLI_ACTOR);
    assert.deepEqual([imp.errors, imp.created], [[], 1]);
    const again = await ctx.discovery.discover({ targets: ['127.0.0.1:3306'] }, CLI_ACTOR);
    assert.deepEqual([again.found[0]!.registered_as, again.proposals.length], ['mariadb-127-0-0-1-3306', 0]);
  });

  it('the API refuses discovery unless WHALEFALL_DISCOVERY=on', async () => {
    const { app, callers } = await newTestApp(ctx);
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/api/instances/discover',
        headers: callers.admin.headers(true),
        payload: { targets: ['127.0.0.1'], ports: [5432] },
      });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().error_code, 'discovery_disabled');
    } finally {
      await app.close();
    }
    const on = await newTestContext('sqlite', { env: { WHALEFALL_DISCOVERY: 'on' } });
    const { app: app2, callers: c2 } = await newTestApp(on);
    try {
      const res = await app2.inject({
        method: 'POST',
        url: '/api/instances/discover',
        headers: c2.admin.headers(true),
        payload: { targets: ['127.0.0.1'], ports: [5432] },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(
        res.json().data.found.map((f: { db_type: string }) => f.db_type),
        ['postgresql'],
      );
      const viewer = await app2.inject({
        method: 'POST',
        url: '/api/instances/discover',
        headers: c2.viewer.headers(true),
        payload: { targets: ['127.0.0.1'] },
      });
      assert.equal(viewer.statusCode, 403);
    } finally {
      await app2.close();
      await on.cleanup();
    }
  });
});

describe('discovery bounds (a recording probe: no socket is opened)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await newTestContext('sqlite');
  });
  after(async () => {
    await ctx?.cleanup();
  });
  const recorder = (delayMs: number) => {
    const calls: { host: string; port: number; at: number }[] = [];
    const probe = async (host: string, port: number): Promise<ProbeResult> => {
      calls.push({ host, port, at: performance.now() });
      await new Promise((r) => setTimeout(r, delayMs));
      return { kind: 'none', reason: 'timeout' };
    };
    return { calls, service: new DiscoveryService({ instances: ctx.repos.instances, clock: ctx.clock, audit: ctx.audit, apiEnabled: true, probe }) };
  };

  it('count: a list larger than max_targets is refused before anything is probed', async () => {
    const { calls, service } = recorder(0);
    await assert.rejects(service.discover({ targets: ['10.0.0.0/16'] }, CLI_ACTOR), /131068 个端点.*too many endpoints/);
    await assert.rejects(service.discover({ targets: ['10.0.0.0/24'], ports: [5432], max_targets: 100 }, CLI_ACTOR), /254 .*超过上限 100/);
    assert.equal(calls.length, 0);
  });

  it('rate: connections start at most `rate` per second', async () => {
    const { calls, service } = recorder(0);
    const r = await service.discover({ targets: ['127.0.0.1'], ports: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], rate: 20, concurrency: 10 }, CLI_ACTOR);
    assert.equal(r.probed, 10);
    // The k-th connection never starts before k slots of 1/rate s (timer jitter may delay one, never advance the schedule).
    const offsets = calls.map((c) => c.at - calls[0]!.at);
    assert.ok(
      offsets.every((o, k) => o >= k * 50 - 2),
      `starts at ${offsets.map((o) => o.toFixed(0)).join(',')} ms`,
    );
    assert.ok(offsets.at(-1)! < 9 * 50 + 250, 'and the rate is not far below the limit either');
    assert.ok(calls.every((c) => c.host === '127.0.0.1'));
  });

  it('time: endpoints not reached by the deadline are counted, not probed', async () => {
    const { calls, service } = recorder(200);
    const t0 = performance.now();
    const r = await service.discover({ targets: ['127.0.0.1'], ports: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], concurrency: 1, deadline_ms: 500 }, CLI_ACTOR);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(r.probed, calls.length);
    assert.ok(r.probed >= 2 && r.probed <= 3, `${r.probed} probed`);
    assert.equal(r.not_probed, 10 - r.probed);
  });
});
