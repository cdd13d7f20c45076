/**
 * The slot numbers a scope hands out (SlotsRepository, both dialects): never
 * more than the cap live, distinct, below the cap, all of them taken when the
 * scope is nearly full, none when it is full, and with a large cap
 * (WHALEFALL_CONNECTIONS_TOTAL up to 4,096) picked without enumerating every
 * number below it (PostgreSQL: random guesses, then the lowest free ones).
 * Connections ending together free their slots in a few statements.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { sql } from 'kysely';
import { ConnectionSlots, type Slot } from '../../src/services/connection-slots.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { freeNumbers, SlotsRepository } from '../../src/store/slots.repository.js';
import { forEachStore } from '../helpers/context.js';

forEachStore('connection slot numbers', (get) => {
  let repo: SlotsRepository;
  const now = () => new Date().toISOString();
  const later = () => new Date(Date.now() + 60_000).toISOString();
  const live = async (scope: string) =>
    (await repo.held(scope))
      .filter((r) => r.expires_at >= now())
      .map((r) => r.slot)
      .sort((a, b) => a - b);
  /** `count` live slots of `scope`, numbers from `from`, one holder each. */
  const fill = async (scope: string, from: number, count: number) => {
    for (let n = from; n < from + count; n++) assert.ok(await repo.take(scope, n, `filler:${scope}:${n}`, 'test', now(), later()));
  };

  before(() => {
    repo = new SlotsRepository(get().store.db, get().store.dialect);
  });

  it('takeSome in a nearly full scope takes exactly the free numbers; in a full one none', async () => {
    await fill('t:dense', 0, 3); // 0, 1, 2 of cap 5
    const got = await repo.takeSome('t:dense', 5, 4, 'me:dense', 'test', now(), later());
    assert.deepEqual(
      got.sort((a, b) => a - b),
      [3, 4],
      'the two free numbers, not more than the cap',
    );
    assert.deepEqual(await live('t:dense'), [0, 1, 2, 3, 4]);
    assert.deepEqual(await repo.takeSome('t:dense', 5, 2, 'me:dense2', 'test', now(), later()), [], 'full');
  });

  it('a large cap: distinct free numbers below it, the live ones untouched', async () => {
    await fill('t:wide', 0, 300);
    const got = await repo.takeSome('t:wide', 4096, 16, 'me:wide', 'test', now(), later());
    assert.equal(got.length, 16);
    assert.equal(new Set(got).size, 16, 'distinct');
    assert.ok(
      got.every((n) => n >= 300 && n < 4096),
      `free and below the cap: ${got.join(',')}`,
    );
    const one = await repo.takeOneEach(
      [
        { scope: 'instance:t1', cap: 2 },
        { scope: 't:wide', cap: 4096 },
      ],
      'me:each',
      'test',
      now(),
      later(),
    );
    assert.equal(one.length, 2, 'one in each scope');
    assert.ok(!got.includes(one.find((x) => x.scope === 't:wide')!.slot) && one.find((x) => x.scope === 't:wide')!.slot >= 300);
    assert.equal((await live('t:wide')).length, 317);
  });

  it('a large cap nearly full: exactly the free numbers', async () => {
    await fill('t:wide-dense', 0, 298); // of 300: above the caps that are enumerated
    assert.deepEqual(
      (await repo.takeSome('t:wide-dense', 300, 4, 'me:wd', 'test', now(), later())).sort((a, b) => a - b),
      [298, 299],
    );
    assert.deepEqual(await repo.takeSome('t:wide-dense', 300, 1, 'me:wd2', 'test', now(), later()), [], 'full');
  });

  it('takeOneEach takes nothing when one scope is full', async () => {
    await fill('instance:t2', 0, 2);
    const none = await repo.takeOneEach(
      [
        { scope: 'instance:t2', cap: 2 },
        { scope: 't:free', cap: 64 },
      ],
      'me:full',
      'test',
      now(),
      later(),
    );
    assert.deepEqual(none, []);
    assert.deepEqual(await live('t:free'), []);
  });

  it('PostgreSQL: a pick reads about the live slots, not every number below a cap of 4,096', async (t) => {
    if (get().store.dialect !== 'postgres') return t.skip('PostgreSQL only');
    await fill('t:plan', 0, 40);
    const plan = await sql<{ 'QUERY PLAN': unknown }>`EXPLAIN (ANALYZE, FORMAT JSON)
      WITH live AS (SELECT slot FROM connection_slots WHERE scope = 't:plan' AND expires_at >= ${now()}::timestamptz)
      ${freeNumbers(sql`live`, 4096, 1)}`.execute(get().store.db);
    // Rows the plan's function scans (the candidate numbers) produced: the guesses and the first live + 1 numbers.
    const scanned = (node: { 'Node Type': string; 'Actual Rows': number; 'Actual Loops': number; Plans?: unknown[] }): number =>
      (node['Node Type'] === 'Function Scan' ? node['Actual Rows'] * node['Actual Loops'] : 0) +
      (node.Plans ?? []).reduce<number>((a, p) => a + scanned(p as typeof node), 0);
    const root = (plan.rows[0]!['QUERY PLAN'] as { Plan: Parameters<typeof scanned>[0] }[])[0]!.Plan;
    const rows = scanned(root);
    assert.ok(rows > 0 && rows <= 41 + 4, `candidate numbers read: ${rows} (enumerating the cap would read 4,096)`);
    const got = await repo.takeSome('t:plan', 4096, 1, 'me:plan', 'test', now(), later());
    assert.equal(got.length, 1);
    assert.ok(got[0]! >= 40);
  });
});

forEachStore('connection slots released together', (get) => {
  it('40 connections ending at once free their slots in a few statements, not 40; every slot is free after, and waiters get them', async () => {
    const repo = new SlotsRepository(get().store.db, get().store.dialect);
    let statements = 0;
    const counted = Object.assign(Object.create(repo) as SlotsRepository, {
      release: (holder: string) => (statements++, repo.release(holder)),
      releaseMany: (holders: string[]) => (statements++, repo.releaseMany(holders)),
    });
    const slots = new ConnectionSlots({ repo: counted, clock: systemClock, logger: createLogger('silent'), leaseMs: 60_000, heartbeatMs: 60_000 });
    const caps = (i: number) => [
      { scope: `t:rel:${i % 4}`, cap: 10 },
      { scope: 't:rel:global', cap: 40 },
    ];
    const held: Slot[] = [];
    for (let i = 0; i < 40; i++) held.push(await slots.acquire(caps(i), { purpose: 'test', waitMs: 0 }));
    assert.equal((await repo.held('t:rel:global')).length, 40, 'the estate scope is full');
    // One more waits for a slot: a release here wakes it.
    const waiting = slots.acquire(caps(0), { purpose: 'test', waitMs: 5_000 });
    await Promise.all(held.map((s) => s.release()));
    assert.ok(statements < 10, `${statements} release statements for 40 holders`);
    const next = await waiting;
    assert.deepEqual(
      (await repo.held('t:rel:global')).map((r) => r.holder),
      [next.holder],
      'the 40 are gone, the waiter holds one',
    );
    await next.release();
    assert.equal((await repo.held('t:rel:global')).length, 0);
  });
});
